package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/persona-iam/persona/internal/secrets"
)

// FuzzParseTTL: a TTL is accepted exactly when it is the decimal form of an integer in [1, 21600] without sign,
// spaces or leading zeros beyond what Atoi round-trips to the same digits.
func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"1", "21600", "21601", "0", "-1", "+5", "060", " 5", "6h", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseTTL([]string{s})
		v, err := strconv.Atoi(s)
		digits := s != ""
		for _, c := range s {
			digits = digits && c >= '0' && c <= '9'
		}
		want := err == nil && digits && v >= MinTokenTTL && v <= MaxTokenTTL
		if ok != want || (ok && n != v) {
			t.Fatalf("parseTTL(%q) = %d, %v; want %v", s, n, ok, want)
		}
	})
}

// FuzzIMDSRequest: whatever the path, method and token, the IMDS handler answers one of IMDS's statuses; a
// request with a token not issued by the agent is never answered 200; no request without a token is answered
// 200 while IMDSv1 is off.
func FuzzIMDSRequest(f *testing.F) {
	f.Add("GET", "/latest/meta-data/iam/security-credentials/web-role", "", true)
	f.Add("PUT", "/latest/api/token", "60", false)
	f.Add("GET", "/latest/meta-data/../../latest/meta-data/", "x", false)
	f.Add("HEAD", "/latest//meta-data", "", true)
	c := newClock()
	fetch := newFake(c, time.Hour)
	a, err := New(Config{Fetcher: fetch, Now: c.Now})
	if err != nil {
		f.Fatal(err)
	}
	a.Tick(context.Background())
	h := a.IMDSHandler()
	good := a.tokens.issue(c.Now().Add(time.Hour))
	f.Fuzz(func(t *testing.T, method, path, tokenOrTTL string, useGood bool) {
		req, err := http.NewRequest(method, "http://imds"+"/", nil)
		if err != nil {
			return
		}
		req.URL.Path = path
		if path == tokenPath {
			req.Header.Set(TokenTTLHeader, tokenOrTTL)
		} else if useGood {
			req.Header.Set(TokenHeader, good)
		} else if tokenOrTTL != "" {
			req.Header.Set(TokenHeader, tokenOrTTL)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 403, 404, 405:
		default:
			t.Fatalf("%s %q answered %d", method, path, rec.Code)
		}
		if rec.Code == 200 && path != tokenPath && !useGood {
			t.Fatalf("%s %q with token %q answered 200", method, path, tokenOrTTL)
		}
	})
}

// FuzzTokenValid checks the IMDSv2 session token: the token issued is valid until its expiry and not at it;
// any other string, including the issued token with one character changed (its base64url digit XOR c), is
// never valid.
func FuzzTokenValid(f *testing.F) {
	ts, err := newTokenSigner()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	issued := ts.issue(exp)
	f.Add("", uint8(0), byte('A'))
	f.Add(issued, uint8(53), byte('B'))
	f.Add(issued[:53]+"_", uint8(10), byte('-'))
	f.Fuzz(func(t *testing.T, tok string, pos uint8, c byte) {
		if tok != issued && ts.valid(tok, now) {
			t.Fatalf("token %q, not issued, is valid", tok)
		}
		if !ts.valid(issued, now) || ts.valid(issued, exp) {
			t.Fatal("issued token not valid before expiry, or valid at it")
		}
		const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		b := []byte(issued)
		i := int(pos) % len(b)
		b[i] = digits[strings.IndexByte(digits, b[i])^int(c&63)]
		if string(b) != issued && ts.valid(string(b), now) {
			t.Fatalf("issued token %q with character %d changed to %q is valid", issued, i, b[i])
		}
	})
}

// FuzzLoadIdentityFile checks the identity file reader: any file content either fails or gives an identity with an
// instance id and a secret; an identity written by MarshalJSON reads back equal, secret included.
func FuzzLoadIdentityFile(f *testing.F) {
	f.Add([]byte(`{"InstanceId":"i-0123456789abcdef0","InstanceSecret":"s3cr3t","Endpoint":"http://127.0.0.1:7474","Region":"us-east-1"}`),
		"i-0123456789abcdef0", "s3cr3t", "http://127.0.0.1:7474")
	f.Add([]byte(`{"InstanceId":""}`), "", "", "")
	f.Add([]byte(`{"instanceid":"i-1","instancesecret":"x"}`), "i-\u00e9", "\x00", "\xff")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte, id, secret, endpoint string) {
		path := filepath.Join(dir, "identity.json")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := LoadIdentityFile(path); err == nil && (got.InstanceID == "" || got.Secret == "") {
			t.Fatalf("LoadIdentityFile(%q) = %+v without an instance id or secret", content, got)
		}
		if !utf8.ValidString(id) || !utf8.ValidString(secret) || !utf8.ValidString(endpoint) {
			return // encoding/json writes U+FFFD for invalid UTF-8
		}
		want := IdentityFile{InstanceID: id, Secret: secrets.Secret(secret), Endpoint: endpoint, Region: "us-east-1"}
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := LoadIdentityFile(path)
		if id == "" || secret == "" {
			if err == nil {
				t.Fatalf("identity without an instance id or secret loaded: %+v", got)
			}
			return
		}
		if err != nil || *got != want {
			t.Fatalf("LoadIdentityFile of %s = %+v, %v; want %+v", b, got, err, want)
		}
	})
}
