package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func fullSession() *Session {
	return &Session{
		Kind:              KindAssumeRole,
		Account:           "111122223333",
		PrincipalARN:      "arn:aws:iam::111122223333:role/service-role/MyEC2Role",
		PrincipalID:       "AROA3XFRBF535PLBIFPI4",
		SessionName:       "Session1",
		IssuedAt:          t0,
		Expiration:        t0.Add(time.Hour),
		MFA:               true,
		MFAAuthTime:       t0.Add(-time.Minute),
		SourceIdentity:    "alice@example.com",
		Tags:              []Tag{{"Project", "Unicorn"}, {"Cost-Center", "12345"}, {"empty", ""}},
		TransitiveTagKeys: []string{"Project"},
		Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		PolicyARNs:        []string{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		ChainDepth:        2,
	}
}

func newTestRing(t testing.TB) *Ring {
	t.Helper()
	r, err := NewRing()
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return t0 }
	return r
}

func TestRoundTrip(t *testing.T) {
	minimal := &Session{Kind: KindSessionToken, Account: "111122223333", IssuedAt: t0, Expiration: t0.Add(time.Second)}
	tests := []struct {
		name string
		s    *Session
	}{
		{name: "Full", s: fullSession()},
		{name: "Minimal", s: minimal},
	}
	r := newTestRing(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, akid, secret, err := r.Seal(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Open(tok, t0)
			if err != nil {
				t.Fatal(err)
			}
			want := *tc.s
			want.AccessKeyID = akid
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("Open mismatch (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(akid) {
				t.Errorf("access key id %q is not ASIA + 16 base32 characters", akid)
			}
			if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(secret) {
				t.Errorf("secret %q is not 40 base64 characters", secret)
			}
			if s2, err := r.Secret(tok); err != nil || s2 != secret {
				t.Errorf("Secret = %q, %v; want %q", s2, err, secret)
			}
			sess, sec, err := r.Credentials(tok, akid, t0)
			if err != nil || string(sec) != secret || sess.AccessKeyID != akid {
				t.Errorf("Credentials = %v, %q, %v", sess, sec, err)
			}
		})
	}
}

func TestTokenSize(t *testing.T) {
	r := newTestRing(t)
	tok, _, _, err := r.Seal(fullSession())
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 1024 {
		t.Errorf("typical token is %d characters, want at most 1024", len(tok))
	}
}

func TestSealsAreUnique(t *testing.T) {
	r := newTestRing(t)
	tok1, akid1, sec1, _ := r.Seal(fullSession())
	tok2, akid2, sec2, _ := r.Seal(fullSession())
	if tok1 == tok2 || akid1 == akid2 || sec1 == sec2 {
		t.Error("two seals of one session share a token, access key id or secret")
	}
}

// TestTamper changes every byte of the envelope (three ways each): no changed token opens or
// yields the original secret.
func TestTamper(t *testing.T) {
	r := newTestRing(t)
	tok, _, secret, err := r.Seal(fullSession())
	if err != nil {
		t.Fatal(err)
	}
	env, _ := base64.StdEncoding.DecodeString(tok)
	for i := range env {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(env)
			b[i] ^= x
			mt := base64.StdEncoding.EncodeToString(b)
			if _, err := r.Open(mt, t0); !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d ^ %#x: Open err = %v, want ErrInvalid", i, x, err)
			}
			if s, err := r.Secret(mt); err == nil && s == secret {
				t.Fatalf("byte %d ^ %#x: same secret", i, x)
			}
		}
	}
	for _, mt := range []string{"", tok[:len(tok)-4], tok + "AAAA", "!" + tok[1:], strings.Repeat("A", 200)} {
		if _, err := r.Open(mt, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%.20q…) err = %v, want ErrInvalid", mt, err)
		}
	}
}

func TestCredentialsWrongAccessKeyID(t *testing.T) {
	r := newTestRing(t)
	tok, _, _, _ := r.Seal(fullSession())
	_, other, _, _ := r.Seal(fullSession())
	if _, _, err := r.Credentials(tok, other, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Credentials with another access key id: err = %v, want ErrInvalid", err)
	}
}

func TestWrongRing(t *testing.T) {
	a, b := newTestRing(t), newTestRing(t)
	tok, _, _, _ := a.Seal(fullSession())
	// Both rings' first key has id 1, so this exercises the AEAD, not the key lookup.
	if _, err := b.Open(tok, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with another ring: err = %v, want ErrInvalid", err)
	}
}

func TestExpiry(t *testing.T) {
	r := newTestRing(t)
	tok, _, _, _ := r.Seal(fullSession())
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{name: "Issued", now: t0},
		{name: "LastSecond", now: t0.Add(time.Hour - time.Nanosecond)},
		{name: "AtExpiration", now: t0.Add(time.Hour), want: ErrExpired},
		{name: "Later", now: t0.Add(48 * time.Hour), want: ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Open(tok, tc.now); !errors.Is(err, tc.want) {
				t.Errorf("Open at %s: err = %v, want %v", tc.now, err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	r := newTestRing(t)
	old, _, _, _ := r.Seal(fullSession())
	first, _ := r.Keys()
	id, err := r.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(old, t0); err != nil {
		t.Errorf("old token after rotation: %v", err)
	}
	fresh, _, _, _ := r.Seal(fullSession())
	env, _ := base64.StdEncoding.DecodeString(fresh)
	if got := uint32(env[1])<<24 | uint32(env[2])<<16 | uint32(env[3])<<8 | uint32(env[4]); got != id {
		t.Errorf("new token sealed by key %d, want active key %d", got, id)
	}
	if err := r.Retire(id); err == nil {
		t.Error("retired the active key")
	}
	// Not yet prunable: the old key stopped sealing just now.
	if got := r.Prune(); len(got) != 0 {
		t.Errorf("Prune right after rotation retired %v", got)
	}
	r.Now = func() time.Time { return t0.Add(MaxTokenLifetime + time.Second) }
	if diff := cmp.Diff([]uint32{first[0].ID}, r.Prune()); diff != "" {
		t.Errorf("Prune mismatch (-want +got):\n%s", diff)
	}
	if _, err := r.Open(old, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("old token after retirement: err = %v, want ErrInvalid", err)
	}
	if _, err := r.Open(fresh, t0); err != nil {
		t.Errorf("new token: %v", err)
	}
	if err := r.Retire(99); err == nil {
		t.Error("retired a key that does not exist")
	}
}

func TestMarshalBinary(t *testing.T) {
	r := newTestRing(t)
	old, _, oldSecret, _ := r.Seal(fullSession())
	if _, err := r.Rotate(); err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var r2 Ring
	if err := r2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Open(old, t0); err != nil {
		t.Errorf("restored ring cannot open an old token: %v", err)
	}
	if s, _ := r2.Secret(old); s != oldSecret {
		t.Errorf("restored ring derives another secret")
	}
	tok, _, _, err := r2.Seal(fullSession())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(tok, t0); err != nil {
		t.Errorf("original ring cannot open the restored ring's token: %v", err)
	}
	k1, a1 := r.Keys()
	k2, a2 := r2.Keys()
	if diff := cmp.Diff(k1, k2, cmp.Comparer(func(a, b Key) bool {
		return a.ID == b.ID && a.Created.Equal(b.Created) && a.Deactivated.Equal(b.Deactivated)
	})); diff != "" || a1 != a2 {
		t.Errorf("keys mismatch (-want +got):\n%s (active %d, %d)", diff, a1, a2)
	}
	for i := range b {
		if err := new(Ring).UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("truncated ring (%d of %d bytes) accepted", i, len(b))
		}
	}
}

func TestKeyRedacted(t *testing.T) {
	r := newTestRing(t)
	k := r.activeKey()
	material := fmt.Sprintf("%x", k.material[:])
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("k", "key", k, "value", *k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", *k, *k, k, k), logs.String()} {
		if strings.Contains(out, material) || strings.Contains(out, fmt.Sprint(k.material[:4])) {
			t.Errorf("key material printed: %s", out)
		}
	}
}

func TestSealRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Session)
	}{
		{name: "NoExpiration", modify: func(s *Session) { s.Expiration = time.Time{} }},
		{name: "ExpiresBeforeIssue", modify: func(s *Session) { s.Expiration = s.IssuedAt.Add(-time.Second) }},
		{name: "UnknownKind", modify: func(s *Session) { s.Kind = 0 }},
		{name: "DeepChain", modify: func(s *Session) { s.ChainDepth = 256 }},
	}
	r := newTestRing(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fullSession()
			tc.modify(s)
			if _, _, _, err := r.Seal(s); err == nil {
				t.Error("Seal accepted the session")
			}
		})
	}
}

func cmpSessions(want, got *Session) string { return cmp.Diff(want, got) }

// TestAccessKeyIDNamesAccount: a temporary access key id carries its account, as AWS's do, for GetAccessKeyInfo.
func TestAccessKeyIDNamesAccount(t *testing.T) {
	r, err := NewRing()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, acct := range []string{"111122223333", "012345678901", "999999999999"} {
		_, akid, _, err := r.Seal(&Session{Kind: KindAssumeRole, Account: acct, IssuedAt: now, Expiration: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AccountOfAccessKeyID(akid); !ok || got != acct {
			t.Errorf("AccountOfAccessKeyID(%s) = %q, %v; want %s", akid, got, ok, acct)
		}
	}
	for _, bad := range []string{"", "AKIAIOSFODNN7EXAMPLE", "ASIA", "ASIAAAAAAAAAAAAAAAAA", "ASIA0000000000000000"} {
		if got, ok := AccountOfAccessKeyID(bad); ok {
			t.Errorf("AccountOfAccessKeyID(%q) = %q, true", bad, got)
		}
	}
}

// TestFederatedProviderAtTheEnd: the provider of a web identity or SAML session is encoded after every older field,
// only when set, so tokens sealed before it existed still open (with no provider) and decode to what they held;
// an explicitly empty provider is not a second encoding of the same session.
func TestFederatedProviderAtTheEnd(t *testing.T) {
	r := newTestRing(t)
	s := fullSession()
	s.Kind = KindWebIdentity
	s.FederatedProvider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	tok, _, _, err := r.Seal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Open(tok, t0)
	if err != nil || got.FederatedProvider != s.FederatedProvider || got.SourceIdentity != s.SourceIdentity {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	old := fullSession()
	plain := appendSession(nil, old)
	withProvider := appendSession(nil, s)
	if len(withProvider) <= len(appendSession(nil, &Session{Kind: s.Kind, Account: s.Account})) {
		t.Fatal("the provider was not encoded")
	}
	dec, err := decodeSession(plain)
	if err != nil || dec.FederatedProvider != "" || dec.PolicyARNs[0] != old.PolicyARNs[0] {
		t.Fatalf("a session without provider: %+v, %v", dec, err)
	}
	if _, err := decodeSession(append(plain, 0)); err == nil {
		t.Error("an explicitly empty provider decoded")
	}
	tr, toks := testdataRing(t)
	for _, tok := range toks {
		if sess, err := tr.Open(tok, t0); err != nil || sess.FederatedProvider != "" {
			t.Errorf("token sealed before FederatedProvider: %+v, %v", sess, err)
		}
	}
}
