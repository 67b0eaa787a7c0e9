package policy_test

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// The vocabulary of the random policies and requests: small on purpose, so
// that random statements often match random requests.
var (
	propActions   = []string{"s3:GetObject", "s3:PutObject", "s3:Get*", "s3:*", "ec2:RunInstances", "ec2:Describe*", "iam:CreateUser", "*", "S3:getobject"}
	propResources = []string{"*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:s3:::other/*", "arn:aws:ec2:us-east-1:111122223333:instance/*", "arn:aws:s3:::home/${aws:username}/*"}
	propReqRes    = []string{"", "arn:aws:s3:::b/k", "arn:aws:s3:::other/x", "arn:aws:s3:::home/alice/f", "arn:aws:ec2:us-east-1:111122223333:instance/i-1"}
	propReqAct    = []string{"s3:GetObject", "s3:PutObject", "ec2:RunInstances", "ec2:DescribeInstances", "iam:CreateUser"}
	propConds     = [][3]string{
		{"StringEquals", "aws:username", "alice"},
		{"StringNotEquals", "aws:username", "bob"},
		{"Bool", "aws:SecureTransport", "true"},
		{"IpAddress", "aws:SourceIp", "10.0.0.0/8"},
		{"StringLikeIfExists", "aws:PrincipalTag/team", "red*"},
		{"ForAnyValue:StringEquals", "aws:TagKeys", "env"},
	}
	propPrincipals = []func() *policy.Principal{
		func() *policy.Principal { return &policy.Principal{Wildcard: true} },
		func() *policy.Principal { return awsPrincipal("111122223333") },
		func() *policy.Principal { return awsPrincipal("444455556666") },
		func() *policy.Principal { return awsPrincipal("arn:aws:iam::111122223333:user/alice") },
		func() *policy.Principal { return awsPrincipal("arn:aws:iam::111122223333:role/app") },
		func() *policy.Principal { return awsPrincipal("arn:aws:sts::111122223333:assumed-role/app/s") },
	}
	propCallers = []policy.Caller{
		{Type: policy.CallerUser, ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"},
		{Type: policy.CallerAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/app/s", Account: "111122223333", SourceARN: "arn:aws:iam::111122223333:role/app"},
		{Type: policy.CallerRoot, ARN: "arn:aws:iam::111122223333:root", Account: "111122223333"},
		{Type: policy.CallerUser, ARN: "arn:aws:iam::444455556666:user/bob", Account: "444455556666"},
		{Type: policy.CallerAnonymous},
		{Type: policy.CallerService, ARN: "ec2.amazonaws.com"},
	}
)

func awsPrincipal(v string) *policy.Principal {
	return &policy.Principal{Entries: []policy.PrincipalEntry{{Type: policy.String{Value: policy.PrincipalAWS}, Values: policy.List{Values: []policy.String{{Value: v}}}}}}
}

func list(vals ...string) *policy.List {
	l := &policy.List{}
	for _, v := range vals {
		l.Values = append(l.Values, policy.String{Value: v})
	}
	return l
}

func randStatement(r *rand.Rand, effect string, withPrincipal bool) policy.Statement {
	s := policy.Statement{Effect: policy.String{Value: effect}}
	acts := list(propActions[r.IntN(len(propActions))])
	if r.IntN(6) == 0 {
		s.NotAction = acts
	} else {
		s.Action = acts
	}
	res := list(propResources[r.IntN(len(propResources))])
	if r.IntN(6) == 0 {
		s.NotResource = res
	} else {
		s.Resource = res
	}
	if withPrincipal {
		s.Principal = propPrincipals[r.IntN(len(propPrincipals))]()
	}
	if r.IntN(3) == 0 {
		c := propConds[r.IntN(len(propConds))]
		s.Condition = []policy.ConditionEntry{{Operator: policy.String{Value: c[0]}, Key: policy.String{Value: c[1]}, Values: *list(c[2])}}
	}
	return s
}

// propSet is a random set of documents, kept as documents so that a
// statement can be added and the set recompiled.
type propSet struct {
	identity []*policy.Document
	resource *policy.Document
	boundary *policy.Document
	session  []*policy.Document
	scps     [][]*policy.Document
}

func randDoc(r *rand.Rand, n int, withPrincipal bool) *policy.Document {
	d := &policy.Document{Version: policy.String{Value: policy.Version2012}}
	for range n {
		effect := policy.EffectAllow
		if r.IntN(4) == 0 {
			effect = policy.EffectDeny
		}
		d.Statements = append(d.Statements, randStatement(r, effect, withPrincipal))
	}
	return d
}

func randSet(r *rand.Rand) *propSet {
	s := &propSet{}
	for range r.IntN(3) {
		s.identity = append(s.identity, randDoc(r, 1+r.IntN(3), false))
	}
	if r.IntN(2) == 0 {
		s.resource = randDoc(r, 1+r.IntN(3), true)
	}
	if r.IntN(4) == 0 {
		s.boundary = randDoc(r, 1+r.IntN(2), false)
	}
	if r.IntN(4) == 0 {
		s.session = []*policy.Document{randDoc(r, 1+r.IntN(2), false)}
	}
	if r.IntN(4) == 0 {
		s.scps = [][]*policy.Document{{randDoc(r, 1+r.IntN(2), false)}}
	}
	return s
}

func (p *propSet) compile(t *testing.T) *policy.Set {
	t.Helper()
	c := func(d *policy.Document, k policy.PolicyKind) *policy.Policy {
		pol, err := policy.Compile(d, k, k.String())
		if err != nil {
			t.Fatalf("%v\n%s", err, d.Format())
		}
		return pol
	}
	s := &policy.Set{}
	for _, d := range p.identity {
		s.Identity = append(s.Identity, c(d, policy.KindIdentity))
	}
	if p.resource != nil {
		s.Resource = c(p.resource, policy.KindResource)
	}
	if p.boundary != nil {
		s.Boundary = c(p.boundary, policy.KindBoundary)
	}
	for _, d := range p.session {
		s.Session = append(s.Session, c(d, policy.KindSession))
	}
	for _, l := range p.scps {
		var lv []*policy.Policy
		for _, d := range l {
			lv = append(lv, c(d, policy.KindSCP))
		}
		s.SCPs = append(s.SCPs, lv)
	}
	return s
}

// withStatement returns a copy of p with st appended to one of its
// documents, chosen at random among those that exist (a new identity
// policy when there are none).
func (p *propSet) withStatement(r *rand.Rand, effect string) *propSet {
	q := *p
	add := func(d *policy.Document, principal bool) *policy.Document {
		n := *d
		n.Statements = append(append([]policy.Statement(nil), d.Statements...), randStatement(r, effect, principal))
		return &n
	}
	switch choice := r.IntN(5); {
	case choice == 1 && q.resource != nil:
		q.resource = add(q.resource, true)
	case choice == 2 && q.boundary != nil:
		q.boundary = add(q.boundary, false)
	case choice == 3 && q.session != nil:
		q.session = []*policy.Document{add(q.session[0], false)}
	case choice == 4 && q.scps != nil:
		q.scps = [][]*policy.Document{{add(q.scps[0][0], false)}}
	default:
		if len(q.identity) == 0 {
			q.identity = []*policy.Document{{Version: policy.String{Value: policy.Version2012}}}
		}
		i := r.IntN(len(q.identity))
		q.identity = append([]*policy.Document(nil), q.identity...)
		q.identity[i] = add(q.identity[i], false)
	}
	return &q
}

func randRequest(r *rand.Rand) *policy.Request {
	ctx := map[string][]string{}
	if r.IntN(2) == 0 {
		ctx["aws:username"] = []string{[]string{"alice", "bob"}[r.IntN(2)]}
	}
	if r.IntN(2) == 0 {
		ctx["aws:SecureTransport"] = []string{[]string{"true", "false"}[r.IntN(2)]}
	}
	if r.IntN(2) == 0 {
		ctx["aws:SourceIp"] = []string{[]string{"10.1.2.3", "192.0.2.1"}[r.IntN(2)]}
	}
	if r.IntN(3) == 0 {
		ctx["aws:TagKeys"] = []string{"env", "team"}[:1+r.IntN(2)]
	}
	req := &policy.Request{
		Principal: propCallers[r.IntN(len(propCallers))],
		Action:    propReqAct[r.IntN(len(propReqAct))],
		Resource:  propReqRes[r.IntN(len(propReqRes))],
		Context:   condition.NewMapContext(ctx),
	}
	if r.IntN(3) == 0 {
		req.ResourceAccount = "444455556666"
	}
	return req
}

// TestPropertyDenyNeverAllows: adding a Deny statement to any policy never
// turns a denial into an allow, and never undoes an explicit deny.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
func TestPropertyDenyNeverAllows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	decisions := map[policy.Decision]int{}
	for i := 0; i < 3000; i++ {
		base := randSet(r)
		req := randRequest(r)
		before := policy.Evaluate(base.compile(t), req)
		decisions[before.Decision]++
		after := policy.Evaluate(base.withStatement(r, policy.EffectDeny).compile(t), req)
		if before.Decision != policy.Allow && after.Decision == policy.Allow {
			t.Fatalf("case %d: adding a Deny turned %v into allowed", i, before.Decision)
		}
		if before.Decision == policy.ExplicitDeny && after.Decision != policy.ExplicitDeny {
			t.Fatalf("case %d: adding a Deny undid an explicit deny (now %v)", i, after.Decision)
		}
	}
	// The generator must exercise every outcome, or the property is vacuous.
	for _, d := range []policy.Decision{policy.Allow, policy.ImplicitDeny, policy.ExplicitDeny} {
		if decisions[d] < 50 {
			t.Errorf("only %d random cases decided %v; the generator is too narrow", decisions[d], d)
		}
	}
}

// TestPropertyAllowNeverUndoesDeny: adding an Allow statement never undoes
// an explicit deny.
func TestPropertyAllowNeverUndoesDeny(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	denies := 0
	for i := 0; i < 3000; i++ {
		base := randSet(r)
		req := randRequest(r)
		before := policy.Evaluate(base.compile(t), req)
		if before.Decision != policy.ExplicitDeny {
			continue
		}
		denies++
		after := policy.Evaluate(base.withStatement(r, policy.EffectAllow).compile(t), req)
		if after.Decision != policy.ExplicitDeny {
			t.Fatalf("case %d: adding an Allow turned an explicit deny into %v", i, after.Decision)
		}
		if diff := cmp.Diff(before.Reason, after.Reason); diff != "" {
			t.Fatalf("case %d: reason mismatch (-want +got):\n%s", i, diff)
		}
	}
	if denies < 50 {
		t.Errorf("only %d explicit denies among the random cases; the generator is too narrow", denies)
	}
}

// TestPropertyMatchingDenyWins: a Deny that matches every request, added to
// a policy that applies to the request, always gives an explicit deny.
func TestPropertyMatchingDenyWins(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tested := 0
	for i := 0; i < 2000; i++ {
		base := randSet(r)
		req := randRequest(r)
		denyAll := policy.Statement{Effect: policy.String{Value: policy.EffectDeny}, Action: list("*"), Resource: list("*")}
		q := *base
		idSide := req.Principal.Type != policy.CallerAnonymous && req.Principal.Type != policy.CallerService
		switch {
		case base.resource != nil && (r.IntN(2) == 0 || !idSide):
			d := *base.resource
			denyAll.Principal = &policy.Principal{Wildcard: true}
			d.Statements = append(append([]policy.Statement(nil), d.Statements...), denyAll)
			q.resource = &d
		case idSide:
			q.identity = append(append([]*policy.Document(nil), base.identity...),
				&policy.Document{Version: policy.String{Value: policy.Version2012}, Statements: []policy.Statement{denyAll}})
		default:
			continue
		}
		tested++
		if got := policy.Evaluate(q.compile(t), req).Decision; got != policy.ExplicitDeny {
			t.Fatalf("case %d: a Deny of everything gave %v", i, got)
		}
	}
	if tested < 1000 {
		t.Errorf("only %d cases tested", tested)
	}
}
