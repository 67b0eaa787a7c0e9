package simulator

import (
	"strconv"
	"testing"

	"github.com/persona-iam/persona/policy"
	"github.com/persona-iam/persona/policy/condition"
)

// BenchmarkRun simulates 10 actions on 10 resources (100 results) against three identity policies and a
// boundary, as a SimulatePrincipalPolicy call for a typical user would.
func BenchmarkRun(b *testing.B) {
	sim := &Simulation{Caller: policy.Caller{Type: policy.CallerUser, ARN: "arn:aws:iam::111122223333:user/bob", Account: "111122223333"}, Owner: "111122223333"}
	for i, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`,
	} {
		sim.Set.Identity = append(sim.Set.Identity, sim.Name(policy.MustCompile([]byte(doc), policy.KindIdentity, "p"+strconv.Itoa(i)), "p"+strconv.Itoa(i), TypeIAMPolicy))
	}
	sim.Set.Boundary = policy.MustCompile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`), policy.KindBoundary, "b")
	sim.Context = condition.NewMapContext(map[string][]string{"aws:username": {"bob"}})
	var actions, resources []string
	for i := 0; i < 10; i++ {
		actions = append(actions, []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "sqs:SendMessage"}[i%5])
		resources = append(resources, "arn:aws:s3:::home/bob/file"+strconv.Itoa(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sim.Run(actions, resources, ""); err != nil {
			b.Fatal(err)
		}
	}
}
