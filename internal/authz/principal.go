// Package authz decides whether a principal may perform an action on a resource: it gathers every policy that
// applies (identity policies of the user, its groups or the role; permissions boundary; session policies; resource
// policies), compiles them once, caches them, and asks the policy engine.
package authz

import (
	"context"
	"time"
)

// PrincipalType is the kind of identity that signed a request, as CloudTrail's userIdentity.type names it.
type PrincipalType string

// The principal types.
const (
	Root          PrincipalType = "Root"
	IAMUser       PrincipalType = "IAMUser"
	AssumedRole   PrincipalType = "AssumedRole"
	FederatedUser PrincipalType = "FederatedUser"
	Anonymous     PrincipalType = "Anonymous"
)

// Principal is the authenticated identity behind a request.
type Principal struct {
	Type PrincipalType
	// Account is the 12-digit account the principal belongs to.
	Account string
	// ARN is the principal's ARN: arn:aws:iam::ACCOUNT:root, …:user/PATH/NAME,
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	ARN string
	// UserID is aws:userid: the account id for root, AIDA… for a user, AROA…:SESSION for a role session.
	UserID string
	// Name is the user name (IAMUser), or the role name (AssumedRole).
	Name string
	// AccessKeyID is the key that signed the request.
	AccessKeyID string
	// Session describes temporary credentials; nil for long-term keys.
	Session *Session
}

// Session is what a role session (or other temporary credentials) carries.
type Session struct {
	// Kind is the STS operation that issued the credentials ("AssumeRole", "GetSessionToken", …).
	Kind string
	// RoleARN and RoleID name the role behind an assumed-role session.
	RoleARN, RoleID string
	// SourceARN and SourceID name the IAM user (or root) behind a GetSessionToken or GetFederationToken session.
	SourceARN, SourceID string
	// SessionName is the role session name.
	SessionName string
	// Issued and Expires bound the credentials.
	Issued, Expires time.Time
	// MFA reports whether MFA authenticated the session; MFAAuthTime is when.
	MFA         bool
	MFAAuthTime time.Time
	// SourceIdentity is the sts:SourceIdentity set when the session was created.
	SourceIdentity string
	// Tags are the session tags (aws:PrincipalTag/…); TransitiveTagKeys those passed on when chaining.
	Tags              map[string]string
	TransitiveTagKeys []string
	// ChainDepth is 0 for a session from long-term credentials, n for the n-th role of a chain.
	ChainDepth int
	// Policies are inline session policies (JSON) and PolicyARNs managed session policies; when either is set the
	// session's permissions are the intersection with them.
	Policies   []string
	PolicyARNs []string
	// FederatedProvider is the identity provider behind a web identity or SAML session (aws:FederatedProvider):
	// the IAM OIDC or SAML provider's ARN, or a well-known issuer's name; "" for other sessions.
	FederatedProvider string
}

// Request describes the HTTP request being authorized, for global condition keys.
type Request struct {
	SourceIP        string
	UserAgent       string
	Time            time.Time
	SecureTransport bool
	Region          string
	RequestID       string
}

type principalKey struct{}
type requestKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// WithRequest returns a context carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request in ctx, or an empty one.
func RequestFrom(ctx context.Context) *Request {
	if r, ok := ctx.Value(requestKey{}).(*Request); ok {
		return r
	}
	return &Request{}
}
