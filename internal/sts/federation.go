package sts

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/oidc"
	"github.com/persona-iam/persona/internal/saml"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// AssumeRoleWithWebIdentity and AssumeRoleWithSAML are unsigned calls: the caller proves who it is with a token or
// an assertion that an identity provider signed, and the role's trust policy decides, with the provider's condition
// keys. No IAM principal is involved, so there is no identity-policy side to the decision.

// federation is the Service's state for the federation calls.
type federation struct {
	once sync.Once
	oidc *oidc.Verifier
}

// SetOIDCVerifier installs the verifier of web identity tokens (with its HTTP client and options). Without one,
// the first AssumeRoleWithWebIdentity creates a default verifier: HTTPS only, system roots.
func (s *Service) SetOIDCVerifier(v *oidc.Verifier) { s.fed.oidc = v }

func (s *Service) oidcVerifier() *oidc.Verifier {
	s.fed.once.Do(func() {
		if s.fed.oidc == nil {
			s.fed.oidc = oidc.New(oidc.Config{Now: s.now})
		}
	})
	return s.fed.oidc
}

// wellKnownIssuers are the web identity providers a trust policy may name by host instead of by provider ARN, and
// for which no IAM OIDC provider is needed. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc.html
var wellKnownIssuers = map[string]string{
	"https://accounts.google.com":            "accounts.google.com",
	"https://cognito-identity.amazonaws.com": "cognito-identity.amazonaws.com",
}

// AWS's refusal when the trust policy (or a missing role) does not allow the federated caller.
func notAuthorized(action string) error {
	return stsapi.AccessDenied("Not authorized to perform %s", action)
}

// oidcError turns the oidc package's errors into STS's.
func oidcError(err error) error {
	var oe *oidc.Error
	if !errors.As(err, &oe) {
		return err
	}
	switch oe.Code {
	case oidc.CodeExpired:
		return stsapi.ExpiredToken("%s", oe.Msg)
	case oidc.CodeIDPCommunication:
		return stsapi.IDPCommunicationError("%s", oe.Msg)
	}
	return stsapi.InvalidIdentityToken("%s", oe.Msg)
}

// federationDuration returns the session duration: DurationSeconds (checked against the role's maximum), else def,
// else an hour.
func federationDuration(in *int32, def int, role *store.Role) (time.Duration, error) {
	maxDuration := time.Duration(role.MaxSessionDuration) * time.Second
	if maxDuration == 0 {
		maxDuration = defaultRoleSession
	}
	if in != nil {
		d := time.Duration(*in) * time.Second
		if d > maxDuration {
			return 0, stsapi.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
		return d, nil
	}
	if def > 0 {
		return min(time.Duration(def)*time.Second, maxDuration), nil
	}
	return defaultRoleSession, nil
}

// trustAllows evaluates the role's trust policy for a federated caller: only the trust policy can allow it.
func (s *Service) trustAllows(ctx context.Context, role *store.Role, roleARN arn.ARN, who policy.Caller, actions []string, keys map[string][]string) (bool, error) {
	trust, err := s.authz.Compile(role.TrustPolicy, policy.KindTrust, roleARN.String())
	if err != nil {
		return false, err
	}
	r := authz.RequestFrom(ctx)
	now := r.Time
	if now.IsZero() {
		now = s.now().UTC()
	}
	keys["aws:CurrentTime"] = []string{now.Format(time.RFC3339)}
	keys["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	keys["aws:SecureTransport"] = []string{strconv.FormatBool(r.SecureTransport)}
	if r.SourceIP != "" {
		keys["aws:SourceIp"] = []string{r.SourceIP}
	}
	if r.UserAgent != "" {
		keys["aws:UserAgent"] = []string{r.UserAgent}
	}
	if r.Region != "" {
		keys["aws:RequestedRegion"] = []string{r.Region}
	}
	set := &policy.Set{Resource: trust}
	for _, action := range actions {
		res := policy.Evaluate(set, &policy.Request{
			Principal: who, Action: action, Resource: roleARN.String(), ResourceAccount: roleARN.AccountID,
			Context: condition.NewMapContext(keys),
		})
		if res.Decision != policy.Allow {
			return false, nil
		}
	}
	return true, nil
}

// webIdentityTags reads session tags from a token's https://aws.amazon.com/tags claim.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_adding-assume-role-idp
func webIdentityTags(raw map[string]any) ([]stsapi.Tag, []string, error) {
	claim, ok := raw["https://aws.amazon.com/tags"]
	if !ok {
		return nil, nil, nil
	}
	b, _ := json.Marshal(claim)
	var c struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, stsapi.InvalidIdentityToken("The https://aws.amazon.com/tags claim is malformed: %v", err)
	}
	var tags []stsapi.Tag
	for k, v := range c.PrincipalTags {
		if len(v) != 1 {
			return nil, nil, stsapi.InvalidIdentityToken("Session tag %s in the https://aws.amazon.com/tags claim must have exactly one value", k)
		}
		tags = append(tags, stsapi.Tag{Key: k, Value: v[0]})
	}
	return tags, c.TransitiveTagKeys, nil
}

// webIdentityKeys returns the trust policy's condition keys for a verified token: <provider>:aud, :sub, :amr and,
// when the token names an authorized party, :oaud (the token's own aud) and :azp.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
func webIdentityKeys(prefix string, c *oidc.Claims) map[string][]string {
	m := map[string][]string{
		prefix + ":aud": {c.MatchedAudience},
		prefix + ":sub": {c.Subject},
	}
	if c.AuthorizedParty != "" {
		m[prefix+":aud"] = []string{c.AuthorizedParty}
		m[prefix+":azp"] = []string{c.AuthorizedParty}
		m[prefix+":oaud"] = c.Audience
	}
	if len(c.AMR) > 0 {
		m[prefix+":amr"] = c.AMR
	}
	return m
}

// AssumeRoleWithWebIdentity returns credentials for a role to the holder of an OpenID Connect ID token that an
// identity provider of the role's account signed and that the role's trust policy accepts.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, in *stsapi.AssumeRoleWithWebIdentityInput) (*stsapi.AssumeRoleWithWebIdentityOutput, error) {
	const action = "sts:AssumeRoleWithWebIdentity"
	if s.tokens == nil {
		return nil, errors.New("sts: no token keyring")
	}
	verifier := s.oidcVerifier()
	roleARN, roleRes, err := parseRoleARN(in.RoleArn)
	if err != nil {
		return nil, err
	}
	if in.ProviderId != "" {
		// OAuth 2.0 access tokens of Login with Amazon and Facebook are checked by calling those providers; Persona
		// verifies OpenID Connect ID tokens only.
		return nil, stsapi.InvalidParameterValue("ProviderId %s is not supported: Persona accepts OpenID Connect ID tokens only, without ProviderId.", in.ProviderId)
	}
	account := roleARN.AccountID

	// The token's issuer selects the provider; nothing in it is trusted until the provider's keys verify it.
	issuer, err := oidc.UnverifiedIssuer(in.WebIdentityToken)
	if err != nil {
		return nil, oidcError(err)
	}
	var (
		providerName string // the trust policy's Federated principal
		keyPrefix    string // the condition keys' prefix: the provider URL without scheme
		claims       *oidc.Claims
	)
	u, insecure := strings.CutPrefix(issuer, "http://")
	if !insecure {
		u, _ = strings.CutPrefix(issuer, "https://")
	}
	u = strings.TrimSuffix(u, "/")
	var prov store.OIDCProvider
	found := false
	if u != "" && u != issuer {
		_, err := store.GetJSON(ctx, s.store, store.KindOIDCProvider, account, u, &prov)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		// The stored key matches without regard to case, but an issuer's path is case-sensitive (tenants of one
		// IdP may differ only in case): only the exact URL names the provider.
		found = err == nil && prov.URL == u && prov.Insecure == insecure
	}
	switch alias, wellKnown := wellKnownIssuers[issuer]; {
	case found:
		providerName = arn.OIDCProvider(roleARN.Partition, account, prov.URL).String()
		keyPrefix = prov.URL
		claims, err = verifier.Verify(ctx, issuer, prov.ClientIDs, in.WebIdentityToken, oidc.Thumbprints(prov.Thumbprints))
	case wellKnown:
		// Well-known providers need no IAM provider; the trust policy names them by host and its conditions
		// check the audience.
		providerName, keyPrefix = alias, alias
		claims, err = verifier.VerifyAnyAudience(ctx, issuer, in.WebIdentityToken)
	default:
		return nil, stsapi.InvalidIdentityToken("No OpenIDConnect provider found in your account for %s", issuer)
	}
	if err != nil {
		return nil, oidcError(err)
	}
	// From here on the caller is known: the trail records it as a WebIdentityUser, allowed or not.
	// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
	audit.PendingFrom(ctx).Update(func(ev *audit.Event) {
		ev.Identity = audit.WebIdentityUser(providerName, claims.MatchedAudience, claims.Subject)
	})

	tags, transitive, err := webIdentityTags(claims.Raw)
	if err != nil {
		return nil, err
	}
	req, err := s.sessionRequest(&authz.Principal{}, roleARN.AccountID, in.Policy, in.PolicyArns, tags, transitive, claims.SourceIdentity)
	if err != nil {
		return nil, err
	}
	role, err := s.loadRole(ctx, roleARN, roleRes)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, notAuthorized(action)
	}
	keys := req.conditionKeys()
	for k, v := range webIdentityKeys(keyPrefix, claims) {
		keys[k] = v
	}
	keys["sts:RoleSessionName"] = []string{in.RoleSessionName}
	keys["aws:FederatedProvider"] = []string{providerName}
	actions := []string{action}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if req.sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	ok, err := s.trustAllows(ctx, role, roleARN, policy.Caller{Type: policy.CallerWebIdentity, ARN: providerName}, actions, keys)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notAuthorized(action)
	}
	// Only once the trust policy allowed the caller: before, the ValidationError would tell anyone holding a token
	// of the provider (any repository gets a GitHub Actions token) which role names exist.
	duration, err := federationDuration(in.DurationSeconds, 0, role)
	if err != nil {
		return nil, err
	}
	creds, user, err := MintRoleSession(s.tokens, RoleSession{
		Kind:              token.KindWebIdentity,
		RoleARN:           roleARN.String(),
		RoleID:            role.ID,
		SessionName:       in.RoleSessionName,
		Duration:          duration,
		SourceIdentity:    req.sourceIdentity,
		Tags:              req.tags,
		TransitiveTagKeys: req.transitive,
		Policy:            in.Policy,
		PolicyARNs:        req.policyARNs,
		FederatedProvider: providerName,
	}, s.now())
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleWithWebIdentityOutput{
		Credentials:                 creds,
		AssumedRoleUser:             user,
		SubjectFromWebIdentityToken: claims.Subject,
		Provider:                    providerName,
		Audience:                    claims.MatchedAudience,
		SourceIdentity:              req.sourceIdentity,
	}
	if req.packed > 0 {
		out.PackedPolicySize = &req.packed
	}
	return out, nil
}

// samlError turns the saml package's errors into STS's.
func samlError(err error) error {
	var se *saml.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case saml.CodeExpired:
		return stsapi.ExpiredToken("%s", se.Msg)
	case saml.CodeRejected:
		return stsapi.IDPRejectedClaim("%s", se.Msg)
	}
	return stsapi.InvalidIdentityToken("%s", se.Msg)
}

// AssumeRoleWithSAML returns credentials for a role to the holder of a SAML response that the role's account's
// SAML provider signed, whose Role attribute offers the role through that provider, and that the role's trust
// policy accepts. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
func (s *Service) AssumeRoleWithSAML(ctx context.Context, in *stsapi.AssumeRoleWithSAMLInput) (*stsapi.AssumeRoleWithSAMLOutput, error) {
	const action = "sts:AssumeRoleWithSAML"
	if s.tokens == nil {
		return nil, errors.New("sts: no token keyring")
	}
	roleARN, roleRes, err := parseRoleARN(in.RoleArn)
	if err != nil {
		return nil, err
	}
	pa, perr := arn.Parse(in.PrincipalArn)
	var pres arn.IAMResource
	if perr == nil {
		pres, perr = arn.SplitIAM(pa)
	}
	if perr != nil || pa.Service != "iam" || pres.Type != arn.TypeSAMLProvider || strings.ContainsAny(in.PrincipalArn, "*?") {
		return nil, stsapi.ValidationError("Request ARN is invalid")
	}
	if pa.AccountID != roleARN.AccountID {
		// The provider that vouches for the user must be the role's account's own.
		return nil, notAuthorized(action)
	}
	var prov store.SAMLProvider
	_, err = store.GetJSON(ctx, s.store, store.KindSAMLProvider, pa.AccountID, pres.Name, &prov)
	if errors.Is(err, store.ErrNotFound) || (err == nil && prov.Name != pres.Name) {
		return nil, stsapi.InvalidIdentityToken("Specified provider doesn't exist (%s)", in.PrincipalArn)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	a, err := saml.Verify(in.SAMLAssertion, &saml.Metadata{EntityID: prov.EntityID, SigningCerts: prov.SigningCerts}, now)
	if err != nil {
		return nil, samlError(err)
	}
	nameQualifier := saml.NameQualifier(a.Issuer, roleARN.AccountID, prov.Name)
	audit.PendingFrom(ctx).Update(func(ev *audit.Event) { ev.Identity = audit.SAMLUser(nameQualifier, a.Subject) })
	// The assertion must offer this role through this provider.
	offered := false
	for _, r := range a.Roles {
		if r.RoleARN == in.RoleArn && r.ProviderARN == in.PrincipalArn {
			offered = true
		}
	}
	if !offered {
		return nil, notAuthorized(action)
	}

	var tags []stsapi.Tag
	for k, v := range a.PrincipalTags {
		tags = append(tags, stsapi.Tag{Key: k, Value: v})
	}
	transitive := a.Attributes["https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"]
	req, err := s.sessionRequest(&authz.Principal{}, roleARN.AccountID, in.Policy, in.PolicyArns, tags, transitive, a.SourceIdentity)
	if err != nil {
		return nil, err
	}
	role, err := s.loadRole(ctx, roleARN, roleRes)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, notAuthorized(action)
	}
	keys := req.conditionKeys()
	for k, v := range a.ConditionKeys(roleARN.AccountID, prov.Name) {
		keys[k] = v
	}
	keys["aws:FederatedProvider"] = []string{in.PrincipalArn}
	actions := []string{action}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if req.sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	ok, err := s.trustAllows(ctx, role, roleARN, policy.Caller{Type: policy.CallerSAML, ARN: in.PrincipalArn}, actions, keys)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notAuthorized(action)
	}
	// The duration only once the trust policy allowed the caller (see AssumeRoleWithWebIdentity).
	duration, err := federationDuration(in.DurationSeconds, a.SessionDuration, role)
	if err != nil {
		return nil, err
	}
	// The session may not outlive the IdP's own session (SessionNotOnOrAfter).
	if !a.SessionNotOnOrAfter.IsZero() {
		if left := a.SessionNotOnOrAfter.Sub(now); left < duration {
			if left <= 0 {
				return nil, stsapi.ExpiredToken("The SAML session ended at %s (SessionNotOnOrAfter)", a.SessionNotOnOrAfter.UTC().Format(time.RFC3339))
			}
			duration = left
		}
	}
	creds, user, err := MintRoleSession(s.tokens, RoleSession{
		Kind:              token.KindSAML,
		RoleARN:           roleARN.String(),
		RoleID:            role.ID,
		SessionName:       a.SessionName,
		Duration:          duration,
		SourceIdentity:    req.sourceIdentity,
		Tags:              req.tags,
		TransitiveTagKeys: req.transitive,
		Policy:            in.Policy,
		PolicyARNs:        req.policyARNs,
		FederatedProvider: in.PrincipalArn,
	}, now)
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleWithSAMLOutput{
		Credentials:     creds,
		AssumedRoleUser: user,
		Subject:         a.Subject,
		SubjectType:     a.SubjectType,
		Issuer:          a.Issuer,
		Audience:        a.Recipient,
		NameQualifier:   nameQualifier,
		SourceIdentity:  req.sourceIdentity,
	}
	if req.packed > 0 {
		out.PackedPolicySize = &req.packed
	}
	return out, nil
}
