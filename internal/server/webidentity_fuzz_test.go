package server

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzWebIdentityOf checks the reader of a web identity token's claims for the audit record: arbitrary text
// never panics and yields a WebIdentityUser only when the payload names an issuer; a token built from
// claims gives them back (issuer without "https://", the first audience of a list, the subject).
func FuzzWebIdentityOf(f *testing.F) {
	f.Add("https://accounts.google.com", "client-1", "1234567890", false, "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.sig")
	f.Add("token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:ref:refs/heads/main", true, "a.b")
	f.Add("", "aud", "sub", false, "..")
	f.Add("https://", "", "", true, "a.e30.c")
	f.Fuzz(func(t *testing.T, iss, aud, sub string, audList bool, raw string) {
		if u := webIdentityOf(raw); u != nil {
			if u.Type != "WebIdentityUser" || strings.Count(raw, ".") != 2 {
				t.Fatalf("webIdentityOf(%q) = %+v", raw, u)
			}
		}
		claims := map[string]any{"iss": iss, "sub": sub, "aud": aud}
		if audList {
			claims["aud"] = []string{aud, "other"}
		}
		payload, err := json.Marshal(claims)
		if err != nil {
			t.Fatal(err)
		}
		jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
		u := webIdentityOf(jwt)
		if iss == "" {
			if u != nil {
				t.Fatalf("token without an issuer gave %+v", u)
			}
			return
		}
		// encoding/json replaces invalid UTF-8, so compare with what the token actually carries.
		var back struct{ Iss, Sub string }
		if err := json.Unmarshal(payload, &back); err != nil {
			t.Fatal(err)
		}
		wantIss := strings.TrimPrefix(back.Iss, "https://")
		var wantAud string
		_ = json.Unmarshal(mustJSON(t, claims["aud"]), &wantAud)
		if audList {
			var l []string
			_ = json.Unmarshal(mustJSON(t, claims["aud"]), &l)
			wantAud = l[0]
		}
		if u == nil || u.Type != "WebIdentityUser" || u.IdentityProvider != wantIss || u.UserName != back.Sub ||
			u.PrincipalID != wantIss+":"+wantAud+":"+back.Sub {
			t.Fatalf("webIdentityOf(%s) = %+v; want issuer %q, audience %q, subject %q", payload, u, wantIss, wantAud, back.Sub)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
