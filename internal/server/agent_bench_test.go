package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/persona-iam/persona/internal/agent"
	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

// BenchmarkInstanceExchange measures the identity exchange over HTTP (SQLite store): SigV4 verification with the
// opened instance secret, the instance, profile and role reads, trust-policy evaluation, minting, and the
// synchronous audit record of the delivery.
func BenchmarkInstanceExchange(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir()+"/persona.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	box, _ := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if _, err := persiam.Bootstrap(ctx, st, box, persiam.BootstrapOptions{AccountID: testAccount, RootAccessKeyID: testRootKey, RootSecret: testRootSecret}); err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Store: st, Box: box})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	root := aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}
	c := iam.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return root, nil }),
		BaseEndpoint: aws.String(hs.URL)})
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("p"), RoleName: aws.String("r")}); err != nil {
		b.Fatal(err)
	}
	body := url.Values{"Action": {"RegisterInstance"}, "Version": {"2016-11-15"}, "IamInstanceProfile.Name": {"p"}}.Encode()
	req, _ := http.NewRequest("POST", hs.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	v4.NewSigner().SignHTTP(ctx, root, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var r registered
	if err := xml.Unmarshal(raw, &r); err != nil || r.InstanceID == "" {
		b.Fatalf("register: %v %s", err, raw)
	}
	f := &agent.HTTPFetcher{Identity: &agent.IdentityFile{InstanceID: r.InstanceID, Secret: secrets.Secret(r.InstanceSecret), Endpoint: hs.URL}}
	b.ReportAllocs()
	for b.Loop() {
		out, err := f.Exchange(ctx)
		if err != nil || out.Credentials == nil {
			b.Fatal(err)
		}
	}
}
