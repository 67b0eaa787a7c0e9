package token

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/ring.hex and testdata/tokens.txt")

// testdataRing loads the fixed ring that sealed testdata/tokens.txt.
func testdataRing(t testing.TB) (*Ring, []string) {
	t.Helper()
	if *update {
		r := newTestRing(t)
		b, _ := r.MarshalBinary()
		var toks []string
		for _, s := range []*Session{fullSession(), {Kind: KindFederation, Account: "111122223333",
			SessionName: "bob", IssuedAt: t0, Expiration: t0.Add(36 * 3600e9)}} {
			tok, _, _, err := r.Seal(s)
			if err != nil {
				t.Fatal(err)
			}
			toks = append(toks, tok)
		}
		if err := os.WriteFile("testdata/ring.hex", []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/tokens.txt", []byte(strings.Join(toks, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rb, err := os.ReadFile("testdata/ring.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(rb)))
	if err != nil {
		t.Fatal(err)
	}
	var r Ring
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/tokens.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var toks []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		toks = append(toks, sc.Text())
	}
	return &r, toks
}

// TestTestdataTokens pins the wire format: tokens sealed by an earlier build still open.
func TestTestdataTokens(t *testing.T) {
	r, toks := testdataRing(t)
	for _, tok := range toks {
		if _, err := r.Open(tok, t0); err != nil {
			t.Errorf("testdata token does not open: %v", err)
		}
	}
}

// FuzzOpen feeds arbitrary tokens to Open. Properties: no panic; every error is ErrInvalid or ErrExpired;
// and only an envelope identical to a sealed seed opens (the fuzzer cannot forge a token).
func FuzzOpen(f *testing.F) {
	r, toks := testdataRing(f)
	var envs [][]byte
	for _, tok := range toks {
		f.Add(tok)
		env, _ := base64.StdEncoding.DecodeString(tok)
		envs = append(envs, env)
		f.Add(tok[:len(tok)/2])
		f.Add(base64.StdEncoding.EncodeToString(env[:headerLen+nonceLen+16]))
	}
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := r.Open(tok, t0)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("Open error %v is neither ErrInvalid nor ErrExpired", err)
			}
			return
		}
		env, derr := base64.StdEncoding.DecodeString(tok)
		if derr != nil {
			t.Fatalf("opened a token that is not base64: %v", derr)
		}
		for _, e := range envs {
			if bytes.Equal(e, env) {
				if s.AccessKeyID != string(env[5:headerLen]) {
					t.Fatalf("AccessKeyID %q is not the envelope's", s.AccessKeyID)
				}
				return
			}
		}
		t.Fatalf("forged token opened: %q", tok)
	})
}

// FuzzDecodeSession reaches the plaintext decoder directly (FuzzOpen cannot get past the AEAD). Properties:
// no panic; whatever decodes re-encodes to a plaintext that decodes to the same session.
func FuzzDecodeSession(f *testing.F) {
	f.Add(appendSession(nil, fullSession()))
	f.Add(appendSession(nil, &Session{Kind: KindSAML, IssuedAt: t0, Expiration: t0.Add(1e9)}))
	f.Add(appendSession(nil, &Session{Kind: KindSAML, IssuedAt: t0, Expiration: t0.Add(1e9), FederatedProvider: "arn:aws:iam::111122223333:saml-provider/Corp"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			return
		}
		again, err := decodeSession(appendSession(nil, s))
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		if diff := cmpSessions(s, again); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}

// FuzzUnmarshalBinary: no panic, and an accepted ring marshals to bytes that load to the same keys.
func FuzzUnmarshalBinary(f *testing.F) {
	r, _ := testdataRing(f)
	b, _ := r.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Ring
		if r.UnmarshalBinary(b) != nil {
			return
		}
		b2, _ := r.MarshalBinary()
		var r2 Ring
		if err := r2.UnmarshalBinary(b2); err != nil {
			t.Fatalf("re-marshaled ring does not load: %v", err)
		}
		b3, _ := r2.MarshalBinary()
		if !bytes.Equal(b2, b3) {
			t.Fatal("marshal is not stable")
		}
	})
}
