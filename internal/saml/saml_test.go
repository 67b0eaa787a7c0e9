package saml_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/saml"
	"github.com/persona-iam/persona/internal/saml/samltest"
)

const (
	roleARN     = "arn:aws:iam::111122223333:role/SAMLRole"
	providerARN = "arn:aws:iam::111122223333:saml-provider/TestIdP"
)

func newIdP(t testing.TB) (*samltest.IdP, *saml.Metadata) {
	t.Helper()
	idp, err := samltest.New("https://idp.example.com/metadata")
	if err != nil {
		t.Fatal(err)
	}
	md, err := saml.ParseMetadata([]byte(idp.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	return idp, md
}

func issue(t testing.TB, idp *samltest.IdP, r samltest.Response) string {
	t.Helper()
	if r.Roles == nil {
		r.Roles = []string{roleARN + "," + providerARN}
	}
	if r.SessionName == "" {
		r.SessionName = "alice"
	}
	s, err := idp.Issue(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseMetadata(t *testing.T) {
	idp, md := newIdP(t)
	if md.EntityID != idp.EntityID {
		t.Errorf("EntityID = %q, want %q", md.EntityID, idp.EntityID)
	}
	if len(md.SigningCerts) != 1 || string(md.SigningCerts[0]) != string(idp.CertDER) {
		t.Errorf("SigningCerts = %d certs, want the IdP's one certificate", len(md.SigningCerts))
	}
	bad := []struct{ name, doc, want string }{
		{"not xml", "hello", "Could not parse metadata"},
		{"no entity id", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><IDPSSODescriptor/></EntityDescriptor>`, "no entityID"},
		{"no idp descriptor", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`, "no IDPSSODescriptor"},
		{"no certificate", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><IDPSSODescriptor/></EntityDescriptor>`, "no signing certificate"},
		{"bad certificate", strings.Replace(idp.Metadata(), "<ds:X509Certificate>", "<ds:X509Certificate>AAAA", 1), "certificate 1"},
		{"encryption key only", strings.Replace(idp.Metadata(), `use="signing"`, `use="encryption"`, 1), "no signing certificate"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := saml.ParseMetadata([]byte(tc.doc))
			var me *saml.MetadataError
			if !errors.As(err, &me) || !strings.Contains(me.Msg, tc.want) {
				t.Fatalf("ParseMetadata error = %v, want a MetadataError containing %q", err, tc.want)
			}
		})
	}
}

func TestVerifyGood(t *testing.T) {
	idp, md := newIdP(t)
	now := time.Now()
	resp := issue(t, idp, samltest.Response{Duration: 1800, Subject: "alice@example.com",
		Attributes: map[string][]string{"urn:oid:0.9.2342.19200300.100.1.3": {"alice@example.com"},
			saml.AttrPrincipalTagPref + "Project": {"blue"}}})
	a, err := saml.Verify(resp, md, now)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := &saml.Assertion{
		Issuer: idp.EntityID, Subject: "alice@example.com", SubjectType: "persistent",
		Recipient: saml.Audience, Roles: []saml.RolePair{{RoleARN: roleARN, ProviderARN: providerARN}},
		SessionName: "alice", SessionDuration: 1800, PrincipalTags: map[string]string{"Project": "blue"},
	}
	if diff := cmp.Diff(want, a, cmpIgnoreAttrs); diff != "" {
		t.Errorf("assertion mismatch (-want +got):\n%s", diff)
	}
	keys := a.ConditionKeys("111122223333", "TestIdP")
	if got := keys["saml:mail"]; len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("saml:mail = %v", got)
	}
	if got := keys["saml:doc"]; got[0] != "111122223333/TestIdP" {
		t.Errorf("saml:doc = %v", got)
	}
}

var cmpIgnoreAttrs = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Attributes" || p.Last().String() == ".SessionNotOnOrAfter"
}, cmp.Ignore())

func TestVerifyRejects(t *testing.T) {
	idp, md := newIdP(t)
	other, _ := newIdP(t)
	now := time.Now()
	good := issue(t, idp, samltest.Response{})
	raw, _ := base64.StdEncoding.DecodeString(good)
	tampered := base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(raw), "role/SAMLRole", "role/AdminRole", 1)))
	cases := []struct {
		name string
		resp string
		now  time.Time
		code saml.Code
		msg  string
	}{
		{"signed by another key", issue(t, idp, samltest.Response{SignWith: other}), now, saml.CodeInvalid, "signature"},
		{"unsigned", issue(t, idp, samltest.Response{Unsigned: true}), now, saml.CodeInvalid, "unsigned"},
		{"tampered after signing", tampered, now, saml.CodeInvalid, "signature"},
		{"wrong audience", issue(t, idp, samltest.Response{Audience: "https://other.example.com"}), now, saml.CodeInvalid, "audience"},
		{"wrong recipient", issue(t, idp, samltest.Response{Recipient: "https://evil.example.com/saml"}), now, saml.CodeInvalid, "Recipient"},
		{"wrong issuer", issue(t, idp, samltest.Response{Issuer: "https://other-idp.example.com"}), now, saml.CodeInvalid, "Issuer"},
		{"expired", good, now.Add(time.Hour), saml.CodeExpired, "expired"},
		{"not yet valid", good, now.Add(-time.Hour), saml.CodeInvalid, "not yet valid"},
		{"no role attribute", issue(t, idp, samltest.Response{Roles: []string{}}), now, saml.CodeInvalid, "Role attribute"},
		{"bad role pair", issue(t, idp, samltest.Response{Roles: []string{roleARN}}), now, saml.CodeInvalid, "Role attribute value"},
		{"bad session name", issue(t, idp, samltest.Response{SessionName: "a b"}), now, saml.CodeInvalid, "RoleSessionName"},
		{"session duration too long", issue(t, idp, samltest.Response{Duration: 50000}), now, saml.CodeInvalid, "SessionDuration"},
		{"not base64", "%%%", now, saml.CodeInvalid, "base64"},
		{"authentication failed at the IdP", issue(t, idp, samltest.Response{Status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}), now, saml.CodeRejected, "authentication failed"},
		{"not xml", base64.StdEncoding.EncodeToString([]byte("<nope")), now, saml.CodeInvalid, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := saml.Verify(tc.resp, md, tc.now)
			var se *saml.Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify error = %v, want a *saml.Error", err)
			}
			if se.Code != tc.code || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("Verify error = %s %q, want %s containing %q", se.Code, se.Msg, tc.code, tc.msg)
			}
		})
	}
}

func TestSubjectType(t *testing.T) {
	idp, md := newIdP(t)
	for format, want := range map[string]string{
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient":    "transient",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:entity":       "entity",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	} {
		a, err := saml.Verify(issue(t, idp, samltest.Response{SubjectFormat: format}), md, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a.SubjectType != want {
			t.Errorf("format %s: SubjectType = %q, want %q", format, a.SubjectType, want)
		}
	}
}

func TestRegionalRecipient(t *testing.T) {
	idp, md := newIdP(t)
	resp := issue(t, idp, samltest.Response{Recipient: "https://eu-west-1.signin.aws.amazon.com/saml"})
	a, err := saml.Verify(resp, md, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a.Recipient != "https://eu-west-1.signin.aws.amazon.com/saml" {
		t.Errorf("Recipient = %q", a.Recipient)
	}
}

func TestNameQualifier(t *testing.T) {
	// The example of https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html computes
	// BASE64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")).
	got := saml.NameQualifier("https://example.com/saml", "123456789012", "MySAMLIdP")
	if len(got) != 28 || got == saml.NameQualifier("https://example.com/saml", "123456789012", "Other") {
		t.Errorf("NameQualifier = %q: want 28 base64 characters that depend on the provider name", got)
	}
}

// FuzzVerify feeds arbitrary responses to Verify: it must never panic, and nothing but a response signed by the
// IdP's key may verify, so a mutated input either fails with a *saml.Error or still carries the signed content.
func FuzzVerify(f *testing.F) {
	idp, md := newIdP(f)
	now := time.Now()
	good := issue(f, idp, samltest.Response{})
	raw, _ := base64.StdEncoding.DecodeString(good)
	f.Add(raw)
	f.Add([]byte("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := saml.Verify(base64.StdEncoding.EncodeToString(doc), md, now)
		if err != nil {
			var se *saml.Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify returned a non-STS error %T: %v", err, err)
			}
			return
		}
		if len(a.Roles) != 1 || a.Roles[0].RoleARN != roleARN || a.Issuer != idp.EntityID || a.SessionName != "alice" {
			t.Fatalf("a mutated response verified with other content: %+v", a)
		}
	})
}

// FuzzParseMetadata checks that ParseMetadata never panics and that whatever it accepts has an entity id and
// parseable signing certificates.
func FuzzParseMetadata(f *testing.F) {
	idp, _ := newIdP(f)
	f.Add([]byte(idp.Metadata()))
	f.Add([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><IDPSSODescriptor/></EntityDescriptor>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		md, err := saml.ParseMetadata(doc)
		if err != nil {
			var me *saml.MetadataError
			if !errors.As(err, &me) {
				t.Fatalf("ParseMetadata returned %T: %v", err, err)
			}
			return
		}
		if md.EntityID == "" || len(md.SigningCerts) == 0 {
			t.Fatalf("accepted metadata without entity id or certificate: %+v", md)
		}
	})
}
