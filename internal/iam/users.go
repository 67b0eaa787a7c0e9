package iam

import (
	"context"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

func (s *Service) userARN(account, path, name string) string {
	return arn.User(s.partition, account, pathOrRoot(path), name).String()
}

func (s *Service) userOut(account string, u *store.User) *iamapi.User {
	out := &iamapi.User{
		Path:       u.Path,
		UserName:   u.Name,
		UserId:     u.ID,
		Arn:        s.userARN(account, u.Path, u.Name),
		CreateDate: u.Created,
		Tags:       tagsOut(u.Tags),
	}
	if !u.PasswordLastUsed.IsZero() {
		out.PasswordLastUsed = ptr(u.PasswordLastUsed)
	}
	if u.PermissionsBoundary != "" {
		out.PermissionsBoundary = boundaryOut(u.PermissionsBoundary)
	}
	return out
}

// loadUser loads a user by name and authorizes action on it (see loadRole for missing ones).
func (s *Service) loadUser(ctx context.Context, r store.Reader, action, name string) (*store.User, store.Record, error) {
	return s.loadUserWith(ctx, r, action, name, nil)
}

// loadUserWith is loadUser with extra request condition keys (see loadRoleWith).
func (s *Service) loadUserWith(ctx context.Context, r store.Reader, action, name string, extra map[string][]string) (*store.User, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	var u store.User
	rec, err := load(ctx, r, store.KindUser, p.Account, name, &u)
	if isNotFound(err) {
		if err := s.authorize(ctx, action, s.userARN(p.Account, "/", name), extra); err != nil {
			return nil, rec, shown(err, "user", name)
		}
		return nil, rec, iamapi.NoSuchEntity("The user with name %s cannot be found.", name)
	}
	if err != nil {
		return nil, rec, err
	}
	if err := s.authorize(ctx, action, s.userARN(p.Account, u.Path, u.Name), mergeKeys(resourceTagKeys(u.Tags), extra)); err != nil {
		return nil, rec, shown(err, "user", u.Name)
	}
	return &u, rec, nil
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, in *iamapi.CreateUserInput) (*iamapi.CreateUserOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	if err := s.authorize(ctx, "CreateUser", s.userARN(p.Account, path, in.UserName), requestTagKeys(in.Tags, in.PermissionsBoundary)); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	u := store.User{Name: in.UserName, ID: randomID(prefixUser, uniqueIDRandomChars), Path: path, Tags: tagsIn(in.Tags)}
	respondWith(ctx, func() any { return &iamapi.CreateUserOutput{User: s.userOut(p.Account, &u)} })
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		if in.PermissionsBoundary != "" {
			if err := s.checkBoundary(ctx, tx, p.Account, in.PermissionsBoundary); err != nil {
				return err
			}
			u.PermissionsBoundary = in.PermissionsBoundary
		}
		n, err := tx.Count(ctx, store.KindUser, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaUsersPerAccount {
			return limitExceeded("UsersPerAccount", quotaUsersPerAccount)
		}
		u.Created = tx.Now()
		err = create(ctx, tx, store.KindUser, p.Account, u.Name, u.ID, &u)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("User with name %s already exists.", in.UserName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateUserOutput{User: s.userOut(p.Account, &u)}, nil
}

// GetUser returns a user; without a name, the calling user (or, for root, the account as a user-like record).
func (s *Service) GetUser(ctx context.Context, in *iamapi.GetUserInput) (*iamapi.GetUserOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	name := in.UserName
	if name == "" {
		switch p.Type {
		case authz.IAMUser:
			name = p.Name
		case authz.Root:
			if err := s.authorize(ctx, "GetUser", p.ARN, nil); err != nil {
				return nil, err
			}
			var acct store.Account
			if _, err := load(ctx, s.store, store.KindAccount, "", p.Account, &acct); err != nil {
				return nil, err
			}
			return &iamapi.GetUserOutput{User: &iamapi.User{UserId: p.Account, Arn: p.ARN, CreateDate: acct.Created, Path: "/", UserName: ""}}, nil
		default:
			return nil, iamapi.ValidationError("Must specify userName when calling with non-User credentials")
		}
	}
	u, _, err := s.loadUser(ctx, s.store, "GetUser", name)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetUserOutput{User: s.userOut(p.Account, u)}, nil
}

// ListUsers lists the account's users whose path starts with PathPrefix (without tags or boundary, as AWS).
func (s *Service) ListUsers(ctx context.Context, in *iamapi.ListUsersInput) (*iamapi.ListUsersOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListUsers", "*", nil); err != nil {
		return nil, err
	}
	prefix := pathOrRoot(in.PathPrefix)
	users, next, err := pageOf(ctx, s.store, store.KindUser, p.Account, "", in.Marker, maxItems(in.MaxItems), func(u *store.User) bool {
		return strings.HasPrefix(u.Path, prefix)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListUsersOutput{Users: []iamapi.User{}, IsTruncated: ptr(next != ""), Marker: next}
	for i := range users {
		u := s.userOut(p.Account, &users[i])
		u.Tags, u.PermissionsBoundary = nil, nil
		out.Users = append(out.Users, *u)
	}
	return out, nil
}

// UpdateUser renames a user or changes its path, carrying its keys, policies and group memberships along.
func (s *Service) UpdateUser(ctx context.Context, in *iamapi.UpdateUserInput) (*iamapi.UpdateUserOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, _, err := s.loadUser(ctx, tx, "UpdateUser", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		old := *u
		if in.NewPath != "" {
			u.Path = in.NewPath
		}
		if in.NewUserName != "" {
			u.Name = in.NewUserName
		}
		// The caller must also be allowed to act on the user's new name and path.
		if err := s.authorize(ctx, "UpdateUser", s.userARN(p.Account, u.Path, u.Name), nil); err != nil {
			return err
		}
		if old.Name == u.Name {
			rec, err := tx.Get(ctx, store.KindUser, p.Account, old.Name)
			if err != nil {
				return err
			}
			return update(ctx, tx, rec, u)
		}
		return s.renameUser(ctx, tx, p.Account, old.Name, u)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateUserOutput{}, nil
}

// renameUser moves a user and every record keyed by its name to the new name, in one transaction.
func (s *Service) renameUser(ctx context.Context, tx store.Tx, account, oldName string, u *store.User) error {
	if err := tx.Delete(ctx, store.KindUser, account, oldName); err != nil {
		return err
	}
	if err := create(ctx, tx, store.KindUser, account, u.Name, u.ID, u); err != nil {
		if isExists(err) {
			return iamapi.EntityAlreadyExists("User with name %s already exists.", u.Name)
		}
		return err
	}
	move := func(kind store.Kind, oldKey, newKey string, fix func([]byte) ([]byte, error)) error {
		rec, err := tx.Get(ctx, kind, account, oldKey)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, kind, account, oldKey); err != nil {
			return err
		}
		data := rec.Data
		if fix != nil {
			if data, err = fix(data); err != nil {
				return err
			}
		}
		return tx.Create(ctx, store.Record{Kind: kind, Account: account, Key: newKey, ID: rec.ID, Data: data})
	}
	// Access keys.
	keys, err := store.ListJSON[store.AccessKey](ctx, tx, store.KindAccessKey, account, oldName+"/")
	if err != nil {
		return err
	}
	for _, k := range keys {
		k := k
		if err := move(store.KindAccessKey, accessKeyRecordKey(oldName, k.ID), accessKeyRecordKey(u.Name, k.ID), func([]byte) ([]byte, error) {
			k.UserName = u.Name
			return marshal(&k)
		}); err != nil {
			return err
		}
	}
	// Inline policies.
	inline, err := store.ListJSON[store.InlinePolicy](ctx, tx, store.KindInlinePolicy, account, "user/"+oldName+"/")
	if err != nil {
		return err
	}
	for _, ip := range inline {
		if err := move(store.KindInlinePolicy, inlineKey("user", oldName, ip.Name), inlineKey("user", u.Name, ip.Name), nil); err != nil {
			return err
		}
	}
	// Attachments, both directions.
	attached, err := store.ListJSON[store.Attachment](ctx, tx, store.KindAttachment, account, "user/"+oldName+"/")
	if err != nil {
		return err
	}
	for _, a := range attached {
		a := a
		a.PrincipalName = u.Name
		fix := func([]byte) ([]byte, error) { return marshal(&a) }
		if err := move(store.KindAttachment, attachmentKey("user", oldName, a.PolicyARN), attachmentKey("user", u.Name, a.PolicyARN), fix); err != nil {
			return err
		}
		if err := move(store.KindAttachmentByPolicy, attachmentByPolicyKey(a.PolicyARN, "user", oldName), attachmentByPolicyKey(a.PolicyARN, "user", u.Name), fix); err != nil {
			return err
		}
	}
	if err := renameUserCredentials(ctx, tx, account, oldName, u.Name); err != nil {
		return err
	}
	// Group memberships, both directions.
	groups, err := store.ListJSON[store.Membership](ctx, tx, store.KindMembershipByUser, account, oldName+"/")
	if err != nil {
		return err
	}
	for _, m := range groups {
		m := m
		m.User = u.Name
		fix := func([]byte) ([]byte, error) { return marshal(&m) }
		if err := move(store.KindMembershipByUser, oldName+"/"+m.Group, u.Name+"/"+m.Group, fix); err != nil {
			return err
		}
		if err := move(store.KindMembership, m.Group+"/"+oldName, m.Group+"/"+u.Name, fix); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUser deletes a user that has no access keys, policies or group memberships left, as AWS requires.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
func (s *Service) DeleteUser(ctx context.Context, in *iamapi.DeleteUserInput) (*iamapi.DeleteUserOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, _, err := s.loadUser(ctx, tx, "DeleteUser", in.UserName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if n, err := tx.Count(ctx, store.KindAccessKey, p.Account, u.Name+"/"); err != nil {
			return err
		} else if n > 0 {
			return iamapi.DeleteConflict("Cannot delete entity, must delete access keys first.")
		}
		if n, err := tx.Count(ctx, store.KindMembershipByUser, p.Account, u.Name+"/"); err != nil {
			return err
		} else if n > 0 {
			return iamapi.DeleteConflict("Cannot delete entity, must remove user from all groups first.")
		}
		if err := s.checkNoPolicies(ctx, tx, p.Account, "user", u.Name); err != nil {
			return err
		}
		if err := checkUserCredentialsGone(ctx, tx, p.Account, u.Name); err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindUser, p.Account, u.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteUserOutput{}, nil
}
