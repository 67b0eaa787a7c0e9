package sts

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/persona-iam/persona/internal/authz"
)

// FuzzDecodeAuthorizationMessage: nothing but what EncodeAuthorizationMessage sealed decodes, and what it sealed
// decodes to what was encoded.
func FuzzDecodeAuthorizationMessage(f *testing.F) {
	box := testBox(f, 3)
	p := &authz.Principal{Type: authz.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/bob", UserID: "AIDAX", Name: "bob"}
	good, err := EncodeAuthorizationMessage(box, p, &authz.DeniedError{Action: "ec2:RunInstances", Resource: "*"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "ec2:RunInstances")
	f.Add("", "")
	f.Add("AAAA", "iam:ListUsers")
	f.Add(good[:len(good)-1], "x")
	f.Fuzz(func(t *testing.T, s, action string) {
		// Only the encoder (which the fuzzer cannot drive with another principal) makes decodable messages: a
		// mutated or invented one must not open. (The seed's nonce differs between fuzz workers, so the check is on
		// content, not on equality with the seed.)
		if m, err := decodeAuthorizationMessage(box, s); err == nil && (m.account != acct || m.Context.Principal.ARN != p.ARN) {
			t.Fatalf("%q decoded to %+v without being sealed by the encoder", s, m)
		}
		enc, err := EncodeAuthorizationMessage(box, p, &authz.DeniedError{Action: action, Resource: s}, map[string][]string{"k": {s}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeAuthorizationMessage(box, enc)
		if err != nil {
			t.Fatalf("own message does not decode: %v", err)
		}
		if m.account != acct || (m.Context.Action != action && utf8.ValidString(action)) {
			t.Fatalf("round trip: %+v", m)
		}
	})
}

// FuzzCompactJSON: compacting a JSON text keeps its meaning and removes all insignificant whitespace.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		"{\n  \"a\" : [ 1, \"b c\\\" d\" ]\n}", `"\\"`, `[ ]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want any
		if json.Unmarshal([]byte(s), &want) != nil {
			return
		}
		c := compactJSON(s)
		var got any
		if err := json.Unmarshal([]byte(c), &got); err != nil {
			t.Fatalf("compactJSON(%q) = %q: %v", s, c, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("compactJSON(%q) = %q changes the value", s, c)
		}
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(s)) == nil && buf.String() != c {
			t.Fatalf("compactJSON(%q) = %q, encoding/json compacts to %q", s, c, buf.String())
		}
	})
}
