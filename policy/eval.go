package policy

import (
	"github.com/persona-iam/persona/policy/condition"
)

// CallerType is the kind of principal making a request.
type CallerType uint8

// The kinds of caller. The zero value is CallerAnonymous, so a Request whose
// caller was never filled in gets the least access (fail closed).
const (
	// CallerAnonymous is an unauthenticated request.
	CallerAnonymous CallerType = iota
	// CallerRoot is an account's root user.
	CallerRoot
	// CallerUser is an IAM user.
	CallerUser
	// CallerAssumedRole is a role session (AssumeRole*, instance profiles).
	CallerAssumedRole
	// CallerFederatedUser is a GetFederationToken session.
	CallerFederatedUser
	// CallerWebIdentity is an OIDC identity calling AssumeRoleWithWebIdentity.
	CallerWebIdentity
	// CallerSAML is a SAML identity calling AssumeRoleWithSAML.
	CallerSAML
	// CallerService is an AWS service principal ("ec2.amazonaws.com").
	CallerService
)

// Caller is the principal making a request.
type Caller struct {
	Type CallerType
	// ARN is the caller's own ARN: the user, the root
	// ("arn:aws:iam::123456789012:root"), the session
	// ("arn:aws:sts::123456789012:assumed-role/name/session") or the
	// federated user. For CallerService it is the service principal name;
	// for CallerWebIdentity and CallerSAML the identity provider as a trust
	// policy names it ("accounts.google.com" or the provider's ARN).
	ARN string
	// Account is the caller's 12-digit account id (empty for services and
	// federated identities).
	Account string
	// SourceARN is, for a role session, the role's ARN with its path
	// ("arn:aws:iam::123456789012:role/path/name"); for a federated user,
	// the ARN of the IAM user who called GetFederationToken. A
	// resource-based policy that names it applies to the session.
	SourceARN string
}

// hasIdentityPolicies reports whether the caller is an IAM principal whose
// own account's policies (identity, boundary, session, SCP) take part.
func (c *Caller) hasIdentityPolicies() bool {
	switch c.Type {
	case CallerRoot, CallerUser, CallerAssumedRole, CallerFederatedUser:
		return true
	}
	return false
}

// Request is one authorization question.
type Request struct {
	Principal Caller
	Action    string // "iam:CreateRole"; matched ignoring case
	// Resource is the resource ARN; "" means "*", for actions that do not
	// take a resource.
	Resource string
	// ResourceAccount is the account that owns the resource; "" means the
	// caller's account.
	ResourceAccount string
	// Context supplies condition keys and policy variables; nil means none.
	Context condition.Context
}

// Set holds every policy that applies to a request, compiled.
//
// To evaluate a role's trust policy for sts:AssumeRole, put the trust policy
// in Resource, the caller's policies in Identity (and Boundary, Session,
// SCPs), and ask for Action "sts:AssumeRole" on the role's ARN with
// ResourceAccount the role's account: that is how IAM evaluates it.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_compare-resource-policies.html
type Set struct {
	// Identity holds the caller's identity-based policies (its own and its
	// groups', inline and managed). Any of them may allow.
	Identity []*Policy
	// Resource is the resource-based policy, or nil.
	Resource *Policy
	// Boundary is the caller's permissions boundary, or nil for none. An
	// entity has at most one boundary, hence one policy, not a list.
	Boundary *Policy
	// Session holds the session policies of a role or federated-user
	// session (the inline policy and the managed PolicyArns); nil means the
	// session has none. Any of them may allow.
	Session []*Policy
	// SCPs holds the service control policies that apply to the caller's
	// account, one slice per level of the organization (root, each OU, the
	// account). nil means no organization layer. Every level must allow.
	// Leave it nil for the management account and for service-linked
	// roles, which SCPs do not restrict.
	// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
	SCPs [][]*Policy
	// RCPs holds the resource control policies for the resource's account,
	// like SCPs.
	RCPs [][]*Policy
}

// Decision is the outcome of an evaluation.
type Decision uint8

// The decisions, named as the IAM policy simulator names them.
const (
	// ImplicitDeny: nothing allowed the request (the default).
	ImplicitDeny Decision = iota
	// Allow: the request is allowed.
	Allow
	// ExplicitDeny: a Deny statement matched.
	ExplicitDeny
)

// String returns "allowed", "explicitDeny" or "implicitDeny", the
// simulator's EvalDecision values.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// Reason says which policy type decided a denial. It selects the suffix
// AWS puts in AccessDenied messages.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
type Reason uint8

// The reasons.
const (
	ReasonNone Reason = iota
	ReasonNoIdentityAllow
	ReasonNoResourceAllow
	ReasonNoBoundaryAllow
	ReasonNoSessionAllow
	ReasonNoSCPAllow
	ReasonNoRCPAllow
	ReasonDenyIdentity
	ReasonDenyResource
	ReasonDenyBoundary
	ReasonDenySession
	ReasonDenySCP
	ReasonDenyRCP
)

var reasonTypes = [...]string{
	ReasonNoIdentityAllow: "identity-based policy",
	ReasonNoResourceAllow: "resource-based policy",
	ReasonNoBoundaryAllow: "permissions boundary",
	ReasonNoSessionAllow:  "session policy",
	ReasonNoSCPAllow:      "service control policy",
	ReasonNoRCPAllow:      "resource control policy",
	ReasonDenyIdentity:    "identity-based policy",
	ReasonDenyResource:    "resource-based policy",
	ReasonDenyBoundary:    "permissions boundary",
	ReasonDenySession:     "session policy",
	ReasonDenySCP:         "service control policy",
	ReasonDenyRCP:         "resource control policy",
}

// Message returns the end of an AccessDenied message for action, as AWS
// words it: "because no identity-based policy allows the iam:CreateRole
// action" or "with an explicit deny in a resource-based policy". It is ""
// for ReasonNone.
func (r Reason) Message(action string) string {
	switch {
	case r == ReasonNone || int(r) >= len(reasonTypes):
		return ""
	case r == ReasonDenyIdentity:
		return "with an explicit deny in an " + reasonTypes[r]
	case r > ReasonDenyIdentity:
		return "with an explicit deny in a " + reasonTypes[r]
	}
	return "because no " + reasonTypes[r] + " allows the " + action + " action"
}

// Result is the outcome of Evaluate.
type Result struct {
	Decision Decision
	// Matched lists the statements that decided: the Deny statements that
	// matched (in any policy) for ExplicitDeny; for Allow, the matching
	// Allow statements of the identity-based and resource-based policies
	// (boundaries, session policies and SCPs only limit, so, as in the IAM
	// simulator's MatchedStatements, their statements are not listed);
	// nothing for ImplicitDeny. It may share memory with the compiled
	// policies: do not modify its elements.
	Matched []StatementRef
	// Missing lists the condition keys (and policy variables) the policies
	// asked for that the request context lacked, for the simulator's
	// MissingContextValues.
	Missing []string
	// Reason says which policy type caused a denial.
	Reason Reason
}

type emptyContext struct{}

func (emptyContext) Values(string) ([]string, bool) { return nil, false }

// policyEval is what one group of policies said about a request.
type policyEval struct {
	allow    bool
	deny     bool
	strength principalMatch // best principal match among allowing statements (resource policies)
}

// evaluator carries one evaluation's state. It lives on the stack; refs
// collects the deciding statements in a fixed array so that the common case
// of one deciding statement does not allocate.
type evaluator struct {
	req       *Request
	ctx       condition.Context
	missing   []string
	resource  string
	svc       string
	boundary  bool
	allowRefs [8]*cstmt
	nAllow    int
	denyRefs  [8]*cstmt
	nDeny     int
	overflow  []*cstmt // deciding statements beyond the arrays (rare)
	overDeny  []*cstmt
}

// Evaluate decides req against set with AWS's documented logic:
//
//  1. An explicit Deny in any applicable policy (identity, resource,
//     boundary, session, SCP, RCP) denies.
//  2. RCPs, when present, must allow at every level; SCPs likewise.
//  3. Same account: an Allow in the resource-based policy that names the
//     caller itself (user, session, federated user) allows on its own; one
//     that names the role of a session (or the IAM user behind a federated
//     user) also needs the boundary and session policies to allow; one
//     that names only the account delegates to identity-based policies.
//     Otherwise an identity-based Allow is needed, limited by the boundary
//     and session policies.
//  4. Cross-account: the caller's side (identity ∧ boundary ∧ session) and
//     the resource policy must both allow.
//  5. Services, web-identity and SAML callers and anonymous requests have
//     no identity side: only the resource policy can allow them.
//
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
//
// Evaluate does not allocate when no policy uses variables, no context key
// is missing and at most one statement decides.
func Evaluate(set *Set, req *Request) Result {
	var res Result
	EvaluateInto(set, req, &res)
	return res
}

// EvaluateInto is Evaluate writing into res. It reuses the capacity of
// res.Missing, so a caller that evaluates in a loop does not allocate for
// missing keys in steady state.
func EvaluateInto(set *Set, req *Request, res *Result) {
	e := evaluator{req: req, ctx: req.Context, missing: res.Missing[:0], resource: req.Resource}
	*res = Result{}
	if e.ctx == nil {
		e.ctx = emptyContext{}
	}
	if e.resource == "" {
		e.resource = "*"
	}
	e.svc = serviceOf(req.Action)
	e.boundary = set.Boundary != nil
	res.Decision, res.Reason = e.decide(set)
	if len(e.missing) > 0 {
		res.Missing = e.missing
	}
	switch res.Decision {
	case ExplicitDeny:
		res.Matched = collect(e.denyRefs[:e.nDeny], e.overDeny)
	case Allow:
		res.Matched = collect(e.allowRefs[:e.nAllow], e.overflow)
	}
}

func collect(refs []*cstmt, more []*cstmt) []StatementRef {
	if len(refs) == 1 && len(more) == 0 {
		return refs[0].self
	}
	if len(refs) == 0 {
		return nil
	}
	out := make([]StatementRef, 0, len(refs)+len(more))
	for _, s := range refs {
		out = append(out, s.ref)
	}
	for _, s := range more {
		out = append(out, s.ref)
	}
	return out
}

func (e *evaluator) decide(set *Set) (Decision, Reason) {
	who := &e.req.Principal
	idSide := who.hasIdentityPolicies()
	sameAccount := e.req.ResourceAccount == "" || e.req.ResourceAccount == who.Account

	// Evaluate every policy once: denies are collected everywhere before
	// any allow is trusted, because an explicit deny anywhere wins.
	var id, rp, bd, ss policyEval
	var scpDeny, scpAllow, rcpDeny, rcpAllow bool
	scpAllow, rcpAllow = true, true
	// Only identity-based and resource-based statements are reported as
	// granting, as the IAM simulator's MatchedStatements does; boundaries,
	// session policies and organization policies only limit.
	if idSide {
		id = e.any(set.Identity, true)
	}
	if set.Resource != nil {
		rp = e.policy(set.Resource, true)
	}
	if idSide && set.Boundary != nil {
		bd = e.policy(set.Boundary, false)
	}
	if idSide && set.Session != nil {
		ss = e.any(set.Session, false)
	}
	if idSide && set.SCPs != nil {
		scpAllow, scpDeny = e.levels(set.SCPs)
	}
	if set.RCPs != nil {
		rcpAllow, rcpDeny = e.levels(set.RCPs)
	}
	switch {
	case id.deny:
		return ExplicitDeny, ReasonDenyIdentity
	case rp.deny:
		return ExplicitDeny, ReasonDenyResource
	case bd.deny:
		return ExplicitDeny, ReasonDenyBoundary
	case ss.deny:
		return ExplicitDeny, ReasonDenySession
	case scpDeny:
		return ExplicitDeny, ReasonDenySCP
	case rcpDeny:
		return ExplicitDeny, ReasonDenyRCP
	case !rcpAllow:
		return ImplicitDeny, ReasonNoRCPAllow
	case !scpAllow:
		return ImplicitDeny, ReasonNoSCPAllow
	}

	if !idSide {
		// No identity side: the resource policy alone decides.
		if rp.allow && rp.strength >= matchSource {
			return Allow, ReasonNone
		}
		return ImplicitDeny, ReasonNoResourceAllow
	}

	// The root user is allowed everything its own account's policies do not
	// deny; it cannot have a boundary or session policies.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
	idAllow := id.allow || who.Type == CallerRoot
	bdOK := set.Boundary == nil || bd.allow
	ssOK := set.Session == nil || ss.allow

	// A role's trust policy must itself allow the caller (or its account), even in the same account: an
	// identity-based allow of sts:AssumeRole alone is not enough. ("Role trust policies and KMS key policies are
	// exceptions to this logic, because they must explicitly allow access for principals.")
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
	trustRequired := set.Resource != nil && set.Resource.kind == KindTrust
	if sameAccount {
		switch {
		case rp.allow && rp.strength == matchDirect:
			return Allow, ReasonNone
		case rp.allow && rp.strength == matchSource && bdOK && ssOK:
			return Allow, ReasonNone
		case idAllow && bdOK && ssOK && (rp.allow || !trustRequired):
			return Allow, ReasonNone
		}
		resourceGrant := rp.allow && rp.strength == matchSource
		switch {
		case !idAllow && !resourceGrant:
			return ImplicitDeny, ReasonNoIdentityAllow
		case !bdOK:
			return ImplicitDeny, ReasonNoBoundaryAllow
		case !ssOK:
			return ImplicitDeny, ReasonNoSessionAllow
		default:
			// Only an unnamed caller of a trust policy gets here.
			return ImplicitDeny, ReasonNoResourceAllow
		}
	}
	// Cross-account: both accounts must allow.
	switch {
	case !idAllow:
		return ImplicitDeny, ReasonNoIdentityAllow
	case !bdOK:
		return ImplicitDeny, ReasonNoBoundaryAllow
	case !ssOK:
		return ImplicitDeny, ReasonNoSessionAllow
	case !rp.allow:
		return ImplicitDeny, ReasonNoResourceAllow
	}
	return Allow, ReasonNone
}

// any evaluates a group of policies of which any may allow.
func (e *evaluator) any(ps []*Policy, grants bool) policyEval {
	var out policyEval
	for _, p := range ps {
		if p == nil {
			continue
		}
		r := e.policy(p, grants)
		out.allow = out.allow || r.allow
		out.deny = out.deny || r.deny
	}
	return out
}

// levels evaluates organization policies: every level must allow.
func (e *evaluator) levels(ls [][]*Policy) (allow, deny bool) {
	allow = true
	for _, l := range ls {
		r := e.any(l, false)
		deny = deny || r.deny
		allow = allow && r.allow
	}
	return allow, deny
}

// policy evaluates the statements of p that can match the action. Matching
// Deny statements are always recorded; matching Allow statements only when
// grants is set.
func (e *evaluator) policy(p *Policy, grants bool) policyEval {
	var out policyEval
	idx, ok := lookupService(p.bySvc, e.svc)
	if !ok {
		idx = p.always
	}
	for _, i := range idx {
		s := &p.stmts[i]
		m := e.statement(s)
		if m == matchNone {
			continue
		}
		if s.allow {
			out.allow = true
			if m > out.strength {
				out.strength = m
			}
			if !grants {
				continue
			}
			if e.nAllow < len(e.allowRefs) {
				e.allowRefs[e.nAllow] = s
				e.nAllow++
			} else {
				e.overflow = append(e.overflow, s)
			}
		} else {
			out.deny = true
			if e.nDeny < len(e.denyRefs) {
				e.denyRefs[e.nDeny] = s
				e.nDeny++
			} else {
				e.overDeny = append(e.overDeny, s)
			}
		}
	}
	return out
}

// statement reports whether s applies to the request and, for statements
// with a Principal, how the caller matched (matchDirect when there is no
// Principal element).
func (e *evaluator) statement(s *cstmt) principalMatch {
	if !s.matchAction(e.req.Action) {
		return matchNone
	}
	if !e.matchResource(s) {
		return matchNone
	}
	m := matchDirect
	switch {
	case s.principal == nil:
	case s.notPrincipal:
		// A Deny with NotPrincipal always applies to a caller with a
		// permissions boundary, whatever it lists, as AWS documents.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
		if s.principal.exempts(&e.req.Principal) && !(e.boundary && !s.allow) {
			return matchNone
		}
	default:
		if m = s.principal.match(&e.req.Principal); m == matchNone {
			return matchNone
		}
	}
	for _, c := range s.conds {
		if !c.Evaluate(e.ctx, &e.missing) {
			return matchNone
		}
	}
	return m
}

func (s *cstmt) matchAction(action string) bool {
	for i := range s.actions {
		if s.actions[i].Match(action) {
			return !s.notAction
		}
	}
	return s.notAction
}

func (e *evaluator) matchResource(s *cstmt) bool {
	if s.resources == nil {
		return true
	}
	for i := range s.resources {
		r := &s.resources[i]
		var ok bool
		if r.vars != nil {
			ok = matchVariables(r.vars, e.ctx, e.resource, &e.missing)
		} else {
			ok = r.glob.Match(e.resource)
		}
		if ok {
			return !s.notResource
		}
	}
	return s.notResource
}

// serviceOf returns the service prefix of an action ("iam" for
// "iam:CreateRole"), as written.
func serviceOf(action string) string {
	for i := 0; i < len(action); i++ {
		if action[i] == ':' {
			return action[:i]
		}
	}
	return action
}

// lookupService finds svc in m ignoring ASCII case without allocating.
func lookupService(m map[string][]int32, svc string) ([]int32, bool) {
	if len(svc) > 64 {
		v, ok := m[lowerASCII(svc)]
		return v, ok
	}
	var buf [64]byte
	n := copy(buf[:], svc)
	for i := 0; i < n; i++ {
		buf[i] = lowerByte(buf[i])
	}
	v, ok := m[string(buf[:n])]
	return v, ok
}
