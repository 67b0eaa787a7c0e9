package iam

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/persona-iam/persona/internal/store"
)

// holder is a user, group or role as ListEntitiesForPolicy and the policy counts see it.
type holder struct {
	kind, name, id, path, boundary string
}

// entityHead is the part of a stored user, group or role these counts need: decoding only it skips the tags,
// trust policies and dates.
type entityHead struct {
	Name     string `json:"name"`
	ID       string `json:"id"`
	Path     string `json:"path"`
	Boundary string `json:"boundary"`
}

// holders reads the account's users, groups and roles once: the permissions-boundary usage of a policy is a
// property of the users and roles that name it, so counting it (PermissionsBoundaryUsageCount), filtering by it
// (PolicyUsageFilter) and refusing to delete a policy in use as a boundary all start here.
func holders(ctx context.Context, r store.Reader, account string) (map[string]holder, error) {
	out := map[string]holder{}
	for _, kind := range []string{"user", "role", "group"} {
		list, err := store.ListJSON[entityHead](ctx, r, entityKinds[kind], account, "")
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			out[kind+"/"+strings.ToLower(e.Name)] = holder{kind, e.Name, e.ID, e.Path, e.Boundary}
		}
	}
	return out, nil
}

// boundaryCounts returns, for each policy ARN, how many users and roles use it as their permissions boundary.
func boundaryCounts(ctx context.Context, r store.Reader, account string) (map[string]int, error) {
	counts := map[string]int{}
	for _, kind := range []store.Kind{store.KindUser, store.KindRole} {
		list, err := store.ListJSON[entityHead](ctx, r, kind, account, "")
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if e.Boundary != "" {
				counts[e.Boundary]++
			}
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

// boundaryCache keeps each account's boundary usage until the store's change sequence moves: counting reads every
// user and role of the account, which a run of GetPolicy calls should not repeat. Reading the sequence before
// counting means a cached count is never older than the sequence it is filed under.
type boundaryCache struct {
	mu      sync.Mutex
	entries map[string]boundaryCacheEntry // by account
}

type boundaryCacheEntry struct {
	seq    int64
	counts map[string]int // never modified once cached
}

// accountBoundaryCounts is boundaryCounts for reads outside a transaction, cached by change sequence.
func (s *Service) accountBoundaryCounts(ctx context.Context, account string) (map[string]int, error) {
	seq, err := s.store.ChangeSeq(ctx)
	if err != nil {
		return nil, err
	}
	c := &s.bcache
	c.mu.Lock()
	e, ok := c.entries[account]
	c.mu.Unlock()
	if ok && e.seq == seq {
		return e.counts, nil
	}
	counts, err := boundaryCounts(ctx, s.store, account)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]boundaryCacheEntry{}
	}
	if cur, ok := c.entries[account]; !ok || cur.seq < seq {
		c.entries[account] = boundaryCacheEntry{seq: seq, counts: counts}
	}
	c.mu.Unlock()
	return counts, nil
}

type boundaryCountsKey struct{}

// withBoundaryCounts fixes the account's permissions-boundary usage once for a call that renders many policies.
func (s *Service) withBoundaryCounts(ctx context.Context, account string) (context.Context, error) {
	m, err := s.accountBoundaryCounts(ctx, account)
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
	m, err := s.accountBoundaryCounts(ctx, account)
	return m[policyARN], err
}
