package store

import "time"

// The kinds of record identity federation stores.
const (
	// KindOIDCProvider records are OIDCProvider values keyed by the provider's URL without its scheme
	// ("token.actions.githubusercontent.com", "example.com/tenant"), the part its ARN ends with.
	KindOIDCProvider Kind = "oidc-provider"
	// KindSAMLProvider records are SAMLProvider values keyed by the provider's name.
	KindSAMLProvider Kind = "saml-provider"
)

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	// URL is the issuer URL without "https://", as GetOpenIDConnectProvider returns it.
	URL string `json:"url"`
	// Insecure reports whether the provider was registered with an http:// loopback URL (tests only).
	Insecure    bool      `json:"insecure,omitempty"`
	ClientIDs   []string  `json:"clientIds,omitempty"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
}

// SAMLProvider is an IAM SAML 2.0 identity provider.
type SAMLProvider struct {
	Name string `json:"name"`
	// UUID is the SAMLProviderUUID GetSAMLProvider returns.
	UUID string `json:"uuid"`
	// Metadata is the IdP's metadata document as uploaded.
	Metadata string `json:"metadata"`
	// EntityID is the metadata's entityID: the Issuer the IdP's assertions carry.
	EntityID string `json:"entityId"`
	// SigningCerts are the DER certificates of the metadata's signing KeyDescriptors (or of those without a use),
	// the keys an assertion's signature must verify with.
	SigningCerts [][]byte `json:"certs"`
	// ValidUntil is the metadata's validUntil, zero when it has none.
	ValidUntil              time.Time `json:"validUntil,omitempty"`
	AssertionEncryptionMode string    `json:"encryptionMode,omitempty"`
	Created                 time.Time `json:"created"`
	Tags                    []Tag     `json:"tags,omitempty"`
}
