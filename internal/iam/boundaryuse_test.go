package iam

import (
	"context"
	"fmt"
	"testing"

	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// BenchmarkGetPolicyBoundaryCount measures GetPolicy in an account of 1,000 users and 200 roles, all of which
// are read to count the policy's permissions-boundary usage (there is no index by boundary): "cached" while the
// store does not change, "count" the full read that follows any write.
//
//	go test ./internal/iam -run '^$' -bench GetPolicyBoundaryCount -benchmem
func BenchmarkGetPolicyBoundaryCount(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const account = "111122223333"
	s := New(Config{Store: st, Authz: authz.New(st)})
	ctx = authz.WithPrincipal(ctx, &authz.Principal{Type: authz.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	pol, err := s.CreatePolicy(ctx, &iamapi.CreatePolicyInput{PolicyName: "bound", PolicyDocument: doc})
	if err != nil {
		b.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for i := range 1000 {
		in := &iamapi.CreateUserInput{UserName: fmt.Sprint("u", i)}
		if i%2 == 0 {
			in.PermissionsBoundary = pol.Policy.Arn
		}
		if _, err := s.CreateUser(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 200 {
		if _, err := s.CreateRole(ctx, &iamapi.CreateRoleInput{RoleName: fmt.Sprint("r", i), AssumeRolePolicyDocument: trust}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := s.GetPolicy(ctx, &iamapi.GetPolicyInput{PolicyArn: pol.Policy.Arn})
			if err != nil || *out.Policy.PermissionsBoundaryUsageCount != 500 {
				b.Fatalf("GetPolicy = %+v, %v", out, err)
			}
		}
	})
	b.Run("count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			counts, err := boundaryCounts(ctx, st, account)
			if err != nil || counts[pol.Policy.Arn] != 500 {
				b.Fatalf("boundaryCounts = %v, %v", counts[pol.Policy.Arn], err)
			}
		}
	})
}
