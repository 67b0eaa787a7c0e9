package iam

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// Unique id prefixes, as AWS forms them.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
const (
	prefixUser          = "AIDA"
	prefixGroup         = "AGPA"
	prefixRole          = "AROA"
	prefixPolicy        = "ANPA"
	prefixAccessKey     = "AKIA"
	prefixInstanceProf  = "AIPA"
	uniqueIDRandomChars = 17
	accessKeyRandom     = 16
)

var base32Upper = base32.StdEncoding.WithPadding(base32.NoPadding)

// randomID returns prefix followed by n random characters of AWS's id alphabet (A–Z, 2–7).
func randomID(prefix string, n int) string {
	b := make([]byte, n) // 5 bits per character needed; 8 bits per byte is plenty
	if _, err := rand.Read(b); err != nil {
		panic("iam: no randomness: " + err.Error())
	}
	return prefix + base32Upper.EncodeToString(b)[:n]
}

// newSecretAccessKey returns a 40-character secret in AWS's alphabet (base64 without padding).
func newSecretAccessKey() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic("iam: no randomness: " + err.Error())
	}
	return strings.NewReplacer("-", "+", "_", "/").Replace(base64.RawURLEncoding.EncodeToString(b))
}
