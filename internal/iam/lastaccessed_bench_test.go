package iam

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// BenchmarkGenerateServiceLastAccessedRole measures a role's report over a trail of 20,000 records (half of them
// by the role's sessions), which a role's report reads in full (go test ./internal/iam -run X -bench LastAccessed).
func BenchmarkGenerateServiceLastAccessedRole(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := New(Config{Store: st, Authz: authz.New(st), Now: func() time.Time { return now }})
	const account = "111122223333"
	ctx = authz.WithPrincipal(ctx, &authz.Principal{Type: authz.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account})
	role, err := s.CreateRole(ctx, &iamapi.CreateRoleInput{RoleName: "worker",
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.PutRolePolicy(ctx, &iamapi.PutRolePolicyInput{RoleName: "worker", PolicyName: "p",
		PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*","s3:*"],"Resource":"*"}]}`}); err != nil {
		b.Fatal(err)
	}
	sess := &authz.Principal{Type: authz.AssumedRole, Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/worker/s",
		UserID: role.Role.RoleId + ":s", Name: "worker", AccessKeyID: "ASIAEXAMPLE",
		Session: &authz.Session{RoleARN: role.Role.Arn, RoleID: role.Role.RoleId, SessionName: "s", Issued: now}}
	other := &authz.Principal{Type: authz.IAMUser, Account: account, ARN: "arn:aws:iam::" + account + ":user/u", UserID: "AIDAOTHER", Name: "u"}
	var batch []store.AuditRecord
	for i := range 20000 {
		p := sess
		if i%2 == 1 {
			p = other
		}
		row, err := audit.Build(audit.Event{Time: now.Add(-time.Duration(i) * time.Minute), Principal: p, Source: audit.SourceIAM,
			Action: fmt.Sprintf("GetRole%d", i%20), Region: "us-east-1", RequestID: "r"})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, row)
	}
	if err := st.AppendAudit(ctx, batch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.GenerateServiceLastAccessedDetails(ctx, &iamapi.GenerateServiceLastAccessedDetailsInput{
			Arn: role.Role.Arn, Granularity: iamapi.AccessAdvisorUsageGranularityTypeActionLevel}); err != nil {
			b.Fatal(err)
		}
	}
}
