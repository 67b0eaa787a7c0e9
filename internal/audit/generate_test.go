package audit_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/store"
)

// TestGenerate writes policies from the activity of a role's sessions and of a user, and checks the actions,
// resources (paths resolved from the store, many resources wildcarded) and what is left out.
func TestGenerate(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "g.db"))
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	roleARN := "arn:aws:iam::" + acct + ":role/ops/app"
	session := &authz.Principal{Type: authz.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/app/s1",
		UserID: "AROAAPP:s1", Name: "app", AccessKeyID: "ASIAX",
		Session: &authz.Session{RoleARN: roleARN, RoleID: "AROAAPP", SessionName: "s1", Issued: now}}
	// The store knows role "web" at path /svc/.
	if err := s.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.Create(ctx, store.Record{Kind: store.KindRole, Account: acct, Key: "web", Data: []byte(`{"name":"web","path":"/svc/"}`)})
	}); err != nil {
		t.Fatal(err)
	}
	var rows []store.AuditRecord
	add := func(p *authz.Principal, source, action string, params map[string]any, errCode string, res ...audit.Resource) {
		ev := audit.Event{Time: now.Add(-time.Duration(len(rows)) * time.Minute), Principal: p, Source: source, Action: action,
			Params: params, ErrorCode: errCode, Resources: res}
		rows = append(rows, build(t, ev))
	}
	add(session, audit.SourceIAM, "GetRole", map[string]any{"roleName": "web"}, "")
	add(session, audit.SourceIAM, "GetRole", map[string]any{"roleName": "gone"}, "NoSuchEntity")
	add(session, audit.SourceIAM, "ListRoles", nil, "")
	add(session, audit.SourceIAM, "AttachRolePolicy", map[string]any{"roleName": "web", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "",
		audit.Resource{Type: "AWS::IAM::Policy", ARN: "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	add(session, audit.SourceIAM, "CreateUser", map[string]any{"userName": "x"}, "AccessDenied")
	add(session, audit.SourceIAM, "CreateRole", map[string]any{"roleName": "bad name"}, "ValidationError")
	add(session, audit.SourceSTS, "GetCallerIdentity", nil, "")
	for i := range 12 {
		add(session, audit.SourceIAM, "TagUser", map[string]any{"userName": "u" + strings.Repeat("x", i)}, "")
	}
	add(alice, audit.SourceIAM, "DeleteRole", map[string]any{"roleName": "web"}, "") // another principal
	if err := s.AppendAudit(ctx, rows); err != nil {
		t.Fatal(err)
	}

	gen, err := audit.Generate(ctx, s, s, audit.GenerateOptions{Principal: roleARN, Since: now.Add(-24 * time.Hour), Until: now})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"iam:AttachRolePolicy", "iam:GetRole", "iam:ListRoles", "iam:TagUser"}, gen.Actions); diff != "" {
		t.Errorf("actions mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"iam:CreateUser"}, gen.Denied); diff != "" {
		t.Errorf("denied mismatch (-want +got):\n%s", diff)
	}
	var doc struct {
		Statement []struct {
			Action, Resource []string
		}
	}
	if err := json.Unmarshal([]byte(gen.Policy), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			got[a] = st.Resource
		}
	}
	want := map[string][]string{
		"iam:AttachRolePolicy": {"arn:aws:iam::123456789012:role/svc/web", "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"iam:GetRole":          {"arn:aws:iam::123456789012:role/gone", "arn:aws:iam::123456789012:role/svc/web"},
		"iam:ListRoles":        {"*"},
		"iam:TagUser":          {"arn:aws:iam::123456789012:user/*"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policy mismatch (-want +got):\n%s\n%s", diff, gen.Policy)
	}

	// A user's policy comes from its own records only.
	gen, err = audit.Generate(ctx, s, s, audit.GenerateOptions{Principal: alice.ARN, Since: now.Add(-24 * time.Hour), Until: now})
	if err != nil || !cmp.Equal([]string{"iam:DeleteRole"}, gen.Actions) {
		t.Errorf("alice: %v, %v", gen, err)
	}
	if _, err := audit.Generate(ctx, s, s, audit.GenerateOptions{Principal: "arn:aws:iam::" + acct + ":user/nobody", Since: now.Add(-time.Hour), Until: now}); err == nil {
		t.Error("a principal without activity got a policy")
	}
}

// TestUnused reports a role's permissions granted on every resource that its sessions did not use, leaving out
// the used ones and the grants limited to named resources.
func TestUnused(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "u.db"))
	ctx := t.Context()
	doc := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["iam:GetRole","iam:ListRoles","iam:TagRole"],"Resource":"*"},
	 {"Effect":"Allow","Action":"iam:DeleteRole","Resource":"arn:aws:iam::123456789012:role/only-this"}]}`
	if err := s.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		role, _ := json.Marshal(store.Role{Name: "app", ID: "AROAAPP", Path: "/ops/", TrustPolicy: "{}"})
		if err := tx.Create(ctx, store.Record{Kind: store.KindRole, Account: acct, Key: "app", ID: "AROAAPP", Data: role}); err != nil {
			return err
		}
		inline, _ := json.Marshal(store.InlinePolicy{Name: "p", Document: doc})
		return tx.Create(ctx, store.Record{Kind: store.KindInlinePolicy, Account: acct, Key: "role/app/p", Data: inline})
	}); err != nil {
		t.Fatal(err)
	}
	catalog := []string{"iam:GetRole", "iam:ListRoles", "iam:TagRole", "iam:DeleteRole", "iam:CreateUser", "sts:AssumeRole"}
	got, err := audit.Unused(ctx, authz.New(s), "arn:aws:iam::"+acct+":role/ops/app", []string{"iam:GetRole"}, catalog)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"iam:ListRoles", "iam:TagRole"}, got); diff != "" {
		t.Errorf("unused mismatch (-want +got):\n%s", diff)
	}
	if _, err := audit.Unused(ctx, authz.New(s), "arn:aws:iam::"+acct+":group/g", nil, catalog); err == nil {
		t.Error("a group got a report")
	}
}
