package sigv4

import (
	"net/http"
	"testing"
)

// iamListRoles is a typical IAM call as aws-sdk-go-v2 sends it: a form POST signed in the header.
func iamListRoles(b *testing.B) (*http.Request, []byte) {
	s := spec{Method: "POST", Host: "127.0.0.1:8080", Path: "/", Service: "iam", Region: "us-east-1",
		Header: http.Header{
			"Content-Type":          {"application/x-www-form-urlencoded"},
			"Amz-Sdk-Invocation-Id": {"8b7c2f4e-6a8e-4f5b-9a53-2b1b5c1d4e3f"},
			"Amz-Sdk-Request":       {"attempt=1; max=3"},
		},
		Body: []byte("Action=ListRoles&MaxItems=100&PathPrefix=%2Fservice-role%2F&Version=2010-05-08")}
	r, body, ok := receive(b, sign(b, s).wire)
	if !ok {
		b.Fatal("request does not parse")
	}
	return r, body
}

func benchmarkVerify(b *testing.B, v *Verifier) {
	r, body := iamListRoles(b)
	secret := []byte(testCreds.SecretAccessKey)
	b.ReportAllocs()
	for b.Loop() {
		req, err := Parse(r, signingTime)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(r, req, body, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures Parse plus Verify of a typical IAM POST, with and without the signing-key cache.
func BenchmarkVerify(b *testing.B) {
	b.Run("cached", func(b *testing.B) { benchmarkVerify(b, &Verifier{}) })
	b.Run("uncached", func(b *testing.B) { benchmarkVerify(b, &Verifier{MaxKeys: -1}) })
}

// BenchmarkVerifyPresigned measures a presigned STS GetCallerIdentity with a session token.
func BenchmarkVerifyPresigned(b *testing.B) {
	s := spec{Method: "GET", Host: "127.0.0.1:8080", Path: "/", Service: "sts", Region: "us-east-1",
		RawQuery: "Action=GetCallerIdentity&Version=2011-06-15", Presign: true, Header: http.Header{},
		Token: "AQoDYXdzEJr1K0Y8nW2xZ2Vt5cW9rZW4tZXhhbXBsZS1zZXNzaW9uLXRva2VuLXZhbHVl"}
	r, body, ok := receive(b, sign(b, s).wire)
	if !ok {
		b.Fatal("request does not parse")
	}
	var v Verifier
	secret := []byte(testCreds.SecretAccessKey)
	b.ReportAllocs()
	for b.Loop() {
		req, err := Parse(r, signingTime)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(r, req, body, secret); err != nil {
			b.Fatal(err)
		}
	}
}
