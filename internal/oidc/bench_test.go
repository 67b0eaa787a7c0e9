package oidc_test

import (
	"context"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify measures verifying a token whose issuer's keys are cached (the steady state of
// AssumeRoleWithWebIdentity), for an RSA and an EC key.
func BenchmarkVerify(b *testing.B) {
	iss, v, _ := setup(b, true)
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		var key = iss.Keys()[0]
		if alg == jose.ES256 {
			key = iss.Keys()[1]
		}
		tok := sign(b, key, iss.Claims("system:serviceaccount:default:app", clientID))
		if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tok); err != nil {
			b.Fatal(err)
		}
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), iss.URL, []string{clientID}, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
