package iam

import (
	"context"
	"sort"
	"strings"

	"github.com/persona-iam/persona/internal/store"
)

// holder is a user, group or role as ListEntitiesForPolicy and the policy counts see it.
type holder struct {
	kind, name, id, path, boundary string
}

// holders reads the account's users, groups and roles once: the permissions-boundary usage of a policy is a
// property of the users and roles that name it, so counting it (PermissionsBoundaryUsageCount), filtering by it
// (PolicyUsageFilter) and refusing to delete a policy in use as a boundary all start here.
func holders(ctx context.Context, r store.Reader, account string) (map[string]holder, error) {
	out := map[string]holder{}
	users, err := store.ListJSON[store.User](ctx, r, store.KindUser, account, "")
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		out["user/"+strings.ToLower(u.Name)] = holder{"user", u.Name, u.ID, u.Path, u.PermissionsBoundary}
	}
	roles, err := store.ListJSON[store.Role](ctx, r, store.KindRole, account, "")
	if err != nil {
		return nil, err
	}
	for _, ro := range roles {
		out["role/"+strings.ToLower(ro.Name)] = holder{"role", ro.Name, ro.ID, ro.Path, ro.PermissionsBoundary}
	}
	groups, err := store.ListJSON[store.Group](ctx, r, store.KindGroup, account, "")
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out["group/"+strings.ToLower(g.Name)] = holder{kind: "group", name: g.Name, id: g.ID, path: g.Path}
	}
	return out, nil
}

// boundaryCounts returns, for each policy ARN, how many users and roles use it as their permissions boundary.
func boundaryCounts(ctx context.Context, r store.Reader, account string) (map[string]int, error) {
	counts := map[string]int{}
	users, err := store.ListJSON[store.User](ctx, r, store.KindUser, account, "")
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.PermissionsBoundary != "" {
			counts[u.PermissionsBoundary]++
		}
	}
	roles, err := store.ListJSON[store.Role](ctx, r, store.KindRole, account, "")
	if err != nil {
		return nil, err
	}
	for _, ro := range roles {
		if ro.PermissionsBoundary != "" {
			counts[ro.PermissionsBoundary]++
		}
	}
	return counts, nil
}

// policyEntity is one row of ListEntitiesForPolicy, keyed for paging.
type policyEntity struct {
	key string
	holder
}

// entitiesForPolicy lists the users, groups and roles that use policyARN as a permissions policy (attached), as a
// permissions boundary, or either (usage ""), ordered by kind and name without regard to case; an entity that
// uses it both ways is listed once. kindFilter ("user", "group", "role" or "") and pathPrefix narrow the list.
func entitiesForPolicy(ctx context.Context, r store.Reader, account, policyARN, usage, kindFilter, pathPrefix string) ([]policyEntity, error) {
	all, err := holders(ctx, r, account)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []policyEntity
	add := func(key string) {
		h, ok := all[key]
		if !ok || seen[key] || (kindFilter != "" && h.kind != kindFilter) || !strings.HasPrefix(h.path, pathPrefix) {
			return
		}
		seen[key] = true
		out = append(out, policyEntity{key: key, holder: h})
	}
	if usage == "" || usage == "PermissionsPolicy" {
		attached, err := store.ListJSON[store.Attachment](ctx, r, store.KindAttachmentByPolicy, account, policyARN+"|")
		if err != nil {
			return nil, err
		}
		for _, a := range attached {
			add(a.PrincipalType + "/" + strings.ToLower(a.PrincipalName))
		}
	}
	if usage == "" || usage == "PermissionsBoundary" {
		for key, h := range all {
			if h.boundary == policyARN {
				add(key)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

type boundaryCountsKey struct{}

// withBoundaryCounts computes the account's permissions-boundary usage once for a call that renders many policies.
func (s *Service) withBoundaryCounts(ctx context.Context, account string) (context.Context, error) {
	m, err := boundaryCounts(ctx, s.store, account)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, boundaryCountsKey{}, m), nil
}

// boundaryCount is PermissionsBoundaryUsageCount: how many users and roles use policyARN as their boundary.
func (s *Service) boundaryCount(ctx context.Context, account, policyARN string) (int, error) {
	if m, ok := ctx.Value(boundaryCountsKey{}).(map[string]int); ok {
		return m[policyARN], nil
	}
	m, err := boundaryCounts(ctx, s.store, account)
	return m[policyARN], err
}
