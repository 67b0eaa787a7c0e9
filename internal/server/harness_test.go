package server

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

const (
	testAccount    = "111122223333"
	testRootKey    = "AKIAIOSFODNN7EXAMPLE"
	testRootSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// env is a Persona server under test with aws-sdk-go-v2 clients signed by the root key.
type env struct {
	t    *testing.T
	url  string
	iam  *iam.Client
	sts  *sts.Client
	st   store.Store
	srv  *Server
	root aws.Credentials
}

type backend func(t *testing.T) store.Store

func sqliteStore(t *testing.T) store.Store {
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/persona.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func postgresStore(t *testing.T) store.Store {
	st, err := postgres.Open(context.Background(), pgtest.FreshSchema(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// backends are the stores every end-to-end test that takes one runs against.
var backends = map[string]backend{"sqlite": sqliteStore, "postgres": postgresStore}

func newEnv(t *testing.T, open backend) *env {
	t.Helper()
	return newEnvWith(t, open, nil)
}

// newEnvWith is newEnv with configure applied to the server's Config before the server starts: changing the Config
// of a running server races with its background work (the race detector caught TestAuditRetentionPrunes doing so).
func newEnvWith(t *testing.T, open backend, configure func(*Config)) *env {
	t.Helper()
	st := open(t)
	box, err := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := persiam.Bootstrap(context.Background(), st, box, persiam.BootstrapOptions{
		AccountID: testAccount, RootAccessKeyID: testRootKey, RootSecret: testRootSecret,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Box: box, WatchInterval: 50 * time.Millisecond}
	if configure != nil {
		configure(&cfg)
	}
	srv := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { cancel(); hs.Close() })
	e := &env{t: t, url: hs.URL, st: st, srv: srv, root: aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}}
	e.iam = e.iamAs(e.root)
	e.sts = e.stsAs(e.root)
	return e
}

func (e *env) cfg(c aws.Credentials) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.StaticCredentialsProvider{Value: c},
		BaseEndpoint: aws.String(e.url),
		// No retries: a test must see the first answer.
		RetryMaxAttempts: 1,
	}
}

func (e *env) iamAs(c aws.Credentials) *iam.Client { return iam.NewFromConfig(e.cfg(c)) }
func (e *env) stsAs(c aws.Credentials) *sts.Client { return sts.NewFromConfig(e.cfg(c)) }

// apiError asserts err is an AWS API error with code and returns it.
func apiError(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	return ae
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

const ec2Trust = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" }
  ]
}`
