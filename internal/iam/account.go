package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/managed"
	"github.com/persona-iam/persona/internal/store"
)

// Account-level operations: the account summary, account aliases, GetAccountAuthorizationDetails and the
// credential report.

// More of IAM's quotas, as GetAccountSummary reports them.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
const (
	quotaServerCertificates          = 20
	quotaSigningCertificatesPerUser  = 2
	quotaPolicyVersionsInUse         = 10000
	quotaAccountAliasesPerAccount    = 1
	globalEndpointTokenVersion       = 1
	credentialReportLifetime         = 4 * time.Hour
	credentialReportKey              = "report"
	credentialReportTimeFormat       = "2006-01-02T15:04:05+00:00"
	credentialReportNotApplicable    = "N/A"
	credentialReportNoInformation    = "no_information"
	credentialReportNotSupported     = "not_supported"
	awsManagedPolicyARNPrefixPattern = ":iam::aws:policy/"
)

// The identity-provider kinds, counted as GetAccountSummary's
// Providers.
var providerKinds = []store.Kind{store.KindOIDCProvider, store.KindSAMLProvider}

// GetAccountSummary reports the account's IAM entity counts and quotas.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
func (s *Service) GetAccountSummary(ctx context.Context, in *iamapi.GetAccountSummaryInput) (*iamapi.GetAccountSummaryOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetAccountSummary", "*", nil); err != nil {
		return nil, err
	}
	count := func(kind store.Kind, prefix string) (int32, error) {
		n, err := s.store.Count(ctx, kind, p.Account, prefix)
		return int32(n), err
	}
	m := map[iamapi.SummaryKeyType]int32{
		iamapi.SummaryKeyTypeUsersQuota:                      quotaUsersPerAccount,
		iamapi.SummaryKeyTypeGroupsQuota:                     quotaGroupsPerAccount,
		iamapi.SummaryKeyTypeRolesQuota:                      quotaRolesPerAccount,
		iamapi.SummaryKeyTypePoliciesQuota:                   quotaPoliciesPerAccount,
		iamapi.SummaryKeyTypeInstanceProfilesQuota:           quotaInstanceProfilesPerAccount,
		iamapi.SummaryKeyTypeServerCertificates:              0,
		iamapi.SummaryKeyTypeServerCertificatesQuota:         quotaServerCertificates,
		iamapi.SummaryKeyTypeUserPolicySizeQuota:             quotaUserInlineChars,
		iamapi.SummaryKeyTypeGroupPolicySizeQuota:            quotaGroupInlineChars,
		iamapi.SummaryKeyTypeRolePolicySizeQuota:             quotaRoleInlineChars,
		iamapi.SummaryKeyTypeAssumeRolePolicySizeQuota:       quotaTrustPolicyChars,
		iamapi.SummaryKeyTypePolicySizeQuota:                 quotaManagedPolicyChars,
		iamapi.SummaryKeyTypeGroupsPerUserQuota:              quotaGroupsPerUser,
		iamapi.SummaryKeyTypeSigningCertificatesPerUserQuota: quotaSigningCertificatesPerUser,
		iamapi.SummaryKeyTypeAccessKeysPerUserQuota:          quotaAccessKeysPerUser,
		iamapi.SummaryKeyTypeAttachedPoliciesPerUserQuota:    quotaManagedPerPrincipal,
		iamapi.SummaryKeyTypeAttachedPoliciesPerGroupQuota:   quotaManagedPerPrincipal,
		iamapi.SummaryKeyTypeAttachedPoliciesPerRoleQuota:    quotaManagedPerPrincipal,
		iamapi.SummaryKeyTypeVersionsPerPolicyQuota:          quotaVersionsPerPolicy,
		iamapi.SummaryKeyTypePolicyVersionsInUseQuota:        quotaPolicyVersionsInUse,
		iamapi.SummaryKeyTypeGlobalEndpointTokenVersion:      globalEndpointTokenVersion,
		// Persona's root user has no console password, MFA device or signing certificate.
		iamapi.SummaryKeyTypeAccountMFAEnabled:                 0,
		iamapi.SummaryKeyTypeAccountPasswordPresent:            0,
		iamapi.SummaryKeyTypeAccountSigningCertificatesPresent: 0,
	}
	counts := []struct {
		key    iamapi.SummaryKeyType
		kind   store.Kind
		prefix string
	}{
		{iamapi.SummaryKeyTypeUsers, store.KindUser, ""},
		{iamapi.SummaryKeyTypeGroups, store.KindGroup, ""},
		{iamapi.SummaryKeyTypeRoles, store.KindRole, ""},
		{iamapi.SummaryKeyTypePolicies, store.KindPolicy, ""},
		{iamapi.SummaryKeyTypeInstanceProfiles, store.KindInstanceProfile, ""},
		{iamapi.SummaryKeyTypeMFADevices, store.KindMFADevice, ""},
		{iamapi.SummaryKeyTypeMFADevicesInUse, store.KindMFAByUser, ""},
	}
	for _, c := range counts {
		if m[c.key], err = count(c.kind, c.prefix); err != nil {
			return nil, err
		}
	}
	var providers int32
	for _, k := range providerKinds {
		n, err := count(k, "")
		if err != nil {
			return nil, err
		}
		providers += n
	}
	m[iamapi.SummaryKeyTypeProviders] = providers
	rootKeys, err := count(store.KindAccessKey, rootKeyPrefix)
	if err != nil {
		return nil, err
	}
	m[iamapi.SummaryKeyTypeAccountAccessKeysPresent] = min(rootKeys, 1)
	policies, err := store.ListJSON[store.ManagedPolicy](ctx, s.store, store.KindPolicy, p.Account, "")
	if err != nil {
		return nil, err
	}
	var versions int32
	for _, mp := range policies {
		versions += int32(len(mp.Versions))
	}
	m[iamapi.SummaryKeyTypePolicyVersionsInUse] = versions
	return &iamapi.GetAccountSummaryOutput{SummaryMap: m}, nil
}

// CreateAccountAlias gives the account its alias (one at most). Aliases are unique across all accounts.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
func (s *Service) CreateAccountAlias(ctx context.Context, in *iamapi.CreateAccountAliasInput) (*iamapi.CreateAccountAliasOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "CreateAccountAlias", "*", nil); err != nil {
		return nil, err
	}
	// The model's pattern has a look-ahead the codec cannot check: no two hyphens in a row.
	if strings.Contains(in.AccountAlias, "--") {
		return nil, iamapi.ValidationError("1 validation error detected: Value '%s' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$", in.AccountAlias)
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		var acct store.Account
		rec, err := load(ctx, tx, store.KindAccount, "", p.Account, &acct)
		if err != nil {
			return err
		}
		var taken store.AccountAlias
		if _, err := load(ctx, tx, store.KindAccountAlias, "", in.AccountAlias, &taken); err == nil {
			if taken.Account == p.Account {
				return nil // the account already has this alias
			}
			return iamapi.EntityAlreadyExists("The account alias %s already exists.", in.AccountAlias)
		} else if !isNotFound(err) {
			return err
		}
		if len(acct.Aliases) >= quotaAccountAliasesPerAccount {
			return limitExceeded("AccountAliasesPerAccount", quotaAccountAliasesPerAccount)
		}
		if err := create(ctx, tx, store.KindAccountAlias, "", in.AccountAlias, "", &store.AccountAlias{Alias: in.AccountAlias, Account: p.Account}); err != nil {
			if isExists(err) {
				return iamapi.EntityAlreadyExists("The account alias %s already exists.", in.AccountAlias)
			}
			return err
		}
		acct.Aliases = append(acct.Aliases, in.AccountAlias)
		return update(ctx, tx, rec, &acct)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateAccountAliasOutput{}, nil
}

// DeleteAccountAlias removes the account's alias.
func (s *Service) DeleteAccountAlias(ctx context.Context, in *iamapi.DeleteAccountAliasInput) (*iamapi.DeleteAccountAliasOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteAccountAlias", "*", nil); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Tx) error {
		var acct store.Account
		rec, err := load(ctx, tx, store.KindAccount, "", p.Account, &acct)
		if err != nil {
			return err
		}
		idx := -1
		for i, a := range acct.Aliases {
			if a == in.AccountAlias {
				idx = i
			}
		}
		if idx < 0 {
			return iamapi.NoSuchEntity("The account alias %s cannot be found.", in.AccountAlias)
		}
		acct.Aliases = append(acct.Aliases[:idx], acct.Aliases[idx+1:]...)
		if err := tx.Delete(ctx, store.KindAccountAlias, "", in.AccountAlias); err != nil && !isNotFound(err) {
			return err
		}
		return update(ctx, tx, rec, &acct)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.DeleteAccountAliasOutput{}, nil
}

// ListAccountAliases lists the account's alias (zero or one).
func (s *Service) ListAccountAliases(ctx context.Context, in *iamapi.ListAccountAliasesInput) (*iamapi.ListAccountAliasesOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListAccountAliases", "*", nil); err != nil {
		return nil, err
	}
	var acct store.Account
	if _, err := load(ctx, s.store, store.KindAccount, "", p.Account, &acct); err != nil {
		return nil, err
	}
	start := 0
	if in.Marker != "" {
		n, err := strconv.Atoi(in.Marker)
		if err != nil || n < 0 || n > len(acct.Aliases) {
			return nil, iamapi.InvalidInput("Invalid Marker %s.", in.Marker)
		}
		start = n
	}
	end := min(start+maxItems(in.MaxItems), len(acct.Aliases))
	out := &iamapi.ListAccountAliasesOutput{AccountAliases: append([]string{}, acct.Aliases[start:end]...), IsTruncated: ptr(end < len(acct.Aliases))}
	if end < len(acct.Aliases) {
		out.Marker = strconv.Itoa(end)
	}
	return out, nil
}

// authDetailsSections are GetAccountAuthorizationDetails' lists, in the order it pages through them.
var authDetailsSections = []iamapi.EntityType{iamapi.EntityTypeUser, iamapi.EntityTypeGroup, iamapi.EntityTypeRole, iamapi.EntityTypeLocalManagedPolicy, iamapi.EntityTypeAWSManagedPolicy}

// authDetailsMarker is the position of a GetAccountAuthorizationDetails page: a section and the marker within it,
// encoded opaquely.
func encodeAuthMarker(section int, inner string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(section) + ":" + inner))
}

func decodeAuthMarker(m string) (int, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err == nil {
		if sec, inner, ok := strings.Cut(string(b), ":"); ok {
			if n, err := strconv.Atoi(sec); err == nil && n >= 0 && n < len(authDetailsSections) {
				return n, inner, nil
			}
		}
	}
	return 0, "", iamapi.InvalidInput("Invalid Marker %s.", m)
}

// GetAccountAuthorizationDetails returns every user, group, role and managed policy (AWS-managed ones only
// when attached to something) with their policies and relationships, paginated across the lists, optionally
// filtered by entity type. https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
func (s *Service) GetAccountAuthorizationDetails(ctx context.Context, in *iamapi.GetAccountAuthorizationDetailsInput) (*iamapi.GetAccountAuthorizationDetailsOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetAccountAuthorizationDetails", "*", nil); err != nil {
		return nil, err
	}
	if ctx, err = s.withBoundaryCounts(ctx, p.Account); err != nil { // once, not per policy listed
		return nil, err
	}
	want := map[iamapi.EntityType]bool{}
	for _, f := range in.Filter {
		want[f] = true
	}
	section, inner := 0, ""
	if in.Marker != "" {
		if section, inner, err = decodeAuthMarker(in.Marker); err != nil {
			return nil, err
		}
	}
	out := &iamapi.GetAccountAuthorizationDetailsOutput{
		UserDetailList: []iamapi.UserDetail{}, GroupDetailList: []iamapi.GroupDetail{}, RoleDetailList: []iamapi.RoleDetail{}, Policies: []iamapi.ManagedPolicyDetail{},
	}
	left := maxItems(in.MaxItems)
	for ; section < len(authDetailsSections); section, inner = section+1, "" {
		typ := authDetailsSections[section]
		if len(want) > 0 && !want[typ] {
			continue
		}
		if left == 0 {
			// The page is full: it is truncated only if this section has something to show.
			nonEmpty, err := s.authDetailsSectionNonEmpty(ctx, p.Account, typ)
			if err != nil {
				return nil, err
			}
			if nonEmpty {
				out.IsTruncated, out.Marker = ptr(true), encodeAuthMarker(section, "")
				return out, nil
			}
			continue
		}
		n, next, err := s.authDetailsSection(ctx, p.Account, typ, inner, left, out)
		if err != nil {
			return nil, err
		}
		left -= n
		if next != "" {
			out.IsTruncated, out.Marker = ptr(true), encodeAuthMarker(section, next)
			return out, nil
		}
	}
	out.IsTruncated = ptr(false)
	return out, nil
}

// authDetailsSection appends up to max entries of one section after marker to out, and returns how many it
// appended and the marker of the rest, "" when the section is done.
func (s *Service) authDetailsSection(ctx context.Context, account string, typ iamapi.EntityType, marker string, max int, out *iamapi.GetAccountAuthorizationDetailsOutput) (int, string, error) {
	switch typ {
	case iamapi.EntityTypeUser:
		users, next, err := pageOf[store.User](ctx, s.store, store.KindUser, account, "", marker, max, nil)
		if err != nil {
			return 0, "", err
		}
		for _, u := range users {
			d := iamapi.UserDetail{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: s.userARN(account, u.Path, u.Name), CreateDate: ptr(u.Created), Tags: tagsOut(u.Tags), GroupList: []string{}}
			if u.PermissionsBoundary != "" {
				d.PermissionsBoundary = boundaryOut(u.PermissionsBoundary)
			}
			if d.UserPolicyList, d.AttachedManagedPolicies, err = s.principalPolicies(ctx, account, "user", u.Name); err != nil {
				return 0, "", err
			}
			groups, err := store.ListJSON[store.Membership](ctx, s.store, store.KindMembershipByUser, account, u.Name+"/")
			if err != nil {
				return 0, "", err
			}
			for _, g := range groups {
				d.GroupList = append(d.GroupList, g.Group)
			}
			out.UserDetailList = append(out.UserDetailList, d)
		}
		return len(users), next, nil
	case iamapi.EntityTypeGroup:
		groups, next, err := pageOf[store.Group](ctx, s.store, store.KindGroup, account, "", marker, max, nil)
		if err != nil {
			return 0, "", err
		}
		for _, g := range groups {
			d := iamapi.GroupDetail{Path: g.Path, GroupName: g.Name, GroupId: g.ID, Arn: s.groupARN(account, g.Path, g.Name), CreateDate: ptr(g.Created)}
			if d.GroupPolicyList, d.AttachedManagedPolicies, err = s.principalPolicies(ctx, account, "group", g.Name); err != nil {
				return 0, "", err
			}
			out.GroupDetailList = append(out.GroupDetailList, d)
		}
		return len(groups), next, nil
	case iamapi.EntityTypeRole:
		roles, next, err := pageOf[store.Role](ctx, s.store, store.KindRole, account, "", marker, max, nil)
		if err != nil {
			return 0, "", err
		}
		for _, r := range roles {
			d := iamapi.RoleDetail{Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: s.roleARN(account, r.Path, r.Name), CreateDate: ptr(r.Created),
				AssumeRolePolicyDocument: r.TrustPolicy, Tags: tagsOut(r.Tags), InstanceProfileList: []iamapi.InstanceProfile{}, RoleLastUsed: &iamapi.RoleLastUsed{}}
			if r.PermissionsBoundary != "" {
				d.PermissionsBoundary = boundaryOut(r.PermissionsBoundary)
			}
			if !r.LastUsed.IsZero() {
				d.RoleLastUsed = &iamapi.RoleLastUsed{LastUsedDate: ptr(r.LastUsed), Region: r.LastUsedRegion}
			}
			if d.RolePolicyList, d.AttachedManagedPolicies, err = s.principalPolicies(ctx, account, "role", r.Name); err != nil {
				return 0, "", err
			}
			links, err := store.ListJSON[store.InstanceProfileRole](ctx, s.store, store.KindInstanceProfileByRole, account, r.Name+"/")
			if err != nil {
				return 0, "", err
			}
			for _, l := range links {
				var ip store.InstanceProfile
				if _, err := load(ctx, s.store, store.KindInstanceProfile, account, l.Profile, &ip); err != nil {
					return 0, "", err
				}
				o, err := s.instanceProfileOut(ctx, s.store, account, &ip, true)
				if err != nil {
					return 0, "", err
				}
				d.InstanceProfileList = append(d.InstanceProfileList, *o)
			}
			out.RoleDetailList = append(out.RoleDetailList, d)
		}
		return len(roles), next, nil
	case iamapi.EntityTypeLocalManagedPolicy:
		policies, next, err := pageOf[store.ManagedPolicy](ctx, s.store, store.KindPolicy, account, "", marker, max, nil)
		if err != nil {
			return 0, "", err
		}
		for i := range policies {
			mp := &policies[i]
			po, err := s.policyOut(ctx, account, mp)
			if err != nil {
				return 0, "", err
			}
			d := iamapi.ManagedPolicyDetail{PolicyName: po.PolicyName, PolicyId: po.PolicyId, Arn: po.Arn, Path: po.Path, DefaultVersionId: po.DefaultVersionId,
				AttachmentCount: po.AttachmentCount, PermissionsBoundaryUsageCount: po.PermissionsBoundaryUsageCount, IsAttachable: po.IsAttachable,
				Description: po.Description, CreateDate: po.CreateDate, UpdateDate: po.UpdateDate}
			for j := range mp.Versions {
				v := &mp.Versions[j]
				d.PolicyVersionList = append(d.PolicyVersionList, iamapi.PolicyVersion{Document: v.Document, VersionId: v.ID, IsDefaultVersion: ptr(v.Default), CreateDate: ptr(v.Created)})
			}
			out.Policies = append(out.Policies, d)
		}
		return len(policies), next, nil
	case iamapi.EntityTypeAWSManagedPolicy:
		arns, err := s.attachedAWSPolicies(ctx, account)
		if err != nil {
			return 0, "", err
		}
		start := sort.SearchStrings(arns, marker)
		if marker != "" && start < len(arns) && arns[start] == marker {
			start++
		}
		end := min(start+max, len(arns))
		for _, a := range arns[start:end] {
			mp, ok := managed.Lookup(a)
			if !ok {
				continue
			}
			po, err := s.awsPolicyOut(ctx, account, mp)
			if err != nil {
				return 0, "", err
			}
			out.Policies = append(out.Policies, iamapi.ManagedPolicyDetail{PolicyName: po.PolicyName, PolicyId: po.PolicyId, Arn: po.Arn, Path: po.Path,
				DefaultVersionId: po.DefaultVersionId, AttachmentCount: po.AttachmentCount, PermissionsBoundaryUsageCount: po.PermissionsBoundaryUsageCount,
				IsAttachable: po.IsAttachable, Description: po.Description, CreateDate: po.CreateDate, UpdateDate: po.UpdateDate,
				PolicyVersionList: []iamapi.PolicyVersion{{Document: mp.Document, VersionId: mp.DefaultVersionID, IsDefaultVersion: ptr(true), CreateDate: ptr(mp.Updated)}}})
		}
		next := ""
		if end < len(arns) {
			next = arns[end-1]
		}
		return end - start, next, nil
	}
	return 0, "", nil
}

// authDetailsSectionNonEmpty reports whether a GetAccountAuthorizationDetails section has any entry.
func (s *Service) authDetailsSectionNonEmpty(ctx context.Context, account string, typ iamapi.EntityType) (bool, error) {
	kinds := map[iamapi.EntityType]store.Kind{iamapi.EntityTypeUser: store.KindUser, iamapi.EntityTypeGroup: store.KindGroup,
		iamapi.EntityTypeRole: store.KindRole, iamapi.EntityTypeLocalManagedPolicy: store.KindPolicy}
	if kind, ok := kinds[typ]; ok {
		n, err := s.store.Count(ctx, kind, account, "")
		return n > 0, err
	}
	arns, err := s.attachedAWSPolicies(ctx, account)
	return len(arns) > 0, err
}

// attachedAWSPolicies returns the ARNs of the AWS-managed policies attached to something in account, sorted.
func (s *Service) attachedAWSPolicies(ctx context.Context, account string) ([]string, error) {
	prefix := "arn:" + s.partition + awsManagedPolicyARNPrefixPattern
	all, err := store.ListJSON[store.Attachment](ctx, s.store, store.KindAttachmentByPolicy, account, prefix)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range all {
		if !seen[a.PolicyARN] {
			seen[a.PolicyARN] = true
			out = append(out, a.PolicyARN)
		}
	}
	sort.Strings(out)
	return out, nil
}

// principalPolicies returns a user's, group's or role's inline policies and attached managed policies.
func (s *Service) principalPolicies(ctx context.Context, account, kind, name string) ([]iamapi.PolicyDetail, []iamapi.AttachedPolicy, error) {
	inline, err := store.ListJSON[store.InlinePolicy](ctx, s.store, store.KindInlinePolicy, account, kind+"/"+name+"/")
	if err != nil {
		return nil, nil, err
	}
	details := []iamapi.PolicyDetail{}
	for _, ip := range inline {
		details = append(details, iamapi.PolicyDetail{PolicyName: ip.Name, PolicyDocument: ip.Document})
	}
	attached, err := store.ListJSON[store.Attachment](ctx, s.store, store.KindAttachment, account, kind+"/"+name+"/")
	if err != nil {
		return nil, nil, err
	}
	ap := []iamapi.AttachedPolicy{}
	for _, a := range attached {
		name := a.PolicyARN[strings.LastIndex(a.PolicyARN, "/")+1:]
		ap = append(ap, iamapi.AttachedPolicy{PolicyName: name, PolicyArn: a.PolicyARN})
	}
	return details, ap, nil
}

// GenerateCredentialReport generates the account's credential report, unless one younger than four hours
// exists, as AWS does. Persona generates it at once: the first call answers STARTED (as AWS's first call does)
// and the report is already complete. https://docs.aws.amazon.com/IAM/latest/UserGuide/credential-reports.html
func (s *Service) GenerateCredentialReport(ctx context.Context, in *iamapi.GenerateCredentialReportInput) (*iamapi.GenerateCredentialReportOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GenerateCredentialReport", "*", nil); err != nil {
		return nil, err
	}
	var r store.CredentialReport
	_, err = load(ctx, s.store, store.KindCredentialReport, p.Account, credentialReportKey, &r)
	if err == nil && s.now().Sub(r.Generated) < credentialReportLifetime {
		return &iamapi.GenerateCredentialReportOutput{State: iamapi.ReportStateTypeComplete}, nil
	}
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	err = s.store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		now := tx.Now()
		data, err := s.credentialReport(ctx, tx, p.Account, now)
		if err != nil {
			return err
		}
		r := store.CredentialReport{Generated: now, CSV: data}
		rec, err := tx.Get(ctx, store.KindCredentialReport, p.Account, credentialReportKey)
		if isNotFound(err) {
			return create(ctx, tx, store.KindCredentialReport, p.Account, credentialReportKey, "", &r)
		}
		if err != nil {
			return err
		}
		return update(ctx, tx, rec, &r)
	})
	if err != nil {
		return nil, err
	}
	return &iamapi.GenerateCredentialReportOutput{State: iamapi.ReportStateTypeStarted, Description: "No report exists. Starting a new report generation task"}, nil
}

// GetCredentialReport returns the last generated credential report (CSV; the codec base64-encodes Content).
func (s *Service) GetCredentialReport(ctx context.Context, in *iamapi.GetCredentialReportInput) (*iamapi.GetCredentialReportOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "GetCredentialReport", "*", nil); err != nil {
		return nil, err
	}
	var r store.CredentialReport
	if _, err := load(ctx, s.store, store.KindCredentialReport, p.Account, credentialReportKey, &r); err != nil {
		if isNotFound(err) {
			return nil, iamapi.ReportNotPresent("No credential report exists for this account. Generate one with GenerateCredentialReport.")
		}
		return nil, err
	}
	if s.now().Sub(r.Generated) >= credentialReportLifetime {
		return nil, iamapi.ReportExpired("The credential report has expired. To generate a new credential report, use GenerateCredentialReport.")
	}
	return &iamapi.GetCredentialReportOutput{Content: r.CSV, ReportFormat: iamapi.ReportFormatTypeTextCsv, GeneratedTime: ptr(r.Generated)}, nil
}

// credentialReportHeader are the report's columns, in AWS's order.
var credentialReportHeader = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
	"password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

func reportTime(t time.Time) string { return t.UTC().Format(credentialReportTimeFormat) }

// keyColumns are the five columns of one access key slot.
func keyColumns(keys []store.AccessKey, i int) []string {
	if i >= len(keys) {
		return []string{"false", credentialReportNotApplicable, credentialReportNotApplicable, credentialReportNotApplicable, credentialReportNotApplicable}
	}
	k := keys[i]
	cols := []string{strconv.FormatBool(k.Status == statusActive), reportTime(k.Created), credentialReportNotApplicable, credentialReportNotApplicable, credentialReportNotApplicable}
	if !k.LastUsed.IsZero() {
		cols[2], cols[3], cols[4] = reportTime(k.LastUsed), orNA(k.LastUsedRegion), orNA(k.LastUsedService)
	}
	return cols
}

func orNA(s string) string {
	if s == "" {
		return credentialReportNotApplicable
	}
	return s
}

// credentialReport writes the account's credential report as AWS does: the root account's row, then one row per
// user in name order; ISO 8601 times, N/A where a column does not apply.
func (s *Service) credentialReport(ctx context.Context, r store.Reader, account string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(credentialReportHeader); err != nil {
		return nil, err
	}
	pp, err := passwordPolicy(ctx, r, account)
	if err != nil {
		return nil, err
	}
	keysOf := func(prefix string) ([]store.AccessKey, error) {
		keys, err := store.ListJSON[store.AccessKey](ctx, r, store.KindAccessKey, account, prefix)
		sort.SliceStable(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
		return keys, err
	}
	var acct store.Account
	if _, err := load(ctx, r, store.KindAccount, "", account, &acct); err != nil {
		return nil, err
	}
	rootKeys, err := keysOf(rootKeyPrefix)
	if err != nil {
		return nil, err
	}
	row := []string{"<root_account>", arn.Root(s.partition, account).String(), reportTime(acct.Created), credentialReportNotSupported,
		credentialReportNoInformation, credentialReportNotSupported, credentialReportNotSupported, "false"}
	row = append(row, keyColumns(rootKeys, 0)...)
	row = append(row, keyColumns(rootKeys, 1)...)
	row = append(row, "false", credentialReportNotApplicable, "false", credentialReportNotApplicable)
	if err := w.Write(row); err != nil {
		return nil, err
	}
	users, err := store.ListJSON[store.User](ctx, r, store.KindUser, account, "")
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		row := []string{u.Name, s.userARN(account, u.Path, u.Name), reportTime(u.Created)}
		var lp store.LoginProfile
		_, err := load(ctx, r, store.KindLoginProfile, account, u.Name, &lp)
		switch {
		case err == nil:
			used := credentialReportNoInformation
			if !u.PasswordLastUsed.IsZero() {
				used = reportTime(u.PasswordLastUsed)
			}
			next := credentialReportNotApplicable
			if pp != nil && pp.MaxAge > 0 {
				next = reportTime(lp.Changed.AddDate(0, 0, int(pp.MaxAge)))
			}
			row = append(row, "true", used, reportTime(lp.Changed), next)
		case isNotFound(err):
			row = append(row, "false", credentialReportNotApplicable, credentialReportNotApplicable, credentialReportNotApplicable)
		default:
			return nil, err
		}
		mfa, err := mfaDevicesOfUser(ctx, r, account, u.Name)
		if err != nil {
			return nil, err
		}
		row = append(row, strconv.FormatBool(mfa > 0))
		keys, err := keysOf(u.Name + "/")
		if err != nil {
			return nil, err
		}
		row = append(row, keyColumns(keys, 0)...)
		row = append(row, keyColumns(keys, 1)...)
		row = append(row, "false", credentialReportNotApplicable, "false", credentialReportNotApplicable)
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	// AWS's report has no line break after the last row.
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
