package saml_test

import (
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/saml"
	"github.com/persona-iam/persona/internal/saml/samltest"
)

// BenchmarkVerify measures verifying a signed SAML response against the provider's metadata.
func BenchmarkVerify(b *testing.B) {
	idp, md := newIdP(b)
	resp := issue(b, idp, samltest.Response{})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := saml.Verify(resp, md, now); err != nil {
			b.Fatal(err)
		}
	}
}
