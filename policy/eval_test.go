package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
	"github.com/persona-iam/persona/policy/policytest"
)

func TestReasonMessage(t *testing.T) {
	tests := []struct {
		name   string
		reason policy.Reason
		want   string
	}{
		{"none", policy.ReasonNone, ""},
		{"no identity allow", policy.ReasonNoIdentityAllow, "because no identity-based policy allows the iam:CreateRole action"},
		{"no boundary allow", policy.ReasonNoBoundaryAllow, "because no permissions boundary allows the iam:CreateRole action"},
		{"no session allow", policy.ReasonNoSessionAllow, "because no session policy allows the iam:CreateRole action"},
		{"deny identity", policy.ReasonDenyIdentity, "with an explicit deny in an identity-based policy"},
		{"deny scp", policy.ReasonDenySCP, "with an explicit deny in a service control policy"},
		{"out of range", policy.Reason(200), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.reason.Message("iam:CreateRole")); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceIndex checks that the per-service index finds statements by a
// service prefix written in any case, and that statements matching every
// service (NotAction, "*") are consulted for services no statement names.
func TestServiceIndex(t *testing.T) {
	p := policy.MustCompile([]byte(`{"Version": "2012-10-17", "Statement": [
		{"Sid": "S3", "Effect": "Allow", "Action": "S3:Get*", "Resource": "*"},
		{"Sid": "NotIAM", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:sqs:*"},
		{"Sid": "Star", "Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::locked/*"}]}`), policy.KindIdentity, "p")
	user := policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::111122223333:user/a", Account: "111122223333"}
	tests := []struct {
		name     string
		action   string
		resource string
		want     policy.Decision
		sids     []string
	}{
		{"service prefix in another case", "s3:GetObject", "arn:aws:s3:::b/k", policy.Allow, []string{"S3"}},
		{"upper-case request action", "S3:GETOBJECT", "arn:aws:s3:::b/k", policy.Allow, []string{"S3"}},
		{"service only NotAction covers", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", policy.Allow, []string{"NotIAM"}},
		{"NotAction excludes its service", "iam:GetUser", "arn:aws:sqs:us-east-1:111122223333:q", policy.ImplicitDeny, nil},
		{"\"*\" action applies to an indexed service", "s3:GetObject", "arn:aws:s3:::locked/k", policy.ExplicitDeny, []string{"Star"}},
		{"\"*\" action applies to an unindexed service", "kms:Decrypt", "arn:aws:s3:::locked/k", policy.ExplicitDeny, []string{"Star"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := policy.Evaluate(&policy.Set{Identity: []*policy.Policy{p}}, &policy.Request{Principal: user, Action: tt.action, Resource: tt.resource})
			var sids []string
			for _, m := range res.Matched {
				sids = append(sids, m.Sid)
			}
			if diff := cmp.Diff(struct {
				D    policy.Decision
				Sids []string
			}{tt.want, tt.sids}, struct {
				D    policy.Decision
				Sids []string
			}{res.Decision, sids}); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvaluateIntoReuse checks that reusing a Result gives the same answers
// as fresh evaluations, including Missing, and that a shared one-element
// Matched slice is not corrupted by a later evaluation.
func TestEvaluateIntoReuse(t *testing.T) {
	p := policy.MustCompile([]byte(`{"Version": "2012-10-17", "Statement": [
		{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}}},
		{"Sid": "B", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}`), policy.KindIdentity, "p")
	set := &policy.Set{Identity: []*policy.Policy{p}}
	user := policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::111122223333:user/a", Account: "111122223333"}
	reqs := []*policy.Request{
		{Principal: user, Action: "s3:GetObject", Context: condition.NewMapContext(map[string][]string{"aws:PrincipalTag/team": {"red"}})},
		{Principal: user, Action: "s3:GetObject"},
		{Principal: user, Action: "s3:PutObject"},
	}
	var reused policy.Result
	first := policy.Evaluate(set, reqs[0])
	for i, req := range reqs {
		policy.EvaluateInto(set, req, &reused)
		if diff := cmp.Diff(policy.Evaluate(set, req), reused); diff != "" {
			t.Errorf("request %d: result mismatch (-want +got):\n%s", i, diff)
		}
	}
	want := []policy.StatementRef{{PolicyID: "p", Kind: policy.KindIdentity, Index: 0, Sid: "A",
		Start: policy.Pos{Line: 2, Column: 3, Offset: 43}, End: policy.Pos{Line: 2, Column: 142, Offset: 182}}}
	if diff := cmp.Diff(want, first.Matched); diff != "" {
		t.Errorf("earlier result changed (-want +got):\n%s", diff)
	}
}

func TestDecisionString(t *testing.T) {
	got := []string{policy.Allow.String(), policy.ExplicitDeny.String(), policy.ImplicitDeny.String()}
	if diff := cmp.Diff([]string{"allowed", "explicitDeny", "implicitDeny"}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// FuzzEvaluate evaluates fuzzed policies against fuzzed requests. It checks
// that evaluation does not panic, is deterministic, that EvaluateInto agrees
// with Evaluate, and that the statements reported as deciding have the
// effect of the decision.
func FuzzEvaluate(f *testing.F) {
	for _, doc := range validSeeds(f) {
		f.Add(doc, "s3:GetObject", "arn:aws:s3:::home/alice/x", "alice", uint8(0))
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}/*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}`), "s3:PutObject", "arn:aws:s3:::bob/k", "bob", uint8(1))
	callers := []policy.Caller{
		{Type: policy.CallerUser, ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"},
		{Type: policy.CallerAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/r/s", Account: "111122223333", SourceARN: "arn:aws:iam::111122223333:role/r"},
		{Type: policy.CallerService, ARN: "ec2.amazonaws.com"},
		{Type: policy.CallerAnonymous},
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, resource, username string, who uint8) {
		d, err := policy.Parse(doc)
		if err != nil {
			return
		}
		set := &policy.Set{}
		if p, err := policy.Compile(d, policy.KindIdentity, "id"); err == nil {
			set.Identity = []*policy.Policy{p}
		} else if p, err := policy.Compile(d, policy.KindResource, "res"); err == nil {
			set.Resource = p
		} else {
			return
		}
		req := &policy.Request{
			Principal: callers[int(who)%len(callers)],
			Action:    action,
			Resource:  resource,
			Context:   condition.NewMapContext(map[string][]string{"aws:username": {username}, "aws:SourceIp": {"10.0.0.1"}}),
		}
		r1 := policy.Evaluate(set, req)
		r2 := policy.Evaluate(set, req)
		if diff := cmp.Diff(r1, r2); diff != "" {
			t.Fatalf("evaluation is not deterministic (-first +second):\n%s", diff)
		}
		var r3 policy.Result
		policy.EvaluateInto(set, req, &r3)
		if diff := cmp.Diff(r1, r3); diff != "" {
			t.Fatalf("EvaluateInto differs from Evaluate (-want +got):\n%s", diff)
		}
		for _, m := range r1.Matched {
			allow := d.Statements[m.Index].IsAllow()
			if (r1.Decision == policy.Allow) != allow {
				t.Fatalf("decision %v reports statement %d with Effect %q", r1.Decision, m.Index, d.Statements[m.Index].Effect.Value)
			}
		}
		if r1.Decision == policy.ExplicitDeny && len(r1.Matched) == 0 {
			t.Fatal("explicit deny without a deciding statement")
		}
		if r1.Decision != policy.Allow && r1.Reason == policy.ReasonNone {
			t.Fatal("denial without a reason")
		}
	})
}

// TestConcurrentEvaluate shares compiled policies between goroutines; run
// with -race it checks that evaluation does not write to them.
func TestConcurrentEvaluate(t *testing.T) {
	w := policytest.W2()
	set, req := w.Set(), w.Request()
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				if res := policy.Evaluate(set, req); res.Decision != w.Want || res.Matched[0].Sid != w.WantSid {
					errs <- res.Decision.String()
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Errorf("concurrent evaluation decided %s", e)
		}
	}
}
