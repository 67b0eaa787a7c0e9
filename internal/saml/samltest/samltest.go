// Package samltest is a SAML 2.0 identity provider for tests: it has its own RSA key and self-signed certificate,
// writes its metadata, and issues signed SAML responses for AWS.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// IdP is a test identity provider.
type IdP struct {
	EntityID string
	Key      *rsa.PrivateKey
	CertDER  []byte
}

// New returns an IdP with a fresh 2048-bit key and a certificate valid from an hour ago for a year.
func New(entityID string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: entityID},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &IdP{EntityID: entityID, Key: key, CertDER: der}, nil
}

// Metadata returns the IdP's metadata document, padded with a long Organization element so it meets IAM's
// 1,000-character minimum.
func (p *IdP) Metadata() string {
	cert := base64.StdEncoding.EncodeToString(p.CertDER)
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + p.EntityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>` + cert + `</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`
}

// Response describes a SAML response to issue. Zero fields take defaults that AWS accepts.
type Response struct {
	// Roles are "roleARN,providerARN" values of the Role attribute.
	Roles       []string
	SessionName string
	// Duration is the SessionDuration attribute in seconds; 0 leaves it out.
	Duration int
	Subject  string
	// SubjectFormat is the NameID Format; persistent when empty.
	SubjectFormat string
	// Audience defaults to https://signin.aws.amazon.com/saml; Recipient likewise.
	Audience, Recipient string
	// Issuer defaults to the IdP's entity id.
	Issuer string
	// IssueInstant defaults to now; NotOnOrAfter to IssueInstant + 5 minutes.
	IssueInstant, NotOnOrAfter time.Time
	// Attributes are further attributes by name.
	Attributes map[string][]string
	// Status is the response's StatusCode; success when empty.
	Status string
	// Unsigned leaves the assertion unsigned.
	Unsigned bool
	// SignWith signs with another IdP's key (to test an untrusted signer).
	SignWith *IdP
}

const (
	nsP = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsA = "urn:oasis:names:tc:SAML:2.0:assertion"
)

// Issue returns the base64 SAML response r describes, its assertion signed by the IdP's key.
func (p *IdP) Issue(r Response) (string, error) {
	if r.IssueInstant.IsZero() {
		r.IssueInstant = time.Now().UTC()
	}
	if r.NotOnOrAfter.IsZero() {
		r.NotOnOrAfter = r.IssueInstant.Add(5 * time.Minute)
	}
	if r.Audience == "" {
		r.Audience = "https://signin.aws.amazon.com/saml"
	}
	if r.Recipient == "" {
		r.Recipient = "https://signin.aws.amazon.com/saml"
	}
	if r.Issuer == "" {
		r.Issuer = p.EntityID
	}
	if r.Subject == "" {
		r.Subject = "alice@example.com"
	}
	if r.SubjectFormat == "" {
		r.SubjectFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	id := "_a" + strconv.FormatInt(time.Now().UnixNano(), 16)

	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", nsA)
	as.CreateAttr("ID", id)
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("IssueInstant", ts(r.IssueInstant))
	as.CreateElement("saml:Issuer").SetText(r.Issuer)
	subj := as.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", r.SubjectFormat)
	nid.SetText(r.Subject)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", ts(r.NotOnOrAfter))
	scd.CreateAttr("Recipient", r.Recipient)
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(r.IssueInstant.Add(-time.Minute)))
	cond.CreateAttr("NotOnOrAfter", ts(r.NotOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(r.Audience)
	authn := as.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", ts(r.IssueInstant))
	authn.CreateAttr("SessionIndex", id)
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	st := as.CreateElement("saml:AttributeStatement")
	attr := func(name string, vals ...string) {
		a := st.CreateElement("saml:Attribute")
		a.CreateAttr("Name", name)
		for _, v := range vals {
			a.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	if len(r.Roles) > 0 {
		attr("https://aws.amazon.com/SAML/Attributes/Role", r.Roles...)
	}
	if r.SessionName != "" {
		attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", r.SessionName)
	}
	if r.Duration != 0 {
		attr("https://aws.amazon.com/SAML/Attributes/SessionDuration", strconv.Itoa(r.Duration))
	}
	for name, vals := range r.Attributes {
		attr(name, vals...)
	}

	if !r.Unsigned {
		signer := p
		if r.SignWith != nil {
			signer = r.SignWith
		}
		ctx, err := dsig.NewSigningContext(signer.Key, [][]byte{signer.CertDER})
		if err != nil {
			return "", err
		}
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		signed, err := ctx.SignEnveloped(as)
		if err != nil {
			return "", fmt.Errorf("samltest: signing: %w", err)
		}
		as = signed
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsP)
	resp.CreateAttr("xmlns:saml", nsA)
	resp.CreateAttr("ID", "_r"+id[2:])
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(r.IssueInstant))
	resp.CreateAttr("Destination", r.Recipient)
	resp.CreateElement("saml:Issuer").SetText(r.Issuer)
	if r.Status == "" {
		r.Status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", r.Status)
	resp.AddChild(as)
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	out, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out), nil
}
