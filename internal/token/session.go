package token

import (
	"encoding/binary"
	"errors"
	"time"
)

// Kind is the STS operation that issued a session.
type Kind uint8

// The kinds of session, one per STS operation that issues temporary credentials.
const (
	KindAssumeRole Kind = iota + 1
	KindWebIdentity
	KindSAML
	KindSessionToken // GetSessionToken
	KindFederation   // GetFederationToken
	// KindInstanceProfile is a role session delivered to an EC2 instance (or task) through its instance profile;
	// requests signed with it carry ec2:SourceInstanceARN (the session name is the instance id).
	KindInstanceProfile
)

// String returns the STS operation name of k.
func (k Kind) String() string {
	switch k {
	case KindAssumeRole:
		return "AssumeRole"
	case KindWebIdentity:
		return "AssumeRoleWithWebIdentity"
	case KindSAML:
		return "AssumeRoleWithSAML"
	case KindSessionToken:
		return "GetSessionToken"
	case KindFederation:
		return "GetFederationToken"
	case KindInstanceProfile:
		return "InstanceProfile"
	}
	return "Unknown"
}

// Tag is a session tag (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html).
type Tag struct {
	Key, Value string
}

// Session is what a session token carries: everything needed to authorize a request signed with the
// temporary credentials, without a store read.
type Session struct {
	// Kind is the operation that issued the session.
	Kind Kind
	// AccessKeyID is the temporary access key id (ASIA…). Seal sets it.
	AccessKeyID string
	// Account is the 12-digit account of the principal.
	Account string
	// PrincipalARN is the entity whose policies the session uses: the role for the AssumeRole kinds, the
	// IAM user (or root) for GetSessionToken and GetFederationToken.
	PrincipalARN string
	// PrincipalID is that entity's unique id (AROA… for a role, AIDA… for a user, the account for root).
	PrincipalID string
	// SessionName is the role session name, or the federated user's name.
	SessionName string
	// IssuedAt is aws:TokenIssueTime.
	IssuedAt time.Time
	// Expiration is when the credentials stop working.
	Expiration time.Time
	// MFA reports whether the session was created with MFA (aws:MultiFactorAuthPresent).
	MFA bool
	// MFAAuthTime is when MFA was presented (for aws:MultiFactorAuthAge); zero without MFA.
	MFAAuthTime time.Time
	// SourceIdentity is sts:SourceIdentity, fixed for the whole role chain.
	SourceIdentity string
	// Tags are the session tags; TransitiveTagKeys those that pass to chained sessions.
	Tags              []Tag
	TransitiveTagKeys []string
	// Policy is the inline session policy (raw JSON), PolicyARNs the managed session policies.
	Policy     string
	PolicyARNs []string
	// ChainDepth is 0 for a session from long-term credentials, n for the n-th role in a chain.
	ChainDepth int
	// FederatedProvider is the identity provider that authenticated a web identity or SAML session
	// (aws:FederatedProvider): the IAM OIDC or SAML provider's ARN, or a well-known issuer's name
	// ("accounts.google.com"); "" for other sessions.
	FederatedProvider string
}

// MaxChainDepth is the largest chain depth a token records (one byte); deeper chains are recorded as this.
const MaxChainDepth = 255

// Limits that keep a token compact and a hostile token cheap to reject.
const (
	maxItems = 1024
)

// errEncoding means a plaintext did not decode; it only ever surfaces as ErrInvalid.
var errEncoding = errors.New("token: bad session encoding")

// appendSession appends the compact binary form of s: a version byte, then the fields in a fixed order,
// strings as uvarint length + bytes, times as uvarint Unix seconds.
func appendSession(b []byte, s *Session) []byte {
	b = append(b, plainVersion, byte(s.Kind))
	var flags byte
	if s.MFA {
		flags |= 1
	}
	b = append(b, flags, byte(s.ChainDepth))
	for _, str := range [...]string{s.Account, s.PrincipalARN, s.PrincipalID, s.SessionName, s.SourceIdentity, s.Policy} {
		b = appendString(b, str)
	}
	b = binary.AppendUvarint(b, unixOrZero(s.IssuedAt))
	b = binary.AppendUvarint(b, unixOrZero(s.Expiration))
	b = binary.AppendUvarint(b, unixOrZero(s.MFAAuthTime))
	b = binary.AppendUvarint(b, uint64(len(s.Tags)))
	for _, t := range s.Tags {
		b = appendString(appendString(b, t.Key), t.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(s.TransitiveTagKeys)))
	for _, k := range s.TransitiveTagKeys {
		b = appendString(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(s.PolicyARNs)))
	for _, a := range s.PolicyARNs {
		b = appendString(b, a)
	}
	// Fields added later go at the end, each only when set: tokens sealed before they existed still decode, and a
	// session without them encodes as it always did.
	if s.FederatedProvider != "" {
		b = appendString(b, s.FederatedProvider)
	}
	return b
}

const plainVersion = 1

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unixOrZero(t time.Time) uint64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

func timeOrZero(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(int64(u), 0).UTC()
}

// decoder reads the encoding of appendSession. All strings are substrings of one string copy of the
// plaintext, so decoding allocates once for all of them.
type decoder struct {
	s   string
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.s) == 0 {
		d.err = errEncoding
		return 0
	}
	c := d.s[0]
	d.s = d.s[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i >= len(d.s) {
			break
		}
		c := d.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			d.s = d.s[i+1:]
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.err = errEncoding
	return 0
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errEncoding
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// count reads a list length, bounded so a hostile length cannot make a large allocation: every item takes
// at least one byte.
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err != nil || n > maxItems || n > uint64(len(d.s)) {
		d.err = errEncoding
		return 0
	}
	return int(n)
}

func decodeSession(plain []byte) (*Session, error) {
	d := decoder{s: string(plain)}
	if d.byte() != plainVersion {
		return nil, errEncoding
	}
	s := &Session{Kind: Kind(d.byte())}
	flags := d.byte()
	s.MFA = flags&1 != 0
	s.ChainDepth = int(d.byte())
	if flags&^1 != 0 || s.Kind < KindAssumeRole || s.Kind > KindInstanceProfile {
		return nil, errEncoding
	}
	s.Account, s.PrincipalARN, s.PrincipalID = d.string(), d.string(), d.string()
	s.SessionName, s.SourceIdentity, s.Policy = d.string(), d.string(), d.string()
	s.IssuedAt, s.Expiration, s.MFAAuthTime = timeOrZero(d.uvarint()), timeOrZero(d.uvarint()), timeOrZero(d.uvarint())
	if n := d.count(); n > 0 {
		s.Tags = make([]Tag, n)
		for i := range s.Tags {
			s.Tags[i] = Tag{Key: d.string(), Value: d.string()}
		}
	}
	s.TransitiveTagKeys = d.strings()
	s.PolicyARNs = d.strings()
	if len(d.s) > 0 && d.err == nil {
		// An empty provider is never written: each session has one encoding.
		if s.FederatedProvider = d.string(); s.FederatedProvider == "" {
			d.err = errEncoding
		}
	}
	if d.err != nil || len(d.s) != 0 {
		return nil, errEncoding
	}
	return s, nil
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}
