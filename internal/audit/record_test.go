package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	when   = time.Date(2026, 3, 1, 17, 48, 4, 123456000, time.UTC)
	issued = time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
)

// base is a request every golden case shares; each case sets the caller.
func base(name string) Event {
	return Event{
		Time: when, Source: SourceIAM, Action: "GetRole", ReadOnly: true, Region: "us-east-1",
		SourceIP: "192.0.2.10", UserAgent: "aws-cli/2.15.0", RequestID: "req-" + name, EventID: "evt-" + name,
		Params:   map[string]any{"roleName": "admin"},
		Response: nil,
		TLS: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
			ClientProvidedHostHeader: "iam.amazonaws.com"},
		Resources: []Resource{{ARN: "arn:aws:iam::123456789012:role/admin", AccountID: "123456789012",
			Type: "AWS::IAM::Role", Name: "admin"}},
	}
}

// goldenEvents has one request per userIdentity type, shaped like CloudTrail's documented examples
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
func goldenEvents() []struct {
	name string
	ev   Event
} {
	root := base("root")
	root.Principal = &authz.Principal{Type: authz.Root, Account: "123456789012",
		ARN: "arn:aws:iam::123456789012:root", UserID: "123456789012", AccessKeyID: "AKIAROOTEXAMPLE"}

	user := base("iamuser")
	user.Principal = &authz.Principal{Type: authz.IAMUser, Account: "123456789012",
		ARN: "arn:aws:iam::123456789012:user/Alice", UserID: "AIDAJ45Q7YFFAREXAMPLE", Name: "Alice",
		AccessKeyID: "AKIAALICEEXAMPLE"}

	role := base("assumedrole")
	role.Principal = &authz.Principal{Type: authz.AssumedRole, Account: "123456789012",
		ARN:    "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
		UserID: "AROAIDPPEZS35WEXAMPLE:MySessionName", Name: "RoleToBeAssumed", AccessKeyID: "ASIAEXAMPLE",
		Session: &authz.Session{RoleARN: "arn:aws:iam::123456789012:role/RoleToBeAssumed",
			RoleID: "AROAIDPPEZS35WEXAMPLE", SessionName: "MySessionName", Issued: issued, MFA: true,
			MFAAuthTime: issued, SourceIdentity: "alice@example.com"}}

	web := base("webidentitysession")
	web.Principal = &authz.Principal{Type: authz.AssumedRole, Account: "123456789012",
		ARN:    "arn:aws:sts::123456789012:assumed-role/WebRole/app-session",
		UserID: "AROAWEBROLEEXAMPLE:app-session", Name: "WebRole", AccessKeyID: "ASIAWEBEXAMPLE",
		Session: &authz.Session{RoleARN: "arn:aws:iam::123456789012:role/WebRole", RoleID: "AROAWEBROLEEXAMPLE",
			SessionName: "app-session", Issued: issued}}
	web.WebIDFederation = &WebIDFederationData{FederatedProvider: "accounts.google.com"}

	fed := base("federateduser")
	fed.Principal = &authz.Principal{Type: authz.FederatedUser, Account: "123456789012",
		ARN: "arn:aws:sts::123456789012:federated-user/Bob", UserID: "123456789012:Bob", Name: "Bob",
		AccessKeyID: "ASIAFEDEXAMPLE",
		Session: &authz.Session{RoleARN: "arn:aws:iam::123456789012:user/Alice", RoleID: "AIDAJ45Q7YFFAREXAMPLE",
			SessionName: "Bob", Issued: issued}}

	wid := base("webidentityuser")
	wid.Source, wid.Action, wid.ReadOnly = SourceSTS, "AssumeRoleWithWebIdentity", false
	wid.Identity = WebIdentityUser("accounts.google.com", "app-1.apps.googleusercontent.com", "1234567890")
	wid.RecipientAccount = "123456789012"
	wid.Params = map[string]any{"roleArn": "arn:aws:iam::123456789012:role/WebRole",
		"roleSessionName": "app-session", "webIdentityToken": "eyJhbGciOiJSUzI1NiJ9.secret.jwt"}
	wid.Response = map[string]any{
		"credentials": map[string]any{"accessKeyId": "ASIAWEBEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG",
			"sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Mar 1, 2026, 6:48:04 PM"},
		"subjectFromWebIdentityToken": "1234567890",
	}

	saml := base("samluser")
	saml.Source, saml.Action, saml.ReadOnly = SourceSTS, "AssumeRoleWithSAML", false
	saml.Identity = SAMLUser("SampleUkh1i4+ExamplexL/jEvs=", "SamlExample")
	saml.RecipientAccount = "123456789012"
	saml.Params = map[string]any{"sAMLAssertion": "PHNhbWxwOlJlc3BvbnNlIHNlY3JldA==",
		"roleArn": "arn:aws:iam::123456789012:role/SAMLRole"}

	// A SAML session's provider comes from its token (Session.FederatedProvider).
	samlSession := base("samlsession")
	samlSession.Principal = &authz.Principal{Type: authz.AssumedRole, Account: "123456789012",
		ARN:    "arn:aws:sts::123456789012:assumed-role/SAMLRole/bob",
		UserID: "AROASAMLROLEEXAMPLE:bob", Name: "SAMLRole", AccessKeyID: "ASIASAMLEXAMPLE",
		Session: &authz.Session{RoleARN: "arn:aws:iam::123456789012:role/SAMLRole", RoleID: "AROASAMLROLEEXAMPLE",
			SessionName: "bob", Issued: issued, FederatedProvider: "arn:aws:iam::123456789012:saml-provider/Corp"}}

	svc := base("awsservice")
	svc.Identity = AWSService("123456789012", "sts.amazonaws.com")
	svc.TLS = nil

	denied := base("denied")
	denied.Principal = user.Principal
	denied.Action, denied.ReadOnly = "CreateUser", false
	denied.ErrorCode = "AccessDenied"
	denied.ErrorMessage = "User: arn:aws:iam::123456789012:user/Alice is not authorized to perform: iam:CreateUser"
	denied.Params = map[string]any{"userName": "mallory"}

	return []struct {
		name string
		ev   Event
	}{
		{"root", root}, {"iamuser", user}, {"assumedrole", role}, {"webidentitysession", web},
		{"federateduser", fed}, {"webidentityuser", wid}, {"samluser", saml}, {"awsservice", svc},
		{"denied", denied}, {"samlsession", samlSession},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenEvents() {
		t.Run(tc.name, func(t *testing.T) {
			row, err := Build(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, row.Data, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildLookupFields pins the store row's lookup fields, which LookupEvents filters on.
func TestBuildLookupFields(t *testing.T) {
	type fields struct {
		Account, Username, AccessKeyID, PrincipalARN string
		ReadOnly                                     bool
		Resources                                    []store.AuditResource
	}
	roleRes := []store.AuditResource{{Type: "AWS::IAM::Role", Name: "admin"},
		{Type: "AWS::IAM::Role", Name: "arn:aws:iam::123456789012:role/admin"}}
	want := map[string]fields{
		"root":               {"123456789012", "root", "AKIAROOTEXAMPLE", "arn:aws:iam::123456789012:root", true, roleRes},
		"iamuser":            {"123456789012", "Alice", "AKIAALICEEXAMPLE", "arn:aws:iam::123456789012:user/Alice", true, roleRes},
		"assumedrole":        {"123456789012", "MySessionName", "ASIAEXAMPLE", "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName", true, roleRes},
		"webidentitysession": {"123456789012", "app-session", "ASIAWEBEXAMPLE", "arn:aws:sts::123456789012:assumed-role/WebRole/app-session", true, roleRes},
		"federateduser":      {"123456789012", "Bob", "ASIAFEDEXAMPLE", "arn:aws:sts::123456789012:federated-user/Bob", true, roleRes},
		"webidentityuser":    {"123456789012", "1234567890", "", "", false, roleRes},
		"samluser":           {"123456789012", "SamlExample", "", "", false, roleRes},
		"awsservice":         {"123456789012", "", "", "", true, roleRes},
		"denied":             {"123456789012", "Alice", "AKIAALICEEXAMPLE", "arn:aws:iam::123456789012:user/Alice", false, roleRes},
		"samlsession":        {"123456789012", "bob", "ASIASAMLEXAMPLE", "arn:aws:sts::123456789012:assumed-role/SAMLRole/bob", true, roleRes},
	}
	for _, tc := range goldenEvents() {
		t.Run(tc.name, func(t *testing.T) {
			row, err := Build(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			got := fields{row.Account, row.Username, row.AccessKeyID, row.PrincipalARN, row.ReadOnly, row.Resources}
			if diff := cmp.Diff(want[tc.name], got); diff != "" {
				t.Errorf("lookup fields mismatch (-want +got):\n%s", diff)
			}
			if row.EventID != tc.ev.EventID || !row.Time.Equal(when) || row.EventName != tc.ev.Action {
				t.Errorf("row = %s %v %s, want %s %v %s", row.EventID, row.Time, row.EventName, tc.ev.EventID, when, tc.ev.Action)
			}
		})
	}
}

func TestBuildWithoutRecipientFails(t *testing.T) {
	ev := base("anon")
	if _, err := Build(ev); err == nil {
		t.Error("Build of an event with no principal and no recipient account succeeded, want an error")
	}
	ev.RecipientAccount = "123456789012"
	row, err := Build(ev)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := json.Unmarshal(row.Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.UserIdentity.Type != "Unknown" {
		t.Errorf("userIdentity.type = %q, want Unknown", rec.UserIdentity.Type)
	}
}

// TestSharedEventID: a cross-account AssumeRole is in both accounts' trails, linked by sharedEventID.
func TestSharedEventID(t *testing.T) {
	caller := base("x")
	caller.Principal = goldenEvents()[1].ev.Principal
	caller.Source, caller.Action, caller.EventID = SourceSTS, "AssumeRole", ""
	caller.SharedEventID = NewID()
	target := caller
	target.RecipientAccount = "444455556666"
	a, err := Build(caller)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(target)
	if err != nil {
		t.Fatal(err)
	}
	var ra, rb Record
	if err := json.Unmarshal(a.Data, &ra); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Data, &rb); err != nil {
		t.Fatal(err)
	}
	got := []string{a.Account, b.Account, ra.SharedEventID, rb.SharedEventID}
	if diff := cmp.Diff([]string{"123456789012", "444455556666", caller.SharedEventID, caller.SharedEventID}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if a.EventID == b.EventID || a.EventID == "" {
		t.Errorf("event ids %q and %q: want two distinct ids", a.EventID, b.EventID)
	}
}

func TestNewIDIsUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID()
		if len(id) != 36 || id[14] != '4' || !bytes.ContainsAny([]byte{id[19]}, "89ab") || seen[id] {
			t.Fatalf("NewID() = %q: not a fresh version 4 UUID", id)
		}
		seen[id] = true
	}
}

func TestReadOnlyAction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action string
		want   bool
	}{
		{"get", "GetRole", true}, {"list", "ListUsers", true}, {"simulate", "SimulatePrincipalPolicy", true},
		{"lookup", "LookupEvents", true}, {"create", "CreateRole", false}, {"assume", "AssumeRole", false},
		{"delete", "DeleteUser", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadOnlyAction(tc.action); got != tc.want {
				t.Errorf("ReadOnlyAction(%q) = %v, want %v", tc.action, got, tc.want)
			}
		})
	}
}

// TestBuildOmitsOversizedParameters pins that a record over CloudTrail's 256 KB keeps everything but its
// parameters and response.
func TestBuildOmitsOversizedParameters(t *testing.T) {
	ev := Event{Time: time.Now(), Identity: &UserIdentity{Type: "Root", AccountID: "123456789012"},
		Source: SourceIAM, Action: "CreateRole", ErrorCode: "ValidationError",
		Params: map[string]any{"roleName": strings.Repeat("x", 300<<10)}}
	row, err := Build(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(row.Data) > MaxRecordBytes {
		t.Errorf("record of %d bytes", len(row.Data))
	}
	var rec Record
	if err := json.Unmarshal(row.Data, &rec); err != nil || rec.RequestParameters["omitted"] != "too large" || rec.ErrorCode != "ValidationError" {
		t.Errorf("record = %+v (%v)", rec, err)
	}
}
