package audit

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/authz"
)

func marshalBoth(t *testing.T, rec *Record) {
	t.Helper()
	want, wantErr := json.Marshal(rec)
	got, err := appendRecord(nil, rec)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("appendRecord error %v, json.Marshal error %v", err, wantErr)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("appendRecord differs from json.Marshal (-want +got):\n%s", diff)
	}
}

// TestAppendRecordIsMarshal: the hand-written encoder writes exactly what encoding/json writes, for every shape
// of record the server makes.
func TestAppendRecordIsMarshal(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	role := &authz.Principal{Type: authz.AssumedRole, Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/r/s",
		UserID: "AROAEXAMPLE:s", AccessKeyID: "ASIAEXAMPLE", Name: "s",
		Session: &authz.Session{Issued: at, MFA: true, RoleARN: "arn:aws:iam::111122223333:role/r", RoleID: "AROAEXAMPLE", SourceIdentity: "me"}}
	user := &authz.Principal{Type: authz.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/bob",
		UserID: "AIDAEXAMPLE", AccessKeyID: "AKIAEXAMPLE", Name: "bob"}
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"Root", Event{Principal: &authz.Principal{Type: authz.Root, Account: "111122223333"}, Source: SourceIAM, Action: "GetRole"}},
		{"UserWithParams", Event{Principal: user, Source: SourceIAM, Action: "CreateUser", ErrorCode: "EntityAlreadyExists",
			ErrorMessage: `User "bob" <exists> & more`,
			Params: map[string]any{"userName": "bob", "tags": []any{map[string]any{"key": "k", "value": "v\u2028"}},
				"maxItems": 100, "ratio": 0.5, "big": 1e21, "on": true, "none": nil, "when": at, "list": []string{"a", "b"},
				"password": "secret"},
			Response: map[string]any{"user": map[string]any{"arn": user.ARN}}, Resources: []Resource{{ARN: "arn:x", Type: "AWS::IAM::User"}, {Type: "T"}}}},
		{"AssumedRoleSession", Event{Principal: role, Source: SourceSTS, Action: "GetCallerIdentity", SharedEventID: "shared",
			TLS:      &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "h"},
			Response: map[string]any{}}},
		{"WebIdentity", Event{Identity: WebIdentityUser("https://issuer", "aud", "sub"), RecipientAccount: "111122223333",
			Source: SourceSTS, Action: "AssumeRoleWithWebIdentity",
			WebIDFederation: &WebIDFederationData{FederatedProvider: "https://issuer", Attributes: map[string]string{"b": "2", "a": "1"}}}},
		{"FederatedWithWebID", Event{Principal: &authz.Principal{Type: authz.FederatedUser, Account: "111122223333",
			ARN: "arn:aws:sts::111122223333:federated-user/f", Session: &authz.Session{Issued: at, SourceARN: user.ARN, SourceID: "AIDA"}},
			WebIDFederation: &WebIDFederationData{}, Source: SourceSTS, Action: "GetCallerIdentity"}},
		{"HostileText", Event{Principal: user, Source: SourceIAM, Action: "GetRole\x00\x01\x1f\"\\\b\f\n\r\t",
			UserAgent: "\xff\xfe<script>\u2029é", Params: map[string]any{"\xffk<": "\x7f"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ev.Time = at
			marshalBoth(t, NewRecord(tc.ev))
		})
	}
	t.Run("NilFederationAttributes", func(t *testing.T) {
		marshalBoth(t, &Record{UserIdentity: UserIdentity{SessionContext: &SessionContext{WebIDFederationData: &WebIDFederationData{}}}})
	})
	t.Run("UnsupportedValueFails", func(t *testing.T) {
		marshalBoth(t, &Record{RequestParameters: map[string]any{"x": math.NaN()}})
	})
}

// FuzzAppendRecord: for any text in any field, appendRecord writes what json.Marshal writes.
func FuzzAppendRecord(f *testing.F) {
	f.Add("GetRole", "bob", "k", "v", "ua")
	f.Add("\x00\xff", "<&>", "\u2028", "\"\\", "\t\n")
	f.Fuzz(func(t *testing.T, action, name, key, value, ua string) {
		ev := Event{Time: time.Unix(0, 0), Principal: &authz.Principal{Type: authz.IAMUser, Account: "1", Name: name, ARN: name},
			Source: SourceIAM, Action: action, UserAgent: ua, ErrorMessage: value,
			Params:    map[string]any{key: value, name: []any{value, map[string]any{key: name}}},
			Resources: []Resource{{ARN: value, Type: key}}}
		marshalBoth(t, NewRecord(ev))
	})
}
