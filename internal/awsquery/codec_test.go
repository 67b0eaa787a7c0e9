package awsquery_test

import (
	"context"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const requestID = "4a3c8c6e-5c1a-4bde-9e3b-000000000001"

func mustForm(t testing.TB, s string) url.Values {
	t.Helper()
	f, err := awsquery.ParseForm([]byte(s))
	if err != nil {
		t.Fatalf("ParseForm(%q): %v", s, err)
	}
	return f
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		action string
		form   string
		want   any
	}{
		{
			name:   "strings ints and a list of structures",
			action: "CreateRole",
			form: "RoleName=r1&AssumeRolePolicyDocument=%7B%22a%22%3A+1%7D&MaxSessionDuration=3600&Path=%2Fa%2F" +
				"&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2&Tags.member.2.Value=&Unknown=ignored",
			want: &iamapi.CreateRoleInput{RoleName: "r1", AssumeRolePolicyDocument: `{"a": 1}`, MaxSessionDuration: aws.Int32(3600),
				Path: "/a/", Tags: []iamapi.Tag{{Key: "k1", Value: "v1"}, {Key: "k2", Value: ""}}},
		},
		{
			name:   "empty list sent as Tags=",
			action: "CreateRole",
			form:   "RoleName=r1&AssumeRolePolicyDocument=x&Tags=",
			want:   &iamapi.CreateRoleInput{RoleName: "r1", AssumeRolePolicyDocument: "x", Tags: []iamapi.Tag{}},
		},
		{
			name:   "list stops at the first missing index",
			action: "TagRole",
			form:   "RoleName=r&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.3.Key=c&Tags.member.3.Value=3",
			want:   &iamapi.TagRoleInput{RoleName: "r", Tags: []iamapi.Tag{{Key: "a", Value: "1"}}},
		},
		{
			name:   "enum boolean and integer",
			action: "ListPolicies",
			form:   "Scope=Local&OnlyAttached=true&MaxItems=100&PathPrefix=%2F&PolicyUsageFilter=PermissionsBoundary",
			want: &iamapi.ListPoliciesInput{Scope: iamapi.PolicyScopeTypeLocal, OnlyAttached: aws.Bool(true), MaxItems: aws.Int32(100),
				PathPrefix: "/", PolicyUsageFilter: iamapi.PolicyUsageTypePermissionsBoundary},
		},
		{
			name:   "boolean in another case",
			action: "ListPolicies",
			form:   "OnlyAttached=FALSE",
			want:   &iamapi.ListPoliciesInput{OnlyAttached: aws.Bool(false)},
		},
		{
			name:   "nested list inside a list of structures",
			action: "SimulateCustomPolicy",
			form: "PolicyInputList.member.1=p1&PolicyInputList.member.2=p2&ActionNames.member.1=s3%3AGetObject" +
				"&ContextEntries.member.1.ContextKeyName=aws%3ASourceIp&ContextEntries.member.1.ContextKeyType=ipList" +
				"&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1&ContextEntries.member.1.ContextKeyValues.member.2=10.0.0.2" +
				"&ContextEntries.member.2.ContextKeyValues.member.1=only-nested",
			want: &iamapi.SimulateCustomPolicyInput{PolicyInputList: []string{"p1", "p2"}, ActionNames: []string{"s3:GetObject"},
				ContextEntries: []iamapi.ContextEntry{
					{ContextKeyName: "aws:SourceIp", ContextKeyType: iamapi.ContextKeyTypeEnumIpList, ContextKeyValues: []string{"10.0.0.1", "10.0.0.2"}},
					{ContextKeyValues: []string{"only-nested"}},
				}},
		},
		{
			name:   "operation without input",
			action: "GetAccountSummary",
			form:   "Foo=bar",
			want:   &iamapi.GetAccountSummaryInput{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := iamapi.DecodeInput(tt.action, mustForm(t, tt.form))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	long := strings.Repeat("k", 129)
	tests := []struct {
		name   string
		decode func(url.Values) (any, error)
		action string
		form   string
		want   string
	}{
		{
			name: "pattern", action: "GetRole", form: "RoleName=bad+name%21",
			want: `1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
		},
		{
			name: "required member missing", action: "GetRole", form: "",
			want: `1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null`,
		},
		{
			name: "empty value fails length and pattern", action: "GetRole", form: "RoleName=",
			want: `2 validation errors detected: Value '' at 'roleName' failed to satisfy constraint: Member must have length greater than or equal to 1; ` +
				`Value '' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
		},
		{
			name: "numeric maximum", action: "CreateRole", form: "RoleName=r&AssumeRolePolicyDocument=x&MaxSessionDuration=50000",
			want: `1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200`,
		},
		{
			name: "numeric minimum and missing member in model order", action: "CreateRole", form: "RoleName=r&MaxSessionDuration=60",
			want: `2 validation errors detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null; ` +
				`Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600`,
		},
		{
			name: "not an integer", action: "ListRoles", form: "MaxItems=ten",
			want: `1 validation error detected: Value 'ten' at 'maxItems' failed to satisfy constraint: Member must be an integer between -2147483648 and 2147483647`,
		},
		{
			name: "not a boolean", action: "ListPolicies", form: "OnlyAttached=yes",
			want: `1 validation error detected: Value 'yes' at 'onlyAttached' failed to satisfy constraint: Member must be a boolean (true or false)`,
		},
		{
			name: "enum", action: "UpdateAccessKey", form: "AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Bogus",
			want: `1 validation error detected: Value 'Bogus' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]`,
		},
		{
			name: "nested member path", action: "CreateRole", form: "RoleName=r&AssumeRolePolicyDocument=x&Tags.member.1.Key=" + long + "&Tags.member.1.Value=v&Tags.member.2.Key=k",
			want: `2 validation errors detected: Value '` + long + `' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128; ` +
				`Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null`,
		},
		{
			name: "sensitive value is not echoed", action: "ChangePassword", form: "OldPassword=&NewPassword=s3cret",
			want: `2 validation errors detected: Value at 'oldPassword' failed to satisfy constraint: Member must have length greater than or equal to 1; ` +
				`Value at 'oldPassword' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`,
		},
		{
			name: "unicode escapes in a pattern", action: "CreateRole", form: "RoleName=r&AssumeRolePolicyDocument=%E2%82%AC",
			want: `1 validation error detected: Value '€' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`,
		},
		{
			// arnType's pattern ends in \u10000-\u10FFFF: an emoji in the ARN passes, only the duration fails.
			name: "sts supplementary planes are allowed", decode: func(f url.Values) (any, error) { return stsapi.DecodeInput("AssumeRole", f) },
			form: "RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2F%F0%9F%98%80&RoleSessionName=ss&DurationSeconds=899",
			want: `1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := tt.decode
			if decode == nil {
				decode = func(f url.Values) (any, error) { return iamapi.DecodeInput(tt.action, f) }
			}
			_, err := decode(mustForm(t, tt.form))
			var apiErr *awsquery.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *awsquery.Error", err)
			}
			got := awsquery.Error{Code: apiErr.Code, Message: apiErr.Message, HTTPStatus: apiErr.HTTPStatus, Sender: apiErr.Sender}
			want := awsquery.Error{Code: "ValidationError", Message: tt.want, HTTPStatus: 400, Sender: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDispatchUnknownAction(t *testing.T) {
	_, err := iamapi.Dispatch(context.Background(), &fakeIAM{}, "CreateRoles", url.Values{}, requestID)
	want := &awsquery.Error{Code: "InvalidAction", Message: "Could not find operation CreateRoles for version 2010-05-08", HTTPStatus: 400, Sender: true}
	if diff := cmp.Diff(want, err); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  *awsquery.Error
		want *awsquery.Error
	}{
		{"iam model 404", iamapi.NoSuchEntity("The role with name %s cannot be found.", "x"), &awsquery.Error{Code: "NoSuchEntity", Message: "The role with name x cannot be found.", HTTPStatus: 404, Sender: true}},
		{"iam model 409", iamapi.EntityAlreadyExists("exists"), &awsquery.Error{Code: "EntityAlreadyExists", Message: "exists", HTTPStatus: 409, Sender: true}},
		{"iam model 409 limit", iamapi.LimitExceeded("too many"), &awsquery.Error{Code: "LimitExceeded", Message: "too many", HTTPStatus: 409, Sender: true}},
		{"iam model receiver fault", iamapi.ServiceFailure("boom"), &awsquery.Error{Code: "ServiceFailure", Message: "boom", HTTPStatus: 500, Sender: false}},
		{"formatted message", iamapi.InvalidInput("%d%% wrong", 100), &awsquery.Error{Code: "InvalidInput", Message: "100% wrong", HTTPStatus: 400, Sender: true}},
		{"common error", iamapi.AccessDenied("no"), &awsquery.Error{Code: "AccessDenied", Message: "no", HTTPStatus: 403, Sender: true}},
		{"sts model code keeps Exception", stsapi.ExpiredToken("old"), &awsquery.Error{Code: "ExpiredTokenException", Message: "old", HTTPStatus: 400, Sender: true}},
		{"sts region disabled", stsapi.RegionDisabled("off"), &awsquery.Error{Code: "RegionDisabledException", Message: "off", HTTPStatus: 403, Sender: true}},
		{"sts idp rejected", stsapi.IDPRejectedClaim("no"), &awsquery.Error{Code: "IDPRejectedClaim", Message: "no", HTTPStatus: 403, Sender: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	got := []any{len(iamapi.Operations), len(stsapi.Operations), iamapi.Operations["CreateRole"].Errors, stsapi.Operations["AssumeRoleWithWebIdentity"].NoAuth, stsapi.Operations["AssumeRole"].NoAuth}
	want := []any{176, 11, []string{"LimitExceeded", "InvalidInput", "EntityAlreadyExists", "MalformedPolicyDocument", "ConcurrentModification", "ServiceFailure"}, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations mismatch (-want +got):\n%s", diff)
	}
}

func TestParseForm(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    url.Values
		wantErr string
	}{
		{name: "plus and percent", in: "A=a+b%20c&B=%2B", want: url.Values{"A": {"a b c"}, "B": {"+"}}},
		{name: "repeated keys keep order", in: "A=1&A=2", want: url.Values{"A": {"1", "2"}}},
		{name: "key without value", in: "A&B=", want: url.Values{"A": {""}, "B": {""}}},
		{name: "semicolon is data", in: "A=x;y", want: url.Values{"A": {"x;y"}}},
		{name: "empty pairs skipped", in: "&&A=1&", want: url.Values{"A": {"1"}}},
		{name: "escaped key", in: "Tags.member.1%2EKey=v", want: url.Values{"Tags.member.1.Key": {"v"}}},
		{name: "bad escape", in: "A=1&B=%zz", wantErr: "MalformedQueryString: Invalid percent-encoding at byte 6 of the request's form."},
		{name: "truncated escape", in: "A=%4", wantErr: "MalformedQueryString: Invalid percent-encoding at byte 2 of the request's form."},
		{name: "too many parameters", in: strings.Repeat("A=1&", awsquery.MaxFormParams+1), wantErr: "InvalidQueryParameter: The request has more than 10000 parameters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awsquery.ParseForm([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("form mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := awsquery.ParseForm(make([]byte, awsquery.MaxFormBytes+1)); err == nil || !strings.HasPrefix(err.Error(), "RequestEntityTooLarge") {
		t.Errorf("oversized form: error = %v, want RequestEntityTooLarge", err)
	}
}

func TestPolicyEscape(t *testing.T) {
	got := string(awsquery.AppendPolicyEscape(nil, `{"A": "b+c/*~é"}`))
	want := "%7B%22A%22%3A%20%22b%2Bc%2F%2A~%C3%A9%22%7D"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("escape mismatch (-want +got):\n%s", diff)
	}
}

// TestGolden pins the exact bytes of responses; refresh with go test -run TestGolden -update.
func TestGolden(t *testing.T) {
	ctx := context.Background()
	iamCall := func(action, form string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			out, err := iamapi.Dispatch(ctx, &fakeIAM{}, action, mustForm(t, form), requestID)
			if err != nil {
				var apiErr *awsquery.Error
				if !errors.As(err, &apiErr) {
					t.Fatal(err)
				}
				return awsquery.EncodeError(apiErr, iamapi.Namespace, requestID)
			}
			return out
		}
	}
	tests := []struct {
		name string
		body func(t *testing.T) []byte
	}{
		{"CreateRole", iamCall("CreateRole", "RoleName=MyEC2Role&AssumeRolePolicyDocument=x&Tags.member.1.Key=env&Tags.member.1.Value=prod")},
		{"GetRole", iamCall("GetRole", "RoleName=web")},
		{"ListRoles", iamCall("ListRoles", "")},
		{"GetAccountSummary", iamCall("GetAccountSummary", "")},
		{"DeleteRole", iamCall("DeleteRole", "RoleName=web")},
		{"ErrorNoSuchEntity", iamCall("GetRole", "RoleName=nope")},
		{"ErrorValidation", iamCall("CreateRole", "RoleName=bad%3Cname%3E")},
		{"STSGetCallerIdentity", func(t *testing.T) []byte {
			out, err := stsapi.Dispatch(ctx, fakeSTS{}, "GetCallerIdentity", url.Values{}, requestID)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}},
		{"ErrorReceiver", func(*testing.T) []byte {
			return awsquery.EncodeError(awsquery.NotImplemented("sts", "GetFederationToken"), stsapi.Namespace, requestID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.body(t)
			path := filepath.Join("testdata", tt.name+".xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}
