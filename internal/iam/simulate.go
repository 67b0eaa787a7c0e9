package iam

import (
	"context"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// The IAM policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy and GetContextKeysFor{Custom,Principal}Policy.
// It decides with the engine that enforces requests (policy.Evaluate over policies compiled by authz's cache), so a
// simulation and a real call cannot disagree.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html

// OrganizationPolicy is a service control policy: an id for MatchedStatements and its JSON document.
type OrganizationPolicy struct {
	ID       string
	Document string
}

// SCPSource returns the service control policies that apply to account, one slice per level of its organization
// (root, each OU, the account itself), or nil when the account is in no organization or is the management account,
// which SCPs do not restrict.
type SCPSource func(ctx context.Context, account string) ([][]OrganizationPolicy, error)

// Source policy types in MatchedStatements. IAM answers "IAM Policy" for identity-based policies (inline, managed
// and the PolicyInputList), a value its model's enum does not list; "resource" is the enum's value for the
// ResourcePolicy.
const (
	sourceIAMPolicy = "IAM Policy"
	sourceResource  = "resource"
	sourceNone      = "none"
)

// simulation is everything one Simulate*Policy call evaluates.
type simulation struct {
	set      policy.Set
	caller   policy.Caller
	owner    string // account owning resources whose ARN names none
	context  condition.MapContext
	names    map[string]simSource // policy id → how MatchedStatements names it
	allowAll *policy.Policy       // stands in for the identity side when judging SCPs alone
}

type simSource struct {
	id, typ string
	single  bool
}

func (sim *simulation) add(p *policy.Policy, id, typ string) *policy.Policy {
	if sim.names == nil {
		sim.names = map[string]simSource{}
	}
	sim.names[p.ID()] = simSource{id: id, typ: typ, single: p.SingleStatement()}
	return p
}

// compileInputs compiles a *PolicyInputList; a document that is not a valid policy is InvalidInput naming it.
func (s *Service) compileInputs(sim *simulation, param string, docs []string, kind policy.PolicyKind) ([]*policy.Policy, error) {
	out := make([]*policy.Policy, 0, len(docs))
	for i, doc := range docs {
		id := param + "." + strconv.Itoa(i+1)
		p, err := s.authz.Compile(doc, kind, id)
		if err != nil {
			return nil, iamapi.InvalidInput("%s is not a valid policy: %s", id, err.Error())
		}
		out = append(out, sim.add(p, id, sourceIAMPolicy))
	}
	return out, nil
}

// prepare fills in what both simulate operations share: the boundary and resource policies, the caller, the
// resource owner, the context entries and the SCPs of the caller's account.
func (s *Service) prepare(ctx context.Context, sim *simulation, boundaries []string, resourcePolicy, callerARN, resourceOwner string, entries []iamapi.ContextEntry, requester *authz.Principal) error {
	if len(boundaries) > 1 {
		return iamapi.InvalidInput("PermissionsBoundaryPolicyInputList accepts one permissions boundary; %d were given.", len(boundaries))
	}
	if len(boundaries) == 1 {
		// An input boundary replaces the entity's own: an entity has one boundary at a time.
		b, err := s.compileInputs(sim, "PermissionsBoundaryPolicyInputList", boundaries, policy.KindBoundary)
		if err != nil {
			return err
		}
		sim.set.Boundary = b[0]
	}
	account := requester.Account
	if callerARN != "" {
		a, err := arn.Parse(callerARN)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "user/") || !isAccountID(a.AccountID) {
			return iamapi.InvalidInput("CallerArn %s is not the ARN of an IAM user: the simulated caller can only be an IAM user.", callerARN)
		}
		account = a.AccountID
		sim.caller = policy.Caller{Type: policy.CallerUser, ARN: callerARN, Account: account}
	} else {
		sim.caller = policy.Caller{Type: policy.CallerUser, Account: account}
	}
	if resourcePolicy != "" {
		if callerARN == "" {
			return iamapi.InvalidInput("CallerArn is required when ResourcePolicy is given, so that the resource policy's Principal element has a caller to match.")
		}
		p, err := s.authz.Compile(resourcePolicy, policy.KindResource, "ResourcePolicy")
		if err != nil {
			return iamapi.InvalidInput("ResourcePolicy is not a valid resource-based policy: %s", err.Error())
		}
		sim.set.Resource = sim.add(p, "ResourcePolicy", sourceResource)
	}
	sim.owner = account
	if resourceOwner != "" {
		owner, ok := ownerAccount(resourceOwner)
		if !ok {
			return iamapi.InvalidInput("ResourceOwner %s is not an account: use an account id or arn:aws:iam::ACCOUNT-ID:root.", resourceOwner)
		}
		sim.owner = owner
	}
	m, err := contextEntries(entries)
	if err != nil {
		return err
	}
	sim.context = condition.NewMapContext(m)
	if s.scps != nil {
		levels, err := s.scps(ctx, account)
		if err != nil {
			return err
		}
		for _, level := range levels {
			var ps []*policy.Policy
			for _, op := range level {
				p, err := s.authz.Compile(op.Document, policy.KindSCP, "scp/"+op.ID)
				if err != nil {
					return err
				}
				ps = append(ps, sim.add(p, op.ID, sourceNone))
			}
			sim.set.SCPs = append(sim.set.SCPs, ps)
		}
		if sim.set.SCPs != nil {
			sim.allowAll, err = s.authz.Compile(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, policy.KindIdentity, "simulator/allow-all")
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ownerAccount accepts ResourceOwner as an account id or an account's root ARN.
func ownerAccount(v string) (string, bool) {
	if isAccountID(v) {
		return v, true
	}
	a, err := arn.Parse(v)
	if err != nil || a.Service != "iam" || a.Resource != "root" || !isAccountID(a.AccountID) {
		return "", false
	}
	return a.AccountID, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// contextEntries checks each entry's values against its ContextKeyType and returns them by key. A key given twice
// gets the values of both entries.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
func contextEntries(entries []iamapi.ContextEntry) (map[string][]string, error) {
	m := make(map[string][]string, len(entries))
	for i, e := range entries {
		where := "ContextEntries.member." + strconv.Itoa(i+1)
		if e.ContextKeyName == "" {
			return nil, iamapi.InvalidInput("%s: ContextKeyName is required.", where)
		}
		typ := string(e.ContextKeyType)
		if typ == "" {
			typ = "string"
		}
		base, list := strings.CutSuffix(typ, "List")
		if !list && len(e.ContextKeyValues) > 1 {
			return nil, iamapi.InvalidInput("%s: context key %s has type %s, which takes one value; %d were given (use %sList).",
				where, e.ContextKeyName, typ, len(e.ContextKeyValues), typ)
		}
		for _, v := range e.ContextKeyValues {
			if !validContextValue(base, v) {
				return nil, iamapi.InvalidInput("%s: value %q of context key %s is not a valid %s.", where, v, e.ContextKeyName, base)
			}
		}
		m[e.ContextKeyName] = append(m[e.ContextKeyName], e.ContextKeyValues...)
	}
	return m, nil
}

func validContextValue(typ, v string) bool {
	switch typ {
	case "string":
		return true
	case "numeric":
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case "boolean":
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case "ip":
		if _, err := netip.ParseAddr(v); err == nil {
			return true
		}
		_, err := netip.ParsePrefix(v)
		return err == nil
	case "binary":
		_, err := base64.StdEncoding.DecodeString(v)
		return err == nil
	case "date":
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return true // epoch seconds
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
			if _, err := time.Parse(layout, v); err == nil {
				return true
			}
		}
		return false
	}
	return false
}

// resourceHandlingOptions are the EC2 scenarios the simulator knows.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
var resourceHandlingOptions = map[string]bool{
	"EC2-VPC-InstanceStore": true, "EC2-VPC-InstanceStore-Subnet": true, "EC2-VPC-EBS": true, "EC2-VPC-EBS-Subnet": true,
	"EC2-Classic-InstanceStore": true, "EC2-Classic-EBS": true,
}

// run evaluates every action on every resource and returns the page of results Marker and MaxItems select.
func (s *Service) run(sim *simulation, actions, resources []string, option, marker string, max *int32) (*iamapi.SimulatePolicyResponse, error) {
	for _, a := range actions {
		svc, name, ok := strings.Cut(a, ":")
		if !ok || svc == "" || name == "" || strings.ContainsAny(a, "*?") {
			return nil, iamapi.InvalidInput("Action %s is not valid: an action name is service:Operation, such as iam:CreateUser, without wildcards.", a)
		}
	}
	if option != "" && !resourceHandlingOptions[option] {
		return nil, iamapi.InvalidInput("ResourceHandlingOption %s is not one of the supported scenarios.", option)
	}
	explicit := len(resources) > 0
	if !explicit {
		resources = []string{"*"}
	}
	var results []iamapi.EvaluationResult
	for _, a := range actions {
		if option != "" {
			results = append(results, sim.scenario(a, resources))
			continue
		}
		for _, r := range resources {
			results = append(results, sim.result(a, r, explicit && r != "*"))
		}
	}
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n <= 0 || n >= len(results) {
			return nil, iamapi.InvalidInput("Marker %s does not continue this simulation: pass the Marker of the previous page.", marker)
		}
		start = n
	}
	end := start + maxItems(max)
	out := &iamapi.SimulatePolicyResponse{IsTruncated: new(bool)}
	if end < len(results) {
		*out.IsTruncated = true
		out.Marker = strconv.Itoa(end)
	} else {
		end = len(results)
	}
	out.EvaluationResults = results[start:end]
	return out, nil
}

// evaluate decides action on resource.
func (sim *simulation) evaluate(action, resource string) (policy.Result, *policy.Request) {
	req := &policy.Request{Principal: sim.caller, Action: action, Resource: resource, ResourceAccount: sim.owner, Context: sim.context}
	if resource != "*" {
		// The ARN's own account wins; ResourceOwner is for ARNs that name none (S3 buckets and objects).
		if a, err := arn.Parse(resource); err == nil && isAccountID(a.AccountID) {
			req.ResourceAccount = a.AccountID
		}
	}
	return policy.Evaluate(&sim.set, req), req
}

// result is the EvaluationResult for one action on one resource. With explicit resources the result carries one
// ResourceSpecificResult, and the missing context keys move there, as IAM answers.
func (sim *simulation) result(action, resource string, explicit bool) iamapi.EvaluationResult {
	res, req := sim.evaluate(action, resource)
	out := iamapi.EvaluationResult{
		EvalActionName:    action,
		EvalResourceName:  resource,
		EvalDecision:      iamapi.PolicyEvaluationDecisionType(res.Decision.String()),
		MatchedStatements: sim.statements(res.Matched),
	}
	out.PermissionsBoundaryDecisionDetail, out.OrganizationsDecisionDetail = sim.details(req)
	missing := append([]string{}, res.Missing...)
	if !explicit {
		out.MissingContextValues = missing
		return out
	}
	out.ResourceSpecificResults = []iamapi.ResourceSpecificResult{{
		EvalResourceName:                  resource,
		EvalResourceDecision:              out.EvalDecision,
		MatchedStatements:                 out.MatchedStatements,
		MissingContextValues:              missing,
		PermissionsBoundaryDecisionDetail: out.PermissionsBoundaryDecisionDetail,
	}}
	return out
}

// scenario is the EvaluationResult of an action under a ResourceHandlingOption: the action needs every resource of
// the scenario, so it is allowed only when each is, and denied explicitly when any is.
func (sim *simulation) scenario(action string, resources []string) iamapi.EvaluationResult {
	out := iamapi.EvaluationResult{EvalActionName: action, EvalDecision: iamapi.PolicyEvaluationDecisionType(policy.Allow.String())}
	worst := policy.Allow
	for _, r := range resources {
		one := sim.result(action, r, true)
		rsr := one.ResourceSpecificResults[0]
		out.ResourceSpecificResults = append(out.ResourceSpecificResults, rsr)
		d := decisionOf(rsr.EvalResourceDecision)
		switch {
		case d == policy.ExplicitDeny:
			worst = d
		case d == policy.ImplicitDeny && worst == policy.Allow:
			worst = d
		}
		for _, st := range rsr.MatchedStatements {
			out.MatchedStatements = appendStatement(out.MatchedStatements, st)
		}
		if out.OrganizationsDecisionDetail == nil {
			out.OrganizationsDecisionDetail = one.OrganizationsDecisionDetail
		}
	}
	out.EvalDecision = iamapi.PolicyEvaluationDecisionType(worst.String())
	if worst != policy.Allow {
		// Only the statements behind the final decision count.
		out.MatchedStatements = nil
		for _, rsr := range out.ResourceSpecificResults {
			if decisionOf(rsr.EvalResourceDecision) == worst {
				for _, st := range rsr.MatchedStatements {
					out.MatchedStatements = appendStatement(out.MatchedStatements, st)
				}
			}
		}
	}
	return out
}

func decisionOf(d iamapi.PolicyEvaluationDecisionType) policy.Decision {
	switch string(d) {
	case "allowed":
		return policy.Allow
	case "explicitDeny":
		return policy.ExplicitDeny
	}
	return policy.ImplicitDeny
}

func appendStatement(list []iamapi.Statement, st iamapi.Statement) []iamapi.Statement {
	for _, have := range list {
		if have.SourcePolicyId == st.SourcePolicyId && have.SourcePolicyType == st.SourcePolicyType &&
			*have.StartPosition.Line == *st.StartPosition.Line && *have.StartPosition.Column == *st.StartPosition.Column {
			return list
		}
	}
	return append(list, st)
}

// details says, when the simulation has a permissions boundary or SCPs, whether each alone allows the request.
func (sim *simulation) details(req *policy.Request) (*iamapi.PermissionsBoundaryDecisionDetail, *iamapi.OrganizationsDecisionDetail) {
	var pb *iamapi.PermissionsBoundaryDecisionDetail
	var org *iamapi.OrganizationsDecisionDetail
	if sim.set.Boundary != nil {
		r := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{sim.set.Boundary}}, req)
		ok := r.Decision == policy.Allow
		pb = &iamapi.PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: &ok}
	}
	if sim.set.SCPs != nil {
		r := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{sim.allowAll}, SCPs: sim.set.SCPs}, req)
		ok := r.Decision == policy.Allow
		org = &iamapi.OrganizationsDecisionDetail{AllowedByOrganizations: &ok}
	}
	return pb, org
}

// statements turns the engine's deciding statements into MatchedStatements.
func (sim *simulation) statements(refs []policy.StatementRef) []iamapi.Statement {
	out := make([]iamapi.Statement, 0, len(refs))
	for _, ref := range refs {
		src, ok := sim.names[ref.PolicyID]
		if !ok {
			src = simSource{id: ref.PolicyID, typ: sourceNone}
		}
		start, end := policy.SimulatorPositions(ref, src.single)
		out = append(out, iamapi.Statement{
			SourcePolicyId:   src.id,
			SourcePolicyType: iamapi.PolicySourceType(src.typ),
			StartPosition:    position(start),
			EndPosition:      position(end),
		})
	}
	return out
}

func position(p policy.Pos) *iamapi.Position {
	line, col := int32(p.Line), int32(p.Column)
	return &iamapi.Position{Line: &line, Column: &col}
}

// SimulateCustomPolicy simulates the given identity-based policies (with an optional permissions boundary and
// resource-based policy) on each action and resource. It needs iam:SimulateCustomPolicy on "*".
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
func (s *Service) SimulateCustomPolicy(ctx context.Context, in *iamapi.SimulateCustomPolicyInput) (*iamapi.SimulateCustomPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "SimulateCustomPolicy", "*", nil); err != nil {
		return nil, err
	}
	sim := &simulation{}
	if sim.set.Identity, err = s.compileInputs(sim, "PolicyInputList", in.PolicyInputList, policy.KindIdentity); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx, sim, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy, in.CallerArn, in.ResourceOwner, in.ContextEntries, p); err != nil {
		return nil, err
	}
	return s.run(sim, in.ActionNames, in.ResourceArns, in.ResourceHandlingOption, in.Marker, in.MaxItems)
}

// SimulatePrincipalPolicy simulates every policy of a user (its groups' too), group or role, with any extra policies
// given, on each action and resource. It needs iam:SimulatePrincipalPolicy on the entity's ARN.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, in *iamapi.SimulatePrincipalPolicyInput) (*iamapi.SimulatePrincipalPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	kind, e, err := s.policySource(ctx, p, "SimulatePrincipalPolicy", in.PolicySourceArn)
	if err != nil {
		return nil, err
	}
	sim := &simulation{}
	ep, err := s.authz.EntityPolicies(ctx, p.Account, kind, e.name)
	if err != nil {
		return nil, err
	}
	for _, ip := range ep.Identity {
		sim.set.Identity = append(sim.set.Identity, sim.add(ip, entityPolicyName(ip.ID()), sourceIAMPolicy))
	}
	if ep.Boundary != nil {
		sim.set.Boundary = sim.add(ep.Boundary, entityPolicyName(ep.Boundary.ID()), sourceIAMPolicy)
	}
	extra, err := s.compileInputs(sim, "PolicyInputList", in.PolicyInputList, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	sim.set.Identity = append(sim.set.Identity, extra...)
	callerARN := in.CallerArn
	if callerARN == "" && kind == "user" {
		// The user is the simulated caller unless another is named.
		callerARN = e.arn
	}
	if in.ResourcePolicy != "" && callerARN == "" {
		return nil, iamapi.InvalidInput("CallerArn is required when ResourcePolicy is given and PolicySourceArn is not an IAM user.")
	}
	if err := s.prepare(ctx, sim, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy, callerARN, in.ResourceOwner, in.ContextEntries, p); err != nil {
		return nil, err
	}
	return s.run(sim, in.ActionNames, in.ResourceArns, in.ResourceHandlingOption, in.Marker, in.MaxItems)
}

// entityPolicyName is the SourcePolicyId of an entity's policy: the policy's name, from authz's id
// ("user/NAME/POLICY" or a managed policy's ARN).
func entityPolicyName(id string) string {
	return id[strings.LastIndexByte(id, '/')+1:]
}

// policySource parses a PolicySourceArn, authorizes action on it and loads the user, group or role.
func (s *Service) policySource(ctx context.Context, p *authz.Principal, action, sourceARN string) (string, *entity, error) {
	a, err := arn.Parse(sourceARN)
	if err != nil || a.Service != "iam" {
		return "", nil, iamapi.InvalidInput("Invalid ARN %s: PolicySourceArn must be the ARN of an IAM user, group or role.", sourceARN)
	}
	kind, rest, _ := strings.Cut(a.Resource, "/")
	if _, ok := entityKinds[kind]; !ok || rest == "" {
		return "", nil, iamapi.InvalidInput("Invalid ARN %s: PolicySourceArn must be the ARN of an IAM user, group or role.", sourceARN)
	}
	name := rest[strings.LastIndexByte(rest, '/')+1:]
	if a.AccountID != p.Account {
		// Another account's entities are not visible: authorize on the ARN as given (which denies), then say it
		// does not exist rather than whether it does.
		if err := s.authorize(ctx, action, sourceARN, nil); err != nil {
			return "", nil, err
		}
		return "", nil, iamapi.NoSuchEntity("The %s with name %s cannot be found.", kind, name)
	}
	e, err := s.loadEntity(ctx, s.store, kind, action, name)
	if err != nil {
		return "", nil, err
	}
	if e.arn != sourceARN {
		// Same name, another path: that ARN names no entity.
		return "", nil, iamapi.NoSuchEntity("The %s with name %s cannot be found.", kind, name)
	}
	return kind, e, nil
}

// GetContextKeysForCustomPolicy lists the context keys the given policies refer to. It needs
// iam:GetContextKeysForCustomPolicy on "*".
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html
func (s *Service) GetContextKeysForCustomPolicy(ctx context.Context, in *iamapi.GetContextKeysForCustomPolicyInput) (*iamapi.GetContextKeysForCustomPolicyOutput, error) {
	if err := s.authorize(ctx, "GetContextKeysForCustomPolicy", "*", nil); err != nil {
		return nil, err
	}
	ps, err := s.compileInputs(&simulation{}, "PolicyInputList", in.PolicyInputList, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: contextKeyNames(ps)}, nil
}

// GetContextKeysForPrincipalPolicy lists the context keys the policies of a user (and its groups), group or role
// refer to, with any extra policies given. It needs iam:GetContextKeysForPrincipalPolicy on the entity's ARN.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForPrincipalPolicy.html
func (s *Service) GetContextKeysForPrincipalPolicy(ctx context.Context, in *iamapi.GetContextKeysForPrincipalPolicyInput) (*iamapi.GetContextKeysForPrincipalPolicyOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	kind, e, err := s.policySource(ctx, p, "GetContextKeysForPrincipalPolicy", in.PolicySourceArn)
	if err != nil {
		return nil, err
	}
	ep, err := s.authz.EntityPolicies(ctx, p.Account, kind, e.name)
	if err != nil {
		return nil, err
	}
	ps := append([]*policy.Policy(nil), ep.Identity...)
	if ep.Boundary != nil {
		ps = append(ps, ep.Boundary)
	}
	extra, err := s.compileInputs(&simulation{}, "PolicyInputList", in.PolicyInputList, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: contextKeyNames(append(ps, extra...))}, nil
}

func contextKeyNames(ps []*policy.Policy) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, p := range ps {
		for _, k := range p.ContextKeys() {
			if lk := strings.ToLower(k); !seen[lk] {
				seen[lk] = true
				out = append(out, k)
			}
		}
	}
	return out
}
