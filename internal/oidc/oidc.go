// Package oidc verifies the OpenID Connect tokens AssumeRoleWithWebIdentity receives: it fetches each issuer's
// discovery document and JSON Web Key Set over HTTPS, caches them, refetches the keys when a token names a key id
// the cache lacks (the issuer rotated its keys) at most once per interval, and verifies tokens with go-oidc and
// go-jose. It knows nothing of IAM or the store.
package oidc

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms are the signature algorithms AWS STS accepts on web identity tokens: RSA and ECDSA with SHA-256,
// -384 and -512. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

// Defaults of Config.
const (
	DefaultCacheTTL        = time.Hour
	DefaultRefetchInterval = 10 * time.Second
	DefaultSkew            = 5 * time.Minute
	DefaultTimeout         = 5 * time.Second
	// MaxTokenBytes is the WebIdentityToken length AWS accepts (20,000 characters).
	MaxTokenBytes = 20000
	// maxDocumentBytes bounds a discovery document or key set.
	maxDocumentBytes = 1 << 20
	// maxIssuers bounds the cache; past it the cache starts again.
	maxIssuers = 10000
)

// Config configures a Verifier.
type Config struct {
	// HTTPClient fetches discovery documents and key sets; a client with DefaultTimeout, TLS verified against the
	// system roots and redirects refused when nil.
	HTTPClient *http.Client
	// AllowInsecureLoopback allows http:// issuers whose host is a loopback address or "localhost", for tests.
	// Never set it in production: a key set fetched over plain HTTP can be replaced by anyone on the path.
	AllowInsecureLoopback bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheTTL is how long fetched keys are used before they are fetched again; DefaultCacheTTL when 0.
	CacheTTL time.Duration
	// RefetchInterval is the least time between two fetches of one issuer's keys triggered by unknown key ids, so
	// a flood of tokens with made-up key ids cannot make Persona hammer the issuer; DefaultRefetchInterval when 0.
	RefetchInterval time.Duration
	// Skew is the clock skew allowed on exp, nbf and iat; DefaultSkew when 0.
	Skew time.Duration
}

// Code is the STS error a failure maps to.
type Code string

// The codes AssumeRoleWithWebIdentity reports.
const (
	CodeInvalidToken     Code = "InvalidIdentityToken"
	CodeExpired          Code = "ExpiredTokenException"
	CodeIDPCommunication Code = "IDPCommunicationError"
)

// Error is a token Persona refuses, or an issuer it could not reach.
type Error struct {
	Code Code
	Msg  string
	// Err is the underlying cause, for logs; never shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidToken, Msg: fmt.Sprintf(format, args...)}
}

// AWS's messages. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
const (
	msgNotJWT       = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgAudience     = "Incorrect token audience"
	msgNoKey        = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgSignature    = "Invalid identity token: the signature does not verify"
	msgUnreachable  = "The identity provider could not be reached or returned an invalid response"
	msgMissingClaim = "Missing a required claim: %s"
)

// Verifier verifies tokens of many issuers, caching each issuer's keys.
type Verifier struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	issuers map[string]*issuer
}

// issuer is one issuer's cached keys. mu serializes its fetches, so concurrent requests wait for one fetch.
type issuer struct {
	mu          sync.Mutex
	keys        []jose.JSONWebKey
	fetched     time.Time // when keys were last fetched successfully
	lastAttempt time.Time // when a fetch was last started
	lastErr     error     // how the last fetch failed, nil when it succeeded
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.RefetchInterval == 0 {
		cfg.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:   DefaultTimeout,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment},
		}
	}
	// Refuse redirects: the discovery document and the keys are read from the URLs the issuer publishes, and a
	// redirect could move the fetch to a scheme or host that was never vetted.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return &Verifier{cfg: cfg, client: &c, issuers: map[string]*issuer{}}
}

// UnverifiedIssuer returns the iss claim of a token without verifying anything, so the caller can find the
// provider that should vouch for it. Only its shape is checked.
func UnverifiedIssuer(token string) (string, error) {
	if len(token) > MaxTokenBytes {
		return "", invalid("The web identity token is longer than %d characters", MaxTokenBytes)
	}
	jws, err := jose.ParseSigned(token, Algorithms)
	if err != nil {
		return "", invalid(msgNotJWT)
	}
	if len(jws.Signatures) != 1 {
		return "", invalid(msgNotJWT)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return "", invalid(msgNotJWT)
	}
	if c.Issuer == "" {
		return "", invalid(msgMissingClaim, "iss")
	}
	return c.Issuer, nil
}

// Claims are a verified token's claims.
type Claims struct {
	Issuer  string
	Subject string
	// Audience is the token's aud; MatchedAudience is the client id it matched.
	Audience        []string
	MatchedAudience string
	// AuthorizedParty is azp, "" when absent.
	AuthorizedParty string
	AMR             []string
	Expiry          time.Time
	IssuedAt        time.Time
	// SourceIdentity is the https://aws.amazon.com/source_identity claim, "" when absent.
	SourceIdentity string
	// Raw is every claim, decoded.
	Raw map[string]any
}

type errKey struct{}

// Verify verifies token as issued by issuerURL (the provider's URL, "https://host/path") for one of clientIDs.
// It checks, in order: shape and algorithm, signature with the issuer's current keys (fetching them when needed),
// iss, aud, then exp, nbf and iat with Config.Skew.
func (v *Verifier) Verify(ctx context.Context, issuerURL string, clientIDs []string, token string, opts ...Option) (*Claims, error) {
	return v.verify(ctx, issuerURL, clientIDs, false, token, opts)
}

// Option adjusts one verification.
type Option func(*options)

type options struct {
	thumbprints []string
}

// Thumbprints are the provider's certificate thumbprints (hex SHA-1 of the top certificate of the chain its
// servers present). As on AWS, they are used only when the provider's certificate does not chain to a trusted
// root: then a server is accepted if the last certificate of its chain has one of these thumbprints and the leaf
// chains to it and names the host. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html
func Thumbprints(list []string) Option {
	return func(o *options) { o.thumbprints = list }
}

// VerifyAnyAudience is Verify without the audience check, for the well-known providers (Google, Cognito) that
// AWS trusts without an IAM provider: their trust policies check the audience with conditions instead. The
// matched audience is azp when present, else the first aud.
func (v *Verifier) VerifyAnyAudience(ctx context.Context, issuerURL, token string) (*Claims, error) {
	return v.verify(ctx, issuerURL, nil, true, token, nil)
}

func (v *Verifier) verify(ctx context.Context, issuerURL string, clientIDs []string, anyAudience bool, token string, opts []Option) (*Claims, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if len(token) > MaxTokenBytes {
		return nil, invalid("The web identity token is longer than %d characters", MaxTokenBytes)
	}
	if err := v.checkURL(issuerURL); err != nil {
		return nil, &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: err}
	}
	iss, err := UnverifiedIssuer(token)
	if err != nil {
		return nil, err
	}
	if iss != issuerURL {
		return nil, invalid("Invalid identity token: the token's issuer is not %s", issuerURL)
	}
	algs := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		algs[i] = string(a)
	}
	var keyErr error
	ctx = context.WithValue(ctx, errKey{}, &keyErr)
	verifier := gooidc.NewVerifier(issuerURL, &keySet{v: v, issuerURL: issuerURL, thumbprints: o.thumbprints}, &gooidc.Config{
		SupportedSigningAlgs: algs,
		// Audience and times are checked below: STS matches any of several client ids, and allows skew on exp.
		SkipClientIDCheck: true,
		SkipExpiryCheck:   true,
		Now:               v.cfg.Now,
	})
	tok, err := verifier.Verify(ctx, token)
	if err != nil {
		if keyErr != nil {
			return nil, keyErr
		}
		// The shape, issuer and signature were checked above or by the key set; what is left is a payload go-oidc
		// cannot read (claims of the wrong type).
		return nil, &Error{Code: CodeInvalidToken, Msg: "Invalid identity token", Err: err}
	}
	var raw map[string]any
	if err := tok.Claims(&raw); err != nil {
		return nil, invalid(msgNotJWT)
	}
	c := &Claims{Issuer: tok.Issuer, Subject: tok.Subject, Audience: tok.Audience, Expiry: tok.Expiry, IssuedAt: tok.IssuedAt, Raw: raw}
	if s, ok := raw["azp"].(string); ok {
		c.AuthorizedParty = s
	}
	c.AMR = stringList(raw["amr"])
	if s, ok := raw["https://aws.amazon.com/source_identity"].(string); ok {
		c.SourceIdentity = s
	}
	if c.Subject == "" {
		return nil, invalid(msgMissingClaim, "sub")
	}
	if len(c.Audience) == 0 {
		return nil, invalid(msgMissingClaim, "aud")
	}
	for _, a := range c.Audience {
		if slices.Contains(clientIDs, a) {
			c.MatchedAudience = a
			break
		}
	}
	// Only aud is matched against the client ids: azp names the party the token was issued to, not one it is
	// meant for, and accepting it would let a token meant for another audience through.
	if anyAudience {
		c.MatchedAudience = c.Audience[0]
		if c.AuthorizedParty != "" {
			c.MatchedAudience = c.AuthorizedParty
		}
	}
	if c.MatchedAudience == "" {
		return nil, invalid(msgAudience)
	}
	now := v.cfg.Now()
	if _, ok := raw["exp"]; !ok {
		return nil, invalid(msgMissingClaim, "exp")
	}
	if !now.Add(-v.cfg.Skew).Before(c.Expiry) {
		return nil, &Error{Code: CodeExpired, Msg: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), c.Expiry.Unix())}
	}
	if nbf, ok := raw["nbf"].(float64); ok && now.Add(v.cfg.Skew).Before(time.Unix(int64(nbf), 0)) {
		return nil, invalid("Invalid identity token: the token is not valid before %d (nbf)", int64(nbf))
	}
	if !c.IssuedAt.IsZero() && now.Add(v.cfg.Skew).Before(c.IssuedAt) {
		return nil, invalid("Invalid identity token: the token was issued in the future (iat %d)", c.IssuedAt.Unix())
	}
	return c, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// keySet is go-oidc's KeySet for one issuer, backed by the Verifier's cache. Its typed errors reach Verify through
// the context, because go-oidc flattens the errors a KeySet returns into text.
type keySet struct {
	v           *Verifier
	issuerURL   string
	thumbprints []string
}

func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	payload, err := k.v.verifySignature(ctx, k.issuerURL, k.thumbprints, token)
	if err != nil {
		if p, ok := ctx.Value(errKey{}).(*error); ok {
			*p = err
		}
	}
	return payload, err
}

func (v *Verifier) verifySignature(ctx context.Context, issuerURL string, thumbprints []string, token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalid(msgNotJWT)
	}
	hdr := jws.Signatures[0].Header
	iss := v.issuer(issuerURL)
	iss.mu.Lock()
	defer iss.mu.Unlock()
	now := v.cfg.Now()
	// Every fetch, of stale keys or on an unknown key id, is at most one per RefetchInterval: tokens naming an
	// issuer that is down, or made-up key ids, must not turn Persona into a flood of requests to the issuer.
	mayFetch := iss.lastAttempt.IsZero() || now.Sub(iss.lastAttempt) >= v.cfg.RefetchInterval
	if iss.fetched.IsZero() || now.Sub(iss.fetched) > v.cfg.CacheTTL {
		var err error
		if mayFetch {
			err = v.fetch(ctx, iss, issuerURL, thumbprints, now)
			iss.lastErr = err
			mayFetch = false
		} else if iss.fetched.IsZero() {
			err = iss.lastErr
		}
		if err != nil && len(iss.keys) == 0 {
			return nil, err
		}
		// Otherwise keep verifying with the keys we have while the issuer is unreachable: they were valid an
		// hour ago, and an outage of the issuer should not stop every workload.
	}
	candidates := matching(iss.keys, hdr.KeyID, hdr.Algorithm)
	if len(candidates) == 0 && mayFetch {
		// An unknown key id: the issuer may have rotated its keys. Refetch, at most once per RefetchInterval.
		if err := v.fetch(ctx, iss, issuerURL, thumbprints, now); err != nil {
			return nil, err
		}
		candidates = matching(iss.keys, hdr.KeyID, hdr.Algorithm)
	}
	if len(candidates) == 0 {
		return nil, invalid(msgNoKey)
	}
	for _, key := range candidates {
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, invalid(msgSignature)
}

// matching returns the signing keys that may have signed a token with key id kid and algorithm alg: the key with
// that id, or when the token names none, every key whose type fits the algorithm.
func matching(keys []jose.JSONWebKey, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if kid != "" && k.KeyID != kid {
			continue
		}
		out = append(out, k)
	}
	return out
}

func (v *Verifier) issuer(u string) *issuer {
	v.mu.Lock()
	defer v.mu.Unlock()
	iss, ok := v.issuers[u]
	if !ok {
		if len(v.issuers) >= maxIssuers {
			v.issuers = map[string]*issuer{}
		}
		iss = &issuer{}
		v.issuers[u] = iss
	}
	return iss
}

// fetch reads the issuer's discovery document and then its key set. iss.mu is held.
func (v *Verifier) fetch(ctx context.Context, iss *issuer, issuerURL string, thumbprints []string, now time.Time) error {
	iss.lastAttempt = now
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, thumbprints, strings.TrimSuffix(issuerURL, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return err
	}
	// OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the URL it was fetched for.
	if strings.TrimSuffix(disc.Issuer, "/") != strings.TrimSuffix(issuerURL, "/") {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable,
			Err: fmt.Errorf("discovery document names issuer %q, not %q", disc.Issuer, issuerURL)}
	}
	if disc.JWKSURI == "" {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: errors.New("discovery document has no jwks_uri")}
	}
	if err := v.checkURL(disc.JWKSURI); err != nil {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: err}
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, thumbprints, disc.JWKSURI, &set); err != nil {
		return err
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		// Only public keys: a symmetric or private key in a JWKS is a misconfiguration that must never verify.
		if k.Valid() && k.IsPublic() {
			keys = append(keys, k)
		}
	}
	iss.keys, iss.fetched = keys, now
	return nil
}

func (v *Verifier) getJSON(ctx context.Context, thumbprints []string, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	client := v.client
	if len(thumbprints) > 0 && req.URL.Scheme == "https" {
		client = v.pinnedClient(req.URL.Hostname(), thumbprints)
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: err}
	}
	if len(body) > maxDocumentBytes {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: fmt.Errorf("GET %s: document larger than %d bytes", u, maxDocumentBytes)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Code: CodeIDPCommunication, Msg: msgUnreachable, Err: fmt.Errorf("GET %s: %w", u, err)}
	}
	return nil
}

// checkURL allows https URLs, and http ones only for loopback hosts when AllowInsecureLoopback is set.
func (v *Verifier) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if v.cfg.AllowInsecureLoopback && IsLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("refusing to fetch %q: only https is allowed", raw)
}

// IsLoopback reports whether host is "localhost" or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pinnedClient returns a client for one fetch from host that accepts the server's certificate when it chains to
// a trusted root (as the configured client would), or else when the last certificate of the chain the server
// presents has one of the thumbprints, the leaf chains to it, and it names host. Keep-alives are off: the client
// lives for one fetch.
func (v *Verifier) pinnedClient(host string, thumbprints []string) *http.Client {
	var base *tls.Config
	var proxy func(*http.Request) (*url.URL, error)
	if t, ok := v.client.Transport.(*http.Transport); ok {
		base, proxy = t.TLSClientConfig, t.Proxy
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		cfg = base.Clone()
	}
	roots := cfg.RootCAs
	// The standard verification is redone in VerifyConnection, with the thumbprints as a fallback; skipping it
	// here is what lets the fallback run, and VerifyConnection fails closed.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("oidc: the server presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}
		if _, err := leaf.Verify(opts); err == nil {
			return nil
		}
		top := cs.PeerCertificates[len(cs.PeerCertificates)-1]
		sum := sha1.Sum(top.Raw)
		got := hex.EncodeToString(sum[:])
		for _, t := range thumbprints {
			if strings.EqualFold(t, got) {
				pinned := x509.NewCertPool()
				pinned.AddCert(top)
				opts.Roots = pinned
				if _, err := leaf.Verify(opts); err != nil {
					return fmt.Errorf("oidc: certificate of %s does not chain to its thumbprinted certificate: %w", host, err)
				}
				return nil
			}
		}
		return fmt.Errorf("oidc: certificate of %s is not trusted and its thumbprint %s is not registered", host, got)
	}
	return &http.Client{
		Timeout:       v.client.Timeout,
		CheckRedirect: v.client.CheckRedirect,
		Transport:     &http.Transport{TLSClientConfig: cfg, Proxy: proxy, DisableKeepAlives: true},
	}
}
