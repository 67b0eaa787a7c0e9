package iam

import (
	"context"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// Instance profiles. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html
const (
	// quotaInstanceProfilesPerAccount is IAM's default quota.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
	quotaInstanceProfilesPerAccount = 1000
	// quotaRolesPerInstanceProfile is fixed by AWS: "An instance profile can contain only one role, and this
	// quota cannot be increased."
	quotaRolesPerInstanceProfile = 1
)

func (s *Service) instanceProfileARN(account, path, name string) string {
	return arn.InstanceProfile(s.partition, account, pathOrRoot(path), name).String()
}

func instanceProfileNotFound(name string) error {
	return iamapi.NoSuchEntity("Instance Profile %s cannot be found.", name)
}

// loadInstanceProfile loads an instance profile by name and authorizes action on it with its aws:ResourceTag/…
// keys and extra. A missing profile is authorized against the ARN it would have at "/" (see loadRole).
func (s *Service) loadInstanceProfile(ctx context.Context, r store.Reader, action, name string, extra map[string][]string) (*store.InstanceProfile, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	var ip store.InstanceProfile
	rec, err := load(ctx, r, store.KindInstanceProfile, p.Account, name, &ip)
	if isNotFound(err) {
		if err := s.authorize(ctx, action, s.instanceProfileARN(p.Account, "/", name), extra); err != nil {
			return nil, rec, shown(err, "instance profile", name)
		}
		return nil, rec, instanceProfileNotFound(name)
	}
	if err != nil {
		return nil, rec, err
	}
	if err := s.authorize(ctx, action, s.instanceProfileARN(p.Account, ip.Path, ip.Name), mergeKeys(resourceTagKeys(ip.Tags), extra)); err != nil {
		return nil, rec, shown(err, "instance profile", ip.Name)
	}
	return &ip, rec, nil
}

// instanceProfileOut renders a profile with its roles in full, as AWS does (trust policy included).
func (s *Service) instanceProfileOut(ctx context.Context, r store.Reader, account string, ip *store.InstanceProfile, withTags bool) (*iamapi.InstanceProfile, error) {
	out := &iamapi.InstanceProfile{
		Path:                ip.Path,
		InstanceProfileName: ip.Name,
		InstanceProfileId:   ip.ID,
		Arn:                 s.instanceProfileARN(account, ip.Path, ip.Name),
		CreateDate:          ip.Created,
		Roles:               []iamapi.Role{},
	}
	if withTags {
		out.Tags = tagsOut(ip.Tags)
	}
	for _, name := range ip.Roles {
		var role store.Role
		if _, err := load(ctx, r, store.KindRole, account, name, &role); err != nil {
			if isNotFound(err) {
				continue // cannot happen: DeleteRole refuses while the role is in a profile
			}
			return nil, err
		}
		ro := s.roleOut(account, &role)
		ro.Tags, ro.PermissionsBoundary = nil, nil
		out.Roles = append(out.Roles, *ro)
	}
	return out, nil
}

// CreateInstanceProfile creates an empty instance profile (AIPA… id).
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html
func (s *Service) CreateInstanceProfile(ctx context.Context, in *iamapi.CreateInstanceProfileInput) (*iamapi.CreateInstanceProfileOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	if err := s.authorize(ctx, "CreateInstanceProfile", s.instanceProfileARN(p.Account, path, in.InstanceProfileName), requestTagKeys(in.Tags, "")); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	ip := store.InstanceProfile{Name: in.InstanceProfileName, ID: randomID(prefixInstanceProf, uniqueIDRandomChars), Path: path, Tags: tagsIn(in.Tags)}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindInstanceProfile, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaInstanceProfilesPerAccount {
			return limitExceeded("InstanceProfilesPerAccount", quotaInstanceProfilesPerAccount)
		}
		ip.Created = tx.Now()
		err = create(ctx, tx, store.KindInstanceProfile, p.Account, ip.Name, ip.ID, &ip)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("Instance Profile %s already exists.", in.InstanceProfileName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out, err := s.instanceProfileOut(ctx, s.store, p.Account, &ip, true)
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateInstanceProfileOutput{InstanceProfile: out}, nil
}

// GetInstanceProfile returns an instance profile with its role.
func (s *Service) GetInstanceProfile(ctx context.Context, in *iamapi.GetInstanceProfileInput) (*iamapi.GetInstanceProfileOutput, error) {
	ip, _, err := s.loadInstanceProfile(ctx, s.store, "GetInstanceProfile", in.InstanceProfileName, nil)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	out, err := s.instanceProfileOut(ctx, s.store, p.Account, ip, true)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetInstanceProfileOutput{InstanceProfile: out}, nil
}

// ListInstanceProfiles lists the account's instance profiles whose path starts with PathPrefix. AWS authorizes
// it on the instance-profile resource type: the ARN of the path prefix.
func (s *Service) ListInstanceProfiles(ctx context.Context, in *iamapi.ListInstanceProfilesInput) (*iamapi.ListInstanceProfilesOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	prefix := pathOrRoot(in.PathPrefix)
	if err := s.authorize(ctx, "ListInstanceProfiles", s.instanceProfileARN(p.Account, prefix, ""), nil); err != nil {
		return nil, err
	}
	ips, next, err := pageOf(ctx, s.store, store.KindInstanceProfile, p.Account, "", in.Marker, maxItems(in.MaxItems), func(ip *store.InstanceProfile) bool {
		return strings.HasPrefix(ip.Path, prefix)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListInstanceProfilesOutput{InstanceProfiles: []iamapi.InstanceProfile{}, IsTruncated: ptr(next != ""), Marker: next}
	for i := range ips {
		o, err := s.instanceProfileOut(ctx, s.store, p.Account, &ips[i], false)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, *o)
	}
	return out, nil
}

// ListInstanceProfilesForRole lists the instance profiles a role is in.
func (s *Service) ListInstanceProfilesForRole(ctx context.Context, in *iamapi.ListInstanceProfilesForRoleInput) (*iamapi.ListInstanceProfilesForRoleOutput, error) {
	role, _, err := s.loadRole(ctx, s.store, "ListInstanceProfilesForRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	links, next, err := pageOf[store.InstanceProfileRole](ctx, s.store, store.KindInstanceProfileByRole, p.Account, role.Name+"/", in.Marker, maxItems(in.MaxItems), nil)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListInstanceProfilesForRoleOutput{InstanceProfiles: []iamapi.InstanceProfile{}, IsTruncated: ptr(next != ""), Marker: next}
	for _, l := range links {
		var ip store.InstanceProfile
		if _, err := load(ctx, s.store, store.KindInstanceProfile, p.Account, l.Profile, &ip); err != nil {
			return nil, err
		}
		o, err := s.instanceProfileOut(ctx, s.store, p.Account, &ip, false)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, *o)
	}
	return out, nil
}

// AddRoleToInstanceProfile puts a role in an instance profile. A profile holds one role at most
// (LimitExceeded), and the caller must also be allowed iam:PassRole on the role, as AWS requires: otherwise
// anyone allowed to edit profiles could hand a powerful role to any instance that can launch with the profile.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html
func (s *Service) AddRoleToInstanceProfile(ctx context.Context, in *iamapi.AddRoleToInstanceProfileInput) (*iamapi.AddRoleToInstanceProfileOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		ip, rec, err := s.loadInstanceProfile(ctx, tx, "AddRoleToInstanceProfile", in.InstanceProfileName, nil)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		var role store.Role
		if _, err := load(ctx, tx, store.KindRole, p.Account, in.RoleName, &role); err != nil {
			if isNotFound(err) {
				return iamapi.NoSuchEntity("The role with name %s cannot be found.", in.RoleName)
			}
			return err
		}
		if err := s.authorize(ctx, "PassRole", s.roleARN(p.Account, role.Path, role.Name), mergeKeys(resourceTagKeys(role.Tags), map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}})); err != nil {
			return err
		}
		for _, r := range ip.Roles {
			if strings.EqualFold(r, role.Name) {
				return limitExceeded("InstanceSessionsPerInstanceProfile", quotaRolesPerInstanceProfile)
			}
		}
		if len(ip.Roles) >= quotaRolesPerInstanceProfile {
			return limitExceeded("InstanceSessionsPerInstanceProfile", quotaRolesPerInstanceProfile)
		}
		ip.Roles = append(ip.Roles, role.Name)
		if err := update(ctx, tx, rec, ip); err != nil {
			return err
		}
		return create(ctx, tx, store.KindInstanceProfileByRole, p.Account, role.Name+"/"+ip.Name, "", &store.InstanceProfileRole{Role: role.Name, Profile: ip.Name})
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AddRoleToInstanceProfileOutput{}, nil
}

// RemoveRoleFromInstanceProfile takes a role out of an instance profile.
func (s *Service) RemoveRoleFromInstanceProfile(ctx context.Context, in *iamapi.RemoveRoleFromInstanceProfileInput) (*iamapi.RemoveRoleFromInstanceProfileOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		ip, rec, err := s.loadInstanceProfile(ctx, tx, "RemoveRoleFromInstanceProfile", in.InstanceProfileName, nil)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		idx := -1
		for i, r := range ip.Roles {
			if strings.EqualFold(r, in.RoleName) {
				idx = i
			}
		}
		if idx < 0 {
			if _, err := tx.Get(ctx, store.KindRole, p.Account, in.RoleName); isNotFound(err) {
				return iamapi.NoSuchEntity("The role with name %s cannot be found.", in.RoleName)
			} else if err != nil {
				return err
			}
			return iamapi.NoSuchEntity("Role %s in Instance Profile %s cannot be found.", in.RoleName, ip.Name)
		}
		roleName := ip.Roles[idx]
		ip.Roles = append(ip.Roles[:idx], ip.Roles[idx+1:]...)
		if err := update(ctx, tx, rec, ip); err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindInstanceProfileByRole, p.Account, roleName+"/"+ip.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.RemoveRoleFromInstanceProfileOutput{}, nil
}

// DeleteInstanceProfile deletes an instance profile that holds no role, as AWS requires.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteInstanceProfile.html
func (s *Service) DeleteInstanceProfile(ctx context.Context, in *iamapi.DeleteInstanceProfileInput) (*iamapi.DeleteInstanceProfileOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		ip, _, err := s.loadInstanceProfile(ctx, tx, "DeleteInstanceProfile", in.InstanceProfileName, nil)
		if err != nil {
			return err
		}
		if len(ip.Roles) > 0 {
			return iamapi.DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		p, _ := caller(ctx)
		return tx.Delete(ctx, store.KindInstanceProfile, p.Account, ip.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteInstanceProfileOutput{}, nil
}

// checkRoleNotInProfile is DeleteRole's DeleteConflict while the role is in an instance profile.
func checkRoleNotInProfile(ctx context.Context, tx store.Tx, account, role string) error {
	n, err := tx.Count(ctx, store.KindInstanceProfileByRole, account, role+"/")
	if err != nil {
		return err
	}
	if n > 0 {
		return iamapi.DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	return nil
}

// TagInstanceProfile adds or replaces tags on an instance profile.
func (s *Service) TagInstanceProfile(ctx context.Context, in *iamapi.TagInstanceProfileInput) (*iamapi.TagInstanceProfileOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.InstanceProfile, store.Record, error) {
		return s.loadInstanceProfile(ctx, r, "TagInstanceProfile", in.InstanceProfileName, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(ip *store.InstanceProfile) *[]store.Tag { return &ip.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagInstanceProfileOutput{}, nil
}

// UntagInstanceProfile removes tags from an instance profile.
func (s *Service) UntagInstanceProfile(ctx context.Context, in *iamapi.UntagInstanceProfileInput) (*iamapi.UntagInstanceProfileOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.InstanceProfile, store.Record, error) {
		return s.loadInstanceProfile(ctx, r, "UntagInstanceProfile", in.InstanceProfileName, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(ip *store.InstanceProfile) *[]store.Tag { return &ip.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagInstanceProfileOutput{}, nil
}

// ListInstanceProfileTags lists an instance profile's tags.
func (s *Service) ListInstanceProfileTags(ctx context.Context, in *iamapi.ListInstanceProfileTagsInput) (*iamapi.ListInstanceProfileTagsOutput, error) {
	ip, _, err := s.loadInstanceProfile(ctx, s.store, "ListInstanceProfileTags", in.InstanceProfileName, nil)
	if err != nil {
		return nil, err
	}
	tags, trunc, next, err := pageTags(ip.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListInstanceProfileTagsOutput{Tags: tags, IsTruncated: trunc, Marker: next}, nil
}
