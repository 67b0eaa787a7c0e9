package audit

import (
	"encoding/json"
	"strings"
	"time"
)

// Hidden replaces a secret's value in a record. CloudTrail writes this same text where it withholds a value.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// secretKeys are the member names whose values are secrets, normalized (lowercase, letters and digits only).
// They come from the IAM and STS models: passwords (CreateLoginProfile, ChangePassword), MFA codes
// (EnableMFADevice, AssumeRole's TokenCode), federation assertions, private keys (UploadServerCertificate),
// virtual MFA seeds and QR codes (CreateVirtualMFADevice), and credentials in responses (CreateAccessKey,
// AssumeRole*, GetSessionToken, GetFederationToken). CloudTrail shows an access key id, never its secret.
var secretKeys = map[string]bool{
	"secretaccesskey":     true,
	"sessiontoken":        true,
	"securitytoken":       true,
	"xamzsecuritytoken":   true,
	"password":            true,
	"newpassword":         true,
	"oldpassword":         true,
	"servicepassword":     true,
	"authenticationcode1": true,
	"authenticationcode2": true,
	"tokencode":           true,
	"samlassertion":       true,
	"webidentitytoken":    true,
	"privatekey":          true,
	"base32stringseed":    true,
	"qrcodepng":           true,
	"clientsecret":        true,
	"secretkey":           true,
}

// secretSuffixes catch variants of the names above (ServiceSpecificCredential's ServicePassword, a future
// "NewSessionToken"): fail closed on anything named like a secret.
var secretSuffixes = []string{"password", "secretaccesskey", "sessiontoken", "privatekey", "secret"}

// secretKey reports whether a member named k holds a secret, ignoring case and punctuation
// ("Credentials.SecretAccessKey", "secret_access_key", "X-Amz-Security-Token").
func secretKey(k string) bool {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		}
	}
	n := b.String()
	if secretKeys[n] {
		return true
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// Redact returns a copy of m in which the value of every member named like a secret (see secretKeys), at any
// depth and in any case, is replaced by Hidden. m is not modified. Values of other types than JSON's (structs,
// typed slices and maps) are first converted to their JSON form, so a secret inside a struct is found too; a
// value that cannot be converted is replaced by Hidden (fail closed). Booleans under secret-like names
// (AllowUsersToChangePassword) are kept: they cannot hold a secret. Policy documents are strings and stay.
// Redact(nil) is nil.
func Redact(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, ok := redact(m).(map[string]any)
	if !ok {
		return map[string]any{}
	}
	return out
}

func redact(v any) any {
	switch v := v.(type) {
	case nil, string, bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		json.Number:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = member(k, x)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = member(k, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redact(x)
		}
		return out
	case []string:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redact(x)
		}
		return out
	}
	// Anything else (a struct, a pointer, a typed collection): walk its JSON form.
	b, err := json.Marshal(v)
	if err != nil {
		return Hidden
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return Hidden
	}
	return redact(generic)
}

// member redacts the value of the member named k.
func member(k string, v any) any {
	if !secretKey(k) {
		return redact(v)
	}
	if b, ok := v.(bool); ok {
		return b
	}
	if v == nil {
		return nil
	}
	return Hidden
}
