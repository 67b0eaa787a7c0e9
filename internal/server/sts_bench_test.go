package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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

// BenchmarkGetCallerIdentityCeilingHTTP is the ceiling for the two benchmarks above: the same SDK client against a
// bare net/http handler that answers a canned GetCallerIdentity response without any work.
func BenchmarkGetCallerIdentityCeilingHTTP(b *testing.B) {
	const body = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
		`<Arn>arn:aws:sts::111122223333:assumed-role/R/bench</Arn><UserId>AROAEXAMPLE:bench</UserId><Account>111122223333</Account>` +
		`</GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, body)
	}))
	b.Cleanup(hs.Close)
	benchCallerIdentity(b, hs.URL, aws.Credentials{AccessKeyID: "ASIAEXAMPLEEXAMPLE12", SecretAccessKey: testRootSecret, SessionToken: "token"}, 1)
}

// BenchmarkGetCallerIdentityMotoHTTP measures the same call against moto_server (a reference for shapes, and a
// common local stand-in for STS), started on a free port.
func BenchmarkGetCallerIdentityMotoHTTP(b *testing.B) {
	motoURL := startMoto(b)
	// Moto's development server drops a kept-alive connection now and then under parallel load: allow retries.
	benchCallerIdentity(b, motoURL, aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}, 3)
}

func benchCallerIdentity(b *testing.B, url string, c aws.Credentials, attempts int) {
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: c}, BaseEndpoint: aws.String(url), RetryMaxAttempts: attempts})
	ctx := context.Background()
	if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The Raw benchmarks replay one signed request from a plain net/http client, so that the client costs little and
// the figures measure the servers: the bare net/http ceiling, Persona, and moto_server, side by side.

func rawClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

// presignedCallerIdentity returns a presigned GetCallerIdentity URL for base, signed with c.
func presignedCallerIdentity(b *testing.B, base string, c aws.Credentials) string {
	req, _ := http.NewRequest(http.MethodGet, base+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	empty := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), c, req, hex.EncodeToString(empty[:]), "sts", "us-east-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return u
}

func benchRawGet(b *testing.B, u string) {
	client := rawClient()
	get := func() error {
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawCeiling is a bare net/http handler answering a canned GetCallerIdentity response.
func BenchmarkRawCeiling(b *testing.B) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::111122223333:assumed-role/R/bench</Arn><UserId>AROAEXAMPLE:bench</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	b.Cleanup(hs.Close)
	benchRawGet(b, hs.URL+"/?Action=GetCallerIdentity&Version=2011-06-15")
}

// BenchmarkRawPresignedGetCallerIdentityTemporary is a presigned GetCallerIdentity with temporary credentials:
// SigV4 verification with the secret derived from the session token, no store read.
func BenchmarkRawPresignedGetCallerIdentityTemporary(b *testing.B) {
	client, roleARN, _ := benchEnv(b)
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	c := out.Credentials
	base := benchURL(b, client)
	benchRawGet(b, presignedCallerIdentity(b, base, aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}))
}

// BenchmarkRawAssumeRole replays one signed AssumeRole POST (SigV4 allows it within the signature's validity):
// verification, trust evaluation, sealing and the response.
func BenchmarkRawAssumeRole(b *testing.B) {
	client, roleARN, _ := benchEnv(b)
	base := benchURL(b, client)
	alice := must2(client.Options().Credentials.Retrieve(context.Background()))
	body := "Action=AssumeRole&Version=2011-06-15&RoleSessionName=bench&RoleArn=" + url.QueryEscape(roleARN)
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), alice, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	hc := rawClient()
	do := func() error {
		r, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		r.Header = req.Header.Clone()
		resp, err := hc.Do(r)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := do(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawMotoGetCallerIdentity is the same presigned GetCallerIdentity against moto_server.
func BenchmarkRawMotoGetCallerIdentity(b *testing.B) {
	base := startMoto(b)
	benchRawGet(b, presignedCallerIdentity(b, base, aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}))
}

func benchURL(b *testing.B, c *sts.Client) string {
	return aws.ToString(c.Options().BaseEndpoint)
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// startMoto starts moto_server on a free port and returns its URL.
func startMoto(b *testing.B) string {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		b.Skip("moto_server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "-p", port)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 300 {
			b.Fatal("moto_server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return url
}
