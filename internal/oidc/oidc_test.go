package oidc_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/persona-iam/persona/internal/oidc"
	"github.com/persona-iam/persona/internal/oidc/oidctest"
)

const clientID = "sts.amazonaws.com"

// clock is a settable clock for the verifier.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) set(t time.Time)     { c.t.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }

func setup(t testing.TB, tls bool) (*oidctest.Issuer, *oidc.Verifier, *clock) {
	t.Helper()
	iss, err := oidctest.New(tls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	clk := &clock{}
	clk.set(time.Now())
	cfg := oidc.Config{Now: clk.now, AllowInsecureLoopback: !tls}
	if tls {
		cfg.HTTPClient = iss.Server.Client()
	}
	return iss, oidc.New(cfg), clk
}

func sign(t testing.TB, k *oidctest.Key, claims map[string]any) string {
	t.Helper()
	s, err := oidctest.Sign(k, claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code oidc.Code, msg string) {
	t.Helper()
	var oe *oidc.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v, want an *oidc.Error %s", err, code)
	}
	if oe.Code != code || !strings.Contains(oe.Msg, msg) {
		t.Fatalf("error = %s %q, want %s containing %q", oe.Code, oe.Msg, code, msg)
	}
}

func TestVerifyGoodTokens(t *testing.T) {
	for _, tls := range []bool{true, false} {
		iss, v, _ := setup(t, tls)
		for _, k := range iss.Keys() {
			claims := iss.Claims("system:serviceaccount:default:app", clientID)
			claims["amr"] = []string{"authenticated"}
			c, err := v.Verify(context.Background(), iss.URL, []string{"other", clientID}, sign(t, k, claims))
			if err != nil {
				t.Fatalf("tls=%v %s: Verify: %v", tls, k.Alg, err)
			}
			if c.Subject != "system:serviceaccount:default:app" || c.MatchedAudience != clientID || c.Issuer != iss.URL ||
				len(c.AMR) != 1 || c.AMR[0] != "authenticated" {
				t.Errorf("tls=%v %s: claims = %+v", tls, k.Alg, c)
			}
		}
	}
}

// TestVerifyAnyAudience: for the well-known providers the audience is left to the trust policy; the matched
// audience is azp when the token has one.
func TestVerifyAnyAudience(t *testing.T) {
	iss, v, _ := setup(t, true)
	c, err := v.VerifyAnyAudience(context.Background(), iss.URL, sign(t, iss.Keys()[0], iss.Claims("s", "some-app")))
	if err != nil || c.MatchedAudience != "some-app" {
		t.Fatalf("VerifyAnyAudience = %+v, %v", c, err)
	}
	claims := iss.Claims("s", "some-app")
	claims["azp"] = "web-client"
	c, err = v.VerifyAnyAudience(context.Background(), iss.URL, sign(t, iss.Keys()[0], claims))
	if err != nil || c.MatchedAudience != "web-client" || c.AuthorizedParty != "web-client" {
		t.Fatalf("VerifyAnyAudience with azp = %+v, %v", c, err)
	}
	// Verify with client ids does not accept a token whose only link to them is azp.
	_, err = v.Verify(context.Background(), iss.URL, []string{"web-client"}, sign(t, iss.Keys()[0], claims))
	wantCode(t, err, oidc.CodeInvalidToken, "Incorrect token audience")
}

// TestTokenWithoutKeyID: a token whose header names no key is tried against every published key of its type.
func TestTokenWithoutKeyID(t *testing.T) {
	iss, v, _ := setup(t, true)
	for _, k := range iss.Keys() {
		anon := &oidctest.Key{Alg: k.Alg, Priv: k.Priv}
		if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, anon, iss.Claims("s", clientID))); err != nil {
			t.Errorf("%s without kid: %v", k.Alg, err)
		}
	}
}

func TestEveryAWSAlgorithm(t *testing.T) {
	iss, v, clk := setup(t, true)
	for _, alg := range oidc.Algorithms {
		clk.add(time.Minute) // past the refetch interval, so the newly published key is fetched
		k, err := iss.AddKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, k, iss.Claims("s", clientID))); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	iss, v, clk := setup(t, true)
	rsaKey := iss.Keys()[0]
	stranger, err := iss.NewKey(jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	impostor := &oidctest.Key{ID: rsaKey.ID, Alg: jose.RS256, Priv: stranger.Priv} // a published kid, another key
	with := func(f func(map[string]any)) map[string]any {
		c := iss.Claims("sub-1", clientID)
		f(c)
		return c
	}
	hs := hs256Token(with(func(map[string]any) {}))
	cases := []struct {
		name  string
		token string
		code  oidc.Code
		msg   string
	}{
		{"wrong audience", sign(t, rsaKey, with(func(c map[string]any) { c["aud"] = "someone-else" })), oidc.CodeInvalidToken, "Incorrect token audience"},
		{"wrong issuer", sign(t, rsaKey, with(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), oidc.CodeInvalidToken, "issuer"},
		{"expired", sign(t, rsaKey, with(func(c map[string]any) { c["exp"] = clk.now().Add(-10 * time.Minute).Unix() })), oidc.CodeExpired, "Token expired"},
		{"not yet valid", sign(t, rsaKey, with(func(c map[string]any) { c["nbf"] = clk.now().Add(time.Hour).Unix() })), oidc.CodeInvalidToken, "nbf"},
		{"issued in the future", sign(t, rsaKey, with(func(c map[string]any) { c["iat"] = clk.now().Add(time.Hour).Unix() })), oidc.CodeInvalidToken, "iat"},
		{"no exp", sign(t, rsaKey, with(func(c map[string]any) { delete(c, "exp") })), oidc.CodeInvalidToken, ""},
		{"no sub", sign(t, rsaKey, with(func(c map[string]any) { delete(c, "sub") })), oidc.CodeInvalidToken, "sub"},
		{"unknown key", sign(t, stranger, with(func(map[string]any) {})), oidc.CodeInvalidToken, "Couldn't retrieve verification key"},
		{"published kid, other key", sign(t, impostor, with(func(map[string]any) {})), oidc.CodeInvalidToken, "signature"},
		{"HS256", hs, oidc.CodeInvalidToken, "not a valid JWT"},
		{"not a JWT", "abc.def", oidc.CodeInvalidToken, "not a valid JWT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk.add(time.Minute) // past the refetch interval each time, so "unknown key" refetched and still failed
			_, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tc.token)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
}

// hs256Token signs claims with HMAC, an algorithm AWS does not accept (and a classic confusion attack when the
// verifier would use a public key as the HMAC secret).
func hs256Token(claims map[string]any) string {
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	payload := []byte(`{"iss":"` + claims["iss"].(string) + `","sub":"x","aud":"` + clientID + `"}`)
	jws, _ := signer.Sign(payload)
	s, _ := jws.CompactSerialize()
	return s
}

func TestExpirySkew(t *testing.T) {
	iss, v, clk := setup(t, true)
	claims := iss.Claims("s", clientID)
	claims["exp"] = clk.now().Add(-2 * time.Minute).Unix() // expired two minutes ago: within the five-minute skew
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, iss.Keys()[0], claims)); err != nil {
		t.Fatalf("a token expired within the skew was refused: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	iss, v, clk := setup(t, true)
	old := iss.Keys()[0]
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, old, iss.Claims("s", clientID))); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for the first token, want 1", n)
	}
	newKey, err := iss.Rotate(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, newKey, iss.Claims("s", clientID))); err != nil {
		t.Fatalf("a token signed with the rotated-in key: %v", err)
	}
	if n := iss.JWKSFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after rotation, want 2", n)
	}
	// The retired key no longer verifies once the new set is cached.
	_, err = v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, old, iss.Claims("s", clientID)))
	wantCode(t, err, oidc.CodeInvalidToken, "Couldn't retrieve verification key")
}

func TestUnknownKidRateLimited(t *testing.T) {
	iss, v, clk := setup(t, true)
	good := sign(t, iss.Keys()[0], iss.Claims("s", clientID))
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, good); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	for i := 0; i < 20; i++ {
		k, _ := iss.NewKey(jose.ES256)
		_, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, k, iss.Claims("s", clientID)))
		wantCode(t, err, oidc.CodeInvalidToken, "Couldn't retrieve verification key")
	}
	if n := iss.JWKSFetches.Load(); n != 2 {
		t.Fatalf("20 tokens with unknown key ids caused %d JWKS fetches, want 2 (one initial, one refetch)", n)
	}
}

func TestIssuerUnreachable(t *testing.T) {
	iss, v, clk := setup(t, true)
	iss.Fail.Store(true)
	_, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, iss.Keys()[0], iss.Claims("s", clientID)))
	wantCode(t, err, oidc.CodeIDPCommunication, "could not be reached")

	// Once keys are cached, an outage past the cache TTL keeps verifying with them.
	iss.Fail.Store(false)
	clk.add(time.Minute)
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, iss.Keys()[0], iss.Claims("s", clientID))); err != nil {
		t.Fatal(err)
	}
	iss.Fail.Store(true)
	clk.add(2 * time.Hour)
	claims := iss.Claims("s", clientID)
	claims["exp"] = clk.now().Add(time.Hour).Unix()
	claims["iat"] = clk.now().Unix()
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, iss.Keys()[0], claims)); err != nil {
		t.Fatalf("cached keys not used during an outage: %v", err)
	}
}

func TestDownIssuerNotHammered(t *testing.T) {
	iss, v, clk := setup(t, true)
	iss.Fail.Store(true)
	tok := sign(t, iss.Keys()[0], iss.Claims("s", clientID))
	for range 20 {
		_, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tok)
		wantCode(t, err, oidc.CodeIDPCommunication, "")
	}
	if n := iss.Requests.Load(); n != 1 {
		t.Fatalf("20 tokens of an issuer that is down caused %d requests to it, want 1", n)
	}
	clk.add(time.Minute)
	iss.Fail.Store(false)
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tok); err != nil {
		t.Fatalf("after the interval the issuer is asked again: %v", err)
	}
}

// TestThumbprints checks AWS's fallback for providers whose certificate no trusted root vouches for: the
// thumbprint of the top certificate of the chain.
func TestThumbprints(t *testing.T) {
	iss, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	clk := &clock{}
	clk.set(time.Now())
	v := oidc.New(oidc.Config{Now: clk.now}) // system roots only: the test server's certificate is not trusted
	tok := sign(t, iss.Keys()[0], iss.Claims("s", clientID))
	_, err = v.Verify(context.Background(), iss.URL, []string{clientID}, tok)
	wantCode(t, err, oidc.CodeIDPCommunication, "")

	clk.add(time.Minute)
	_, err = v.Verify(context.Background(), iss.URL, []string{clientID}, tok, oidc.Thumbprints([]string{strings.Repeat("ab", 20)}))
	wantCode(t, err, oidc.CodeIDPCommunication, "")

	clk.add(time.Minute)
	sum := sha1.Sum(iss.Server.Certificate().Raw)
	if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tok, oidc.Thumbprints([]string{strings.ToUpper(hex.EncodeToString(sum[:]))})); err != nil {
		t.Fatalf("with the certificate's thumbprint: %v", err)
	}
}

func TestPlainHTTPNeedsOption(t *testing.T) {
	iss, err := oidctest.New(false)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	v := oidc.New(oidc.Config{}) // AllowInsecureLoopback not set
	_, err = v.Verify(context.Background(), iss.URL, []string{clientID}, sign(t, iss.Keys()[0], iss.Claims("s", clientID)))
	wantCode(t, err, oidc.CodeIDPCommunication, "")
	if iss.JWKSFetches.Load() != 0 {
		t.Fatal("the key set was fetched over plain HTTP without AllowInsecureLoopback")
	}
	if oidc.IsLoopback("example.com") || !oidc.IsLoopback("127.0.0.1") || !oidc.IsLoopback("::1") || !oidc.IsLoopback("localhost") {
		t.Fatal("IsLoopback is wrong")
	}
}

func TestUnverifiedIssuer(t *testing.T) {
	iss, _, _ := setup(t, true)
	got, err := oidc.UnverifiedIssuer(sign(t, iss.Keys()[0], iss.Claims("s", clientID)))
	if err != nil || got != iss.URL {
		t.Fatalf("UnverifiedIssuer = %q, %v; want %q", got, err, iss.URL)
	}
	_, err = oidc.UnverifiedIssuer(strings.Repeat("a", oidc.MaxTokenBytes+1))
	wantCode(t, err, oidc.CodeInvalidToken, "longer")
}

// FuzzVerify feeds arbitrary tokens to the verification path: it must never panic, every failure must be an
// *oidc.Error, and a token that verifies must carry exactly the claims the issuer signed (so the fuzzer cannot
// find a forged token that passes).
func FuzzVerify(f *testing.F) {
	iss, v, _ := setup(f, true)
	var seeds []string
	for _, k := range iss.Keys() {
		seeds = append(seeds, sign(f, k, iss.Claims("fuzz-sub", clientID)))
	}
	for _, s := range seeds {
		f.Add(s)
		parts := strings.Split(s, ".")
		f.Add(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+iss.URL+`","sub":"x","aud":"`+clientID+`","exp":9999999999}`)) + "." + parts[2])
	}
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), iss.URL, []string{clientID}, token)
		if err != nil {
			var oe *oidc.Error
			if !errors.As(err, &oe) {
				t.Fatalf("Verify returned %T: %v", err, err)
			}
			return
		}
		if c.Subject != "fuzz-sub" || c.Issuer != iss.URL || c.MatchedAudience != clientID {
			t.Fatalf("a token not signed by the issuer verified: %+v", c)
		}
	})
}
