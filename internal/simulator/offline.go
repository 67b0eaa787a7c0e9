package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// Offline simulation: `persona policy simulate` evaluates policy files without a server.

// Spec is the JSON that `aws iam simulate-custom-policy --cli-input-json` takes, so the same file works with
// Persona and with AWS. MaxItems and Marker are accepted and ignored: an offline run prints every result.
// https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html
type Spec struct {
	PolicyInputList                    []string       `json:"PolicyInputList"`
	PermissionsBoundaryPolicyInputList []string       `json:"PermissionsBoundaryPolicyInputList"`
	ActionNames                        []string       `json:"ActionNames"`
	ResourceArns                       []string       `json:"ResourceArns"`
	ResourcePolicy                     string         `json:"ResourcePolicy"`
	ResourceOwner                      string         `json:"ResourceOwner"`
	CallerArn                          string         `json:"CallerArn"`
	ContextEntries                     []ContextEntry `json:"ContextEntries"`
	ResourceHandlingOption             string         `json:"ResourceHandlingOption"`
	MaxItems                           *int           `json:"MaxItems"`
	Marker                             string         `json:"Marker"`
}

// ReadSpec decodes a Spec, rejecting members the API does not have (as the aws CLI does).
func ReadSpec(r io.Reader) (*Spec, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, inputErr("--cli-input-json: %v", err)
	}
	return &s, nil
}

// Doc is a policy document and the name MatchedStatements gives it (a file name, or "PolicyInputList.1").
type Doc struct {
	Name string
	Text []byte
}

// Offline is an offline simulation's input.
type Offline struct {
	Identity []Doc
	Boundary []Doc // at most one
	Resource *Doc
	Session  []Doc
	// SCPs holds one slice per organization level; every level must allow.
	SCPs          [][]Doc
	Actions       []string
	Resources     []string
	CallerARN     string
	ResourceOwner string
	Context       []ContextEntry
	Option        string
}

// Add merges a Spec into o, naming its documents as IAM does.
func (o *Offline) Add(s *Spec) {
	for i, d := range s.PolicyInputList {
		o.Identity = append(o.Identity, Doc{Name: "PolicyInputList." + strconv.Itoa(i+1), Text: []byte(d)})
	}
	for i, d := range s.PermissionsBoundaryPolicyInputList {
		o.Boundary = append(o.Boundary, Doc{Name: "PermissionsBoundaryPolicyInputList." + strconv.Itoa(i+1), Text: []byte(d)})
	}
	if s.ResourcePolicy != "" {
		o.Resource = &Doc{Name: "ResourcePolicy", Text: []byte(s.ResourcePolicy)}
	}
	o.Actions = append(o.Actions, s.ActionNames...)
	o.Resources = append(o.Resources, s.ResourceArns...)
	o.Context = append(o.Context, s.ContextEntries...)
	if s.CallerArn != "" {
		o.CallerARN = s.CallerArn
	}
	if s.ResourceOwner != "" {
		o.ResourceOwner = s.ResourceOwner
	}
	if s.ResourceHandlingOption != "" {
		o.Option = s.ResourceHandlingOption
	}
}

// PolicyError is a policy document that does not parse or does not validate for its place.
type PolicyError struct {
	Name string
	Err  error
}

func (e *PolicyError) Error() string {
	var ie *policy.InvalidPolicyError
	if errors.As(e.Err, &ie) {
		var b strings.Builder
		for i, f := range ie.Findings {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(e.Name + ":" + f.String())
		}
		return b.String()
	}
	return e.Name + ": " + e.Err.Error()
}

// Report is an offline simulation's answer, shaped as SimulateCustomPolicy's response.
type Report struct {
	EvaluationResults []Result `json:"EvaluationResults"`
	IsTruncated       bool     `json:"IsTruncated"`
}

// Allowed reports whether every result is "allowed".
func (r *Report) Allowed() bool {
	for _, res := range r.EvaluationResults {
		if res.EvalDecision != policy.Allow.String() {
			return false
		}
	}
	return true
}

// defaultAccount is the caller's account when neither CallerArn nor a resource names one, as in AWS's own
// documentation examples.
const defaultAccount = "123456789012"

// impliedAccount is the simulated caller's account when no CallerArn is given: the owner named by ResourceOwner,
// else the account of the first resource ARN that names one (a simulation of one's own account should not turn
// into a cross-account one that only a resource policy could allow), else defaultAccount.
func (o *Offline) impliedAccount() string {
	if o.ResourceOwner != "" {
		if a, err := Owner(o.ResourceOwner); err == nil {
			return a
		}
	}
	for _, r := range o.Resources {
		if a, err := arn.Parse(r); err == nil && IsAccountID(a.AccountID) {
			return a.AccountID
		}
	}
	return defaultAccount
}

// Run compiles every document for its place and runs the simulation.
func (o *Offline) Run() (*Report, error) {
	if len(o.Actions) == 0 {
		return nil, inputErr("no action to simulate: give ActionNames (or --action)")
	}
	if len(o.Boundary) > 1 {
		return nil, inputErr("one permissions boundary at most; %d were given", len(o.Boundary))
	}
	sim := &Simulation{}
	compile := func(d Doc, kind policy.PolicyKind) (*policy.Policy, error) {
		parsed, err := policy.Parse(d.Text)
		if err != nil {
			return nil, &PolicyError{Name: d.Name, Err: err}
		}
		p, err := policy.Compile(parsed, kind, d.Name)
		if err != nil {
			return nil, &PolicyError{Name: d.Name, Err: err}
		}
		typ := TypeIAMPolicy
		if kind == policy.KindResource {
			typ = TypeResource
		} else if kind == policy.KindSCP {
			typ = TypeNone
		}
		return sim.Name(p, d.Name, typ), nil
	}
	for _, d := range o.Identity {
		p, err := compile(d, policy.KindIdentity)
		if err != nil {
			return nil, err
		}
		sim.Set.Identity = append(sim.Set.Identity, p)
	}
	for _, d := range o.Boundary {
		p, err := compile(d, policy.KindBoundary)
		if err != nil {
			return nil, err
		}
		sim.Set.Boundary = p
	}
	if o.Session != nil {
		sim.Set.Session = []*policy.Policy{}
		for _, d := range o.Session {
			p, err := compile(d, policy.KindSession)
			if err != nil {
				return nil, err
			}
			sim.Set.Session = append(sim.Set.Session, p)
		}
	}
	for _, level := range o.SCPs {
		var ps []*policy.Policy
		for _, d := range level {
			p, err := compile(d, policy.KindSCP)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		sim.Set.SCPs = append(sim.Set.SCPs, ps)
	}
	if o.Resource != nil {
		if o.CallerARN == "" {
			return nil, inputErr("a resource-based policy needs a caller (CallerArn or --caller) for its Principal element to match")
		}
		p, err := compile(*o.Resource, policy.KindResource)
		if err != nil {
			return nil, err
		}
		sim.Set.Resource = p
	}
	var err error
	if sim.Caller, err = Caller(o.CallerARN, o.impliedAccount()); err != nil {
		return nil, err
	}
	sim.Owner = sim.Caller.Account
	if o.ResourceOwner != "" {
		if sim.Owner, err = Owner(o.ResourceOwner); err != nil {
			return nil, err
		}
	}
	m, err := Context(o.Context)
	if err != nil {
		return nil, err
	}
	sim.Context = condition.NewMapContext(m)
	results, err := sim.Run(o.Actions, o.Resources, o.Option)
	if err != nil {
		return nil, err
	}
	return &Report{EvaluationResults: results}, nil
}

// ParseContextFlag parses --context KEY=TYPE:VALUE. TYPE is a ContextKeyType; list types take comma-separated
// values ("aws:TagKeys=stringList:a,b"). Without a known TYPE the whole value is one string, so
// "aws:PrincipalArn=arn:aws:iam::123456789012:user/bob" needs no prefix.
func ParseContextFlag(s string) (ContextEntry, error) {
	key, val, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return ContextEntry{}, inputErr("--context %q: want KEY=TYPE:VALUE, such as aws:SourceIp=ip:10.0.0.1", s)
	}
	typ := "string"
	if t, rest, ok := strings.Cut(val, ":"); ok && validType(t) {
		typ, val = t, rest
	}
	e := ContextEntry{ContextKeyName: key, ContextKeyType: typ, ContextKeyValues: []string{val}}
	if strings.HasSuffix(typ, "List") {
		e.ContextKeyValues = strings.Split(val, ",")
	}
	return e, nil
}

// WriteJSON prints the report as the aws CLI prints SimulateCustomPolicy's response.
func (r *Report) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "    ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteText prints one line per result (decision, action, resource), then the deciding statements as
// NAME:LINE:COLUMN (the statement's first character, as an editor counts it) and the missing context keys.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.EvaluationResults {
		resource := res.EvalResourceName
		if resource == "" {
			resource = "(scenario " + strconv.Itoa(len(res.ResourceSpecificResults)) + " resources)"
		}
		fmt.Fprintf(&b, "%-12s %s on %s\n", res.EvalDecision, res.EvalActionName, resource)
		for _, st := range res.MatchedStatements {
			fmt.Fprintf(&b, "    %s statement %s:%d:%d", verb(res.EvalDecision), st.SourcePolicyID, st.Source.Line, st.Source.Column)
			if st.Sid != "" {
				fmt.Fprintf(&b, " (Sid %q)", st.Sid)
			}
			b.WriteByte('\n')
		}
		missing := res.MissingContextValues
		for _, rr := range res.ResourceSpecificResults {
			missing = append(missing, rr.MissingContextValues...)
		}
		if len(missing) > 0 {
			fmt.Fprintf(&b, "    missing context keys: %s\n", strings.Join(dedupe(missing), ", "))
		}
		if d := res.PermissionsBoundaryDecisionDetail; d != nil && !d.AllowedByPermissionsBoundary {
			b.WriteString("    the permissions boundary does not allow it\n")
		}
		if d := res.OrganizationsDecisionDetail; d != nil && !d.AllowedByOrganizations {
			b.WriteString("    the service control policies do not allow it\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verb(decision string) string {
	if decision == policy.ExplicitDeny.String() {
		return "denied by"
	}
	return "allowed by"
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range list {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
