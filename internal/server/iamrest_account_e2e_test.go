package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
)

const s3ReadDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

// TestAccountSummary checks GetAccountSummary's counts against what the test created, and its quotas.
func TestAccountSummary(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	for _, u := range []string{"a", "b"} {
		must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}))
	}
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	pol := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(s3ReadDoc)})).Policy
	must[*iam.CreatePolicyVersionOutput](t)(e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: pol.Arn, PolicyDocument: aws.String(s3ReadDoc)}))
	must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ip")}))
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("d1")})).VirtualMFADevice
	must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("d2")}))
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("a"), SerialNumber: dev.SerialNumber,
		AuthenticationCode1: aws.String(totpAt(t, string(dev.Base32StringSeed), now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, string(dev.Base32StringSeed), now))}))

	must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com"), ClientIDList: []string{"sts.amazonaws.com"}}))

	m := must[*iam.GetAccountSummaryOutput](t)(e.iam.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})).SummaryMap
	want := map[string]int32{
		"Users": 2, "Groups": 1, "Roles": 1, "Policies": 1, "PolicyVersionsInUse": 2, "InstanceProfiles": 1, "MFADevices": 2, "MFADevicesInUse": 1,
		"AccountAccessKeysPresent": 1, "AccountMFAEnabled": 0, "Providers": 1,
		"UsersQuota": 5000, "GroupsQuota": 300, "RolesQuota": 1000, "PoliciesQuota": 1500, "InstanceProfilesQuota": 1000,
		"AccessKeysPerUserQuota": 2, "GroupsPerUserQuota": 10, "VersionsPerPolicyQuota": 5, "AttachedPoliciesPerRoleQuota": 10,
		"PolicySizeQuota": 6144, "AssumeRolePolicySizeQuota": 2048, "RolePolicySizeQuota": 10240, "UserPolicySizeQuota": 2048, "GroupPolicySizeQuota": 5120,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("SummaryMap[%s] = %d (present %v), want %d", k, got, ok, v)
		}
	}
	reader := e.userWithPolicy("reader", "")
	_, err := reader.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	apiError(t, err, "AccessDenied")
}

// TestAccountAliases covers the alias lifecycle, the one-alias quota and uniqueness across accounts.
func TestAccountAliases(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	list := must[*iam.ListAccountAliasesOutput](t)(e.iam.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}))
	if len(list.AccountAliases) != 0 || list.IsTruncated {
		t.Errorf("new account aliases = %+v", list.AccountAliases)
	}
	must[*iam.CreateAccountAliasOutput](t)(e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("my-company")}))
	must[*iam.CreateAccountAliasOutput](t)(e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("my-company")}))
	_, err := e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("second")})
	ae := apiError(t, err, "LimitExceeded")
	if ae.ErrorMessage() != "Cannot exceed quota for AccountAliasesPerAccount: 1" {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	list = must[*iam.ListAccountAliasesOutput](t)(e.iam.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}))
	if diff := cmp.Diff([]string{"my-company"}, list.AccountAliases); diff != "" {
		t.Errorf("aliases mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"Upper", "two--hyphens", "-lead", "a"} {
		_, err = e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String(bad)})
		apiError(t, err, "ValidationError")
	}
	_, err = e.iam.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("other")})
	apiError(t, err, "NoSuchEntity")
	must[*iam.DeleteAccountAliasOutput](t)(e.iam.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("my-company")}))

	// An alias another account holds is taken.
	err = e.st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.Create(ctx, store.Record{Kind: store.KindAccountAlias, Key: "taken", Data: []byte(`{"alias":"taken","account":"999988887777"}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("taken")})
	apiError(t, err, "EntityAlreadyExists")
	_, err = e.iam.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("taken")})
	apiError(t, err, "NoSuchEntity")
	// The freed alias can be taken again.
	must[*iam.CreateAccountAliasOutput](t)(e.iam.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("my-company")}))
}

// TestAccountAuthorizationDetails pages through every list and filters by entity type.
func TestAccountAuthorizationDetails(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			pol := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("local"), PolicyDocument: aws.String(s3ReadDoc)})).Policy
			must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}))
			must[*iam.AttachGroupPolicyOutput](t)(e.iam.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
			for _, u := range []string{"ann", "ben", "cat"} {
				must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}))
			}
			must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("ben")}))
			must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ben"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(s3ReadDoc)}))
			must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("ben"), PolicyArn: pol.Arn}))
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(ec2Trust), Tags: []types.Tag{tag("team", "blue")}}))
			must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-ip")}))
			must[*iam.AddRoleToInstanceProfileOutput](t)(e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-ip"), RoleName: aws.String("web")}))

			// Page two at a time through users (3), groups (1), roles (1), policies (local 1 + attached AWS 1).
			var users, groups, roles, policies []string
			var ben *types.UserDetail
			var web *types.RoleDetail
			pages := 0
			p := iam.NewGetAccountAuthorizationDetailsPaginator(e.iam, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(2)})
			for p.HasMorePages() {
				page := must[*iam.GetAccountAuthorizationDetailsOutput](t)(p.NextPage(ctx))
				pages++
				if n := len(page.UserDetailList) + len(page.GroupDetailList) + len(page.RoleDetailList) + len(page.Policies); n > 2 {
					t.Errorf("page %d holds %d entries, MaxItems is 2", pages, n)
				}
				for i, u := range page.UserDetailList {
					users = append(users, aws.ToString(u.UserName))
					if aws.ToString(u.UserName) == "ben" {
						ben = &page.UserDetailList[i]
					}
				}
				for _, g := range page.GroupDetailList {
					groups = append(groups, aws.ToString(g.GroupName))
				}
				for i, r := range page.RoleDetailList {
					roles = append(roles, aws.ToString(r.RoleName))
					web = &page.RoleDetailList[i]
				}
				for _, pd := range page.Policies {
					policies = append(policies, aws.ToString(pd.PolicyName))
				}
			}
			if diff := cmp.Diff([]string{"ann", "ben", "cat"}, users); diff != "" {
				t.Errorf("users mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"devs"}, groups); diff != "" {
				t.Errorf("groups mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"web"}, roles); diff != "" {
				t.Errorf("roles mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"local", "IAMReadOnlyAccess"}, policies); diff != "" {
				t.Errorf("policies mismatch (-want +got):\n%s", diff)
			}
			if pages != 4 {
				t.Errorf("pages = %d, want 4", pages)
			}
			if ben == nil || len(ben.UserPolicyList) != 1 || len(ben.AttachedManagedPolicies) != 1 || len(ben.GroupList) != 1 || ben.GroupList[0] != "devs" {
				t.Errorf("ben = %+v", ben)
			} else if doc, _ := url.QueryUnescape(aws.ToString(ben.UserPolicyList[0].PolicyDocument)); doc != s3ReadDoc {
				t.Errorf("ben's inline document = %q", doc)
			}
			if web == nil || len(web.InstanceProfileList) != 1 || aws.ToString(web.InstanceProfileList[0].InstanceProfileName) != "web-ip" || len(web.Tags) != 1 {
				t.Errorf("web = %+v", web)
			}

			only := must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole, types.EntityTypeLocalManagedPolicy}}))
			if len(only.UserDetailList) != 0 || len(only.GroupDetailList) != 0 || len(only.RoleDetailList) != 1 || len(only.Policies) != 1 || only.IsTruncated {
				t.Errorf("filtered = %d users, %d groups, %d roles, %d policies", len(only.UserDetailList), len(only.GroupDetailList), len(only.RoleDetailList), len(only.Policies))
			} else if len(only.Policies[0].PolicyVersionList) != 1 || !only.Policies[0].PolicyVersionList[0].IsDefaultVersion {
				t.Errorf("local policy versions = %+v", only.Policies[0].PolicyVersionList)
			}
			// A page that ends exactly where the lists end is not truncated.
			exact := must[*iam.GetAccountAuthorizationDetailsOutput](t)(e.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(3), Filter: []types.EntityType{types.EntityTypeUser}}))
			if exact.IsTruncated || len(exact.UserDetailList) != 3 {
				t.Errorf("users only, MaxItems 3: truncated %v, %d users", exact.IsTruncated, len(exact.UserDetailList))
			}
			_, err := e.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Marker: aws.String("bogus")})
			apiError(t, err, "InvalidInput")
		})
	}
}

// TestCredentialReport generates and reads the credential report and checks its CSV column by column.
func TestCredentialReport(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	_, err := e.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	apiError(t, err, "ReportNotPresent")
	var re *smithyhttp.ResponseError
	if !asResponseError(err, &re) || re.HTTPStatusCode() != 410 {
		t.Errorf("ReportNotPresent status = %v, want 410", err)
	}

	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("full"), Path: aws.String("/ops/")}))
	must[*iam.CreateLoginProfileOutput](t)(e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("full"), Password: aws.String("Correct-Horse-1")}))
	must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("full")}))
	must[*iam.UpdateAccountPasswordPolicyOutput](t)(e.iam.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MaxPasswordAge: aws.Int32(30)}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bare")}))

	gen := must[*iam.GenerateCredentialReportOutput](t)(e.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != types.ReportStateTypeStarted || aws.ToString(gen.Description) != "No report exists. Starting a new report generation task" {
		t.Errorf("first GenerateCredentialReport = %s %q", gen.State, aws.ToString(gen.Description))
	}
	gen = must[*iam.GenerateCredentialReportOutput](t)(e.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != types.ReportStateTypeComplete {
		t.Errorf("second GenerateCredentialReport = %s, want COMPLETE", gen.State)
	}
	rep := must[*iam.GetCredentialReportOutput](t)(e.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}))
	if rep.ReportFormat != types.ReportFormatTypeTextCsv || rep.GeneratedTime == nil {
		t.Errorf("format %s, generated %v", rep.ReportFormat, rep.GeneratedTime)
	}
	if bytes.HasSuffix(rep.Content, []byte("\n")) {
		t.Error("the report ends with a line break; AWS's does not")
	}
	rows, err := csv.NewReader(bytes.NewReader(rep.Content)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
		"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
		"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
		"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
	if got := strings.Join(rows[0], ","); got != header {
		t.Fatalf("header = %s", got)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want header + root + 2 users", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	root, bare, full := rows[1], rows[2], rows[3]
	isTime := func(s string) bool {
		_, err := time.Parse("2006-01-02T15:04:05+00:00", s)
		return err == nil
	}
	checks := []struct {
		name string
		row  []string
		col  string
		want string
	}{
		{"root user", root, "user", "<root_account>"},
		{"root arn", root, "arn", "arn:aws:iam::" + testAccount + ":root"},
		{"root password", root, "password_enabled", "not_supported"},
		{"root key", root, "access_key_1_active", "true"},
		{"root second key", root, "access_key_2_active", "false"},
		{"bare arn", bare, "arn", "arn:aws:iam::" + testAccount + ":user/bare"},
		{"bare password", bare, "password_enabled", "false"},
		{"bare password used", bare, "password_last_used", "N/A"},
		{"bare rotation", bare, "password_next_rotation", "N/A"},
		{"bare key", bare, "access_key_1_active", "false"},
		{"bare key rotated", bare, "access_key_1_last_rotated", "N/A"},
		{"bare mfa", bare, "mfa_active", "false"},
		{"full arn", full, "arn", "arn:aws:iam::" + testAccount + ":user/ops/full"},
		{"full password", full, "password_enabled", "true"},
		{"full password used", full, "password_last_used", "no_information"},
		{"full key", full, "access_key_1_active", "true"},
		{"full key used", full, "access_key_1_last_used_date", "N/A"},
		{"full cert", full, "cert_1_active", "false"},
	}
	for _, c := range checks {
		if got := c.row[col[c.col]]; got != c.want {
			t.Errorf("%s: %s = %q, want %q", c.name, c.col, got, c.want)
		}
	}
	for _, c := range []string{"user_creation_time", "password_last_changed", "password_next_rotation", "access_key_1_last_rotated"} {
		if !isTime(full[col[c]]) {
			t.Errorf("full: %s = %q, want an ISO 8601 time", c, full[col[c]])
		}
	}
	changed, _ := time.Parse("2006-01-02T15:04:05+00:00", full[col["password_last_changed"]])
	next, _ := time.Parse("2006-01-02T15:04:05+00:00", full[col["password_next_rotation"]])
	if next.Sub(changed) != 30*24*time.Hour {
		t.Errorf("password_next_rotation - password_last_changed = %s, want 30 days", next.Sub(changed))
	}
}

func asResponseError(err error, re **smithyhttp.ResponseError) bool { return errors.As(err, re) }
