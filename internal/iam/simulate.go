package iam

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/simulator"
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

// compileInput compiles a caller's input document for this call only. It must not go through the authorizer's
// cache: inputs are up to 131,072 characters (about a megabyte compiled) and the caller's to choose, so caching them
// would let any caller allowed to simulate fill the server's memory and evict the policies enforcement uses.
func compileInput(doc string, kind policy.PolicyKind, id string) (*policy.Policy, error) {
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	return policy.Compile(parsed, kind, id)
}

// compileInputs compiles a *PolicyInputList; a document that is not a valid policy is InvalidInput naming it.
func (s *Service) compileInputs(sim *simulator.Simulation, param string, docs []string, kind policy.PolicyKind) ([]*policy.Policy, error) {
	out := make([]*policy.Policy, 0, len(docs))
	for i, doc := range docs {
		id := param + "." + strconv.Itoa(i+1)
		p, err := compileInput(doc, kind, id)
		if err != nil {
			return nil, iamapi.InvalidInput("%s is not a valid policy: %s", id, err.Error())
		}
		out = append(out, sim.Name(p, id, simulator.TypeIAMPolicy))
	}
	return out, nil
}

// prepare fills in what both simulate operations share: the boundary and resource policies, the caller, the
// resource owner, the context entries and the SCPs of the caller's account.
func (s *Service) prepare(ctx context.Context, sim *simulator.Simulation, boundaries []string, resourcePolicy, callerARN, resourceOwner string, entries []iamapi.ContextEntry, requester *authz.Principal) error {
	if len(boundaries) > 1 {
		return iamapi.InvalidInput("PermissionsBoundaryPolicyInputList accepts one permissions boundary; %d were given.", len(boundaries))
	}
	if len(boundaries) == 1 {
		// An input boundary replaces the entity's own: an entity has one boundary at a time.
		b, err := s.compileInputs(sim, "PermissionsBoundaryPolicyInputList", boundaries, policy.KindBoundary)
		if err != nil {
			return err
		}
		sim.Set.Boundary = b[0]
	}
	var err error
	if sim.Caller, err = simulator.Caller(callerARN, requester.Account); err != nil {
		return invalid(err)
	}
	if resourcePolicy != "" {
		if callerARN == "" {
			return iamapi.InvalidInput("CallerArn is required when ResourcePolicy is given, so that the resource policy's Principal element has a caller to match.")
		}
		p, err := compileInput(resourcePolicy, policy.KindResource, "ResourcePolicy")
		if err != nil {
			return iamapi.InvalidInput("ResourcePolicy is not a valid resource-based policy: %s", err.Error())
		}
		sim.Set.Resource = sim.Name(p, "ResourcePolicy", simulator.TypeResource)
	}
	sim.Owner = sim.Caller.Account
	if resourceOwner != "" {
		if sim.Owner, err = simulator.Owner(resourceOwner); err != nil {
			return invalid(err)
		}
	}
	list := make([]simulator.ContextEntry, len(entries))
	for i, e := range entries {
		list[i] = simulator.ContextEntry{ContextKeyName: e.ContextKeyName, ContextKeyValues: e.ContextKeyValues, ContextKeyType: string(e.ContextKeyType)}
	}
	m, err := simulator.Context(list)
	if err != nil {
		return invalid(err)
	}
	sim.Context = condition.NewMapContext(m)
	if s.scps == nil {
		return nil
	}
	levels, err := s.scps(ctx, sim.Caller.Account)
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
			ps = append(ps, sim.Name(p, op.ID, simulator.TypeNone))
		}
		sim.Set.SCPs = append(sim.Set.SCPs, ps)
	}
	return nil
}

// invalid turns a simulator input error into InvalidInput.
func invalid(err error) error {
	var ie *simulator.InputError
	if errors.As(err, &ie) {
		return iamapi.InvalidInput("%s", ie.Msg)
	}
	return err
}

// run evaluates the page of results Marker and MaxItems select.
func (s *Service) run(sim *simulator.Simulation, actions, resources []string, option, marker string, max *int32) (*iamapi.SimulatePolicyResponse, error) {
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n <= 0 {
			return nil, iamapi.InvalidInput("Marker %s does not continue this simulation: pass the Marker of the previous page.", marker)
		}
		start = n
	}
	page, total, err := sim.Page(actions, resources, option, start, maxItems(max))
	if err != nil {
		return nil, invalid(err)
	}
	if start >= total && start > 0 {
		return nil, iamapi.InvalidInput("Marker %s does not continue this simulation: pass the Marker of the previous page.", marker)
	}
	out := &iamapi.SimulatePolicyResponse{IsTruncated: new(bool)}
	if end := start + len(page); end < total {
		*out.IsTruncated = true
		out.Marker = strconv.Itoa(end)
	}
	for _, r := range page {
		out.EvaluationResults = append(out.EvaluationResults, evaluationResult(r))
	}
	return out, nil
}

func evaluationResult(r simulator.Result) iamapi.EvaluationResult {
	out := iamapi.EvaluationResult{
		EvalActionName:                    r.EvalActionName,
		EvalResourceName:                  r.EvalResourceName,
		EvalDecision:                      iamapi.PolicyEvaluationDecisionType(r.EvalDecision),
		MatchedStatements:                 apiStatements(r.MatchedStatements),
		MissingContextValues:              r.MissingContextValues,
		PermissionsBoundaryDecisionDetail: boundaryDetail(r.PermissionsBoundaryDecisionDetail),
	}
	if d := r.OrganizationsDecisionDetail; d != nil {
		out.OrganizationsDecisionDetail = &iamapi.OrganizationsDecisionDetail{AllowedByOrganizations: &d.AllowedByOrganizations}
	}
	for _, rr := range r.ResourceSpecificResults {
		out.ResourceSpecificResults = append(out.ResourceSpecificResults, iamapi.ResourceSpecificResult{
			EvalResourceName:                  rr.EvalResourceName,
			EvalResourceDecision:              iamapi.PolicyEvaluationDecisionType(rr.EvalResourceDecision),
			MatchedStatements:                 apiStatements(rr.MatchedStatements),
			MissingContextValues:              rr.MissingContextValues,
			PermissionsBoundaryDecisionDetail: boundaryDetail(rr.PermissionsBoundaryDecisionDetail),
		})
	}
	return out
}

func boundaryDetail(d *simulator.BoundaryDetail) *iamapi.PermissionsBoundaryDecisionDetail {
	if d == nil {
		return nil
	}
	return &iamapi.PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: &d.AllowedByPermissionsBoundary}
}

func apiStatements(list []simulator.Statement) []iamapi.Statement {
	out := make([]iamapi.Statement, 0, len(list))
	for _, st := range list {
		o := iamapi.Statement{SourcePolicyId: st.SourcePolicyID, SourcePolicyType: iamapi.PolicySourceType(st.SourcePolicyType)}
		if p := st.StartPosition; p != nil {
			o.StartPosition = apiPosition(*p)
		}
		if p := st.EndPosition; p != nil {
			o.EndPosition = apiPosition(*p)
		}
		out = append(out, o)
	}
	return out
}

func apiPosition(p simulator.Position) *iamapi.Position {
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
	sim := &simulator.Simulation{}
	if sim.Set.Identity, err = s.compileInputs(sim, "PolicyInputList", in.PolicyInputList, policy.KindIdentity); err != nil {
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
	sim := &simulator.Simulation{}
	ep, err := s.authz.EntityPolicies(ctx, p.Account, kind, e.name)
	if err != nil {
		return nil, err
	}
	for _, ip := range ep.Identity {
		sim.Set.Identity = append(sim.Set.Identity, sim.Name(ip, entityPolicyName(ip.ID()), simulator.TypeIAMPolicy))
	}
	if ep.Boundary != nil {
		sim.Set.Boundary = sim.Name(ep.Boundary, entityPolicyName(ep.Boundary.ID()), simulator.TypeIAMPolicy)
	}
	extra, err := s.compileInputs(sim, "PolicyInputList", in.PolicyInputList, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	sim.Set.Identity = append(sim.Set.Identity, extra...)
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
// iam:GetContextKeysForCustomPolicy on "*". The policies only need to parse: any kind of policy can be listed.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html
func (s *Service) GetContextKeysForCustomPolicy(ctx context.Context, in *iamapi.GetContextKeysForCustomPolicyInput) (*iamapi.GetContextKeysForCustomPolicyOutput, error) {
	if err := s.authorize(ctx, "GetContextKeysForCustomPolicy", "*", nil); err != nil {
		return nil, err
	}
	keys, err := inputKeys(in.PolicyInputList)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: simulator.ContextKeyNames(keys...)}, nil
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
	var keys [][]string
	for _, ip := range ep.Identity {
		keys = append(keys, ip.ContextKeys())
	}
	if ep.Boundary != nil {
		keys = append(keys, ep.Boundary.ContextKeys())
	}
	extra, err := inputKeys(in.PolicyInputList)
	if err != nil {
		return nil, err
	}
	return &iamapi.GetContextKeysForPolicyResponse{ContextKeyNames: simulator.ContextKeyNames(append(keys, extra...)...)}, nil
}

// inputKeys parses each document of a PolicyInputList and returns its context keys; a document that does not
// parse is InvalidInput naming it and the place.
func inputKeys(docs []string) ([][]string, error) {
	out := make([][]string, 0, len(docs))
	for i, doc := range docs {
		d, err := policy.Parse([]byte(doc))
		if err != nil {
			return nil, iamapi.InvalidInput("PolicyInputList.%d is not a valid policy: %s", i+1, err.Error())
		}
		out = append(out, d.ContextKeys())
	}
	return out, nil
}
