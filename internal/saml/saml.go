// Package saml reads SAML 2.0 identity provider metadata and verifies the signed SAML responses that
// AssumeRoleWithSAML receives, with github.com/russellhaering/gosaml2 and goxmldsig. It knows nothing of HTTP or
// of the store: IAM keeps what ParseMetadata returns, STS hands it back to Verify.
package saml

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

// AWS's SAML service provider: the audience every assertion for AWS must name, and the recipients (sign-in
// endpoints) AWS accepts. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
const (
	Audience             = "https://signin.aws.amazon.com/saml"
	AttrRole             = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrRoleSessionName  = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrSessionDuration  = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	AttrSourceIdentity   = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	AttrPrincipalTagPref = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
	// MaxAssertionBytes bounds the decoded response AWS accepts (the SAMLAssertion parameter is at most 100,000
	// characters of base64).
	MaxAssertionBytes = 100000
)

// recipientRE matches AWS's sign-in endpoints: the global one and the regional ones
// (https://us-east-1.signin.aws.amazon.com/saml).
var recipientRE = regexp.MustCompile(`^https://([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws-us-gov\.com|amazonaws\.cn)/saml$`)

// Metadata is what Persona keeps of an IdP's metadata document.
type Metadata struct {
	// EntityID is the IdP's entity id, the Issuer of its responses.
	EntityID string
	// SigningCerts are the DER certificates of the IdP's signing keys.
	SigningCerts [][]byte
	// ValidUntil is the document's validUntil, zero when absent.
	ValidUntil time.Time
}

// MetadataError is a metadata document IAM must refuse; its message says what is wrong.
type MetadataError struct{ Msg string }

func (e *MetadataError) Error() string { return e.Msg }

// ParseMetadata parses an IdP's SAML 2.0 metadata (one EntityDescriptor with an IDPSSODescriptor) and returns
// its entity id and signing certificates. A document without a usable signing certificate is refused: assertions
// from it could never be verified.
func ParseMetadata(doc []byte) (*Metadata, error) {
	var ed types.EntityDescriptor
	if err := xml.Unmarshal(doc, &ed); err != nil {
		return nil, &MetadataError{Msg: "Could not parse metadata: " + err.Error()}
	}
	if ed.EntityID == "" {
		return nil, &MetadataError{Msg: "Could not parse metadata: the EntityDescriptor has no entityID"}
	}
	if ed.IDPSSODescriptor == nil {
		return nil, &MetadataError{Msg: "Could not parse metadata: no IDPSSODescriptor element"}
	}
	md := &Metadata{EntityID: ed.EntityID, ValidUntil: ed.ValidUntil}
	for i, kd := range ed.IDPSSODescriptor.KeyDescriptors {
		if kd.Use != "" && kd.Use != "signing" {
			continue
		}
		for j, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
			if err != nil {
				return nil, &MetadataError{Msg: fmt.Sprintf("Could not parse metadata: KeyDescriptor %d certificate %d is not base64", i+1, j+1)}
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				return nil, &MetadataError{Msg: fmt.Sprintf("Could not parse metadata: KeyDescriptor %d certificate %d: %v", i+1, j+1, err)}
			}
			md.SigningCerts = append(md.SigningCerts, der)
		}
	}
	if len(md.SigningCerts) == 0 {
		return nil, &MetadataError{Msg: "Could not parse metadata: no signing certificate in the IDPSSODescriptor"}
	}
	return md, nil
}

// Code is the STS error a failed verification maps to.
type Code string

// The codes AssumeRoleWithSAML reports.
const (
	CodeInvalid Code = "InvalidIdentityToken"
	CodeExpired Code = "ExpiredTokenException"
	// CodeRejected is a response whose status says the IdP did not authenticate the user.
	CodeRejected Code = "IDPRejectedClaim"
)

// Error is a SAML response STS refuses.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Msg: fmt.Sprintf(format, args...)}
}

// RolePair is one value of the Role attribute: a role the user may assume and the provider that vouches for it.
type RolePair struct {
	RoleARN, ProviderARN string
}

// Assertion is the verified content of a SAML response.
type Assertion struct {
	Issuer      string
	Subject     string
	SubjectType string
	// Recipient is the SubjectConfirmationData Recipient (what STS returns as Audience, saml:aud).
	Recipient string
	Roles     []RolePair
	// SessionName is the RoleSessionName attribute.
	SessionName string
	// SessionDuration is the SessionDuration attribute in seconds, 0 when absent.
	SessionDuration int
	SourceIdentity  string
	// SessionNotOnOrAfter is the AuthnStatement's SessionNotOnOrAfter, zero when absent: the session may not outlive it.
	SessionNotOnOrAfter time.Time
	// Attributes are every attribute's values by attribute Name.
	Attributes map[string][]string
	// PrincipalTags are the session tags the PrincipalTag attributes carry.
	PrincipalTags map[string]string
}

// Verify decodes a base64 SAML response, verifies its signature (or its assertion's) against the metadata's
// certificates, and checks what AWS checks: issuer, status, audience, recipient, NotBefore/NotOnOrAfter with a
// small skew, then reads the AWS attributes.
func Verify(encoded string, md *Metadata, now time.Time) (*Assertion, error) {
	encoded = strings.Join(strings.Fields(encoded), "")
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) == 0 {
		return nil, invalid("Invalid base64 SAML response")
	}
	if len(raw) > MaxAssertionBytes {
		return nil, invalid("SAML response is larger than %d bytes", MaxAssertionBytes)
	}
	var certs []*x509.Certificate
	for _, der := range md.SigningCerts {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("saml: stored certificate: %w", err)
		}
		certs = append(certs, c)
	}
	// Which recipient the response names decides the service provider's ACS URL; only AWS's sign-in endpoints
	// are acceptable, so reading it before verification lets nothing unverified through.
	recipient := Audience
	if r := unverifiedRecipient(raw); r != "" {
		if !recipientRE.MatchString(r) {
			return nil, invalid("Invalid SAML response: Recipient %q is not an AWS sign-in endpoint", r)
		}
		recipient = r
	}
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      md.EntityID,
		AssertionConsumerServiceURL: recipient,
		AudienceURI:                 Audience,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: certs},
		Clock:                       dsig.NewFakeClockAt(now),
		MaximumDecompressedBodySize: MaxAssertionBytes,
	}
	info, err := sp.RetrieveAssertionInfo(encoded)
	if err != nil {
		return nil, classify(err)
	}
	if info.WarningInfo.NotInAudience {
		return nil, invalid("Invalid SAML response: the assertion's audience is not %s", Audience)
	}
	a := &info.Assertions[0]
	if a.Conditions != nil && len(a.Conditions.AudienceRestrictions) == 0 {
		return nil, invalid("Invalid SAML response: the assertion has no AudienceRestriction for %s", Audience)
	}
	if err := checkTimes(a, now); err != nil {
		return nil, err
	}
	out := &Assertion{
		Issuer:     a.Issuer.Value,
		Subject:    info.NameID,
		Recipient:  recipient,
		Attributes: map[string][]string{},
	}
	out.SubjectType = nameIDFormat(raw, a.ID, info.NameID)
	if info.SessionNotOnOrAfter != nil {
		out.SessionNotOnOrAfter = *info.SessionNotOnOrAfter
	}
	for name, attr := range info.Values {
		for _, v := range attr.Values {
			out.Attributes[name] = append(out.Attributes[name], strings.TrimSpace(v.Value))
		}
	}
	if err := out.readAWSAttributes(); err != nil {
		return nil, err
	}
	return out, nil
}

// skew is how far clocks may disagree: AWS allows five minutes on the assertion's validity window.
const skew = 5 * time.Minute

func checkTimes(a *types.Assertion, now time.Time) error {
	c := a.Conditions
	nb, err := time.Parse(time.RFC3339, c.NotBefore)
	if err != nil {
		return invalid("Invalid SAML response: NotBefore %q is not a time", c.NotBefore)
	}
	if now.Add(skew).Before(nb) {
		return invalid("Invalid SAML response: the assertion is not yet valid (NotBefore %s)", c.NotBefore)
	}
	na, err := time.Parse(time.RFC3339, c.NotOnOrAfter)
	if err != nil {
		return invalid("Invalid SAML response: NotOnOrAfter %q is not a time", c.NotOnOrAfter)
	}
	if !now.Add(-skew).Before(na) {
		return &Error{Code: CodeExpired, Msg: "Token is expired: the SAML assertion's NotOnOrAfter " + c.NotOnOrAfter + " has passed"}
	}
	return nil
}

// classify turns gosaml2's errors into STS errors; an expired SubjectConfirmationData is ExpiredTokenException.
func classify(err error) error {
	var ver saml2.ErrVerification
	if errors.As(err, &ver) {
		err = ver.Cause
	}
	var iv saml2.ErrInvalidValue
	if errors.As(err, &iv) {
		if iv.Key == saml2.StatusCodeTag {
			return &Error{Code: CodeRejected, Msg: "The identity provider reported that authentication failed: status " + iv.Actual}
		}
		if iv.Reason == saml2.ReasonExpired {
			return &Error{Code: CodeExpired, Msg: "Token is expired: the SAML response's NotOnOrAfter " + iv.Actual + " has passed"}
		}
		return invalid("Invalid SAML response: %s is %q, expected %q", iv.Key, iv.Actual, iv.Expected)
	}
	var missing saml2.ErrMissingElement
	if errors.As(err, &missing) {
		return invalid("Invalid SAML response: %s", missing.Error())
	}
	if errors.Is(err, dsig.ErrMissingSignature) {
		return invalid("Response signature invalid: the response and its assertion are unsigned")
	}
	return invalid("Response signature invalid")
}

// unverifiedRecipient reads the first SubjectConfirmationData Recipient of a response without trusting it.
func unverifiedRecipient(raw []byte) string {
	var r struct {
		Assertions []struct {
			Subject struct {
				Confirmation struct {
					Data struct {
						Recipient string `xml:"Recipient,attr"`
					} `xml:"urn:oasis:names:tc:SAML:2.0:assertion SubjectConfirmationData"`
				} `xml:"urn:oasis:names:tc:SAML:2.0:assertion SubjectConfirmation"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
	}
	if xml.Unmarshal(raw, &r) != nil || len(r.Assertions) == 0 {
		return ""
	}
	return r.Assertions[0].Subject.Confirmation.Data.Recipient
}

// nameIDFormat returns SubjectType and saml:sub_type: "persistent", "transient", or the Format URI as given.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
// gosaml2's NameID type drops the Format attribute, so it is read from the raw response, but only from the one
// assertion whose ID and NameID are those of the verified assertion (a second assertion with that ID, as a
// signature-wrapping attack would add, yields no format at all).
func nameIDFormat(raw []byte, id, nameID string) string {
	var r struct {
		Assertions []struct {
			ID      string `xml:"ID,attr"`
			Subject struct {
				NameID struct {
					Format string `xml:"Format,attr"`
					Value  string `xml:",chardata"`
				} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
	}
	if xml.Unmarshal(raw, &r) != nil {
		return ""
	}
	format, found := "", 0
	for _, a := range r.Assertions {
		if a.ID == id {
			found++
			if a.Subject.NameID.Value == nameID {
				format = a.Subject.NameID.Format
			}
		}
	}
	if found != 1 {
		return ""
	}
	// "If the format includes the prefix urn:oasis:names:tc:SAML:2.0:nameid-format, that prefix is removed ... If
	// the format includes any other prefix, the format is returned with no modifications."
	// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
	if rest, ok := strings.CutPrefix(format, "urn:oasis:names:tc:SAML:2.0:nameid-format:"); ok {
		return rest
	}
	return format
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// readAWSAttributes reads the Role, RoleSessionName, SessionDuration, SourceIdentity and PrincipalTag attributes.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
func (a *Assertion) readAWSAttributes() error {
	for _, v := range a.Attributes[AttrRole] {
		parts := strings.Split(v, ",")
		if len(parts) != 2 {
			return invalid("Invalid SAML response: Role attribute value %q is not \"role ARN,provider ARN\"", v)
		}
		p := RolePair{}
		for _, s := range parts {
			s = strings.TrimSpace(s)
			switch {
			case strings.Contains(s, ":role/"):
				p.RoleARN = s
			case strings.Contains(s, ":saml-provider/"):
				p.ProviderARN = s
			}
		}
		if p.RoleARN == "" || p.ProviderARN == "" {
			return invalid("Invalid SAML response: Role attribute value %q must name a role and a saml-provider", v)
		}
		a.Roles = append(a.Roles, p)
	}
	if len(a.Roles) == 0 {
		return invalid("Invalid SAML response: the assertion has no %s attribute", AttrRole)
	}
	names := a.Attributes[AttrRoleSessionName]
	if len(names) != 1 {
		return invalid("Invalid SAML response: the assertion must have exactly one %s attribute value", AttrRoleSessionName)
	}
	if !sessionNameRE.MatchString(names[0]) {
		return invalid("Invalid SAML response: RoleSessionName %q must be 2 to 64 characters of [\\w+=,.@-]", names[0])
	}
	a.SessionName = names[0]
	if d := a.Attributes[AttrSessionDuration]; len(d) > 0 {
		n, err := strconv.Atoi(d[0])
		if err != nil || n < 900 || n > 43200 {
			return invalid("Invalid SAML response: SessionDuration %q must be a number of seconds from 900 to 43200", d[0])
		}
		a.SessionDuration = n
	}
	if s := a.Attributes[AttrSourceIdentity]; len(s) > 0 {
		a.SourceIdentity = s[0]
	}
	for name, vals := range a.Attributes {
		if k, ok := strings.CutPrefix(name, AttrPrincipalTagPref); ok && len(vals) > 0 {
			if a.PrincipalTags == nil {
				a.PrincipalTags = map[string]string{}
			}
			a.PrincipalTags[k] = vals[0]
		}
	}
	return nil
}

// NameQualifier is AWS's NameQualifier: Base64(SHA1(issuer + account + "/" + provider name)).
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
func NameQualifier(issuer, account, providerName string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + providerName))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// oidAttributes maps the attribute names AWS turns into saml:* condition keys.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
var oidAttributes = map[string]string{
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.1":  "saml:edupersonaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.2":  "saml:edupersonnickname",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.3":  "saml:edupersonorgdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.4":  "saml:edupersonorgunitdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.5":  "saml:edupersonprimaryaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.6":  "saml:edupersonprincipalname",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.7":  "saml:edupersonentitlement",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.8":  "saml:edupersonprimaryorgunitdn",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.9":  "saml:edupersonscopedaffiliation",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.10": "saml:edupersontargetedid",
	"urn:oid:1.3.6.1.4.1.5923.1.1.1.11": "saml:edupersonassurance",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.2":  "saml:eduorghomepageuri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.3":  "saml:eduorgidentityauthnpolicyuri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.4":  "saml:eduorglegalname",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.5":  "saml:eduorgsuperioruri",
	"urn:oid:1.3.6.1.4.1.5923.1.2.1.6":  "saml:eduorgwhitepagesuri",
	"urn:oid:2.5.4.3":                   "saml:cn",
	"urn:oid:0.9.2342.19200300.100.1.1": "saml:uid",
	"urn:oid:0.9.2342.19200300.100.1.3": "saml:mail",
	"urn:oid:2.5.4.42":                  "saml:givenName",
	"urn:oid:2.5.4.4":                   "saml:surname",
	"urn:oid:2.16.840.1.113730.3.1.241": "saml:displayName",
	"urn:oid:2.5.4.10":                  "saml:organizationName",
}

// ConditionKeys returns the saml:* condition keys a trust policy sees for a, for the provider ARN (whose
// "account/name" part is saml:doc) and the account the role is in.
func (a *Assertion) ConditionKeys(account, providerName string) map[string][]string {
	m := map[string][]string{
		"saml:aud":           {a.Recipient},
		"saml:iss":           {a.Issuer},
		"saml:sub":           {a.Subject},
		"saml:namequalifier": {NameQualifier(a.Issuer, account, providerName)},
		"saml:doc":           {account + "/" + providerName},
	}
	if a.SubjectType != "" {
		m["saml:sub_type"] = []string{a.SubjectType}
	}
	for name, vals := range a.Attributes {
		if key, ok := oidAttributes[name]; ok {
			m[key] = vals
		}
	}
	return m
}
