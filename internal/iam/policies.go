package iam

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/managed"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
)

func (s *Service) policyARN(account, path, name string) string {
	return arn.Policy(s.partition, account, pathOrRoot(path), name).String()
}

// policyRef is a managed policy named by ARN: AWS-managed (account "aws") or the caller's own.
type policyRef struct {
	aws     *managed.Policy
	account string
	name    string
	path    string
}

// parsePolicyARN splits a managed policy ARN. IAM answers an ARN it cannot parse with InvalidInput.
func (s *Service) parsePolicyARN(policyARN string) (policyRef, error) {
	if mp, ok := managed.Lookup(policyARN); ok {
		return policyRef{aws: mp, account: "aws", name: mp.Name, path: mp.Path}, nil
	}
	a, err := arn.Parse(policyARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "policy/") {
		return policyRef{}, iamapi.InvalidInput("ARN %s is not valid.", policyARN)
	}
	rest := strings.TrimPrefix(a.Resource, "policy")
	i := strings.LastIndex(rest, "/")
	return policyRef{account: a.AccountID, name: rest[i+1:], path: rest[:i+1]}, nil
}

// managedPolicyDoc returns the default version's document of the managed policy named by ARN, or
// store.ErrNotFound.
func (s *Service) managedPolicyDoc(ctx context.Context, r store.Reader, account, policyARN string) (string, error) {
	ref, err := s.parsePolicyARN(policyARN)
	if err != nil {
		return "", store.ErrNotFound
	}
	if ref.aws != nil {
		return ref.aws.Document, nil
	}
	if ref.account != account {
		return "", store.ErrNotFound
	}
	var mp store.ManagedPolicy
	if _, err := load(ctx, r, store.KindPolicy, account, ref.name, &mp); err != nil {
		return "", err
	}
	// The store finds names without regard to case, but an ARN names one policy exactly: policies match ARNs
	// with case, so a variant (other case, partition or region) must not reach the policy past a statement about
	// its real ARN.
	if policyARN != s.policyARN(account, mp.Path, mp.Name) {
		return "", store.ErrNotFound
	}
	for _, v := range mp.Versions {
		if v.Default {
			return v.Document, nil
		}
	}
	return "", store.ErrNotFound
}

func policyNotFound(policyARN string) error {
	return iamapi.NoSuchEntity("Policy %s does not exist or is not attachable.", policyARN)
}

// loadPolicy loads a customer-managed policy of the caller's account by ARN and authorizes action on it.
func (s *Service) loadPolicy(ctx context.Context, r store.Reader, action, policyARN string) (*store.ManagedPolicy, store.Record, error) {
	return s.loadPolicyWith(ctx, r, action, policyARN, nil)
}

// loadPolicyWith is loadPolicy with extra request condition keys; an existing policy's tags are passed as
// aws:ResourceTag/… keys. A policy that does not exist (or is another account's) is authorized without them,
// so a caller who may not act on it learns nothing.
func (s *Service) loadPolicyWith(ctx context.Context, r store.Reader, action, policyARN string, extra map[string][]string) (*store.ManagedPolicy, store.Record, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.Record{}, err
	}
	ref, err := s.parsePolicyARN(policyARN)
	if err != nil {
		if aerr := s.authorize(ctx, action, policyARN, extra); aerr != nil {
			return nil, store.Record{}, shown(aerr, "policy", policyARN)
		}
		return nil, store.Record{}, err
	}
	var mp store.ManagedPolicy
	var rec store.Record
	found := false
	if ref.aws == nil && ref.account == p.Account {
		rec, err = load(ctx, r, store.KindPolicy, p.Account, ref.name, &mp)
		if err != nil && !isNotFound(err) {
			return nil, rec, err
		}
		// Only the exact ARN names the policy (see managedPolicyDoc).
		found = err == nil && policyARN == s.policyARN(p.Account, mp.Path, mp.Name)
	}
	keys := extra
	if found {
		keys = mergeKeys(resourceTagKeys(mp.Tags), extra)
	}
	if err := s.authorize(ctx, action, policyARN, keys); err != nil {
		return nil, rec, shown(err, "policy", policyARN)
	}
	if !found {
		// GetPolicy and the other calls about one policy say "was not found"; attaching says "not attachable".
		return nil, rec, iamapi.NoSuchEntity("Policy %s was not found.", policyARN)
	}
	return &mp, rec, nil
}

func defaultVersion(mp *store.ManagedPolicy) *store.PolicyVersion {
	for i := range mp.Versions {
		if mp.Versions[i].Default {
			return &mp.Versions[i]
		}
	}
	return nil
}

func (s *Service) policyOut(ctx context.Context, account string, mp *store.ManagedPolicy) (*iamapi.Policy, error) {
	policyARN := s.policyARN(account, mp.Path, mp.Name)
	n, err := s.store.Count(ctx, store.KindAttachmentByPolicy, account, policyARN+"|")
	if err != nil {
		return nil, err
	}
	b, err := s.boundaryCount(ctx, account, policyARN)
	if err != nil {
		return nil, err
	}
	out := &iamapi.Policy{
		PolicyName:                    mp.Name,
		PolicyId:                      mp.ID,
		Arn:                           policyARN,
		Path:                          mp.Path,
		AttachmentCount:               ptr(int32(n)),
		PermissionsBoundaryUsageCount: ptr(int32(b)),
		IsAttachable:                  ptr(true),
		Description:                   mp.Description,
		CreateDate:                    ptr(mp.Created),
		UpdateDate:                    ptr(mp.Updated),
		Tags:                          tagsOut(mp.Tags),
	}
	if v := defaultVersion(mp); v != nil {
		out.DefaultVersionId = v.ID
	}
	return out, nil
}

func (s *Service) awsPolicyOut(ctx context.Context, account string, mp *managed.Policy) (*iamapi.Policy, error) {
	n, err := s.store.Count(ctx, store.KindAttachmentByPolicy, account, mp.ARN+"|")
	if err != nil {
		return nil, err
	}
	b, err := s.boundaryCount(ctx, account, mp.ARN)
	if err != nil {
		return nil, err
	}
	return &iamapi.Policy{
		PolicyName:                    mp.Name,
		PolicyId:                      mp.ID,
		Arn:                           mp.ARN,
		Path:                          mp.Path,
		DefaultVersionId:              mp.DefaultVersionID,
		AttachmentCount:               ptr(int32(n)),
		PermissionsBoundaryUsageCount: ptr(int32(b)),
		IsAttachable:                  ptr(true),
		CreateDate:                    ptr(mp.Created),
		UpdateDate:                    ptr(mp.Updated),
	}, nil
}

// checkManagedDocument validates a managed policy document and its size.
func checkManagedDocument(doc string) error {
	if n := nonSpaceRunes(doc); n > quotaManagedPolicyChars {
		return limitExceeded("PolicySize", quotaManagedPolicyChars)
	}
	return checkPolicy(doc, policy.KindIdentity)
}

// nonSpaceRunes counts characters as IAM does for size quotas: white space does not count.
func nonSpaceRunes(s string) int {
	n := 0
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			n++
		}
	}
	return n
}

// CreatePolicy creates a customer-managed policy with its first version, v1.
func (s *Service) CreatePolicy(ctx context.Context, in *iamapi.CreatePolicyInput) (*iamapi.CreatePolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	path := pathOrRoot(in.Path)
	if err := s.authorize(ctx, "CreatePolicy", s.policyARN(p.Account, path, in.PolicyName), requestTagKeys(in.Tags, "")); err != nil {
		return nil, err
	}
	if err := checkManagedDocument(in.PolicyDocument); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	mp := store.ManagedPolicy{
		Name:        in.PolicyName,
		ID:          randomID(prefixPolicy, uniqueIDRandomChars),
		Path:        path,
		Description: in.Description,
		NextVersion: 2,
		Tags:        tagsIn(in.Tags),
	}
	respondWith(ctx, func() any {
		// A new policy is attached to nothing: no store read inside the transaction.
		return &iamapi.CreatePolicyOutput{Policy: &iamapi.Policy{PolicyName: mp.Name, PolicyId: mp.ID,
			Arn: s.policyARN(p.Account, mp.Path, mp.Name), Path: mp.Path, DefaultVersionId: "v1",
			AttachmentCount: ptr(int32(0)), PermissionsBoundaryUsageCount: ptr(int32(0)), IsAttachable: ptr(true),
			Description: mp.Description, CreateDate: ptr(mp.Created), UpdateDate: ptr(mp.Updated), Tags: tagsOut(mp.Tags)}}
	})
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.Count(ctx, store.KindPolicy, p.Account, "")
		if err != nil {
			return err
		}
		if n >= quotaPoliciesPerAccount {
			return limitExceeded("PoliciesPerAccount", quotaPoliciesPerAccount)
		}
		mp.Created, mp.Updated = tx.Now(), tx.Now()
		mp.Versions = []store.PolicyVersion{{ID: "v1", Document: in.PolicyDocument, Default: true, Created: tx.Now()}}
		err = create(ctx, tx, store.KindPolicy, p.Account, mp.Name, mp.ID, &mp)
		if isExists(err) {
			return iamapi.EntityAlreadyExists("A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// A policy just created is nobody's permissions boundary: no need to count.
	out, err := s.policyOut(context.WithValue(ctx, boundaryCountsKey{}, map[string]int{}), p.Account, &mp)
	if err != nil {
		return nil, err
	}
	out.Description = "" // CreatePolicy's response, like AWS's, omits the description
	return &iamapi.CreatePolicyOutput{Policy: out}, nil
}

// GetPolicy returns a managed policy (AWS-managed or the caller's own) without its document.
func (s *Service) GetPolicy(ctx context.Context, in *iamapi.GetPolicyInput) (*iamapi.GetPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if mp, ok := managed.Lookup(in.PolicyArn); ok {
		if err := s.authorize(ctx, "GetPolicy", in.PolicyArn, nil); err != nil {
			return nil, shown(err, "policy", in.PolicyArn)
		}
		out, err := s.awsPolicyOut(ctx, p.Account, mp)
		return &iamapi.GetPolicyOutput{Policy: out}, err
	}
	mp, _, err := s.loadPolicy(ctx, s.store, "GetPolicy", in.PolicyArn)
	if err != nil {
		return nil, err
	}
	out, err := s.policyOut(ctx, p.Account, mp)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetPolicyOutput{Policy: out}, nil
}

// ListPolicies lists managed policies by scope (All, AWS, Local), path prefix and attachment.
func (s *Service) ListPolicies(ctx context.Context, in *iamapi.ListPoliciesInput) (*iamapi.ListPoliciesOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListPolicies", "*", nil); err != nil {
		return nil, err
	}
	if ctx, err = s.withBoundaryCounts(ctx, p.Account); err != nil {
		return nil, err
	}
	// Every policy in one ordered list: AWS-managed first (their marker keys start "aws|"), then local ("local|").
	type item struct {
		key string
		out *iamapi.Policy
	}
	var items []item
	scope := string(in.Scope)
	prefix := pathOrRoot(in.PathPrefix)
	onlyAttached := in.OnlyAttached != nil && *in.OnlyAttached
	// PolicyUsageFilter says which use counts: PermissionsBoundary keeps only policies that some user or role uses
	// as its boundary; PermissionsPolicy (or none) with OnlyAttached keeps only policies attached to something.
	// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
	usage := string(in.PolicyUsageFilter)
	keep := func(out *iamapi.Policy) bool {
		if usage == "PermissionsBoundary" {
			return *out.PermissionsBoundaryUsageCount > 0
		}
		return !onlyAttached || *out.AttachmentCount > 0
	}
	if scope == "" || scope == "All" || scope == "AWS" {
		for _, mp := range managed.All() {
			if !strings.HasPrefix(mp.Path, prefix) {
				continue
			}
			key := "aws|" + strings.ToLower(mp.Name)
			if in.Marker != "" && key <= in.Marker {
				continue
			}
			out, err := s.awsPolicyOut(ctx, p.Account, mp)
			if err != nil {
				return nil, err
			}
			if !keep(out) {
				continue
			}
			items = append(items, item{key, out})
			if len(items) > maxItems(in.MaxItems) {
				break
			}
		}
	}
	if (scope == "" || scope == "All" || scope == "Local") && len(items) <= maxItems(in.MaxItems) {
		local, err := store.ListJSON[store.ManagedPolicy](ctx, s.store, store.KindPolicy, p.Account, "")
		if err != nil {
			return nil, err
		}
		for i := range local {
			mp := &local[i]
			key := "local|" + strings.ToLower(mp.Name)
			if !strings.HasPrefix(mp.Path, prefix) || (in.Marker != "" && key <= in.Marker) {
				continue
			}
			out, err := s.policyOut(ctx, p.Account, mp)
			if err != nil {
				return nil, err
			}
			if !keep(out) {
				continue
			}
			out.Description, out.Tags = "", nil
			items = append(items, item{key, out})
			if len(items) > maxItems(in.MaxItems) {
				break
			}
		}
	}
	res := &iamapi.ListPoliciesOutput{Policies: []iamapi.Policy{}, IsTruncated: ptr(false)}
	for i, it := range items {
		if i == maxItems(in.MaxItems) {
			res.IsTruncated = ptr(true)
			res.Marker = items[i-1].key
			break
		}
		res.Policies = append(res.Policies, *it.out)
	}
	return res, nil
}

// DeletePolicy deletes a customer-managed policy that is attached to nothing and has only its default version.
func (s *Service) DeletePolicy(ctx context.Context, in *iamapi.DeletePolicyInput) (*iamapi.DeletePolicyOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		mp, _, err := s.loadPolicy(ctx, tx, "DeletePolicy", in.PolicyArn)
		if err != nil {
			return err
		}
		p, _ := caller(ctx)
		if n, err := tx.Count(ctx, store.KindAttachmentByPolicy, p.Account, in.PolicyArn+"|"); err != nil {
			return err
		} else if n > 0 {
			return iamapi.DeleteConflict("Cannot delete a policy attached to entities.")
		}
		// A policy in use as a permissions boundary is attached too, as IAM sees it.
		if counts, err := boundaryCounts(ctx, tx, p.Account); err != nil {
			return err
		} else if counts[in.PolicyArn] > 0 {
			return iamapi.DeleteConflict("Cannot delete a policy attached to entities.")
		}
		if len(mp.Versions) > 1 {
			return iamapi.DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		return tx.Delete(ctx, store.KindPolicy, p.Account, mp.Name)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeletePolicyOutput{}, nil
}

// CreatePolicyVersion adds a version (five at most), optionally making it the default.
func (s *Service) CreatePolicyVersion(ctx context.Context, in *iamapi.CreatePolicyVersionInput) (*iamapi.CreatePolicyVersionOutput, error) {
	if err := checkManagedDocument(in.PolicyDocument); err != nil {
		return nil, err
	}
	var v store.PolicyVersion
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		mp, rec, err := s.loadPolicy(ctx, tx, "CreatePolicyVersion", in.PolicyArn)
		if err != nil {
			return err
		}
		if len(mp.Versions) >= quotaVersionsPerPolicy {
			return iamapi.LimitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", quotaVersionsPerPolicy)
		}
		setDefault := in.SetAsDefault != nil && *in.SetAsDefault
		v = store.PolicyVersion{ID: "v" + strconv.Itoa(mp.NextVersion), Document: in.PolicyDocument, Default: setDefault, Created: tx.Now()}
		if setDefault {
			for i := range mp.Versions {
				mp.Versions[i].Default = false
			}
		}
		mp.Versions = append(mp.Versions, v)
		mp.NextVersion++
		mp.Updated = tx.Now()
		return update(ctx, tx, rec, mp)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreatePolicyVersionOutput{PolicyVersion: versionOut(&v, false)}, nil
}

func versionOut(v *store.PolicyVersion, withDoc bool) *iamapi.PolicyVersion {
	out := &iamapi.PolicyVersion{VersionId: v.ID, IsDefaultVersion: ptr(v.Default), CreateDate: ptr(v.Created)}
	if withDoc {
		out.Document = v.Document
	}
	return out
}

// GetPolicyVersion returns one version of a managed policy with its document.
func (s *Service) GetPolicyVersion(ctx context.Context, in *iamapi.GetPolicyVersionInput) (*iamapi.GetPolicyVersionOutput, error) {
	if mp, ok := managed.Lookup(in.PolicyArn); ok {
		if err := s.authorize(ctx, "GetPolicyVersion", in.PolicyArn, nil); err != nil {
			return nil, shown(err, "policy", in.PolicyArn)
		}
		if in.VersionId != mp.DefaultVersionID {
			return nil, iamapi.NoSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
		}
		return &iamapi.GetPolicyVersionOutput{PolicyVersion: &iamapi.PolicyVersion{
			Document: mp.Document, VersionId: mp.DefaultVersionID, IsDefaultVersion: ptr(true), CreateDate: ptr(mp.Updated),
		}}, nil
	}
	mp, _, err := s.loadPolicy(ctx, s.store, "GetPolicyVersion", in.PolicyArn)
	if err != nil {
		return nil, err
	}
	for i := range mp.Versions {
		if mp.Versions[i].ID == in.VersionId {
			return &iamapi.GetPolicyVersionOutput{PolicyVersion: versionOut(&mp.Versions[i], true)}, nil
		}
	}
	return nil, iamapi.NoSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
}

// ListPolicyVersions lists a managed policy's versions, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, in *iamapi.ListPolicyVersionsInput) (*iamapi.ListPolicyVersionsOutput, error) {
	var versions []*iamapi.PolicyVersion
	if mp, ok := managed.Lookup(in.PolicyArn); ok {
		if err := s.authorize(ctx, "ListPolicyVersions", in.PolicyArn, nil); err != nil {
			return nil, shown(err, "policy", in.PolicyArn)
		}
		versions = append(versions, &iamapi.PolicyVersion{VersionId: mp.DefaultVersionID, IsDefaultVersion: ptr(true), CreateDate: ptr(mp.Updated)})
	} else {
		mp, _, err := s.loadPolicy(ctx, s.store, "ListPolicyVersions", in.PolicyArn)
		if err != nil {
			return nil, err
		}
		for i := len(mp.Versions) - 1; i >= 0; i-- {
			versions = append(versions, versionOut(&mp.Versions[i], false))
		}
	}
	// Versions are listed newest first; the marker is the last listed version's number, so a page continues with the
	// older ones even when that version has been deleted meanwhile.
	if in.Marker != "" {
		after := versionNumber(in.Marker)
		kept := versions[:0]
		for _, v := range versions {
			if versionNumber(v.VersionId) < after {
				kept = append(kept, v)
			}
		}
		versions = kept
	}
	out := &iamapi.ListPolicyVersionsOutput{Versions: []iamapi.PolicyVersion{}, IsTruncated: ptr(false)}
	for i, v := range versions {
		if i == maxItems(in.MaxItems) {
			out.IsTruncated, out.Marker = ptr(true), versions[i-1].VersionId
			break
		}
		out.Versions = append(out.Versions, *v)
	}
	return out, nil
}

// versionNumber is N of a version id "vN" (0 when it is not one).
func versionNumber(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil || !strings.HasPrefix(id, "v") {
		return 0
	}
	return n
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *iamapi.DeletePolicyVersionInput) (*iamapi.DeletePolicyVersionOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		mp, rec, err := s.loadPolicy(ctx, tx, "DeletePolicyVersion", in.PolicyArn)
		if err != nil {
			return err
		}
		for i, v := range mp.Versions {
			if v.ID != in.VersionId {
				continue
			}
			if v.Default {
				return iamapi.DeleteConflict("Cannot delete the default version of a policy.")
			}
			mp.Versions = append(mp.Versions[:i], mp.Versions[i+1:]...)
			return update(ctx, tx, rec, mp)
		}
		return iamapi.NoSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeletePolicyVersionOutput{}, nil
}

// SetDefaultPolicyVersion makes a version the default one.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *iamapi.SetDefaultPolicyVersionInput) (*iamapi.SetDefaultPolicyVersionOutput, error) {
	err := s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		mp, rec, err := s.loadPolicy(ctx, tx, "SetDefaultPolicyVersion", in.PolicyArn)
		if err != nil {
			return err
		}
		found := false
		for i := range mp.Versions {
			if mp.Versions[i].ID == in.VersionId {
				found = true
			}
		}
		if !found {
			return iamapi.NoSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
		}
		for i := range mp.Versions {
			mp.Versions[i].Default = mp.Versions[i].ID == in.VersionId
		}
		mp.Updated = tx.Now()
		return update(ctx, tx, rec, mp)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.SetDefaultPolicyVersionOutput{}, nil
}

// inlineLimit is the total size of a principal's inline policies.
func inlineLimit(kind string) (string, int) {
	switch kind {
	case "user":
		return "UserPolicySize", quotaUserInlineChars
	case "group":
		return "GroupPolicySize", quotaGroupInlineChars
	}
	return "RolePolicySize", quotaRoleInlineChars
}

// sortedNames sorts policy names as IAM lists them.
func sortedNames(names []string) []string {
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names
}

var _ = utf8.RuneLen
