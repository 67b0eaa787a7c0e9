package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signingTime is the clock of every differential test.
var signingTime = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

// testCreds are the credentials requests are signed with; the secret is AWS's documentation example.
var testCreds = aws.Credentials{
	AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}

// spec describes a request to sign with the SDK.
type spec struct {
	Method    string
	Host      string
	Path      string // decoded path
	RawPath   string // optional alternative encoding of Path
	RawQuery  string
	Header    http.Header
	Body      []byte
	Service   string
	Region    string
	Presign   bool
	Token     string // session token
	S3Payload string // for s3: X-Amz-Content-Sha256 value to send and sign
}

// signed is a request signed by the SDK, as a server receives it.
type signed struct {
	wire []byte
	body []byte
}

// sign signs s with aws-sdk-go-v2 and returns the request as it travels on the wire.
func sign(t testing.TB, s spec) signed {
	t.Helper()
	u := &url.URL{Scheme: "https", Host: s.Host, Path: s.Path, RawPath: s.RawPath, RawQuery: s.RawQuery}
	req, err := http.NewRequest(s.Method, u.String(), bytes.NewReader(s.Body))
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", u.String(), err)
	}
	if len(s.Body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range s.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	creds := testCreds
	creds.SessionToken = s.Token
	payloadHash := hexSHA256(s.Body)
	var opts []func(*v4.SignerOptions)
	if s.Service == "s3" {
		opts = append(opts, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if s.S3Payload != "" {
			payloadHash = s.S3Payload
			req.Header.Set("X-Amz-Content-Sha256", payloadHash)
		} else if s.Presign {
			payloadHash = UnsignedPayload
		}
	}
	signer := v4.NewSigner()
	if s.Presign {
		signedURL, hdr, err := signer.PresignHTTP(context.Background(), creds, req, payloadHash, s.Service,
			s.Region, signingTime, opts...)
		if err != nil {
			t.Fatalf("PresignHTTP: %v", err)
		}
		req2, err := http.NewRequest(s.Method, signedURL, bytes.NewReader(s.Body))
		if err != nil {
			t.Fatalf("NewRequest(presigned %q): %v", signedURL, err)
		}
		if len(s.Body) == 0 {
			req2.Body, req2.ContentLength = http.NoBody, 0
		}
		for k, vs := range hdr {
			if k != "Host" {
				req2.Header[k] = vs
			}
		}
		req = req2
	} else if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, s.Service, s.Region,
		signingTime, opts...); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return signed{wire: buf.Bytes(), body: s.Body}
}

// receive parses wire bytes as a server does and reads the body.
func receive(t testing.TB, wire []byte) (*http.Request, []byte, bool) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		return nil, nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, false
	}
	return r, body, true
}

// check runs Parse and Verify as a server would, with secret as the looked-up key.
func check(r *http.Request, body []byte, now time.Time, v *Verifier, secret string) (*Request, error) {
	req, err := Parse(r, now)
	if err != nil {
		return nil, err
	}
	return req, v.Verify(r, req, body, []byte(secret))
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Characters that stress URI and query encoding: reserved, percent, plus, space, non-ASCII.
const oddChars = "abcXYZ019-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}é日\x01"

func randString(rng *rand.Rand, alphabet string, max int) string {
	rs := []rune(alphabet)
	n := rng.IntN(max + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(rs[rng.IntN(len(rs))])
	}
	return b.String()
}

// randomSpec draws a request with odd paths, repeated and special query parameters, headers with runs of
// spaces and repeated values, and random bodies.
func randomSpec(rng *rand.Rand) spec {
	s := spec{
		Method:  []string{"GET", "POST", "PUT", "DELETE", "PATCH"}[rng.IntN(5)],
		Host:    []string{"iam.amazonaws.com", "127.0.0.1:8443", "localhost:9000", "sts.us-east-1.amazonaws.com"}[rng.IntN(4)],
		Service: []string{"iam", "sts", "s3", "execute-api"}[rng.IntN(4)],
		Region:  []string{"us-east-1", "eu-west-3", "cn-north-1"}[rng.IntN(3)],
		Presign: rng.IntN(3) == 0,
		Header:  http.Header{},
	}
	if rng.IntN(4) == 0 {
		s.Token = "FwoGZXIvYXdzE" + randString(rng, "abcdefABCDEF0123456789+/=", 40)
	}
	if rng.IntN(5) > 0 {
		var p strings.Builder
		for range rng.IntN(4) + 1 {
			p.WriteString("/")
			p.WriteString(randString(rng, oddChars, 6))
		}
		s.Path = p.String()
		if rng.IntN(3) == 0 && !strings.ContainsAny(s.Path, "%") {
			// An alternative, valid encoding: one unreserved byte percent-encoded.
			esc := (&url.URL{Path: s.Path}).EscapedPath()
			for i := 0; i < len(esc); i++ {
				if c := esc[i]; 'a' <= c && c <= 'z' {
					s.RawPath = esc[:i] + fmt.Sprintf("%%%02X", c) + esc[i+1:]
					break
				}
			}
		}
	}
	q := url.Values{}
	for range rng.IntN(5) {
		k := randString(rng, oddChars, 5)
		if rng.IntN(3) == 0 {
			k = "Action"
		}
		for range rng.IntN(3) + 1 {
			q.Add(k, randString(rng, oddChars, 8))
		}
	}
	s.RawQuery = q.Encode()
	if rng.IntN(3) == 0 {
		s.RawQuery = strings.ReplaceAll(s.RawQuery, "+", "%20")
	}
	for i := range rng.IntN(4) {
		name := fmt.Sprintf("X-Custom-%d", i)
		for range rng.IntN(2) + 1 {
			s.Header.Add(name, randString(rng, "ab  c\tZ9,;=", 12))
		}
	}
	if rng.IntN(2) == 0 {
		s.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if s.Method != "GET" && s.Method != "DELETE" && rng.IntN(4) > 0 {
		s.Body = []byte(randString(rng, oddChars, 200))
	}
	if s.Service == "s3" && !s.Presign {
		s.S3Payload = hexSHA256(s.Body)
		if rng.IntN(3) == 0 && len(s.Body) == 0 {
			s.S3Payload = UnsignedPayload
		}
	}
	return s
}
