package authz

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/managed"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// DeniedError is an authorization failure. The server turns it into AccessDenied with AWS's message form.
type DeniedError struct {
	PrincipalARN string
	Action       string
	Resource     string
	// Reason is the policy engine's reason; its Message ends the AccessDenied message.
	Reason policy.Reason
	// Matched are the statements that denied explicitly (none for an implicit deny).
	Matched []policy.StatementRef
	// Shown, when set, names the resource in the message instead of Resource: IAM names an existing user, group or
	// role it manages as "user NAME" and a managed policy as "policy ARN".
	Shown string
}

// Error returns AWS's AccessDenied message: "User: ARN is not authorized to perform: ACTION on resource: RESOURCE
// because no identity-based policy allows the ACTION action".
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
func (e *DeniedError) Error() string {
	msg := "User: " + e.PrincipalARN + " is not authorized to perform: " + e.Action
	if e.Shown != "" {
		msg += " on resource: " + e.Shown
	} else if e.Resource != "" && e.Resource != "*" {
		msg += " on resource: " + e.Resource
	}
	if suffix := e.Reason.Message(e.Action); suffix != "" {
		msg += " " + suffix
	}
	return msg
}

// Authorizer decides requests with the policy engine. It caches compiled policies by content and each principal's
// gathered policies until the store changes.
type Authorizer struct {
	store store.Store
	gen   atomic.Int64

	mu       sync.Mutex
	compiled map[[32]byte]*policy.Policy
	sets     map[string]*identitySet
	// orgs maps an account to its organization's id ("" for none) at generation orgsGen, for aws:PrincipalOrgID.
	orgs    map[string]string
	orgsGen int64
}

// identitySet is a principal's identity-side policies at one generation.
type identitySet struct {
	gen      int64
	identity []*policy.Policy
	boundary *policy.Policy
	tags     map[string]string
	// id is the unique id of the user or role the policies are of; temporary credentials only get them when
	// their session names the same id (a deleted and re-created entity is another entity).
	id string
	// missing reports that the entity no longer exists: nothing is allowed.
	missing bool
}

// maxCompiled bounds the compiled-policy cache; past it the cache starts again (policies are re-compiled on demand).
const maxCompiled = 10000

// New returns an Authorizer reading policies from st.
func New(st store.Store) *Authorizer {
	return &Authorizer{store: st, compiled: map[[32]byte]*policy.Policy{}, sets: map[string]*identitySet{}}
}

// Generation returns a number that changes whenever cached authorization data may be stale.
func (a *Authorizer) Generation() int64 { return a.gen.Load() }

// Invalidate drops every cached principal policy set; IAM calls it after each write.
func (a *Authorizer) Invalidate() { a.gen.Add(1) }

// Watch polls the store's change sequence every interval and invalidates the caches when another node wrote, so
// a change made through any node applies everywhere within about one interval (IAM's own changes are eventually
// consistent too). It returns when ctx is done.
func (a *Authorizer) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last int64 = -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq, err := a.store.ChangeSeq(ctx)
		if err != nil {
			continue
		}
		if seq != last {
			// Invalidate on the first reading too: a write made by another node after this node cached a
			// principal but before the first tick would otherwise never be noticed.
			a.Invalidate()
			last = seq
		}
	}
}

// Compile parses and compiles doc, reusing an earlier compilation of the same text and kind.
func (a *Authorizer) Compile(doc string, kind policy.PolicyKind, id string) (*policy.Policy, error) {
	key := sha256.Sum256([]byte(strconv.Itoa(int(kind)) + "\x00" + id + "\x00" + doc))
	a.mu.Lock()
	p, ok := a.compiled[key]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	p, err = policy.Compile(parsed, kind, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(a.compiled) >= maxCompiled {
		a.compiled = map[[32]byte]*policy.Policy{}
	}
	a.compiled[key] = p
	a.mu.Unlock()
	return p, nil
}

// CachedPolicies reports how many compiled policies the cache holds (for tests and metrics).
func (a *Authorizer) CachedPolicies() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.compiled)
}

// Authorize decides whether the principal in ctx may perform action on resource (an ARN, or "*" for actions
// without one). extra adds request-specific condition keys (aws:RequestTag/…, iam:PolicyARN, …). It returns nil
// when allowed and a *DeniedError when not; it fails closed: no principal, or any error gathering policies, denies.
func (a *Authorizer) Authorize(ctx context.Context, action, resource string, extra map[string][]string) error {
	return a.authorize(ctx, action, resource, nil, extra)
}

// AuthorizeWithPolicy is Authorize with a resource-based policy of the resource (a role's trust policy, compiled
// with Compile): the engine then applies AWS's same-account and cross-account rules, so that, for instance, a trust
// policy naming a user of the role's own account suffices on its own, while one naming only an account delegates
// to that account's identity policies.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
func (a *Authorizer) AuthorizeWithPolicy(ctx context.Context, action, resource string, resourcePolicy *policy.Policy, extra map[string][]string) error {
	return a.authorize(ctx, action, resource, resourcePolicy, extra)
}

// ResourcePolicyAllows reports whether the resource-based policy rp itself allows the principal in ctx to perform
// action on resource, by naming it, its role or its account, whatever the principal's own policies say. A role's
// trust policy must always allow the caller, even in the role's own account, where an identity-based allow alone
// would otherwise suffice: role trust policies are an exception to the same-account rule.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
func (a *Authorizer) ResourcePolicyAllows(ctx context.Context, action, resource string, rp *policy.Policy, extra map[string][]string) (bool, error) {
	p := PrincipalFrom(ctx)
	if p == nil || rp == nil {
		return false, nil
	}
	allowAll, err := a.Compile(allowAllPolicy, policy.KindIdentity, "resource-policy-check")
	if err != nil {
		return false, err
	}
	var tags map[string]string
	if p.Type != Root {
		set, err := a.principalSet(ctx, p)
		if err != nil {
			return false, err
		}
		if set.missing || !sameEntity(p, set.id) {
			return false, nil
		}
		tags = set.tags // the caller's aws:PrincipalTag/… keys, which trust policies often test
	}
	// Evaluated as a cross-account request with an identity side that allows everything, the decision is the
	// resource policy's alone, at any strength of principal match (the caller, its role, its account).
	res := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{allowAll}, Resource: rp}, &policy.Request{
		Principal: caller(p), Action: action, Resource: resource, ResourceAccount: crossAccountProbe,
		Context: condition.NewMapContext(a.withOrg(ctx, p, contextKeys(ctx, p, tags, extra))),
	})
	return res.Decision == policy.Allow, nil
}

// crossAccountProbe is a resource account no principal belongs to.
const crossAccountProbe = "resource-policy-only"

func (a *Authorizer) authorize(ctx context.Context, action, resource string, resourcePolicy *policy.Policy, extra map[string][]string) error {
	p := PrincipalFrom(ctx)
	if p == nil {
		return &DeniedError{PrincipalARN: "anonymous", Action: action, Resource: resource, Reason: policy.ReasonNoIdentityAllow}
	}
	resAccount := p.Account
	if resource != "" && resource != "*" {
		if parsed, err := arn.Parse(resource); err == nil && parsed.AccountID != "" && parsed.AccountID != "aws" {
			resAccount = parsed.AccountID
		}
	}
	if p.Type == Root {
		// The root user may do anything in its own account, and nothing in another's without a resource policy
		// (IAM resources have none). https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
		if resAccount == p.Account {
			return nil
		}
		if resourcePolicy != nil {
			// Across accounts, root's own side allows everything; the resource policy decides.
			allowAll, err := a.Compile(allowAllPolicy, policy.KindIdentity, "root")
			if err != nil {
				return err
			}
			res := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{allowAll}, Resource: resourcePolicy}, &policy.Request{
				Principal: caller(p), Action: action, Resource: resource, ResourceAccount: resAccount,
				Context: condition.NewMapContext(a.withOrg(ctx, p, contextKeys(ctx, p, nil, extra))),
			})
			if res.Decision == policy.Allow {
				return nil
			}
			return &DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource, Reason: res.Reason, Matched: res.Matched}
		}
		return &DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource, Reason: policy.ReasonNoResourceAllow}
	}
	if p.Type == FederatedUser && strings.HasPrefix(strings.ToLower(action), "iam:") {
		// Federated users (GetFederationToken) cannot call IAM through the API at all.
		// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
		return &DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource}
	}
	set, err := a.principalSet(ctx, p)
	if err != nil {
		return fmt.Errorf("authz: gathering policies of %s: %w", p.ARN, err)
	}
	if set.missing || !sameEntity(p, set.id) {
		return &DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource, Reason: policy.ReasonNoIdentityAllow}
	}
	pset := &policy.Set{Identity: set.identity, Boundary: set.boundary, Resource: resourcePolicy}
	// A federated user's session policy is what grants it anything: without one, it has no permissions.
	// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
	if p.Session != nil && (len(p.Session.Policies) > 0 || len(p.Session.PolicyARNs) > 0 || p.Type == FederatedUser) {
		pset.Session = []*policy.Policy{}
		for i, doc := range p.Session.Policies {
			sp, err := a.Compile(doc, policy.KindSession, "session-policy-"+strconv.Itoa(i))
			if err != nil {
				return fmt.Errorf("authz: session policy: %w", err)
			}
			pset.Session = append(pset.Session, sp)
		}
		for _, policyARN := range p.Session.PolicyARNs {
			sp, err := a.managedPolicy(ctx, p.Account, policyARN, policy.KindSession)
			if err != nil {
				return err
			}
			if sp != nil {
				pset.Session = append(pset.Session, sp)
			}
		}
	}
	req := &policy.Request{
		Principal:       caller(p),
		Action:          action,
		Resource:        resource,
		ResourceAccount: resAccount,
		Context:         condition.NewMapContext(a.withOrg(ctx, p, contextKeys(ctx, p, set.tags, extra))),
	}
	res := policy.Evaluate(pset, req)
	if res.Decision == policy.Allow {
		return nil
	}
	return &DeniedError{PrincipalARN: p.ARN, Action: action, Resource: resource, Reason: res.Reason, Matched: res.Matched}
}

func caller(p *Principal) policy.Caller {
	c := policy.Caller{ARN: p.ARN, Account: p.Account}
	switch p.Type {
	case Root:
		c.Type = policy.CallerRoot
	case IAMUser:
		c.Type = policy.CallerUser
	case AssumedRole:
		c.Type = policy.CallerAssumedRole
		if p.Session != nil {
			c.SourceARN = p.Session.RoleARN
		}
	case FederatedUser:
		c.Type = policy.CallerFederatedUser
	}
	return c
}

// withOrg adds aws:PrincipalOrgID to keys when the principal's account belongs to an organization: trust and
// resource policies use it to admit every account of an organization at once.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid
func (a *Authorizer) withOrg(ctx context.Context, p *Principal, keys map[string][]string) map[string][]string {
	if id := a.orgOf(ctx, p.Account); id != "" {
		keys["aws:PrincipalOrgID"] = []string{id}
	}
	return keys
}

// orgOf returns the id of the organization account belongs to, or "" (also when the store cannot say: a condition
// on the key then fails, closed).
func (a *Authorizer) orgOf(ctx context.Context, account string) string {
	gen := a.gen.Load()
	a.mu.Lock()
	if a.orgs == nil || a.orgsGen != gen || len(a.orgs) > maxCompiled {
		a.orgs, a.orgsGen = map[string]string{}, gen
	}
	id, ok := a.orgs[account]
	a.mu.Unlock()
	if ok {
		return id
	}
	var m store.OrgAccount
	rec, err := a.store.GetByID(ctx, store.KindOrgAccount, account)
	switch {
	case err == nil:
		if json.Unmarshal(rec.Data, &m) != nil {
			return ""
		}
		id = m.OrgID
	case errors.Is(err, store.ErrNotFound):
	default:
		return ""
	}
	a.mu.Lock()
	if a.orgsGen == gen {
		a.orgs[account] = id
	}
	a.mu.Unlock()
	return id
}

// contextKeys builds the request's global condition keys.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
func contextKeys(ctx context.Context, p *Principal, tags map[string]string, extra map[string][]string) map[string][]string {
	r := RequestFrom(ctx)
	now := r.Time
	if now.IsZero() {
		now = time.Now().UTC()
	}
	m := map[string][]string{
		"aws:PrincipalArn":          {principalARNForContext(p)},
		"aws:PrincipalAccount":      {p.Account},
		"aws:userid":                {p.UserID},
		"aws:PrincipalType":         {principalTypeValue(p.Type)},
		"aws:CurrentTime":           {now.Format(time.RFC3339)},
		"aws:EpochTime":             {strconv.FormatInt(now.Unix(), 10)},
		"aws:SecureTransport":       {strconv.FormatBool(r.SecureTransport)},
		"aws:PrincipalIsAWSService": {"false"},
		"aws:ViaAWSService":         {"false"},
	}
	if r.SourceIP != "" {
		m["aws:SourceIp"] = []string{r.SourceIP}
	}
	if r.UserAgent != "" {
		m["aws:UserAgent"] = []string{r.UserAgent}
	}
	if r.Region != "" {
		m["aws:RequestedRegion"] = []string{r.Region}
	}
	if p.Type == IAMUser {
		m["aws:username"] = []string{p.Name}
	}
	for k, v := range tags {
		m["aws:PrincipalTag/"+k] = []string{v}
	}
	if s := p.Session; s != nil {
		m["aws:TokenIssueTime"] = []string{s.Issued.UTC().Format(time.RFC3339)}
		m["aws:MultiFactorAuthPresent"] = []string{strconv.FormatBool(s.MFA)}
		if s.MFA {
			m["aws:MultiFactorAuthAge"] = []string{strconv.FormatInt(int64(now.Sub(s.MFAAuthTime).Seconds()), 10)}
		}
		if s.SourceIdentity != "" {
			m["aws:SourceIdentity"] = []string{s.SourceIdentity}
		}
		if s.FederatedProvider != "" {
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-federatedprovider
			m["aws:FederatedProvider"] = []string{s.FederatedProvider}
		}
		if s.RoleARN != "" {
			m["aws:PrincipalArn"] = []string{s.RoleARN}
		}
		if s.Kind == "InstanceProfile" {
			// Instance profile credentials name their instance, whose id is the session name.
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2sourceinstancearn
			m["ec2:SourceInstanceARN"] = []string{"arn:aws:ec2:" + r.Region + ":" + p.Account + ":instance/" + s.SessionName}
		}
		for k, v := range s.Tags {
			// A session tag replaces the role's (or user's) tag of the same key, and IAM compares tag keys without
			// regard to case: PROJECT=beta must not leave project=alpha beside it (the context would then hold both).
			for mk := range m {
				if len(mk) == len("aws:PrincipalTag/")+len(k) && strings.EqualFold(mk, "aws:PrincipalTag/"+k) {
					delete(m, mk)
				}
			}
			m["aws:PrincipalTag/"+k] = []string{v}
		}
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// allowAllPolicy stands for the root user's own permissions, which no policy limits.
const allowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// principalTypeValue is aws:PrincipalType: Account for root, User for IAM users.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltype
func principalTypeValue(t PrincipalType) string {
	switch t {
	case Root:
		return "Account"
	case IAMUser:
		return "User"
	}
	return string(t)
}

// sameEntity reports whether temporary credentials were issued to the entity whose policies were gathered (id).
// Long-term credentials are checked when the key is looked up.
func sameEntity(p *Principal, id string) bool {
	s := p.Session
	switch {
	case s == nil || id == "":
		return true
	case p.Type == AssumedRole:
		return s.RoleID == id
	case p.Type == IAMUser || p.Type == FederatedUser:
		return s.SourceID == id
	}
	return true
}

// principalARNForContext is aws:PrincipalArn: for a role session, the role's ARN, not the session's.
func principalARNForContext(p *Principal) string {
	if p.Session != nil && p.Session.RoleARN != "" {
		return p.Session.RoleARN
	}
	return p.ARN
}

// principalSet returns the cached identity-side policies of p, gathering them when the cache is stale.
func (a *Authorizer) principalSet(ctx context.Context, p *Principal) (*identitySet, error) {
	gen := a.gen.Load()
	key := string(p.Type) + "\x00" + p.Account + "\x00" + p.Name
	a.mu.Lock()
	s, ok := a.sets[key]
	a.mu.Unlock()
	if ok && s.gen == gen {
		return s, nil
	}
	s, err := a.gather(ctx, p)
	if err != nil {
		return nil, err
	}
	s.gen = gen
	a.mu.Lock()
	if len(a.sets) >= maxCompiled {
		a.sets = map[string]*identitySet{}
	}
	a.sets[key] = s
	a.mu.Unlock()
	return s, nil
}

// gather reads every identity-side policy of a user (its own and its groups') or of the role behind a session.
func (a *Authorizer) gather(ctx context.Context, p *Principal) (*identitySet, error) {
	s := &identitySet{}
	var kind, name string
	switch {
	case p.Type == FederatedUser && p.Name == "":
		// A federated user of the root user: root may do anything, so its session policy alone limits it.
		allowAll, err := a.Compile(allowAllPolicy, policy.KindIdentity, "root")
		if err != nil {
			return nil, err
		}
		s.identity = []*policy.Policy{allowAll}
		return s, nil
	case p.Type == IAMUser || p.Type == FederatedUser:
		kind, name = "user", p.Name
		var u store.User
		if err := getJSON(ctx, a.store, store.KindUser, p.Account, name, &u); err != nil {
			if isNotFound(err) {
				return &identitySet{missing: true}, nil
			}
			return nil, err
		}
		s.tags, s.id = tagMap(u.Tags), u.ID
		if err := a.setBoundary(ctx, s, p.Account, u.PermissionsBoundary); err != nil {
			return nil, err
		}
	case p.Type == AssumedRole:
		kind, name = "role", p.Name
		var r store.Role
		if err := getJSON(ctx, a.store, store.KindRole, p.Account, name, &r); err != nil {
			if isNotFound(err) {
				return &identitySet{missing: true}, nil
			}
			return nil, err
		}
		s.tags, s.id = tagMap(r.Tags), r.ID
		if err := a.setBoundary(ctx, s, p.Account, r.PermissionsBoundary); err != nil {
			return nil, err
		}
	default:
		return s, nil
	}
	if err := a.addPrincipalPolicies(ctx, s, p.Account, kind, name); err != nil {
		return nil, err
	}
	if kind == "user" {
		groups, err := store.ListJSON[store.Membership](ctx, a.store, store.KindMembershipByUser, p.Account, name+"/")
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if err := a.addPrincipalPolicies(ctx, s, p.Account, "group", g.Group); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func (a *Authorizer) setBoundary(ctx context.Context, s *identitySet, account, boundaryARN string) error {
	if boundaryARN == "" {
		return nil
	}
	b, err := a.managedPolicy(ctx, account, boundaryARN, policy.KindBoundary)
	if err != nil {
		return err
	}
	if b == nil {
		// A boundary whose policy is gone allows nothing: fail closed rather than drop the boundary.
		b, err = a.Compile(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, policy.KindBoundary, boundaryARN)
		if err != nil {
			return err
		}
	}
	s.boundary = b
	return nil
}

// addPrincipalPolicies adds the inline and attached managed policies of a user, group or role.
func (a *Authorizer) addPrincipalPolicies(ctx context.Context, s *identitySet, account, kind, name string) error {
	prefix := kind + "/" + name + "/"
	inline, err := store.ListJSON[store.InlinePolicy](ctx, a.store, store.KindInlinePolicy, account, prefix)
	if err != nil {
		return err
	}
	for _, ip := range inline {
		p, err := a.Compile(ip.Document, policy.KindIdentity, prefix+ip.Name)
		if err != nil {
			return fmt.Errorf("inline policy %s%s: %w", prefix, ip.Name, err)
		}
		s.identity = append(s.identity, p)
	}
	attached, err := store.ListJSON[store.Attachment](ctx, a.store, store.KindAttachment, account, prefix)
	if err != nil {
		return err
	}
	for _, at := range attached {
		p, err := a.managedPolicy(ctx, account, at.PolicyARN, policy.KindIdentity)
		if err != nil {
			return err
		}
		if p != nil {
			s.identity = append(s.identity, p)
		}
	}
	return nil
}

// managedPolicy compiles the default version of a managed policy (AWS-managed or the account's own); nil when it
// does not exist.
func (a *Authorizer) managedPolicy(ctx context.Context, account, policyARN string, kind policy.PolicyKind) (*policy.Policy, error) {
	if mp, ok := managed.Lookup(policyARN); ok {
		return a.Compile(mp.Document, kind, policyARN)
	}
	name := policyARN[strings.LastIndex(policyARN, "/")+1:]
	var mp store.ManagedPolicy
	err := getJSON(ctx, a.store, store.KindPolicy, account, name, &mp)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, v := range mp.Versions {
		if v.Default {
			return a.Compile(v.Document, kind, policyARN)
		}
	}
	return nil, nil
}

func tagMap(tags []store.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func getJSON(ctx context.Context, r store.Reader, kind store.Kind, account, key string, v any) error {
	_, err := store.GetJSON(ctx, r, kind, account, key, v)
	return err
}
