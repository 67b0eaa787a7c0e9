package iam

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

// entity is a user, group or role as a policy holder.
type entity struct {
	kind string // "user", "group" or "role"
	name string
	id   string
	arn  string
	tags []store.Tag
}

var entityKinds = map[string]store.Kind{"user": store.KindUser, "group": store.KindGroup, "role": store.KindRole}

// loadEntity loads a user, group or role by name and authorizes action on it (see loadRole for missing ones).
func (s *Service) loadEntity(ctx context.Context, r store.Reader, kind, action, name string) (*entity, error) {
	return s.loadEntityWith(ctx, r, kind, action, name, nil)
}

// boundaryKeyed are the policy operations whose requests carry iam:PermissionsBoundary, the boundary of the user or
// role acted on, so that a delegated administrator can be limited to entities bound by a given boundary.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
var boundaryKeyed = map[string]bool{
	"AttachUserPolicy": true, "DetachUserPolicy": true, "PutUserPolicy": true, "DeleteUserPolicy": true,
	"AttachRolePolicy": true, "DetachRolePolicy": true, "PutRolePolicy": true, "DeleteRolePolicy": true,
}

// loadEntityWith is loadEntity with extra request condition keys (iam:PolicyARN, …).
func (s *Service) loadEntityWith(ctx context.Context, r store.Reader, kind, action, name string, extra map[string][]string) (*entity, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var v struct {
		Name, ID, Path      string
		Tags                []store.Tag
		PermissionsBoundary string `json:"boundary"` // store.User's and store.Role's field
	}
	_, err = load(ctx, r, entityKinds[kind], p.Account, name, &v)
	if isNotFound(err) {
		if err := s.authorize(ctx, action, arn.IAM(s.partition, p.Account, kind, "/", name).String(), extra); err != nil {
			if showsARN(action) {
				return nil, err
			}
			return nil, shown(err, kind, name)
		}
		return nil, iamapi.NoSuchEntity("The %s with name %s cannot be found.", kind, name)
	}
	if err != nil {
		return nil, err
	}
	e := &entity{kind: kind, name: v.Name, id: v.ID, arn: arn.IAM(s.partition, p.Account, kind, v.Path, v.Name).String(), tags: v.Tags}
	keys := mergeKeys(resourceTagKeys(v.Tags), extra)
	if v.PermissionsBoundary != "" && boundaryKeyed[action] {
		keys = mergeKeys(keys, map[string][]string{"iam:PermissionsBoundary": {v.PermissionsBoundary}})
	}
	if err := s.authorize(ctx, action, e.arn, keys); err != nil {
		if showsARN(action) {
			return nil, err
		}
		return nil, shown(err, kind, e.name)
	}
	return e, nil
}

// policyARNKey is iam:PolicyARN, which AWS sets on the requests that attach or detach a managed policy: without
// it, a guard such as "Deny iam:AttachUserPolicy when iam:PolicyARN is AdministratorAccess" would never match,
// and a caller could attach AdministratorAccess to itself past it.
func policyARNKey(policyARN string) map[string][]string {
	return map[string][]string{"iam:PolicyARN": {policyARN}}
}

func attachmentKey(kind, name, policyARN string) string { return kind + "/" + name + "/" + policyARN }
func attachmentByPolicyKey(policyARN, kind, name string) string {
	return policyARN + "|" + kind + "/" + name
}

// attach attaches a managed policy to a user, group or role (ten at most, as IAM's default quota).
func (s *Service) attach(ctx context.Context, kind, action, name, policyARN string) error {
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		e, err := s.loadEntityWith(ctx, tx, kind, action, name, policyARNKey(policyARN))
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if _, err := s.managedPolicyDoc(ctx, tx, p.Account, policyARN); err != nil {
			if isNotFound(err) {
				return policyNotFound(policyARN)
			}
			return err
		}
		if _, err := tx.Get(ctx, store.KindAttachment, p.Account, attachmentKey(kind, e.name, policyARN)); err == nil {
			return nil // attaching twice is not an error on AWS
		} else if !isNotFound(err) {
			return err
		}
		n, err := tx.Count(ctx, store.KindAttachment, p.Account, kind+"/"+e.name+"/")
		if err != nil {
			return err
		}
		if n >= quotaManagedPerPrincipal {
			quota := map[string]string{"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}[kind]
			return limitExceeded(quota, quotaManagedPerPrincipal)
		}
		at := store.Attachment{PolicyARN: policyARN, PrincipalType: kind, PrincipalName: e.name, PrincipalID: e.id}
		if err := create(ctx, tx, store.KindAttachment, p.Account, attachmentKey(kind, e.name, policyARN), "", &at); err != nil {
			return err
		}
		return create(ctx, tx, store.KindAttachmentByPolicy, p.Account, attachmentByPolicyKey(policyARN, kind, e.name), "", &at)
	})
}

// detach removes a managed policy from a user, group or role.
func (s *Service) detach(ctx context.Context, kind, action, name, policyARN string) error {
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		e, err := s.loadEntityWith(ctx, tx, kind, action, name, policyARNKey(policyARN))
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		// Keys are stored without regard to case, but the request was authorized on the ARN as given (iam:PolicyARN):
		// only the attached policy's exact ARN detaches it, or a case variant would remove a guardrail past a deny.
		var at store.Attachment
		_, err = load(ctx, tx, store.KindAttachment, p.Account, attachmentKey(kind, e.name, policyARN), &at)
		if isNotFound(err) || (err == nil && at.PolicyARN != policyARN) {
			return iamapi.NoSuchEntity("Policy %s was not found.", policyARN)
		}
		if err != nil {
			return err
		}
		err = tx.Delete(ctx, store.KindAttachment, p.Account, attachmentKey(kind, e.name, policyARN))
		if err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindAttachmentByPolicy, p.Account, attachmentByPolicyKey(policyARN, kind, e.name))
	})
}

// listAttached lists the managed policies attached to a user, group or role.
func (s *Service) listAttached(ctx context.Context, kind, action, name, pathPrefix, marker string, max *int32) ([]iamapi.AttachedPolicy, string, error) {
	e, err := s.loadEntity(ctx, s.store, kind, action, name)
	if err != nil {
		return nil, "", err
	}
	p, _ := caller(ctx)
	prefix := pathOrRoot(pathPrefix)
	list, next, err := pageOf(ctx, s.store, store.KindAttachment, p.Account, kind+"/"+e.name+"/", marker, maxItems(max), func(a *store.Attachment) bool {
		ref, err := s.parsePolicyARN(a.PolicyARN)
		return err == nil && strings.HasPrefix(ref.path, prefix)
	})
	if err != nil {
		return nil, "", err
	}
	out := []iamapi.AttachedPolicy{}
	for _, a := range list {
		out = append(out, iamapi.AttachedPolicy{PolicyName: a.PolicyARN[strings.LastIndex(a.PolicyARN, "/")+1:], PolicyArn: a.PolicyARN})
	}
	return out, next, nil
}

func inlineKey(kind, name, policyName string) string { return kind + "/" + name + "/" + policyName }

// putInline adds or replaces an inline policy, within the principal's total inline size quota.
func (s *Service) putInline(ctx context.Context, kind, action, name, policyName, doc string) error {
	if err := checkPolicy(doc, policy.KindIdentity); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		e, err := s.loadEntity(ctx, tx, kind, action, name)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		existing, err := store.ListJSON[store.InlinePolicy](ctx, tx, store.KindInlinePolicy, p.Account, kind+"/"+e.name+"/")
		if err != nil {
			return err
		}
		total := nonSpaceRunes(doc) + utf8.RuneCountInString(policyName)
		for _, ip := range existing {
			if !strings.EqualFold(ip.Name, policyName) {
				total += nonSpaceRunes(ip.Document) + utf8.RuneCountInString(ip.Name)
			}
		}
		if _, limit := inlineLimit(kind); total > limit {
			// AWS's wording, without the quota's name: "Maximum policy size of 10240 bytes exceeded for role R".
			return iamapi.LimitExceeded("Maximum policy size of %d bytes exceeded for %s %s", limit, kind, e.name)
		}
		ip := store.InlinePolicy{Name: policyName, Document: doc}
		key := inlineKey(kind, e.name, policyName)
		if rec, err := tx.Get(ctx, store.KindInlinePolicy, p.Account, key); err == nil {
			return update(ctx, tx, rec, &ip)
		} else if !isNotFound(err) {
			return err
		}
		return create(ctx, tx, store.KindInlinePolicy, p.Account, key, "", &ip)
	})
}

// getInline returns an inline policy's document.
func (s *Service) getInline(ctx context.Context, kind, action, name, policyName string) (*entity, string, error) {
	e, err := s.loadEntity(ctx, s.store, kind, action, name)
	if err != nil {
		return nil, "", err
	}
	p, _ := caller(ctx)
	var ip store.InlinePolicy
	if _, err := load(ctx, s.store, store.KindInlinePolicy, p.Account, inlineKey(kind, e.name, policyName), &ip); err != nil {
		if isNotFound(err) {
			return nil, "", iamapi.NoSuchEntity("The %s policy with name %s cannot be found.", kind, policyName)
		}
		return nil, "", err
	}
	return e, ip.Document, nil
}

// deleteInline deletes an inline policy.
func (s *Service) deleteInline(ctx context.Context, kind, action, name, policyName string) error {
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		e, err := s.loadEntity(ctx, tx, kind, action, name)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		err = tx.Delete(ctx, store.KindInlinePolicy, p.Account, inlineKey(kind, e.name, policyName))
		if isNotFound(err) {
			return iamapi.NoSuchEntity("The %s policy with name %s cannot be found.", kind, policyName)
		}
		return err
	})
}

// listInline lists the names of a principal's inline policies.
func (s *Service) listInline(ctx context.Context, kind, action, name, marker string, max *int32) ([]string, string, error) {
	e, err := s.loadEntity(ctx, s.store, kind, action, name)
	if err != nil {
		return nil, "", err
	}
	p, _ := caller(ctx)
	list, next, err := pageOf[store.InlinePolicy](ctx, s.store, store.KindInlinePolicy, p.Account, kind+"/"+e.name+"/", marker, maxItems(max), nil)
	if err != nil {
		return nil, "", err
	}
	names := []string{}
	for _, ip := range list {
		names = append(names, ip.Name)
	}
	return names, next, nil
}

// The per-principal operations, thin over the helpers above.

// AttachRolePolicy attaches a managed policy to a role.
func (s *Service) AttachRolePolicy(ctx context.Context, in *iamapi.AttachRolePolicyInput) (*iamapi.AttachRolePolicyOutput, error) {
	return &iamapi.AttachRolePolicyOutput{}, s.attach(ctx, "role", "AttachRolePolicy", in.RoleName, in.PolicyArn)
}

// AttachUserPolicy attaches a managed policy to a user.
func (s *Service) AttachUserPolicy(ctx context.Context, in *iamapi.AttachUserPolicyInput) (*iamapi.AttachUserPolicyOutput, error) {
	return &iamapi.AttachUserPolicyOutput{}, s.attach(ctx, "user", "AttachUserPolicy", in.UserName, in.PolicyArn)
}

// AttachGroupPolicy attaches a managed policy to a group.
func (s *Service) AttachGroupPolicy(ctx context.Context, in *iamapi.AttachGroupPolicyInput) (*iamapi.AttachGroupPolicyOutput, error) {
	return &iamapi.AttachGroupPolicyOutput{}, s.attach(ctx, "group", "AttachGroupPolicy", in.GroupName, in.PolicyArn)
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, in *iamapi.DetachRolePolicyInput) (*iamapi.DetachRolePolicyOutput, error) {
	return &iamapi.DetachRolePolicyOutput{}, s.detach(ctx, "role", "DetachRolePolicy", in.RoleName, in.PolicyArn)
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, in *iamapi.DetachUserPolicyInput) (*iamapi.DetachUserPolicyOutput, error) {
	return &iamapi.DetachUserPolicyOutput{}, s.detach(ctx, "user", "DetachUserPolicy", in.UserName, in.PolicyArn)
}

// DetachGroupPolicy detaches a managed policy from a group.
func (s *Service) DetachGroupPolicy(ctx context.Context, in *iamapi.DetachGroupPolicyInput) (*iamapi.DetachGroupPolicyOutput, error) {
	return &iamapi.DetachGroupPolicyOutput{}, s.detach(ctx, "group", "DetachGroupPolicy", in.GroupName, in.PolicyArn)
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, in *iamapi.ListAttachedRolePoliciesInput) (*iamapi.ListAttachedRolePoliciesOutput, error) {
	list, next, err := s.listAttached(ctx, "role", "ListAttachedRolePolicies", in.RoleName, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedRolePoliciesOutput{AttachedPolicies: list, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, in *iamapi.ListAttachedUserPoliciesInput) (*iamapi.ListAttachedUserPoliciesOutput, error) {
	list, next, err := s.listAttached(ctx, "user", "ListAttachedUserPolicies", in.UserName, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedUserPoliciesOutput{AttachedPolicies: list, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// ListAttachedGroupPolicies lists the managed policies attached to a group.
func (s *Service) ListAttachedGroupPolicies(ctx context.Context, in *iamapi.ListAttachedGroupPoliciesInput) (*iamapi.ListAttachedGroupPoliciesOutput, error) {
	list, next, err := s.listAttached(ctx, "group", "ListAttachedGroupPolicies", in.GroupName, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListAttachedGroupPoliciesOutput{AttachedPolicies: list, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// PutRolePolicy adds or replaces a role's inline policy.
func (s *Service) PutRolePolicy(ctx context.Context, in *iamapi.PutRolePolicyInput) (*iamapi.PutRolePolicyOutput, error) {
	return &iamapi.PutRolePolicyOutput{}, s.putInline(ctx, "role", "PutRolePolicy", in.RoleName, in.PolicyName, in.PolicyDocument)
}

// PutUserPolicy adds or replaces a user's inline policy.
func (s *Service) PutUserPolicy(ctx context.Context, in *iamapi.PutUserPolicyInput) (*iamapi.PutUserPolicyOutput, error) {
	return &iamapi.PutUserPolicyOutput{}, s.putInline(ctx, "user", "PutUserPolicy", in.UserName, in.PolicyName, in.PolicyDocument)
}

// PutGroupPolicy adds or replaces a group's inline policy.
func (s *Service) PutGroupPolicy(ctx context.Context, in *iamapi.PutGroupPolicyInput) (*iamapi.PutGroupPolicyOutput, error) {
	return &iamapi.PutGroupPolicyOutput{}, s.putInline(ctx, "group", "PutGroupPolicy", in.GroupName, in.PolicyName, in.PolicyDocument)
}

// GetRolePolicy returns a role's inline policy.
func (s *Service) GetRolePolicy(ctx context.Context, in *iamapi.GetRolePolicyInput) (*iamapi.GetRolePolicyOutput, error) {
	e, doc, err := s.getInline(ctx, "role", "GetRolePolicy", in.RoleName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetRolePolicyOutput{RoleName: e.name, PolicyName: in.PolicyName, PolicyDocument: doc}, nil
}

// GetUserPolicy returns a user's inline policy.
func (s *Service) GetUserPolicy(ctx context.Context, in *iamapi.GetUserPolicyInput) (*iamapi.GetUserPolicyOutput, error) {
	e, doc, err := s.getInline(ctx, "user", "GetUserPolicy", in.UserName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserPolicyOutput{UserName: e.name, PolicyName: in.PolicyName, PolicyDocument: doc}, nil
}

// GetGroupPolicy returns a group's inline policy.
func (s *Service) GetGroupPolicy(ctx context.Context, in *iamapi.GetGroupPolicyInput) (*iamapi.GetGroupPolicyOutput, error) {
	e, doc, err := s.getInline(ctx, "group", "GetGroupPolicy", in.GroupName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetGroupPolicyOutput{GroupName: e.name, PolicyName: in.PolicyName, PolicyDocument: doc}, nil
}

// DeleteRolePolicy deletes a role's inline policy.
func (s *Service) DeleteRolePolicy(ctx context.Context, in *iamapi.DeleteRolePolicyInput) (*iamapi.DeleteRolePolicyOutput, error) {
	return &iamapi.DeleteRolePolicyOutput{}, s.deleteInline(ctx, "role", "DeleteRolePolicy", in.RoleName, in.PolicyName)
}

// DeleteUserPolicy deletes a user's inline policy.
func (s *Service) DeleteUserPolicy(ctx context.Context, in *iamapi.DeleteUserPolicyInput) (*iamapi.DeleteUserPolicyOutput, error) {
	return &iamapi.DeleteUserPolicyOutput{}, s.deleteInline(ctx, "user", "DeleteUserPolicy", in.UserName, in.PolicyName)
}

// DeleteGroupPolicy deletes a group's inline policy.
func (s *Service) DeleteGroupPolicy(ctx context.Context, in *iamapi.DeleteGroupPolicyInput) (*iamapi.DeleteGroupPolicyOutput, error) {
	return &iamapi.DeleteGroupPolicyOutput{}, s.deleteInline(ctx, "group", "DeleteGroupPolicy", in.GroupName, in.PolicyName)
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, in *iamapi.ListRolePoliciesInput) (*iamapi.ListRolePoliciesOutput, error) {
	names, next, err := s.listInline(ctx, "role", "ListRolePolicies", in.RoleName, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRolePoliciesOutput{PolicyNames: names, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, in *iamapi.ListUserPoliciesInput) (*iamapi.ListUserPoliciesOutput, error) {
	names, next, err := s.listInline(ctx, "user", "ListUserPolicies", in.UserName, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListUserPoliciesOutput{PolicyNames: names, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// ListGroupPolicies lists the names of a group's inline policies.
func (s *Service) ListGroupPolicies(ctx context.Context, in *iamapi.ListGroupPoliciesInput) (*iamapi.ListGroupPoliciesOutput, error) {
	names, next, err := s.listInline(ctx, "group", "ListGroupPolicies", in.GroupName, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListGroupPoliciesOutput{PolicyNames: names, IsTruncated: ptr(next != ""), Marker: next}, nil
}

// ListEntitiesForPolicy lists the users, groups and roles a managed policy is attached to.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, in *iamapi.ListEntitiesForPolicyInput) (*iamapi.ListEntitiesForPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListEntitiesForPolicy", in.PolicyArn, nil); err != nil {
		return nil, shown(err, "policy", in.PolicyArn)
	}
	if _, err := s.managedPolicyDoc(ctx, s.store, p.Account, in.PolicyArn); err != nil {
		if isNotFound(err) {
			return nil, policyNotFound(in.PolicyArn)
		}
		return nil, err
	}
	// EntityFilter's LocalManagedPolicy and AWSManagedPolicy name no principal kind: they keep every principal.
	kind := map[string]string{"User": "user", "Group": "group", "Role": "role"}[string(in.EntityFilter)]
	list, err := entitiesForPolicy(ctx, s.store, p.Account, in.PolicyArn, string(in.PolicyUsageFilter), kind, pathOrRoot(in.PathPrefix))
	if err != nil {
		return nil, err
	}
	if in.Marker != "" {
		i := sort.Search(len(list), func(i int) bool { return list[i].key > in.Marker })
		list = list[i:]
	}
	out := &iamapi.ListEntitiesForPolicyOutput{
		PolicyGroups: []iamapi.PolicyGroup{}, PolicyUsers: []iamapi.PolicyUser{}, PolicyRoles: []iamapi.PolicyRole{},
		IsTruncated: ptr(false),
	}
	for i, e := range list {
		if i == maxItems(in.MaxItems) {
			out.IsTruncated, out.Marker = ptr(true), list[i-1].key
			break
		}
		switch e.kind {
		case "user":
			out.PolicyUsers = append(out.PolicyUsers, iamapi.PolicyUser{UserName: e.name, UserId: e.id})
		case "group":
			out.PolicyGroups = append(out.PolicyGroups, iamapi.PolicyGroup{GroupName: e.name, GroupId: e.id})
		case "role":
			out.PolicyRoles = append(out.PolicyRoles, iamapi.PolicyRole{RoleName: e.name, RoleId: e.id})
		}
	}
	return out, nil
}
