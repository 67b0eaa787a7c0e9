package server

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// benchEnv starts a server on SQLite with a user "alice" trusted by role "R", and returns alice's STS client,
// the role ARN and the server URL.
func benchEnv(b *testing.B) (*sts.Client, string, func(aws.Credentials) *sts.Client) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/p.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	box, _ := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if _, err := persiam.Bootstrap(ctx, st, box, persiam.BootstrapOptions{AccountID: testAccount, RootAccessKeyID: testRootKey, RootSecret: testRootSecret}); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(New(Config{Store: st, Box: box}))
	b.Cleanup(hs.Close)
	cfg := func(c aws.Credentials) aws.Config {
		return aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: c}, BaseEndpoint: aws.String(hs.URL), RetryMaxAttempts: 1}
	}
	root := iam.NewFromConfig(cfg(aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}))
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		b.Fatal(err)
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		b.Fatal(err)
	}
	r, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("R"), AssumeRolePolicyDocument: aws.String(trustAWS("arn:aws:iam::" + testAccount + ":user/alice"))})
	if err != nil {
		b.Fatal(err)
	}
	alice := aws.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
	return sts.NewFromConfig(cfg(alice)), aws.ToString(r.Role.Arn), func(c aws.Credentials) *sts.Client { return sts.NewFromConfig(cfg(c)) }
}

// BenchmarkAssumeRoleHTTP measures AssumeRole over HTTP with aws-sdk-go-v2 (signing, verification, trust
// evaluation, sealing), from parallel clients.
func BenchmarkAssumeRoleHTTP(b *testing.B) {
	client, roleARN, _ := benchEnv(b)
	ctx := context.Background()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bench")}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.AssumeRole(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetCallerIdentityTemporaryHTTP measures a request signed with temporary credentials: the token is
// opened and its secret derived on every request, with no store read.
func BenchmarkGetCallerIdentityTemporaryHTTP(b *testing.B) {
	client, roleARN, as := benchEnv(b)
	ctx := context.Background()
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	c := out.Credentials
	session := as(aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := session.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
