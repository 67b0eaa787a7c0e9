package sts

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/oidc"
	"github.com/persona-iam/persona/internal/store"
)

func TestWebIdentityKeys(t *testing.T) {
	cases := []struct {
		name   string
		claims oidc.Claims
		want   map[string][]string
	}{
		{"plain", oidc.Claims{Subject: "repo:o/r:ref:refs/heads/main", Audience: []string{"sts.amazonaws.com"}, MatchedAudience: "sts.amazonaws.com"},
			map[string][]string{"p:aud": {"sts.amazonaws.com"}, "p:sub": {"repo:o/r:ref:refs/heads/main"}}},
		// With an authorized party, aud is azp and oaud the token's own audience, as for Google.
		{"azp", oidc.Claims{Subject: "1234", Audience: []string{"a.apps", "b.apps"}, MatchedAudience: "a.apps", AuthorizedParty: "client.apps"},
			map[string][]string{"p:aud": {"client.apps"}, "p:azp": {"client.apps"}, "p:oaud": {"a.apps", "b.apps"}, "p:sub": {"1234"}}},
		{"amr", oidc.Claims{Subject: "us-east-1:abc", Audience: []string{"pool"}, MatchedAudience: "pool", AMR: []string{"authenticated", "graph.facebook.com"}},
			map[string][]string{"p:aud": {"pool"}, "p:sub": {"us-east-1:abc"}, "p:amr": {"authenticated", "graph.facebook.com"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, webIdentityKeys("p", &tc.claims)); diff != "" {
				t.Errorf("keys mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebIdentityTags(t *testing.T) {
	tags, transitive, err := webIdentityTags(map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"team": []any{"blue"}}, "transitive_tag_keys": []any{"team"}}})
	if err != nil || len(tags) != 1 || tags[0].Key != "team" || tags[0].Value != "blue" || len(transitive) != 1 {
		t.Fatalf("webIdentityTags = %v %v %v", tags, transitive, err)
	}
	if _, _, err := webIdentityTags(map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"team": []any{"blue", "red"}}}}); err == nil {
		t.Fatal("a tag with two values was accepted")
	}
	if _, _, err := webIdentityTags(map[string]any{"https://aws.amazon.com/tags": "nope"}); err == nil {
		t.Fatal("a malformed tags claim was accepted")
	}
}

func TestFederationDuration(t *testing.T) {
	role := &store.Role{MaxSessionDuration: 7200}
	d := func(v int32) *int32 { return &v }
	for _, tc := range []struct {
		name    string
		in      *int32
		attr    int
		want    time.Duration
		wantErr bool
	}{
		{"default", nil, 0, time.Hour, false},
		{"requested", d(1800), 0, 30 * time.Minute, false},
		{"requested wins over the SAML attribute", d(1800), 5000, 30 * time.Minute, false},
		{"SAML attribute", nil, 5000, 5000 * time.Second, false},
		{"SAML attribute capped by the role", nil, 40000, 2 * time.Hour, false},
		{"over the role's maximum", d(7201), 0, 0, true},
	} {
		got, err := federationDuration(tc.in, tc.attr, role)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: federationDuration = %v, %v; want %v (error %v)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
