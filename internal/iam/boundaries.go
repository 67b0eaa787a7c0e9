package iam

import (
	"context"

	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// Permissions boundaries of users and roles: a managed policy that caps what the entity's identity policies can
// grant. authz applies a stored boundary in every decision; these calls set and clear it. The caller's request
// carries iam:PermissionsBoundary (the boundary being set, or the one being removed), so an administrator can be
// allowed to hand out only a given boundary.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html

func boundaryKey(policyARN string) map[string][]string {
	if policyARN == "" {
		return nil
	}
	return map[string][]string{"iam:PermissionsBoundary": {policyARN}}
}

// PutRolePermissionsBoundary sets or replaces a role's permissions boundary.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, in *iamapi.PutRolePermissionsBoundaryInput) (*iamapi.PutRolePermissionsBoundaryOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		role, rec, err := s.loadRoleWith(ctx, tx, "PutRolePermissionsBoundary", in.RoleName, boundaryKey(in.PermissionsBoundary))
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if err := s.checkBoundary(ctx, tx, p.Account, in.PermissionsBoundary); err != nil {
			return err
		}
		role.PermissionsBoundary = in.PermissionsBoundary
		return update(ctx, tx, rec, role)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutRolePermissionsBoundaryOutput{}, nil
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, in *iamapi.DeleteRolePermissionsBoundaryInput) (*iamapi.DeleteRolePermissionsBoundaryOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		var current store.Role
		if _, err := s.peek(ctx, tx, store.KindRole, in.RoleName, &current); err != nil {
			return err
		}
		role, rec, err := s.loadRoleWith(ctx, tx, "DeleteRolePermissionsBoundary", in.RoleName, boundaryKey(current.PermissionsBoundary))
		if err != nil {
			return err
		}
		role.PermissionsBoundary = ""
		return update(ctx, tx, rec, role)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteRolePermissionsBoundaryOutput{}, nil
}

// PutUserPermissionsBoundary sets or replaces a user's permissions boundary.
func (s *Service) PutUserPermissionsBoundary(ctx context.Context, in *iamapi.PutUserPermissionsBoundaryInput) (*iamapi.PutUserPermissionsBoundaryOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, rec, err := s.loadUserWith(ctx, tx, "PutUserPermissionsBoundary", in.UserName, boundaryKey(in.PermissionsBoundary))
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if err := s.checkBoundary(ctx, tx, p.Account, in.PermissionsBoundary); err != nil {
			return err
		}
		u.PermissionsBoundary = in.PermissionsBoundary
		return update(ctx, tx, rec, u)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.PutUserPermissionsBoundaryOutput{}, nil
}

// DeleteUserPermissionsBoundary removes a user's permissions boundary.
func (s *Service) DeleteUserPermissionsBoundary(ctx context.Context, in *iamapi.DeleteUserPermissionsBoundaryInput) (*iamapi.DeleteUserPermissionsBoundaryOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		var current store.User
		if _, err := s.peek(ctx, tx, store.KindUser, in.UserName, &current); err != nil {
			return err
		}
		u, rec, err := s.loadUserWith(ctx, tx, "DeleteUserPermissionsBoundary", in.UserName, boundaryKey(current.PermissionsBoundary))
		if err != nil {
			return err
		}
		u.PermissionsBoundary = ""
		return update(ctx, tx, rec, u)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteUserPermissionsBoundaryOutput{}, nil
}

// peek reads an entity of the caller's account without authorizing, only to learn the condition keys its
// authorization needs; a missing one leaves v zero, and the load that follows answers NoSuchEntity after
// authorizing, so nothing is revealed.
func (s *Service) peek(ctx context.Context, r store.Reader, kind store.Kind, name string, v any) (bool, error) {
	p, err := caller(ctx)
	if err != nil {
		return false, err
	}
	_, err = load(ctx, r, kind, p.Account, name, v)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
