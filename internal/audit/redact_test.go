package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/authz"
)

func TestRedact(t *testing.T) {
	type withSecret struct {
		UserName string
		Password string `json:"Password"`
	}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"nil", nil, nil},
		{"top level", map[string]any{"UserName": "bob", "Password": "p"},
			map[string]any{"UserName": "bob", "Password": Hidden}},
		{"any case and punctuation", map[string]any{"PASSWORD": "p", "secret_access_key": "s", "X-Amz-Security-Token": "t"},
			map[string]any{"PASSWORD": Hidden, "secret_access_key": Hidden, "X-Amz-Security-Token": Hidden}},
		{"nested in maps and lists", map[string]any{"a": []any{map[string]any{"credentials": map[string]string{
			"accessKeyId": "ASIA", "sessionToken": "t"}}}},
			map[string]any{"a": []any{map[string]any{"credentials": map[string]any{"accessKeyId": "ASIA", "sessionToken": Hidden}}}}},
		{"struct", map[string]any{"x": withSecret{"bob", "p"}},
			map[string]any{"x": map[string]any{"UserName": "bob", "Password": Hidden}}},
		{"pointer", map[string]any{"x": &withSecret{"bob", "p"}},
			map[string]any{"x": map[string]any{"UserName": "bob", "Password": Hidden}}},
		{"booleans kept", map[string]any{"AllowUsersToChangePassword": true, "PasswordResetRequired": false},
			map[string]any{"AllowUsersToChangePassword": true, "PasswordResetRequired": false}},
		{"policy documents kept", map[string]any{"PolicyDocument": `{"Password":"not a secret"}`},
			map[string]any{"PolicyDocument": `{"Password":"not a secret"}`}},
		{"secret object hidden whole", map[string]any{"PrivateKey": map[string]any{"pem": "k"}},
			map[string]any{"PrivateKey": Hidden}},
		{"unencodable fails closed", map[string]any{"c": make(chan int)}, map[string]any{"c": Hidden}},
		{"names that only contain a secret word kept", map[string]any{"PasswordLastUsed": "2026", "MaxPasswordAge": 90},
			map[string]any{"PasswordLastUsed": "2026", "MaxPasswordAge": 90}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Redact(tc.in)); diff != "" {
				t.Errorf("Redact mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactDoesNotModifyInput(t *testing.T) {
	in := map[string]any{"Password": "p", "n": map[string]any{"SessionToken": "t"}}
	Redact(in)
	if diff := cmp.Diff(map[string]any{"Password": "p", "n": map[string]any{"SessionToken": "t"}}, in); diff != "" {
		t.Errorf("input modified (-want +got):\n%s", diff)
	}
}

// secretValues are the secrets the no-secret test plants; none may appear in any record.
var secretValues = map[string]string{
	"SecretAccessKey":     "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRET01",
	"SessionToken":        "IQoJb3JpZ2luX2VjSECRET02",
	"Password":            "hunter2-SECRET03",
	"NewPassword":         "correct-horse-SECRET04",
	"OldPassword":         "tr0ub4dor-SECRET05",
	"AuthenticationCode1": "SECRET06-123456",
	"AuthenticationCode2": "SECRET07-654321",
	"TokenCode":           "SECRET08-111111",
	"SAMLAssertion":       "PHNhbWxwOlJlc3BvbnNlSECRET09",
	"WebIdentityToken":    "eyJhbGciOiJSUzI1NiJ9.SECRET10",
	"PrivateKey":          "-----BEGIN PRIVATE KEY-----SECRET11",
	"Base32StringSeed":    "JBSWY3DPEHPK3PXPSECRET12",
	"QRCodePNG":           "iVBORw0KGgoSECRET13",
	"ServicePassword":     "SECRET14-service",
}

// TestNoSecretInRecords builds records whose inputs and outputs hold every kind of secret, at the top level,
// nested, in lists, in structs and under names in other cases, and checks no secret value appears anywhere in
// the stored record.
func TestNoSecretInRecords(t *testing.T) {
	cases := map[string]func(k string) string{
		"as is": func(k string) string { return k },
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"camel": func(k string) string { return strings.ToLower(k[:1]) + k[1:] },
	}
	type creds struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
	}
	p := &authz.Principal{Type: authz.IAMUser, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/a",
		UserID: "AIDAX", Name: "a", AccessKeyID: "AKIAX"}
	for name, form := range cases {
		t.Run(name, func(t *testing.T) {
			top, nested := map[string]any{}, map[string]any{}
			var list []any
			for k, v := range secretValues {
				top[form(k)] = v
				nested[form(k)] = v
				list = append(list, map[string]string{form(k): v})
			}
			ev := base("secrets")
			ev.Principal = p
			ev.Params = map[string]any{"top": top, "deep": map[string]any{"x": []any{nested}}, "list": list}
			for k, v := range top {
				ev.Params[k] = v
			}
			ev.Response = map[string]any{
				"credentials": creds{"ASIAVISIBLE", secretValues["SecretAccessKey"], secretValues["SessionToken"]},
				"accessKey":   map[string]any{"AccessKeyId": "AKIAVISIBLE", "SecretAccessKey": secretValues["SecretAccessKey"]},
				"virtualMFADevice": map[string]any{"Base32StringSeed": []byte(secretValues["Base32StringSeed"]),
					"QRCodePNG": []byte(secretValues["QRCodePNG"])},
			}
			row, err := Build(ev)
			if err != nil {
				t.Fatal(err)
			}
			data := string(row.Data)
			for k, v := range secretValues {
				if strings.Contains(data, v) {
					t.Errorf("record holds the %s secret %q", k, v)
				}
			}
			// The access key ids, which CloudTrail shows, are still there: redaction is not "drop everything".
			for _, id := range []string{"ASIAVISIBLE", "AKIAVISIBLE"} {
				if !strings.Contains(data, id) {
					t.Errorf("record lost the access key id %s", id)
				}
			}
		})
	}
}

// FuzzRedact decodes arbitrary JSON objects (seeded from testdata/redact) and checks Redact's properties: no
// member named like a secret keeps a value other than Hidden, null or a boolean; other members keep their
// names; and redacting twice changes nothing.
func FuzzRedact(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "redact", "*.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in map[string]any
		if json.Unmarshal(b, &in) != nil || in == nil {
			return
		}
		out := Redact(in)
		var check func(v any)
		check = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if secretKey(k) {
						switch x.(type) {
						case nil, bool:
						default:
							if x != Hidden {
								t.Fatalf("member %q kept value %v", k, x)
							}
						}
						continue
					}
					check(x)
				}
			case []any:
				for _, x := range v {
					check(x)
				}
			}
		}
		check(out)
		if len(out) != len(in) {
			t.Fatalf("Redact changed the member count: %d -> %d", len(in), len(out))
		}
		if diff := cmp.Diff(out, Redact(out)); diff != "" {
			t.Fatalf("Redact is not idempotent (-once +twice):\n%s", diff)
		}
	})
}
