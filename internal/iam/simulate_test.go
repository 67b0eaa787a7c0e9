package iam

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// TestSimulateWithSCPs: when the caller's account has service control policies, each result says whether they
// allow the action (OrganizationsDecisionDetail), and an SCP's deny decides.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_OrganizationsDecisionDetail.html
func TestSimulateWithSCPs(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const account = "111122223333"
	var asked []string
	scps := func(_ context.Context, acct string) ([][]OrganizationPolicy, error) {
		asked = append(asked, acct)
		return [][]OrganizationPolicy{
			{{ID: "p-FullAWSAccess", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}},
			{{ID: "p-noiam", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sqs:*"],"Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`}},
		}, nil
	}
	s := New(Config{Store: st, Authz: authz.New(st), SCPs: scps})
	ctx = authz.WithPrincipal(ctx, &authz.Principal{Type: authz.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account})
	out, err := s.SimulateCustomPolicy(ctx, &iamapi.SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		ActionNames:     []string{"s3:GetObject", "iam:CreateUser", "s3:DeleteBucket"},
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Decision  string
		ByOrgs    bool
		Statement string
	}
	var got []row
	for _, r := range out.EvaluationResults {
		rw := row{Decision: string(r.EvalDecision)}
		if r.OrganizationsDecisionDetail != nil && r.OrganizationsDecisionDetail.AllowedByOrganizations != nil {
			rw.ByOrgs = *r.OrganizationsDecisionDetail.AllowedByOrganizations
		}
		if len(r.MatchedStatements) > 0 {
			rw.Statement = r.MatchedStatements[0].SourcePolicyId
		}
		got = append(got, rw)
	}
	want := []row{
		{"allowed", true, "PolicyInputList.1"},
		{"implicitDeny", false, ""},
		{"explicitDeny", false, "p-noiam"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{account}, asked); diff != "" {
		t.Errorf("SCPs asked for (-want +got):\n%s", diff)
	}
}
