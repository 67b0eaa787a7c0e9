package policy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// corpusFile is one file of testdata/corpus: cases on one topic. A case is
//
//	{"name": "...", "source": "https://docs.aws.amazon.com/...",
//	 "policies": {"identity": [doc...], "resource": doc | "trust": doc, "boundary": doc,
//	              "session": [doc...], "scps": [[doc...]...], "rcps": [[doc...]...]},
//	 "request": {"principal": {"type": "user|assumed-role|root|federated-user|web-identity|saml|service|anonymous",
//	                           "arn": "...", "account": "...", "source_arn": "..."},
//	             "action": "...", "resource": "...", "resource_account": "...", "context": {"key": ["v"]}},
//	 "want": {"decision": "allowed|explicitDeny|implicitDeny",
//	          "matched": ["identity/0#Sid", "resource#Sid", "scp/0/1#3"], "missing": ["key"], "reason": "..."}}
//
// Policies are JSON objects embedded as they are; statements are named
// "<policy id>#<Sid>" or "<policy id>#<index>" when they have no Sid.
type corpusFile struct {
	Topic string       `json:"topic"`
	Cases []corpusCase `json:"cases"`
}

// corpusCase is policies + request + expected decision and deciding
// statements. Source cites the AWS page the expectation comes from.
type corpusCase struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Policies struct {
		Identity []json.RawMessage   `json:"identity"`
		Resource json.RawMessage     `json:"resource"`
		Trust    json.RawMessage     `json:"trust"`
		Boundary json.RawMessage     `json:"boundary"`
		Session  []json.RawMessage   `json:"session"`
		SCPs     [][]json.RawMessage `json:"scps"`
		RCPs     [][]json.RawMessage `json:"rcps"`
	} `json:"policies"`
	Request struct {
		Principal struct {
			Type      string `json:"type"`
			ARN       string `json:"arn"`
			Account   string `json:"account"`
			SourceARN string `json:"source_arn"`
		} `json:"principal"`
		Action          string              `json:"action"`
		Resource        string              `json:"resource"`
		ResourceAccount string              `json:"resource_account"`
		Context         map[string][]string `json:"context"`
	} `json:"request"`
	Want struct {
		Decision string   `json:"decision"`
		Matched  []string `json:"matched"`
		Missing  []string `json:"missing"`
		Reason   string   `json:"reason"`
	} `json:"want"`
}

var callerTypes = map[string]policy.CallerType{
	"anonymous": policy.CallerAnonymous, "root": policy.CallerRoot, "user": policy.CallerUser,
	"assumed-role": policy.CallerAssumedRole, "federated-user": policy.CallerFederatedUser,
	"web-identity": policy.CallerWebIdentity, "saml": policy.CallerSAML, "service": policy.CallerService,
}

func compileCase(t *testing.T, raw json.RawMessage, kind policy.PolicyKind, id string) *policy.Policy {
	t.Helper()
	d, err := policy.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	p, err := policy.Compile(d, kind, id)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return p
}

func (c *corpusCase) set(t *testing.T) *policy.Set {
	s := &policy.Set{}
	for i, raw := range c.Policies.Identity {
		s.Identity = append(s.Identity, compileCase(t, raw, policy.KindIdentity, "identity/"+strconv.Itoa(i)))
	}
	if c.Policies.Resource != nil {
		s.Resource = compileCase(t, c.Policies.Resource, policy.KindResource, "resource")
	}
	if c.Policies.Trust != nil {
		s.Resource = compileCase(t, c.Policies.Trust, policy.KindTrust, "trust")
	}
	if c.Policies.Boundary != nil {
		s.Boundary = compileCase(t, c.Policies.Boundary, policy.KindBoundary, "boundary")
	}
	if c.Policies.Session != nil {
		s.Session = []*policy.Policy{}
		for i, raw := range c.Policies.Session {
			s.Session = append(s.Session, compileCase(t, raw, policy.KindSession, "session/"+strconv.Itoa(i)))
		}
	}
	levels := func(ls [][]json.RawMessage, kind policy.PolicyKind, name string) [][]*policy.Policy {
		if ls == nil {
			return nil
		}
		out := [][]*policy.Policy{}
		for i, l := range ls {
			var ps []*policy.Policy
			for j, raw := range l {
				ps = append(ps, compileCase(t, raw, kind, fmt.Sprintf("%s/%d/%d", name, i, j)))
			}
			out = append(out, ps)
		}
		return out
	}
	s.SCPs = levels(c.Policies.SCPs, policy.KindSCP, "scp")
	s.RCPs = levels(c.Policies.RCPs, policy.KindRCP, "rcp")
	return s
}

func (c *corpusCase) request(t *testing.T) *policy.Request {
	p := c.Request.Principal
	typ, ok := callerTypes[p.Type]
	if !ok {
		t.Fatalf("unknown principal type %q", p.Type)
	}
	req := &policy.Request{
		Principal:       policy.Caller{Type: typ, ARN: p.ARN, Account: p.Account, SourceARN: p.SourceARN},
		Action:          c.Request.Action,
		Resource:        c.Request.Resource,
		ResourceAccount: c.Request.ResourceAccount,
	}
	if c.Request.Context != nil {
		req.Context = condition.NewMapContext(c.Request.Context)
	}
	return req
}

type corpusResult struct {
	Decision string
	Matched  []string
	Missing  []string
	Reason   string
}

// TestCorpus runs every case in testdata/corpus. Each case cites the AWS
// documentation page its expectation comes from; a bug found later becomes a
// named case here.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cf corpusFile
		if err := json.Unmarshal(data, &cf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, c := range cf.Cases {
				t.Run(c.Name, func(t *testing.T) {
					if c.Source == "" {
						t.Fatal("case has no source: cite the AWS page it comes from")
					}
					req := c.request(t)
					res := policy.Evaluate(c.set(t), req)
					got := corpusResult{Decision: res.Decision.String(), Reason: res.Reason.Message(req.Action), Missing: res.Missing}
					for _, m := range res.Matched {
						ref := m.Sid
						if ref == "" {
							ref = strconv.Itoa(m.Index)
						}
						got.Matched = append(got.Matched, m.PolicyID+"#"+ref)
					}
					want := corpusResult{Decision: c.Want.Decision, Matched: c.Want.Matched, Missing: c.Want.Missing, Reason: c.Want.Reason}
					if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
						t.Errorf("%s\nresult mismatch (-want +got):\n%s", c.Source, diff)
					}
				})
			}
		})
	}
}
