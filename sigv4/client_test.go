package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

// TestRealClients sends requests from aws-sdk-go-v2's IAM and STS clients (full middleware stack, real
// HTTP) and from its STS presign client, and requires the server side to verify them.
func TestRealClients(t *testing.T) {
	var (
		v   Verifier
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		result := "ok"
		req, err := Parse(r, time.Now())
		if err == nil {
			err = v.Verify(r, req, body, []byte(testCreds.SecretAccessKey))
		}
		if err != nil {
			result = err.Error()
		} else {
			result = req.Credential.Service + " " + req.SecurityToken
		}
		mu.Lock()
		got = append(got, result)
		mu.Unlock()
		w.WriteHeader(http.StatusBadRequest) // the clients fail; only what the server saw matters
	}))
	defer srv.Close()

	ctx := context.Background()
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, "tok"),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	_, _ = iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/a b/+é/")})
	_, _ = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	p, err := sts.NewPresignClient(sts.NewFromConfig(cfg)).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	preq, _ := http.NewRequest(p.Method, p.URL, nil)
	for k, vs := range p.SignedHeader {
		preq.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(preq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	want := []string{"iam tok", "sts tok", "sts tok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server results mismatch (-want +got):\n%s", diff)
	}
}
