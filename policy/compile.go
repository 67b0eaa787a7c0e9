package policy

import (
	"errors"
	"sort"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/policy/condition"
	"github.com/persona-iam/persona/policy/wildcard"
)

// Policy is a compiled policy: action patterns indexed by service prefix,
// resource globs, principal sets and compiled conditions. It is immutable
// and safe for concurrent use by many evaluations.
type Policy struct {
	id    string
	kind  PolicyKind
	stmts []cstmt
	// bySvc maps a lower-cased service prefix ("s3") to the indexes of the
	// statements that can match an action of that service, in document
	// order; always holds the statements that can match any service
	// (NotAction, "*", a wildcard in the service part).
	bySvc  map[string][]int32
	always []int32
	vars   bool
	// single reports that the document wrote Statement as one object.
	single bool
	// keys are the document's context keys (Document.ContextKeys).
	keys []string
}

// StatementRef identifies a statement that took part in a decision.
type StatementRef struct {
	PolicyID string // the id given to Compile
	Kind     PolicyKind
	Index    int // 0-based position in the document's Statement list
	Sid      string
	// Start and End span the statement in the source document (zero for
	// documents built in code).
	Start, End Pos
}

// InvalidPolicyError is returned by Compile for a document with ERROR
// findings: IAM rejects such a document (MalformedPolicyDocument).
type InvalidPolicyError struct {
	Findings []Finding // the ERROR findings, in document order
}

// Error returns the first finding with its position, and how many more
// there are.
func (e *InvalidPolicyError) Error() string {
	if len(e.Findings) == 0 {
		return "invalid policy"
	}
	f := e.Findings[0]
	msg := f.Message
	if f.Pos.IsValid() {
		msg = posString(f.Pos) + ": " + msg
	}
	if n := len(e.Findings) - 1; n > 0 {
		msg += " (and " + itoa(n) + " more error"
		if n > 1 {
			msg += "s"
		}
		msg += ")"
	}
	return msg
}

// principalMatch says how a request's caller matched a Principal element.
// The strength matters in the same account: a resource-based policy that
// names the caller itself allows on its own, one that names the role a
// session came from is still limited by boundaries and session policies, and
// one that names only the account delegates to the account's IAM policies.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
type principalMatch uint8

const (
	matchNone    principalMatch = iota
	matchAccount                // the caller's account (root ARN or account id)
	matchSource                 // the role of a session, the IAM user of a federated user
	matchDirect                 // the caller's own ARN, "*", a service or federated provider
)

type cprincipal struct {
	any       bool
	accounts  []string
	arns      []string
	services  []string
	federated []string
	canonical []string
}

type resPattern struct {
	glob wildcard.Pattern
	vars []vpart // non-nil when the pattern uses policy variables
}

// cstmt is a compiled statement.
type cstmt struct {
	ref       StatementRef
	self      []StatementRef // ref as a one-element slice, shared by Results
	allow     bool
	notAction bool
	actions   []wildcard.Pattern
	// resources is nil when the statement has neither Resource nor
	// NotResource (trust policies), which matches every resource.
	resources    []resPattern
	notResource  bool
	principal    *cprincipal // nil: no Principal element
	notPrincipal bool
	conds        []*condition.Condition
}

// Compile validates doc for kind and compiles it. id names the policy in
// StatementRefs (an ARN, or "inline:role/name/policy"). A document with
// ERROR findings is rejected with an *InvalidPolicyError.
func Compile(doc *Document, kind PolicyKind, id string) (*Policy, error) {
	if doc == nil {
		return nil, errors.New("policy: nil document")
	}
	var errs []Finding
	for _, f := range Validate(doc, kind) {
		if f.Type == FindingError {
			errs = append(errs, f)
		}
	}
	if errs != nil {
		return nil, &InvalidPolicyError{Findings: errs}
	}
	vars := doc.UsesVariables()
	p := &Policy{id: id, kind: kind, stmts: make([]cstmt, len(doc.Statements)), bySvc: map[string][]int32{}, single: doc.SingleStatement, keys: doc.ContextKeys()}
	svcSets := map[string][]int32{}
	for i := range doc.Statements {
		s := &doc.Statements[i]
		c := &p.stmts[i]
		c.ref = StatementRef{PolicyID: id, Kind: kind, Index: i, Sid: s.Sid.Value, Start: s.Pos, End: s.End}
		c.allow = s.IsAllow()
		acts := s.Action
		if acts == nil {
			acts, c.notAction = s.NotAction, true
		}
		anySvc := c.notAction
		seen := map[string]bool{}
		for _, a := range acts.Values {
			c.actions = append(c.actions, wildcard.Compile(a.Value, true))
			svc, _, ok := strings.Cut(a.Value, ":")
			if !ok || strings.ContainsAny(svc, "*?") {
				anySvc = true
				continue
			}
			if ls := lowerASCII(svc); !seen[ls] {
				seen[ls] = true
				svcSets[ls] = append(svcSets[ls], int32(i))
			}
		}
		if anySvc {
			p.always = append(p.always, int32(i))
		}
		res := s.Resource
		if res == nil && s.NotResource != nil {
			res, c.notResource = s.NotResource, true
		}
		if res != nil {
			c.resources = make([]resPattern, 0, len(res.Values))
			for _, r := range res.Values {
				rp := resPattern{glob: wildcard.Compile(r.Value, false)}
				if vars {
					rp.vars = parseVariables(r.Value)
					p.vars = p.vars || rp.vars != nil
				}
				c.resources = append(c.resources, rp)
			}
		}
		pr := s.Principal
		if pr == nil && s.NotPrincipal != nil {
			pr, c.notPrincipal = s.NotPrincipal, true
		}
		if pr != nil {
			c.principal = compilePrincipal(pr)
		}
		for _, e := range s.Condition {
			vals := make([]string, len(e.Values.Values))
			for j, v := range e.Values.Values {
				vals[j] = v.Value
			}
			cond, err := condition.Compile(e.Operator.Value, e.Key.Value, vals, vars)
			if err != nil {
				// Validate compiles conditions too, so this is only reached
				// if the two disagree; fail closed rather than drop it.
				return nil, &InvalidPolicyError{Findings: []Finding{{Type: FindingError, Code: CodeInvalidCondition,
					Message: err.Error(), Pos: e.Operator.Pos, Path: stmtPath(doc, i) + ".Condition"}}}
			}
			c.conds = append(c.conds, cond)
			p.vars = p.vars || cond.HasVariables()
		}
		c.self = []StatementRef{c.ref}[:1:1]
	}
	// Each service's list is its own statements merged with the "always"
	// ones, in document order, so evaluation walks one slice.
	for svc, idx := range svcSets {
		merged := append(append([]int32(nil), idx...), p.always...)
		sort.Slice(merged, func(a, b int) bool { return merged[a] < merged[b] })
		p.bySvc[svc] = merged
	}
	return p, nil
}

// MustCompile is Compile for policies known to be valid (tests, built-in
// policies); it panics on error.
func MustCompile(doc []byte, kind PolicyKind, id string) *Policy {
	d, err := Parse(doc)
	if err != nil {
		panic("policy: " + err.Error())
	}
	p, err := Compile(d, kind, id)
	if err != nil {
		panic("policy: " + err.Error())
	}
	return p
}

// ID returns the id given to Compile.
func (p *Policy) ID() string { return p.id }

// Kind returns the kind given to Compile.
func (p *Policy) Kind() PolicyKind { return p.kind }

// HasVariables reports whether the policy uses policy variables, in which
// case evaluating it may allocate.
func (p *Policy) HasVariables() bool { return p.vars }

// SingleStatement reports whether the source document wrote Statement as
// one object rather than an array. The IAM policy simulator counts columns
// as if the array brackets were there (see SimulatorPositions).
func (p *Policy) SingleStatement() bool { return p.single }

// ContextKeys returns the condition keys and policy variables the policy
// refers to (see Document.ContextKeys). The slice is shared: do not modify.
func (p *Policy) ContextKeys() []string { return p.keys }

func compilePrincipal(pr *Principal) *cprincipal {
	c := &cprincipal{any: pr.Wildcard}
	for _, e := range pr.Entries {
		for _, v := range e.Values.Values {
			val := v.Value
			switch e.Type.Value {
			case PrincipalAWS:
				switch {
				case val == "*":
					c.any = true
				case arn.IsAccountID(val):
					c.accounts = append(c.accounts, val)
				default:
					// arn:aws:iam::123456789012:root names the account.
					if a, err := arn.Parse(val); err == nil && a.Service == "iam" && a.Resource == "root" {
						c.accounts = append(c.accounts, a.AccountID)
						continue
					}
					c.arns = append(c.arns, val)
				}
			case PrincipalService:
				c.services = append(c.services, lowerASCII(val))
			case PrincipalFederated:
				c.federated = append(c.federated, val)
			case PrincipalCanonicalUser:
				c.canonical = append(c.canonical, val)
			}
		}
	}
	return c
}

// match reports how the caller matches the principal set. Principal ARNs are
// compared exactly: IAM does not support wildcards in principal ARNs (only
// "*" on its own), and treating "arn:aws:iam::*:role/x" as a glob would
// grant more than IAM does.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
func (c *cprincipal) match(who *Caller) principalMatch {
	if c.any {
		return matchDirect
	}
	switch who.Type {
	case CallerService:
		for _, s := range c.services {
			if wildcard.EqualFoldASCII(s, who.ARN) {
				return matchDirect
			}
		}
		return matchNone
	case CallerWebIdentity, CallerSAML:
		for _, f := range c.federated {
			if f == who.ARN {
				return matchDirect
			}
		}
		return matchNone
	case CallerAnonymous:
		return matchNone
	}
	best := matchNone
	for _, a := range c.arns {
		if a == who.ARN {
			return matchDirect
		}
		if who.SourceARN != "" && a == who.SourceARN {
			best = matchSource
		}
	}
	if best == matchNone && who.Account != "" {
		for _, a := range c.accounts {
			if a == who.Account {
				if who.Type == CallerRoot {
					return matchDirect
				}
				return matchAccount
			}
		}
	}
	return best
}

// exempts reports whether a NotPrincipal set names the caller completely.
// AWS checks each principal in the caller's chain — the account, then the
// role, then the session (or the account, then the user) — so a Deny with
// NotPrincipal exempts a caller only when all of them are listed; listing
// just the session ARN still denies it through its account.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
func (c *cprincipal) exempts(who *Caller) bool {
	if c.any {
		return true
	}
	has := func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	switch who.Type {
	case CallerService:
		for _, s := range c.services {
			if wildcard.EqualFoldASCII(s, who.ARN) {
				return true
			}
		}
		return false
	case CallerWebIdentity, CallerSAML:
		return has(c.federated, who.ARN)
	case CallerAnonymous:
		return false
	case CallerRoot:
		return has(c.accounts, who.Account)
	}
	if !has(c.accounts, who.Account) || !has(c.arns, who.ARN) {
		return false
	}
	return who.SourceARN == "" || has(c.arns, who.SourceARN)
}

func stmtPath(d *Document, i int) string {
	if d.SingleStatement && len(d.Statements) == 1 {
		return "Statement"
	}
	return "Statement[" + itoa(i) + "]"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
