package sts

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/policy"
)

// Limits of AssumeRole and the other session-issuing calls.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
const (
	defaultRoleSession  = time.Hour
	chainedSessionLimit = time.Hour
	maxSessionPolicyLen = 2048 // characters of the inline session policy
	maxSessionPolicyARN = 10
	// packedBudget is the space, in compressed bytes, that the packed session policies and tags may take;
	// PackedPolicySize reports the percentage used.
	packedBudget = 2048
)

// AssumeRole returns temporary credentials for a role. The decision follows AWS's rules: the role's trust policy
// must allow the caller and, unless the role is in the caller's account and the trust policy names the caller
// itself, the caller's own identity policies (with its boundary and session policies) must allow sts:AssumeRole on
// the role; across accounts both sides must always allow. Passing tags also needs sts:TagSession, and setting a
// source identity sts:SetSourceIdentity, on the same terms.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html
func (s *Service) AssumeRole(ctx context.Context, in *stsapi.AssumeRoleInput) (*stsapi.AssumeRoleOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.tokens == nil {
		return nil, errors.New("sts: no token keyring")
	}
	now := s.now()
	switch p.Type {
	case authz.Root:
		return nil, stsapi.AccessDenied("Roles may not be assumed by root accounts.")
	case authz.FederatedUser:
		// Federated-user credentials may call no STS operation but GetCallerIdentity.
		return nil, &authz.DeniedError{PrincipalARN: p.ARN, Action: "sts:AssumeRole", Resource: in.RoleArn}
	}
	roleARN, roleRes, err := parseRoleARN(in.RoleArn)
	if err != nil {
		return nil, err
	}
	if roleARN.Partition != s.partition {
		return nil, &authz.DeniedError{PrincipalARN: p.ARN, Action: "sts:AssumeRole", Resource: in.RoleArn}
	}
	chained := p.Type == authz.AssumedRole
	duration := defaultRoleSession
	if in.DurationSeconds != nil {
		duration = time.Duration(*in.DurationSeconds) * time.Second
	}
	if chained && duration > chainedSessionLimit {
		return nil, stsapi.ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	req, err := s.sessionRequest(p, roleARN.AccountID, in.Policy, in.PolicyArns, in.Tags, in.TransitiveTagKeys, in.SourceIdentity)
	if err != nil {
		return nil, err
	}

	// MFA: a code the caller's device accepts makes the session an MFA session (and satisfies
	// aws:MultiFactorAuthPresent in the trust policy); a session created with MFA passes it on.
	mfa, mfaTime := false, time.Time{}
	if p.Session != nil && p.Session.MFA {
		mfa, mfaTime = true, p.Session.MFAAuthTime
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := s.verifyMFA(ctx, p, in.SerialNumber, in.TokenCode); err != nil {
			return nil, err
		}
		mfa, mfaTime = true, now
	}

	role, err := s.loadRole(ctx, roleARN, roleRes)
	if err != nil {
		return nil, err
	}
	denied := &authz.DeniedError{PrincipalARN: p.ARN, Action: "sts:AssumeRole", Resource: in.RoleArn}
	if role == nil {
		// A role that does not exist is refused exactly like one whose trust policy does not allow the caller, so
		// that callers cannot probe other accounts for role names.
		return nil, denied
	}
	trust, err := s.authz.Compile(role.TrustPolicy, policy.KindTrust, in.RoleArn)
	if err != nil {
		return nil, err // a stored trust policy always compiled when IAM accepted it
	}
	keys := req.conditionKeys()
	keys["sts:RoleSessionName"] = []string{in.RoleSessionName}
	if in.ExternalId != "" {
		keys["sts:ExternalId"] = []string{in.ExternalId}
	}
	if mfa {
		keys["aws:MultiFactorAuthPresent"] = []string{"true"}
		keys["aws:MultiFactorAuthAge"] = []string{strconv.FormatInt(int64(now.Sub(mfaTime).Seconds()), 10)}
	}
	checks := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 || len(in.TransitiveTagKeys) > 0 {
		checks = append(checks, "sts:TagSession")
	}
	if req.sourceIdentity != "" {
		checks = append(checks, "sts:SetSourceIdentity")
	}
	for _, action := range checks {
		ok, err := s.authz.ResourcePolicyAllows(ctx, action, roleARN.String(), trust, keys)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &authz.DeniedError{PrincipalARN: p.ARN, Action: action, Resource: in.RoleArn}
		}
		if err := s.authz.AuthorizeWithPolicy(ctx, action, roleARN.String(), trust, keys); err != nil {
			var d *authz.DeniedError
			if errors.As(err, &d) {
				// AWS words every AssumeRole refusal alike, without saying which policy refused.
				return nil, &authz.DeniedError{PrincipalARN: p.ARN, Action: action, Resource: in.RoleArn}
			}
			return nil, err
		}
	}

	// Only an authorized caller learns the role's MaxSessionDuration: checked before the trust policy, the
	// ValidationError would tell anyone that a role of that name exists.
	maxDuration := time.Duration(role.MaxSessionDuration) * time.Second
	if maxDuration == 0 {
		maxDuration = defaultRoleSession
	}
	if !chained && duration > maxDuration {
		return nil, stsapi.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	depth := 0
	if chained && p.Session != nil {
		// AWS sets no limit on the number of hops; the token records at most MaxChainDepth (without this bound a
		// role that may assume itself got a ServiceFailure on its 256th hop).
		depth = min(p.Session.ChainDepth+1, token.MaxChainDepth)
	}
	creds, user, err := MintRoleSession(s.tokens, RoleSession{
		RoleARN:           roleARN.String(),
		RoleID:            role.ID,
		SessionName:       in.RoleSessionName,
		Duration:          duration,
		MFA:               mfa,
		MFAAuthTime:       mfaTime,
		SourceIdentity:    req.sourceIdentity,
		Tags:              req.tags,
		TransitiveTagKeys: req.transitive,
		Policy:            in.Policy,
		PolicyARNs:        req.policyARNs,
		ChainDepth:        depth,
	}, now)
	if err != nil {
		return nil, err
	}
	out := &stsapi.AssumeRoleOutput{Credentials: creds, AssumedRoleUser: user, SourceIdentity: req.sourceIdentity}
	if req.packed > 0 {
		out.PackedPolicySize = &req.packed
	}
	return out, nil
}

// parseRoleARN checks that s is an IAM role ARN; AWS answers anything else with "Request ARN is invalid".
func parseRoleARN(s string) (arn.ARN, arn.IAMResource, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return arn.ARN{}, arn.IAMResource{}, stsapi.ValidationError("Request ARN is invalid")
	}
	res, err := arn.SplitIAM(a)
	if err != nil || a.Service != "iam" || res.Type != arn.TypeRole || !arn.IsAccountID(a.AccountID) || a.Region != "" ||
		strings.ContainsAny(s, "*?") {
		return arn.ARN{}, arn.IAMResource{}, stsapi.ValidationError("Request ARN is invalid")
	}
	return a, res, nil
}

// loadRole returns the role the ARN names, or nil when there is none (or its path differs: the ARN then names no
// role).
func (s *Service) loadRole(ctx context.Context, a arn.ARN, res arn.IAMResource) (*store.Role, error) {
	role, err := s.roles.get(ctx, s, a.AccountID, res.Name)
	if err != nil || role == nil {
		return nil, err
	}
	path := role.Path
	if path == "" {
		path = "/"
	}
	// IAM names compare case-insensitively for lookups, but an ARN is the exact name, in Persona's partition:
	// policies match ARNs exactly, so a variant must not reach the role past a statement about its real ARN.
	if role.Name != res.Name || path != res.Path || a.Partition != s.partition {
		return nil, nil
	}
	return role, nil
}

// roleCache keeps the roles AssumeRole reads until the authorizer's generation moves (any IAM write on this node,
// or any write through another node, noticed by the change-sequence watcher): a role is read from the store once
// per change, not once per AssumeRole, with the same staleness bound as the authorizer's policy caches.
type roleCache struct {
	mu    sync.Mutex
	gen   int64
	roles map[string]*store.Role
}

const maxCachedRoles = 10000

func (c *roleCache) get(ctx context.Context, s *Service, account, name string) (*store.Role, error) {
	gen := s.authz.Generation()
	key := account + "/" + strings.ToLower(name)
	c.mu.Lock()
	if c.roles == nil || c.gen != gen || len(c.roles) >= maxCachedRoles {
		c.roles, c.gen = map[string]*store.Role{}, gen
	}
	r, ok := c.roles[key]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	var role store.Role
	_, err := store.GetJSON(ctx, s.store, store.KindRole, account, name, &role)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // not cached: names that do not exist must not fill the cache
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.roles[key] = &role
	}
	c.mu.Unlock()
	return &role, nil
}

// verifyMFA checks SerialNumber and TokenCode against the caller's MFA device.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html
func (s *Service) verifyMFA(ctx context.Context, p *authz.Principal, serial, code string) error {
	if serial == "" || code == "" {
		return stsapi.AccessDenied("MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")
	}
	user := ""
	switch p.Type {
	case authz.IAMUser:
		user = p.Name
	case authz.Root:
	default:
		// Only IAM users (and root) own MFA devices; a role session has none to present.
		return stsapi.AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
	}
	if s.mfa == nil || s.mfa(ctx, p.Account, user, serial, code) != nil {
		return stsapi.AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
	}
	return nil
}

// sessionRequest is the validated session part of a request: session policies, tags and source identity, merged
// with what a calling role session passes on (transitive tags, source identity).
type sessionRequest struct {
	tags           []token.Tag
	inherited      []token.Tag // transitive tags from the calling session
	requestTags    []stsapi.Tag
	transitive     []string
	policyARNs     []string
	sourceIdentity string
	packed         int32
}

func (s *Service) sessionRequest(p *authz.Principal, account, doc string, arns []stsapi.PolicyDescriptorType, tags []stsapi.Tag, transitiveKeys []string, sourceIdentity string) (*sessionRequest, error) {
	r := &sessionRequest{requestTags: tags}
	if doc != "" {
		if n := utf8.RuneCountInString(doc); n > maxSessionPolicyLen {
			return nil, stsapi.ValidationError("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to %d", maxSessionPolicyLen)
		}
		if err := checkSessionPolicy(doc); err != nil {
			return nil, err
		}
	}
	if len(arns) > maxSessionPolicyARN {
		return nil, stsapi.ValidationError("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxSessionPolicyARN)
	}
	for _, d := range arns {
		a, err := arn.Parse(d.Arn)
		res, err2 := arn.SplitIAM(a)
		if err != nil || err2 != nil || a.Service != "iam" || res.Type != arn.TypePolicy || strings.ContainsAny(d.Arn, "*?") {
			return nil, stsapi.InvalidParameterValue("The policy ARN %s is not a managed policy ARN.", d.Arn)
		}
		// Managed session policies must be AWS-managed or belong to the session's own account.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
		if a.AccountID != "aws" && a.AccountID != account {
			return nil, stsapi.InvalidParameterValue("The policy ARN %s is not in account %s.", d.Arn, account)
		}
		r.policyARNs = append(r.policyARNs, d.Arn)
	}

	// Session tags: keys are case-insensitive; a chained session inherits the caller's transitive tags, which the
	// request cannot override. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return nil, stsapi.InvalidParameterValue("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
		r.tags = append(r.tags, token.Tag{Key: t.Key, Value: t.Value})
	}
	for _, k := range transitiveKeys {
		if !seen[strings.ToLower(k)] {
			return nil, stsapi.InvalidParameterValue("The transitive tag key %s is not one of the session tags passed in the request.", k)
		}
	}
	r.transitive = append(r.transitive, transitiveKeys...)
	if p.Session != nil && p.Type == authz.AssumedRole {
		for _, k := range p.Session.TransitiveTagKeys {
			if seen[strings.ToLower(k)] {
				return nil, stsapi.InvalidParameterValue("The session tag %s is transitive in the calling session and cannot be overridden.", k)
			}
			seen[strings.ToLower(k)] = true
			if v, ok := p.Session.Tags[k]; ok {
				r.tags = append(r.tags, token.Tag{Key: k, Value: v})
				r.inherited = append(r.inherited, token.Tag{Key: k, Value: v})
			}
			r.transitive = append(r.transitive, k)
		}
	}

	// Source identity: set once, then kept for the whole chain.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
	r.sourceIdentity = sourceIdentity
	if p.Session != nil && p.Session.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != p.Session.SourceIdentity {
			return nil, stsapi.InvalidParameterValue("The source identity %s of the calling session cannot be changed.", p.Session.SourceIdentity)
		}
		r.sourceIdentity = p.Session.SourceIdentity
	}

	if doc != "" || len(arns) > 0 || len(r.tags) > 0 {
		r.packed = packedSize(doc, r.policyARNs, r.tags)
		if r.packed > 100 {
			return nil, stsapi.PackedPolicyTooLarge("Packed policy consumes %d%% of allotted space, please use smaller policy.", r.packed)
		}
	}
	return r, nil
}

// conditionKeys are the request's session condition keys for the trust policy.
func (r *sessionRequest) conditionKeys() map[string][]string {
	m := map[string][]string{}
	if len(r.requestTags) > 0 {
		keys := make([]string, 0, len(r.requestTags))
		for _, t := range r.requestTags {
			m["aws:RequestTag/"+t.Key] = []string{t.Value}
			keys = append(keys, t.Key)
		}
		m["aws:TagKeys"] = keys
	}
	if len(r.transitive) > 0 {
		m["sts:TransitiveTagKeys"] = r.transitive
	}
	// Incoming transitive tags of a role chain, for the next role's trust policy.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_transitivetagkeys
	for _, t := range r.inherited {
		m["sts:TransitiveTag/"+t.Key] = []string{t.Value}
	}
	if r.sourceIdentity != "" {
		m["sts:SourceIdentity"] = []string{r.sourceIdentity}
	}
	return m
}

// checkSessionPolicy parses and validates an inline session policy.
func checkSessionPolicy(doc string) error {
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return stsapi.MalformedPolicyDocument("%s", err.Error())
	}
	for _, f := range policy.Validate(parsed, policy.KindSession) {
		if f.Type == policy.FindingError {
			return stsapi.MalformedPolicyDocument("%s", f.String())
		}
	}
	return nil
}

// packedSize is PackedPolicySize: the percentage of the packed space the session policy, policy ARNs and tags
// take once compressed, as AWS packs them into the token. Over 100 the request fails with PackedPolicyTooLarge.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
func packedSize(doc string, arns []string, tags []token.Tag) int32 {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(compactJSON(doc)))
	for _, a := range arns {
		w.Write([]byte(a))
	}
	for _, t := range tags {
		w.Write([]byte(t.Key))
		w.Write([]byte(t.Value))
	}
	w.Close()
	return int32((buf.Len()*100 + packedBudget - 1) / packedBudget)
}

// compactJSON drops the insignificant whitespace of a JSON text (outside strings), as AWS does before packing.
func compactJSON(s string) string {
	var b strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			b.WriteByte(c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
