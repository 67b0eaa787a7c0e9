package iam

import (
	"context"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

func (s *Service) groupARN(account, path, name string) string {
	return arn.Group(s.partition, account, pathOrRoot(path), name).String()
}

func (s *Service) groupOut(account string, g *store.Group) *iamapi.Group {
	return &iamapi.Group{Path: g.Path, GroupName: g.Name, GroupId: g.ID, Arn: s.groupARN(account, g.Path, g.Name), CreateDate: g.Created}
}

// loadGroup loads a group by name and authorizes action on it (see loadRole for missing ones).
func (s *Service) loadGroup(ctx context.Context, r store.Reader, action, name string) (*store.Group, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	var g store.Group
	rec, err := load(ctx, r, store.KindGroup, p.Account, name, &g)
	if isNotFound(err) {
		if err := s.authorize(ctx, action, s.groupARN(p.Account, "/", name), nil); err != nil {
			return nil, rec, shown(err, "group", name)
		}
		return nil, rec, iamapi.NoSuchEntity("The group with name %s cannot be found.", name)
	}
	if err != nil {
		return nil, rec, err
	}
	if err := s.authorize(ctx, action, s.groupARN(p.Account, g.Path, g.Name), nil); err != nil {
		return nil, rec, shown(err, "group", g.Name)
	}
	return &g, rec, nil
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, in *iamapi.CreateGroupInput) (*iamapi.CreateGroupOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	if err := s.authorize(ctx, "CreateGroup", s.groupARN(p.Account, path, in.GroupName), nil); err != nil {
		return nil, err
	}
	g := store.Group{Name: in.GroupName, ID: randomID(prefixGroup, uniqueIDRandomChars), Path: path}
	respondWith(ctx, func() any { return &iamapi.CreateGroupOutput{Group: s.groupOut(p.Account, &g)} })
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindGroup, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaGroupsPerAccount {
			return limitExceeded("GroupsPerAccount", quotaGroupsPerAccount)
		}
		g.Created = tx.Now()
		err = create(ctx, tx, store.KindGroup, p.Account, g.Name, g.ID, &g)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("Group with name %s already exists.", in.GroupName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateGroupOutput{Group: s.groupOut(p.Account, &g)}, nil
}

// GetGroup returns a group and a page of its users.
func (s *Service) GetGroup(ctx context.Context, in *iamapi.GetGroupInput) (*iamapi.GetGroupOutput, error) {
	g, _, err := s.loadGroup(ctx, s.store, "GetGroup", in.GroupName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	members, next, err := pageOf[store.Membership](ctx, s.store, store.KindMembership, p.Account, g.Name+"/", in.Marker, maxItems(in.MaxItems), nil)
	if err != nil {
		return nil, err
	}
	out := &iamapi.GetGroupOutput{Group: s.groupOut(p.Account, g), Users: []iamapi.User{}, IsTruncated: ptr(next != ""), Marker: next}
	for _, m := range members {
		var u store.User
		if _, err := load(ctx, s.store, store.KindUser, p.Account, m.User, &u); err != nil {
			return nil, err
		}
		uo := s.userOut(p.Account, &u)
		uo.Tags, uo.PermissionsBoundary = nil, nil
		out.Users = append(out.Users, *uo)
	}
	return out, nil
}

// ListGroups lists the account's groups whose path starts with PathPrefix.
func (s *Service) ListGroups(ctx context.Context, in *iamapi.ListGroupsInput) (*iamapi.ListGroupsOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListGroups", "*", nil); err != nil {
		return nil, err
	}
	prefix := pathOrRoot(in.PathPrefix)
	groups, next, err := pageOf(ctx, s.store, store.KindGroup, p.Account, "", in.Marker, maxItems(in.MaxItems), func(g *store.Group) bool {
		return strings.HasPrefix(g.Path, prefix)
	})
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListGroupsOutput{Groups: []iamapi.Group{}, IsTruncated: ptr(next != ""), Marker: next}
	for i := range groups {
		out.Groups = append(out.Groups, *s.groupOut(p.Account, &groups[i]))
	}
	return out, nil
}

// ListGroupsForUser lists the groups a user belongs to.
func (s *Service) ListGroupsForUser(ctx context.Context, in *iamapi.ListGroupsForUserInput) (*iamapi.ListGroupsForUserOutput, error) {
	u, _, err := s.loadUser(ctx, s.store, "ListGroupsForUser", in.UserName)
	if err != nil {
		return nil, err
	}
	p, _ := caller(ctx)
	members, next, err := pageOf[store.Membership](ctx, s.store, store.KindMembershipByUser, p.Account, u.Name+"/", in.Marker, maxItems(in.MaxItems), nil)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListGroupsForUserOutput{Groups: []iamapi.Group{}, IsTruncated: ptr(next != ""), Marker: next}
	for _, m := range members {
		var g store.Group
		if _, err := load(ctx, s.store, store.KindGroup, p.Account, m.Group, &g); err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, *s.groupOut(p.Account, &g))
	}
	return out, nil
}

// UpdateGroup renames a group or changes its path.
func (s *Service) UpdateGroup(ctx context.Context, in *iamapi.UpdateGroupInput) (*iamapi.UpdateGroupOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		g, rec, err := s.loadGroup(ctx, tx, "UpdateGroup", in.GroupName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		oldName := g.Name
		if in.NewPath != "" {
			g.Path = in.NewPath
		}
		if in.NewGroupName != "" {
			g.Name = in.NewGroupName
		}
		if err := s.authorize(ctx, "UpdateGroup", s.groupARN(p.Account, g.Path, g.Name), nil); err != nil {
			return err
		}
		if oldName == g.Name {
			return update(ctx, tx, rec, g)
		}
		return s.renameGroup(ctx, tx, p.Account, oldName, g)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.UpdateGroupOutput{}, nil
}

// renameGroup moves a group and every record keyed by its name, in one transaction.
func (s *Service) renameGroup(ctx context.Context, tx store.Tx, account, oldName string, g *store.Group) error {
	if err := tx.Delete(ctx, store.KindGroup, account, oldName); err != nil {
		return err
	}
	if err := create(ctx, tx, store.KindGroup, account, g.Name, g.ID, g); err != nil {
		if isExists(err) {
			return iamapi.EntityAlreadyExists("Group with name %s already exists.", g.Name)
		}
		return err
	}
	members, err := store.ListJSON[store.Membership](ctx, tx, store.KindMembership, account, oldName+"/")
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := s.removeMember(ctx, tx, account, oldName, m.User); err != nil {
			return err
		}
		if err := s.addMember(ctx, tx, account, g.Name, m.User); err != nil {
			return err
		}
	}
	inline, err := store.ListJSON[store.InlinePolicy](ctx, tx, store.KindInlinePolicy, account, "group/"+oldName+"/")
	if err != nil {
		return err
	}
	for _, ip := range inline {
		if err := tx.Delete(ctx, store.KindInlinePolicy, account, inlineKey("group", oldName, ip.Name)); err != nil {
			return err
		}
		if err := create(ctx, tx, store.KindInlinePolicy, account, inlineKey("group", g.Name, ip.Name), "", &ip); err != nil {
			return err
		}
	}
	attached, err := store.ListJSON[store.Attachment](ctx, tx, store.KindAttachment, account, "group/"+oldName+"/")
	if err != nil {
		return err
	}
	for _, a := range attached {
		if err := tx.Delete(ctx, store.KindAttachment, account, attachmentKey("group", oldName, a.PolicyARN)); err != nil {
			return err
		}
		if err := tx.Delete(ctx, store.KindAttachmentByPolicy, account, attachmentByPolicyKey(a.PolicyARN, "group", oldName)); err != nil {
			return err
		}
		a.PrincipalName = g.Name
		if err := create(ctx, tx, store.KindAttachment, account, attachmentKey("group", g.Name, a.PolicyARN), "", &a); err != nil {
			return err
		}
		if err := create(ctx, tx, store.KindAttachmentByPolicy, account, attachmentByPolicyKey(a.PolicyARN, "group", g.Name), "", &a); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) addMember(ctx context.Context, tx store.Tx, account, group, user string) error {
	m := store.Membership{Group: group, User: user}
	if err := create(ctx, tx, store.KindMembership, account, group+"/"+user, "", &m); err != nil {
		return err
	}
	return create(ctx, tx, store.KindMembershipByUser, account, user+"/"+group, "", &m)
}

func (s *Service) removeMember(ctx context.Context, tx store.Tx, account, group, user string) error {
	if err := tx.Delete(ctx, store.KindMembership, account, group+"/"+user); err != nil {
		return err
	}
	return tx.Delete(ctx, store.KindMembershipByUser, account, user+"/"+group)
}

// DeleteGroup deletes a group that has no members or policies left.
func (s *Service) DeleteGroup(ctx context.Context, in *iamapi.DeleteGroupInput) (*iamapi.DeleteGroupOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		g, _, err := s.loadGroup(ctx, tx, "DeleteGroup", in.GroupName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if n, err := tx.Count(ctx, store.KindMembership, p.Account, g.Name+"/"); err != nil {
			return err
		} else if n > 0 {
			return iamapi.DeleteConflict("Cannot delete entity, must remove users from group first.")
		}
		if err := s.checkNoPolicies(ctx, tx, p.Account, "group", g.Name); err != nil {
			return err
		}
		return tx.Delete(ctx, store.KindGroup, p.Account, g.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteGroupOutput{}, nil
}

// AddUserToGroup adds a user to a group (ten groups per user at most).
func (s *Service) AddUserToGroup(ctx context.Context, in *iamapi.AddUserToGroupInput) (*iamapi.AddUserToGroupOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		g, _, err := s.loadGroup(ctx, tx, "AddUserToGroup", in.GroupName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		var u store.User
		if _, err := load(ctx, tx, store.KindUser, p.Account, in.UserName, &u); err != nil {
			if isNotFound(err) {
				return iamapi.NoSuchEntity("The user with name %s cannot be found.", in.UserName)
			}
			return err
		}
		if _, err := tx.Get(ctx, store.KindMembership, p.Account, g.Name+"/"+u.Name); err == nil {
			return nil // already a member: AWS answers success
		} else if !isNotFound(err) {
			return err
		}
		if n, err := tx.Count(ctx, store.KindMembershipByUser, p.Account, u.Name+"/"); err != nil {
			return err
		} else if n >= quotaGroupsPerUser {
			return limitExceeded("GroupsPerUser", quotaGroupsPerUser)
		}
		return s.addMember(ctx, tx, p.Account, g.Name, u.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.AddUserToGroupOutput{}, nil
}

// RemoveUserFromGroup removes a user from a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, in *iamapi.RemoveUserFromGroupInput) (*iamapi.RemoveUserFromGroupOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		g, _, err := s.loadGroup(ctx, tx, "RemoveUserFromGroup", in.GroupName)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		var u store.User
		if _, err := load(ctx, tx, store.KindUser, p.Account, in.UserName, &u); err != nil {
			if isNotFound(err) {
				return iamapi.NoSuchEntity("The user with name %s cannot be found.", in.UserName)
			}
			return err
		}
		err = s.removeMember(ctx, tx, p.Account, g.Name, u.Name)
		if isNotFound(err) {
			return iamapi.NoSuchEntity("User %s is not in group %s.", u.Name, g.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.RemoveUserFromGroupOutput{}, nil
}
