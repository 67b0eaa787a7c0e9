package sts

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
)

const acct = "111122223333"

func put(t *testing.T, st store.Store, kind store.Kind, key, id string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.Create(ctx, store.Record{Kind: kind, Account: acct, Key: key, ID: id, Data: data})
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAssumeRoleMFA checks SerialNumber and TokenCode through the MFAVerifier seam: a valid code makes an MFA
// session and satisfies a trust policy that requires MFA; a wrong code, or no verifier at all, is refused.
func TestAssumeRoleMFA(t *testing.T) {
	st := backends["sqlite"](t)
	put(t, st, store.KindUser, "alice", "AIDAALICEEXAMPLE12345", store.User{Name: "alice", ID: "AIDAALICEEXAMPLE12345", Path: "/"})
	put(t, st, store.KindRole, "Admin", "AROAADMINEXAMPLE12345", store.Role{Name: "Admin", ID: "AROAADMINEXAMPLE12345", Path: "/", MaxSessionDuration: 3600,
		TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`})
	ring, err := token.NewRing()
	if err != nil {
		t.Fatal(err)
	}
	const serial = "arn:aws:iam::" + acct + ":mfa/alice"
	var calls []string
	verifier := func(_ context.Context, account, user, sn, code string) error {
		calls = append(calls, account+"/"+user+"/"+sn+"/"+code)
		if account == acct && user == "alice" && sn == serial && code == "123456" {
			return nil
		}
		return errors.New("bad code")
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	svc := New(Config{Store: st, Authz: authz.New(st), Tokens: ring, MFA: verifier, Now: func() time.Time { return now }})
	ctx := authz.WithRequest(context.Background(), &authz.Request{Time: now})
	ctx = authz.WithPrincipal(ctx, &authz.Principal{Type: authz.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/alice", UserID: "AIDAALICEEXAMPLE12345", Name: "alice"})
	in := func(sn, code string) *stsapi.AssumeRoleInput {
		return &stsapi.AssumeRoleInput{RoleArn: "arn:aws:iam::" + acct + ":role/Admin", RoleSessionName: "mfa-session", SerialNumber: sn, TokenCode: code}
	}

	for _, tc := range []struct {
		name, serial, code, msg string
	}{
		{"no MFA", "", "", "User: arn:aws:iam::" + acct + ":user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::" + acct + ":role/Admin"},
		{"wrong code", serial, "654321", "MultiFactorAuthentication failed with invalid MFA one time pass code."},
		{"another user's device", "arn:aws:iam::" + acct + ":mfa/bob", "123456", "MultiFactorAuthentication failed with invalid MFA one time pass code."},
		{"serial without code", serial, "", "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.AssumeRole(ctx, in(tc.serial, tc.code))
			if err == nil || err.Error() != "AccessDenied: "+tc.msg && err.Error() != tc.msg {
				t.Errorf("err = %v, want AccessDenied %q", err, tc.msg)
			}
			var ae *awsquery.Error
			var de *authz.DeniedError
			if !errors.As(err, &ae) && !errors.As(err, &de) {
				t.Errorf("err %T is not an AccessDenied", err)
			}
		})
	}

	out, err := svc.AssumeRole(ctx, in(serial, "123456"))
	if err != nil {
		t.Fatal(err)
	}
	if calls[len(calls)-1] != acct+"/alice/"+serial+"/123456" {
		t.Errorf("verifier called with %v", calls)
	}
	sess, err := ring.Open(out.Credentials.SessionToken, now)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.MFA || !sess.MFAAuthTime.Equal(now) || sess.PrincipalID != "AROAADMINEXAMPLE12345" || sess.ChainDepth != 0 {
		t.Errorf("session = %+v, want an MFA session of the role", sess)
	}

	noMFA := New(Config{Store: st, Authz: authz.New(st), Tokens: ring, Now: func() time.Time { return now }})
	if _, err := noMFA.AssumeRole(ctx, in(serial, "123456")); err == nil {
		t.Error("AssumeRole with a code but no MFA verifier succeeded")
	}
}
