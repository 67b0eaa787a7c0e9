package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/policytest"
)

// TestWorkloads checks that the benchmark workloads decide as documented,
// so the benchmarks measure the intended path.
func TestWorkloads(t *testing.T) {
	for _, w := range policytest.All() {
		t.Run(w.Name, func(t *testing.T) {
			res := policy.Evaluate(w.Set(), w.Request())
			if res.Decision != w.Want {
				t.Fatalf("decision = %v, want %v (reason %q)", res.Decision, w.Want, res.Reason.Message(w.Action))
			}
			var sids []string
			for _, m := range res.Matched {
				sids = append(sids, m.Sid)
			}
			if diff := cmp.Diff([]string{w.WantSid}, sids); diff != "" {
				t.Errorf("matched statements mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvaluateDoesNotAllocate pins down the hot-path promise: policies
// without variables are evaluated without allocating.
func TestEvaluateDoesNotAllocate(t *testing.T) {
	for _, w := range policytest.All() {
		t.Run(w.Name, func(t *testing.T) {
			set, req := w.Set(), w.Request()
			var res policy.Result
			allocs := testing.AllocsPerRun(100, func() { res = policy.Evaluate(set, req) })
			if allocs != 0 {
				t.Errorf("Evaluate allocs = %v, want 0", allocs)
			}
			if res.Decision != w.Want {
				t.Errorf("decision = %v, want %v", res.Decision, w.Want)
			}
		})
	}
}

// TestEvaluateLayersDoNotAllocate: boundaries, session policies and SCPs
// that allow do not add deciding statements, so a request allowed through
// all layers still does not allocate.
func TestEvaluateLayersDoNotAllocate(t *testing.T) {
	w := policytest.W1()
	set := w.Set()
	all := []byte(`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`)
	set.Boundary = policy.MustCompile(all, policy.KindBoundary, "boundary")
	set.Session = []*policy.Policy{policy.MustCompile(all, policy.KindSession, "session")}
	set.SCPs = [][]*policy.Policy{{policy.MustCompile(all, policy.KindSCP, "scp")}}
	req := w.Request()
	var res policy.Result
	if allocs := testing.AllocsPerRun(100, func() { res = policy.Evaluate(set, req) }); allocs != 0 {
		t.Errorf("Evaluate allocs = %v, want 0", allocs)
	}
	if res.Decision != policy.Allow || len(res.Matched) != 1 {
		t.Errorf("result = %+v, want allowed by one statement", res)
	}
}

func benchmarkWorkload(b *testing.B, w policytest.Workload) {
	set, req := w.Set(), w.Request()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if policy.Evaluate(set, req).Decision != w.Want {
			b.Fatal("wrong decision")
		}
	}
}

func BenchmarkW1(b *testing.B) { benchmarkWorkload(b, policytest.W1()) }
func BenchmarkW2(b *testing.B) { benchmarkWorkload(b, policytest.W2()) }
func BenchmarkW3(b *testing.B) { benchmarkWorkload(b, policytest.W3()) }

func BenchmarkParse(b *testing.B) {
	doc := []byte(policytest.W2().Identity[0])
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := policy.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
