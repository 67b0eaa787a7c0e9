package iam

import (
	"context"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
)

// Tag, untag and list-tags operations on users, roles, customer-managed policies, instance profiles and virtual
// MFA devices. Each is authorized with the condition keys AWS's service authorization reference lists for it:
// Tag* with aws:RequestTag/KEY and aws:TagKeys, Untag* with aws:TagKeys, and all of them with the entity's
// aws:ResourceTag/KEY. https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html

// mergeKeys returns a map holding the keys of both maps (b's values win); nil when both are empty.
func mergeKeys(a, b map[string][]string) map[string][]string {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	m := make(map[string][]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// untagKeys is the aws:TagKeys condition key of an untag request.
func untagKeys(keys []string) map[string][]string {
	if len(keys) == 0 {
		return nil
	}
	return map[string][]string{"aws:TagKeys": keys}
}

// addTags applies the tags of a Tag* request to existing: a key already present (compared without regard to
// case, as IAM compares tag keys) takes the new value; the result may hold at most 50 tags.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules
func addTags(existing []store.Tag, add []iamapi.Tag) ([]store.Tag, error) {
	if err := validateTags(add); err != nil {
		return nil, err
	}
	out := append([]store.Tag(nil), existing...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = store.Tag{Key: t.Key, Value: t.Value}
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, store.Tag{Key: t.Key, Value: t.Value})
		}
	}
	if len(out) > quotaTagsPerEntity {
		return nil, limitExceeded("TagsPerEntity", quotaTagsPerEntity)
	}
	return out, nil
}

// removeTags drops the tags whose keys are named (without regard to case); keys not present are ignored, as AWS
// ignores them.
func removeTags(existing []store.Tag, keys []string) []store.Tag {
	var out []store.Tag
	for _, t := range existing {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// pageTags returns one page of tags for a List*Tags call. The marker is the index of the next tag.
func pageTags(tags []store.Tag, marker string, max *int32) ([]iamapi.Tag, *bool, string, error) {
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 0 || n > len(tags) {
			return nil, nil, "", iamapi.InvalidInput("Invalid Marker %s.", marker)
		}
		start = n
	}
	end := min(start+maxItems(max), len(tags))
	out := tagsOut(tags[start:end])
	if out == nil {
		out = []iamapi.Tag{}
	}
	next := ""
	if end < len(tags) {
		next = strconv.Itoa(end)
	}
	return out, ptr(next != ""), next, nil
}

// retag loads an entity with load in a write transaction, changes its tags (the field tags points to) with change,
// and stores it: the body of every Tag* and Untag* operation. load authorizes the call with the condition keys the
// tags bring.
func retag[T any](s *Service, ctx context.Context, load func(context.Context, store.Reader) (*T, store.Record, error),
	tags func(*T) *[]store.Tag, change func([]store.Tag) ([]store.Tag, error)) error {
	return s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		v, rec, err := load(ctx, tx)
		if err != nil {
			return err
		}
		t := tags(v)
		if *t, err = change(*t); err != nil {
			return err
		}
		return update(ctx, tx, rec, v)
	})
}

// adding is the tag change of a Tag* call: add or replace tags, within the quota.
func adding(add []iamapi.Tag) func([]store.Tag) ([]store.Tag, error) {
	return func(t []store.Tag) ([]store.Tag, error) { return addTags(t, add) }
}

// removing is the tag change of an Untag* call: remove tags by key.
func removing(keys []string) func([]store.Tag) ([]store.Tag, error) {
	return func(t []store.Tag) ([]store.Tag, error) { return removeTags(t, keys), nil }
}

// TagUser adds or replaces tags on a user.
func (s *Service) TagUser(ctx context.Context, in *iamapi.TagUserInput) (*iamapi.TagUserOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.User, store.Record, error) {
		return s.loadUserWith(ctx, r, "TagUser", in.UserName, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(u *store.User) *[]store.Tag { return &u.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagUserOutput{}, nil
}

// UntagUser removes tags from a user.
func (s *Service) UntagUser(ctx context.Context, in *iamapi.UntagUserInput) (*iamapi.UntagUserOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.User, store.Record, error) {
		return s.loadUserWith(ctx, r, "UntagUser", in.UserName, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(u *store.User) *[]store.Tag { return &u.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagUserOutput{}, nil
}

// ListUserTags lists a user's tags.
func (s *Service) ListUserTags(ctx context.Context, in *iamapi.ListUserTagsInput) (*iamapi.ListUserTagsOutput, error) {
	u, _, err := s.loadUser(ctx, s.store, "ListUserTags", in.UserName)
	if err != nil {
		return nil, err
	}
	tags, trunc, next, err := pageTags(u.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListUserTagsOutput{Tags: tags, IsTruncated: trunc, Marker: next}, nil
}

// TagRole adds or replaces tags on a role.
func (s *Service) TagRole(ctx context.Context, in *iamapi.TagRoleInput) (*iamapi.TagRoleOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.Role, store.Record, error) {
		return s.loadRoleWith(ctx, r, "TagRole", in.RoleName, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(r *store.Role) *[]store.Tag { return &r.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagRoleOutput{}, nil
}

// UntagRole removes tags from a role.
func (s *Service) UntagRole(ctx context.Context, in *iamapi.UntagRoleInput) (*iamapi.UntagRoleOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.Role, store.Record, error) {
		return s.loadRoleWith(ctx, r, "UntagRole", in.RoleName, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(r *store.Role) *[]store.Tag { return &r.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagRoleOutput{}, nil
}

// ListRoleTags lists a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, in *iamapi.ListRoleTagsInput) (*iamapi.ListRoleTagsOutput, error) {
	r, _, err := s.loadRole(ctx, s.store, "ListRoleTags", in.RoleName)
	if err != nil {
		return nil, err
	}
	tags, trunc, next, err := pageTags(r.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListRoleTagsOutput{Tags: tags, IsTruncated: trunc, Marker: next}, nil
}

// TagPolicy adds or replaces tags on a customer-managed policy.
func (s *Service) TagPolicy(ctx context.Context, in *iamapi.TagPolicyInput) (*iamapi.TagPolicyOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.ManagedPolicy, store.Record, error) {
		return s.loadPolicyWith(ctx, r, "TagPolicy", in.PolicyArn, requestTagKeys(in.Tags, ""))
	}
	if err := retag(s, ctx, load, func(mp *store.ManagedPolicy) *[]store.Tag { return &mp.Tags }, adding(in.Tags)); err != nil {
		return nil, err
	}
	return &iamapi.TagPolicyOutput{}, nil
}

// UntagPolicy removes tags from a customer-managed policy.
func (s *Service) UntagPolicy(ctx context.Context, in *iamapi.UntagPolicyInput) (*iamapi.UntagPolicyOutput, error) {
	load := func(ctx context.Context, r store.Reader) (*store.ManagedPolicy, store.Record, error) {
		return s.loadPolicyWith(ctx, r, "UntagPolicy", in.PolicyArn, untagKeys(in.TagKeys))
	}
	if err := retag(s, ctx, load, func(mp *store.ManagedPolicy) *[]store.Tag { return &mp.Tags }, removing(in.TagKeys)); err != nil {
		return nil, err
	}
	return &iamapi.UntagPolicyOutput{}, nil
}

// ListPolicyTags lists a customer-managed policy's tags.
func (s *Service) ListPolicyTags(ctx context.Context, in *iamapi.ListPolicyTagsInput) (*iamapi.ListPolicyTagsOutput, error) {
	mp, _, err := s.loadPolicy(ctx, s.store, "ListPolicyTags", in.PolicyArn)
	if err != nil {
		return nil, err
	}
	tags, trunc, next, err := pageTags(mp.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &iamapi.ListPolicyTagsOutput{Tags: tags, IsTruncated: trunc, Marker: next}, nil
}
