package iam

import (
	"context"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// IAM quotas. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
const (
	quotaRolesPerAccount        = 1000
	quotaUsersPerAccount        = 5000
	quotaGroupsPerAccount       = 300
	quotaPoliciesPerAccount     = 1500
	quotaManagedPerPrincipal    = 10
	quotaGroupsPerUser          = 10
	quotaAccessKeysPerUser      = 2
	quotaVersionsPerPolicy      = 5
	quotaTrustPolicyChars       = 2048
	quotaManagedPolicyChars     = 6144
	quotaRoleInlineChars        = 10240
	quotaUserInlineChars        = 2048
	quotaGroupInlineChars       = 5120
	quotaTagsPerEntity          = 50
	defaultMaxSessionDuration   = 3600
	roleDescriptionMaxRunes     = 1000
	permissionsBoundaryTypeName = "Policy" // what IAM answers, though the model's enum says "PermissionsBoundaryPolicy"
	serviceLinkedRolePath       = "/aws-service-role/"
)

func (s *Service) roleARN(account, path, name string) string {
	return arn.Role(s.partition, account, pathOrRoot(path), name).String()
}

func (s *Service) roleOut(account string, r *store.Role) *iamapi.Role {
	out := &iamapi.Role{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleId:                   r.ID,
		Arn:                      s.roleARN(account, r.Path, r.Name),
		CreateDate:               r.Created,
		AssumeRolePolicyDocument: r.TrustPolicy,
		Description:              r.Description,
		MaxSessionDuration:       ptr(r.MaxSessionDuration),
		Tags:                     tagsOut(r.Tags),
	}
	if r.PermissionsBoundary != "" {
		out.PermissionsBoundary = boundaryOut(r.PermissionsBoundary)
	}
	return out
}

func boundaryOut(policyARN string) *iamapi.AttachedPermissionsBoundary {
	return &iamapi.AttachedPermissionsBoundary{PermissionsBoundaryType: permissionsBoundaryTypeName, PermissionsBoundaryArn: policyARN}
}

// loadRole loads a role by name and authorizes action on it. A role that does not exist is authorized against
// the ARN it would have at path "/", so a caller who may not act on it learns nothing of its existence.
func (s *Service) loadRole(ctx context.Context, r store.Reader, action, name string) (*store.Role, store.Record, error) {
	return s.loadRoleWith(ctx, r, action, name, nil)
}

// loadRoleWith is loadRole with extra request condition keys (aws:RequestTag/…, aws:TagKeys) beside the role's
// aws:ResourceTag/… keys.
func (s *Service) loadRoleWith(ctx context.Context, r store.Reader, action, name string, extra map[string][]string) (*store.Role, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	var role store.Role
	rec, err := load(ctx, r, store.KindRole, p.Account, name, &role)
	if isNotFound(err) {
		if err := s.authorize(ctx, action, s.roleARN(p.Account, "/", name), extra); err != nil {
			return nil, rec, shown(err, "role", name)
		}
		return nil, rec, iamapi.NoSuchEntity("The role with name %s cannot be found.", name)
	}
	if err != nil {
		return nil, rec, err
	}
	if err := s.authorize(ctx, action, s.roleARN(p.Account, role.Path, role.Name), mergeKeys(resourceTagKeys(role.Tags), extra)); err != nil {
		return nil, rec, shown(err, "role", role.Name)
	}
	return &role, rec, nil
}

// CreateRole creates a role with a trust policy.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
func (s *Service) CreateRole(ctx context.Context, in *iamapi.CreateRoleInput) (*iamapi.CreateRoleOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	if err := s.authorize(ctx, "CreateRole", s.roleARN(p.Account, path, in.RoleName), requestTagKeys(in.Tags, in.PermissionsBoundary)); err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, serviceLinkedRolePath) {
		// Roles there are service-linked, made by CreateServiceLinkedRole and protected from change.
		return nil, iamapi.InvalidInput("Path prefix '%s' can only be used for AWS Service linked Roles", serviceLinkedRolePath)
	}
	// Counted in non-white-space characters, as AssumeRolePolicySizeQuota is.
	// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
	if nonSpaceRunes(in.AssumeRolePolicyDocument) > quotaTrustPolicyChars {
		return nil, limitExceeded("ACLSizePerRole", quotaTrustPolicyChars)
	}
	if err := checkPolicy(in.AssumeRolePolicyDocument, policy.KindTrust); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	role := store.Role{
		Name:               in.RoleName,
		ID:                 randomID(prefixRole, uniqueIDRandomChars),
		Path:               path,
		TrustPolicy:        in.AssumeRolePolicyDocument,
		Description:        in.Description,
		MaxSessionDuration: defaultMaxSessionDuration,
		Tags:               tagsIn(in.Tags),
	}
	if in.MaxSessionDuration != nil {
		role.MaxSessionDuration = *in.MaxSessionDuration
	}
	respondWith(ctx, func() any { return &iamapi.CreateRoleOutput{Role: s.roleOut(p.Account, &role)} })
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := s.checkTrustPrincipals(ctx, tx, in.AssumeRolePolicyDocument); err != nil {
			return err
		}
		if in.PermissionsBoundary != "" {
			if err := s.checkBoundary(ctx, tx, p.Account, in.PermissionsBoundary); err != nil {
				return err
			}
			role.PermissionsBoundary = in.PermissionsBoundary
		}
		n, err := tx.Count(ctx, store.KindRole, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaRolesPerAccount {
			return limitExceeded("RolesPerAccount", quotaRolesPerAccount)
		}
		role.Created = tx.Now()
		err = create(ctx, tx, store.KindRole, p.Account, role.Name, role.ID, &role)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("Role with name %s already exists.", in.RoleName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateRoleOutput{Role: s.roleOut(p.Account, &role)}, nil
}

// GetRole returns a role with its trust policy and last use.
func (s *Service) GetRole(ctx context.Context, in *iamapi.GetRoleInput) (*iamapi.GetRoleOutput, error) {
	role, _, err := s.loadRole(ctx, s.store, "GetRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	out := s.roleOut(p.Account, role)
	out.RoleLastUsed = &iamapi.RoleLastUsed{}
	if !role.LastUsed.IsZero() {
		out.RoleLastUsed.LastUsedDate = ptr(role.LastUsed)
		out.RoleLastUsed.Region = role.LastUsedRegion
	}
	return &iamapi.GetRoleOutput{Role: out}, nil
}

// ListRoles lists the account's roles whose path starts with PathPrefix. As on AWS, the list omits each role's
// tags, boundary and last use.
func (s *Service) ListRoles(ctx context.Context, in *iamapi.ListRolesInput) (*iamapi.ListRolesOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListRoles", "*", nil); err != nil {
		return nil, err
	}
	prefix := pathOrRoot(in.PathPrefix)
	roles, next, err := pageOf(ctx, s.store, store.KindRole, p.Account, "", in.Marker, maxItems(in.MaxItems), func(r *store.Role) bool {
		return strings.HasPrefix(r.Path, prefix)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListRolesOutput{Roles: []iamapi.Role{}, IsTruncated: ptr(next != "")}
	for i := range roles {
		r := s.roleOut(p.Account, &roles[i])
		r.Tags, r.PermissionsBoundary = nil, nil
		out.Roles = append(out.Roles, *r)
	}
	if next != "" {
		out.Marker = next
	}
	return out, nil
}

// UpdateRole changes a role's description or maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, in *iamapi.UpdateRoleInput) (*iamapi.UpdateRoleOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		role, rec, err := s.loadRole(ctx, tx, "UpdateRole", in.RoleName)
		if err != nil {
			return err
		}
		if in.Description != "" {
			role.Description = in.Description
		}
		if in.MaxSessionDuration != nil {
			role.MaxSessionDuration = *in.MaxSessionDuration
		}
		return update(ctx, tx, rec, role)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateRoleOutput{}, nil
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, in *iamapi.UpdateRoleDescriptionInput) (*iamapi.UpdateRoleDescriptionOutput, error) {
	var role *store.Role
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		var rec store.Record
		var err error
		role, rec, err = s.loadRole(ctx, tx, "UpdateRoleDescription", in.RoleName)
		if err != nil {
			return err
		}
		role.Description = in.Description
		return update(ctx, tx, rec, role)
	})
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	return &iamapi.UpdateRoleDescriptionOutput{Role: s.roleOut(p.Account, role)}, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, in *iamapi.UpdateAssumeRolePolicyInput) (*iamapi.UpdateAssumeRolePolicyOutput, error) {
	if nonSpaceRunes(in.PolicyDocument) > quotaTrustPolicyChars {
		return nil, limitExceeded("ACLSizePerRole", quotaTrustPolicyChars)
	}
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		role, rec, err := s.loadRole(ctx, tx, "UpdateAssumeRolePolicy", in.RoleName)
		if err != nil {
			return err
		}
		if err := checkPolicy(in.PolicyDocument, policy.KindTrust); err != nil {
			return err
		}
		if err := s.checkTrustPrincipals(ctx, tx, in.PolicyDocument); err != nil {
			return err
		}
		role.TrustPolicy = in.PolicyDocument
		return update(ctx, tx, rec, role)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateAssumeRolePolicyOutput{}, nil
}

// DeleteRole deletes a role that has no attached or inline policies left, as AWS requires.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html
func (s *Service) DeleteRole(ctx context.Context, in *iamapi.DeleteRoleInput) (*iamapi.DeleteRoleOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		role, _, err := s.loadRole(ctx, tx, "DeleteRole", in.RoleName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if err := s.checkNoPolicies(ctx, tx, p.Account, "role", role.Name); err != nil {
			return err
		}
		if err := checkRoleNotInProfile(ctx, tx, p.Account, role.Name); err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindRole, p.Account, role.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteRoleOutput{}, nil
}

// checkNoPolicies is DeleteConflict while a user, group or role still has managed or inline policies.
func (s *Service) checkNoPolicies(ctx context.Context, tx store.Tx, account, kind, name string) error {
	prefix := kind + "/" + name + "/"
	if n, err := tx.Count(ctx, store.KindAttachment, account, prefix); err != nil {
		return err
	} else if n > 0 {
		return iamapi.DeleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if n, err := tx.Count(ctx, store.KindInlinePolicy, account, prefix); err != nil {
		return err
	} else if n > 0 {
		return iamapi.DeleteConflict("Cannot delete entity, must delete policies first.")
	}
	return nil
}

// checkBoundary makes sure a permissions boundary names an existing managed policy.
func (s *Service) checkBoundary(ctx context.Context, r store.Reader, account, policyARN string) error {
	if _, err := s.managedPolicyDoc(ctx, r, account, policyARN); err != nil {
		if isNotFound(err) {
			return iamapi.InvalidInput("ARN %s is not valid.", policyARN)
		}
		return err
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
