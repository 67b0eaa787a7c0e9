// Package simulator is the IAM policy simulator's logic, shared by the API (SimulateCustomPolicy,
// SimulatePrincipalPolicy) and `persona policy simulate`: it evaluates every action on every resource with the
// policy engine that enforces requests, and reports the results in the shapes and with the values IAM uses
// (EvalDecision, MatchedStatements with positions, MissingContextValues, ResourceSpecificResults, boundary and
// Organizations details). The JSON field names are the API's, so results print as the aws CLI prints them.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
package simulator

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// Source policy types in MatchedStatements. IAM answers "IAM Policy" for identity-based policies (inline, managed
// and the PolicyInputList), a value its model's enum does not list; "resource" is the enum's value for the
// ResourcePolicy.
const (
	TypeIAMPolicy = "IAM Policy"
	TypeResource  = "resource"
	TypeNone      = "none"
)

// InputError is a problem with the simulation's input; the API answers it with InvalidInput.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Simulation is one simulation's policies, caller and context.
type Simulation struct {
	// Set holds the policies, as for enforcement.
	Set policy.Set
	// Caller is the simulated caller (an IAM user, or an anonymous user of Owner's account).
	Caller policy.Caller
	// Owner is the account that owns resources whose ARN names none (S3 buckets and objects).
	Owner string
	// Context holds the context entries.
	Context condition.Context

	names    map[string]source
	allowAll *policy.Policy
}

// source is how MatchedStatements names a policy.
type source struct {
	id, typ string
	single  bool
}

// Name records how MatchedStatements names p: SourcePolicyId id and SourcePolicyType typ. It returns p.
func (s *Simulation) Name(p *policy.Policy, id, typ string) *policy.Policy {
	if s.names == nil {
		s.names = map[string]source{}
	}
	s.names[p.ID()] = source{id: id, typ: typ, single: p.SingleStatement()}
	return p
}

// allowEverything stands in for the identity side when judging SCPs alone.
var allowEverything = policy.MustCompile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), policy.KindIdentity, "simulator/allow-all")

// Position is a line and column in a policy document.
type Position struct {
	Line   int `json:"Line"`
	Column int `json:"Column"`
}

// Statement is a MatchedStatement.
type Statement struct {
	SourcePolicyID   string    `json:"SourcePolicyId"`
	SourcePolicyType string    `json:"SourcePolicyType"`
	StartPosition    *Position `json:"StartPosition,omitempty"`
	EndPosition      *Position `json:"EndPosition,omitempty"`
	// Sid is the statement's Sid and Source the place of its '{' as an editor counts it (the simulator's
	// StartPosition can differ by one column); neither is part of the API's answer.
	Sid    string   `json:"-"`
	Source Position `json:"-"`
}

// BoundaryDetail is PermissionsBoundaryDecisionDetail.
type BoundaryDetail struct {
	AllowedByPermissionsBoundary bool `json:"AllowedByPermissionsBoundary"`
}

// OrganizationsDetail is OrganizationsDecisionDetail.
type OrganizationsDetail struct {
	AllowedByOrganizations bool `json:"AllowedByOrganizations"`
}

// ResourceResult is a ResourceSpecificResult.
type ResourceResult struct {
	EvalResourceName                  string          `json:"EvalResourceName"`
	EvalResourceDecision              string          `json:"EvalResourceDecision"`
	MatchedStatements                 []Statement     `json:"MatchedStatements"`
	MissingContextValues              []string        `json:"MissingContextValues"`
	PermissionsBoundaryDecisionDetail *BoundaryDetail `json:"PermissionsBoundaryDecisionDetail,omitempty"`
}

// Result is an EvaluationResult.
type Result struct {
	EvalActionName                    string               `json:"EvalActionName"`
	EvalResourceName                  string               `json:"EvalResourceName,omitempty"`
	EvalDecision                      string               `json:"EvalDecision"`
	MatchedStatements                 []Statement          `json:"MatchedStatements"`
	MissingContextValues              []string             `json:"MissingContextValues"`
	OrganizationsDecisionDetail       *OrganizationsDetail `json:"OrganizationsDecisionDetail,omitempty"`
	PermissionsBoundaryDecisionDetail *BoundaryDetail      `json:"PermissionsBoundaryDecisionDetail,omitempty"`
	ResourceSpecificResults           []ResourceResult     `json:"ResourceSpecificResults,omitempty"`
}

// ResourceHandlingOptions are the EC2 scenarios the simulator knows, with the resource types each requires among
// the ResourceArns (EC2-Classic's scenarios went with EC2-Classic).
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
var ResourceHandlingOptions = map[string][]string{
	"EC2-VPC-InstanceStore":        {"instance", "image", "security-group", "network-interface"},
	"EC2-VPC-InstanceStore-Subnet": {"instance", "image", "security-group", "network-interface", "subnet"},
	"EC2-VPC-EBS":                  {"instance", "image", "security-group", "network-interface", "volume"},
	"EC2-VPC-EBS-Subnet":           {"instance", "image", "security-group", "network-interface", "subnet", "volume"},
}

// checkScenario enforces the presence of the resources a scenario requires, as the simulator does.
func checkScenario(option string, resources []string) error {
	required, ok := ResourceHandlingOptions[option]
	if !ok {
		return inputErr("ResourceHandlingOption %s is not one of the supported scenarios (EC2-VPC-InstanceStore, EC2-VPC-InstanceStore-Subnet, EC2-VPC-EBS, EC2-VPC-EBS-Subnet).", option)
	}
	for _, typ := range required {
		found := false
		for _, r := range resources {
			if a, err := arn.Parse(r); err == nil && a.Service == "ec2" && strings.HasPrefix(a.Resource, typ+"/") {
				found = true
				break
			}
		}
		if !found {
			return inputErr("ResourceHandlingOption %s requires the %s resource (arn:aws:ec2:REGION:ACCOUNT:%s/ID) among ResourceArns.", option, typ, typ)
		}
	}
	return nil
}

// Run evaluates every action on every resource ("*" when resources is empty). Without a ResourceHandlingOption
// there is one result per action and resource, in that order; with an explicit resource the result carries one
// ResourceSpecificResult and the missing context keys move there, as IAM answers. With an option, each action
// gets one result over all the scenario's resources.
func (s *Simulation) Run(actions, resources []string, option string) ([]Result, error) {
	out, _, err := s.Page(actions, resources, option, 0, -1)
	return out, err
}

// Page is Run limited to the results [start, start+n) (n < 0: all that follow), with the total number of
// results. Only the page is evaluated, so the cost of a call is bounded by its page size however many actions
// and resources the input lists.
func (s *Simulation) Page(actions, resources []string, option string, start, n int) ([]Result, int, error) {
	for _, a := range actions {
		svc, name, ok := strings.Cut(a, ":")
		if !ok || svc == "" || name == "" || strings.ContainsAny(a, "*?") {
			return nil, 0, inputErr("Action %s is not valid: an action name is service:Operation, such as iam:CreateUser, without wildcards.", a)
		}
	}
	if option != "" {
		if err := checkScenario(option, resources); err != nil {
			return nil, 0, err
		}
	}
	explicit := len(resources) > 0
	if !explicit {
		resources = []string{"*"}
	}
	if s.Set.SCPs != nil {
		s.allowAll = allowEverything
	}
	total := len(actions)
	if option == "" {
		total *= len(resources)
	}
	end := total
	if n >= 0 && start+n < total {
		end = start + n
	}
	var results []Result
	for i := start; i < end; i++ {
		if option != "" {
			results = append(results, s.scenario(actions[i], resources))
			continue
		}
		r := resources[i%len(resources)]
		results = append(results, s.result(actions[i/len(resources)], r, explicit && r != "*"))
	}
	return results, total, nil
}

// evaluate decides action on resource.
func (s *Simulation) evaluate(action, resource string) (policy.Result, *policy.Request) {
	req := &policy.Request{Principal: s.Caller, Action: action, Resource: resource, ResourceAccount: s.Owner, Context: s.Context}
	if resource != "*" {
		// The ARN's own account wins; the owner is for ARNs that name none.
		if a, err := arn.Parse(resource); err == nil && IsAccountID(a.AccountID) {
			req.ResourceAccount = a.AccountID
		}
	}
	return policy.Evaluate(&s.Set, req), req
}

func (s *Simulation) result(action, resource string, explicit bool) Result {
	res, req := s.evaluate(action, resource)
	out := Result{
		EvalActionName:    action,
		EvalResourceName:  resource,
		EvalDecision:      res.Decision.String(),
		MatchedStatements: s.statements(res.Matched),
	}
	out.PermissionsBoundaryDecisionDetail, out.OrganizationsDecisionDetail = s.details(req)
	missing := append([]string{}, res.Missing...)
	if !explicit {
		out.MissingContextValues = missing
		return out
	}
	out.MissingContextValues = []string{}
	out.ResourceSpecificResults = []ResourceResult{{
		EvalResourceName:                  resource,
		EvalResourceDecision:              out.EvalDecision,
		MatchedStatements:                 out.MatchedStatements,
		MissingContextValues:              missing,
		PermissionsBoundaryDecisionDetail: out.PermissionsBoundaryDecisionDetail,
	}}
	return out
}

// scenario is the result of an action under a ResourceHandlingOption: the action needs every resource of the
// scenario, so it is allowed only when each is, and denied explicitly when any is.
func (s *Simulation) scenario(action string, resources []string) Result {
	out := Result{EvalActionName: action, MissingContextValues: []string{}}
	worst := policy.Allow
	for _, r := range resources {
		one := s.result(action, r, true)
		rsr := one.ResourceSpecificResults[0]
		out.ResourceSpecificResults = append(out.ResourceSpecificResults, rsr)
		switch d := decisionOf(rsr.EvalResourceDecision); {
		case d == policy.ExplicitDeny:
			worst = d
		case d == policy.ImplicitDeny && worst == policy.Allow:
			worst = d
		}
		if out.OrganizationsDecisionDetail == nil {
			out.OrganizationsDecisionDetail = one.OrganizationsDecisionDetail
		}
	}
	out.EvalDecision = worst.String()
	// Only the statements behind the final decision count.
	for _, rsr := range out.ResourceSpecificResults {
		if rsr.EvalResourceDecision == out.EvalDecision {
			for _, st := range rsr.MatchedStatements {
				out.MatchedStatements = appendStatement(out.MatchedStatements, st)
			}
		}
	}
	return out
}

func decisionOf(d string) policy.Decision {
	switch d {
	case "allowed":
		return policy.Allow
	case "explicitDeny":
		return policy.ExplicitDeny
	}
	return policy.ImplicitDeny
}

func appendStatement(list []Statement, st Statement) []Statement {
	for _, have := range list {
		if have.SourcePolicyID == st.SourcePolicyID && have.SourcePolicyType == st.SourcePolicyType && have.Source == st.Source {
			return list
		}
	}
	return append(list, st)
}

// details says, when the simulation has a permissions boundary or SCPs, whether each alone allows the request.
func (s *Simulation) details(req *policy.Request) (*BoundaryDetail, *OrganizationsDetail) {
	var pb *BoundaryDetail
	var org *OrganizationsDetail
	if s.Set.Boundary != nil {
		r := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{s.Set.Boundary}}, req)
		pb = &BoundaryDetail{AllowedByPermissionsBoundary: r.Decision == policy.Allow}
	}
	if s.Set.SCPs != nil {
		r := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{s.allowAll}, SCPs: s.Set.SCPs}, req)
		org = &OrganizationsDetail{AllowedByOrganizations: r.Decision == policy.Allow}
	}
	return pb, org
}

// statements turns the engine's deciding statements into MatchedStatements.
func (s *Simulation) statements(refs []policy.StatementRef) []Statement {
	out := make([]Statement, 0, len(refs))
	for i, ref := range refs {
		// A managed policy attached both to a user and to one of its groups is one policy: report its statement once.
		if slices.ContainsFunc(refs[:i], func(r policy.StatementRef) bool { return r.PolicyID == ref.PolicyID && r.Index == ref.Index }) {
			continue
		}
		src, ok := s.names[ref.PolicyID]
		if !ok {
			src = source{id: ref.PolicyID, typ: TypeNone}
		}
		start, end := policy.SimulatorPositions(ref, src.single)
		out = append(out, Statement{
			SourcePolicyID:   src.id,
			SourcePolicyType: src.typ,
			StartPosition:    &Position{Line: start.Line, Column: start.Column},
			EndPosition:      &Position{Line: end.Line, Column: end.Column},
			Sid:              ref.Sid,
			Source:           Position{Line: ref.Start.Line, Column: ref.Start.Column},
		})
	}
	return out
}

// ContextEntry is one of the simulation's ContextEntries.
type ContextEntry struct {
	ContextKeyName   string   `json:"ContextKeyName"`
	ContextKeyValues []string `json:"ContextKeyValues"`
	ContextKeyType   string   `json:"ContextKeyType"`
}

// ContextKeyTypes are the ContextKeyType values.
var ContextKeyTypes = []string{"string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList"}

// Context checks each entry's values against its ContextKeyType and returns them by key. A key given twice gets
// the values of both entries.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
func Context(entries []ContextEntry) (map[string][]string, error) {
	m := make(map[string][]string, len(entries))
	for i, e := range entries {
		where := "ContextEntries.member." + strconv.Itoa(i+1)
		if e.ContextKeyName == "" {
			return nil, inputErr("%s: ContextKeyName is required.", where)
		}
		typ := e.ContextKeyType
		if typ == "" {
			typ = "string"
		}
		base, list := strings.CutSuffix(typ, "List")
		if !validType(typ) {
			return nil, inputErr("%s: ContextKeyType %s is not one of %s.", where, typ, strings.Join(ContextKeyTypes, ", "))
		}
		if !list && len(e.ContextKeyValues) > 1 {
			return nil, inputErr("%s: context key %s has type %s, which takes one value; %d were given (use %sList).",
				where, e.ContextKeyName, typ, len(e.ContextKeyValues), typ)
		}
		for _, v := range e.ContextKeyValues {
			if !validValue(base, v) {
				return nil, inputErr("%s: value %q of context key %s is not a valid %s.", where, v, e.ContextKeyName, base)
			}
		}
		m[e.ContextKeyName] = append(m[e.ContextKeyName], e.ContextKeyValues...)
	}
	return m, nil
}

func validType(t string) bool {
	for _, k := range ContextKeyTypes {
		if k == t {
			return true
		}
	}
	return false
}

func validValue(typ, v string) bool {
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

// Caller checks a CallerArn (only an IAM user's ARN is accepted, as IAM documents) and returns the simulated
// caller; with no ARN, an anonymous user of account.
func Caller(callerARN, account string) (policy.Caller, error) {
	if callerARN == "" {
		return policy.Caller{Type: policy.CallerUser, Account: account}, nil
	}
	a, err := arn.Parse(callerARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "user/") || !IsAccountID(a.AccountID) {
		return policy.Caller{}, inputErr("CallerArn %s is not the ARN of an IAM user: the simulated caller can only be an IAM user.", callerARN)
	}
	return policy.Caller{Type: policy.CallerUser, ARN: callerARN, Account: a.AccountID}, nil
}

// Owner accepts a ResourceOwner as an account id or an account's root ARN and returns the account id.
func Owner(v string) (string, error) {
	if IsAccountID(v) {
		return v, nil
	}
	a, err := arn.Parse(v)
	if err != nil || a.Service != "iam" || a.Resource != "root" || !IsAccountID(a.AccountID) {
		return "", inputErr("ResourceOwner %s is not an account: use an account id or arn:aws:iam::ACCOUNT-ID:root.", v)
	}
	return a.AccountID, nil
}

// IsAccountID reports whether s is a 12-digit account id.
func IsAccountID(s string) bool {
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

// ContextKeyNames merges lists of context keys (Policy.ContextKeys, Document.ContextKeys), each key once ignoring
// case, in order: the answer of GetContextKeysFor*Policy.
func ContextKeyNames(lists ...[]string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, k := range l {
			if lk := strings.ToLower(k); !seen[lk] {
				seen[lk] = true
				out = append(out, k)
			}
		}
	}
	return out
}
