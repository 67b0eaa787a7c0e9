package sigv4

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDifferentialSDK signs many random requests with aws-sdk-go-v2's signer (SignHTTP and PresignHTTP)
// and requires each to verify, and each single-byte change to a signed element to fail.
func TestDifferentialSDK(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var strict Verifier
	s3 := Verifier{AllowUnsignedPayload: true} // S3 presigned uploads leave the body unsigned by design
	n := 600
	if testing.Short() {
		n = 100
	}
	for i := range n {
		s := randomSpec(rng)
		sr := sign(t, s)
		v := &strict
		if s.Service == "s3" {
			v = &s3
		}
		r, body, ok := receive(t, sr.wire)
		if !ok {
			t.Fatalf("case %d: signed request does not parse:\n%s", i, sr.wire)
		}
		// Any time within the skew window must be accepted.
		now := signingTime.Add(time.Duration(rng.IntN(int(2*MaxSkew/time.Second))-int(MaxSkew/time.Second)) * time.Second)
		req, err := check(r, body, now, v, testCreds.SecretAccessKey)
		if err != nil {
			var cr []byte
			if req != nil {
				cr, _ = appendCanonicalRequest(nil, &scratch{}, r, req, body)
			}
			t.Fatalf("case %d (%+v): %v\nwire:\n%s\nour canonical request:\n%s", i, s, err, sr.wire, cr)
		}
		if req.SecurityToken != s.Token {
			t.Errorf("case %d: SecurityToken = %q, want %q", i, req.SecurityToken, s.Token)
		}
		if req.Presigned != s.Presign || req.Credential.Service != s.Service || req.Credential.Region != s.Region {
			t.Errorf("case %d: parsed %+v from spec %+v", i, req, s)
		}
		for _, m := range mutations {
			mr, mbody, ok := receive(t, sr.wire)
			if !ok {
				t.Fatal("re-parse failed")
			}
			if m.name == "body" && req.UnsignedPayload() || !m.apply(rng, mr, &mbody, req) {
				continue
			}
			if _, err := check(mr, mbody, now, v, testCreds.SecretAccessKey); err == nil {
				t.Errorf("case %d: mutation %s still verifies:\n%s", i, m.name, sr.wire)
			}
		}
		// The wrong secret never verifies.
		if _, err := check(r, body, now, v, testCreds.SecretAccessKey+"x"); err == nil {
			t.Errorf("case %d: verifies with the wrong secret", i)
		}
	}
}

// mutation changes one signed element of a received request by one byte. apply reports false when the
// request has nothing to mutate for it.
type mutation struct {
	name  string
	apply func(rng *rand.Rand, r *http.Request, body *[]byte, req *Request) bool
}

var mutations = []mutation{
	{"method", func(rng *rand.Rand, r *http.Request, _ *[]byte, _ *Request) bool {
		r.Method = changeByte(rng, r.Method, alnum)
		return true
	}},
	{"path", func(rng *rand.Rand, r *http.Request, _ *[]byte, _ *Request) bool {
		p := r.URL.EscapedPath()
		if !strings.ContainsAny(p, alnum) {
			r.URL.Path, r.URL.RawPath = p+"x", ""
			return true
		}
		np := changeByte(rng, p, alnum)
		if err := setEscapedPath(r, np); err != nil {
			return false
		}
		return true
	}},
	{"query", func(rng *rand.Rand, r *http.Request, _ *[]byte, _ *Request) bool {
		q := r.URL.RawQuery
		idx := alnumOutsideEscapes(q)
		if len(idx) == 0 {
			return false
		}
		i := idx[rng.IntN(len(idx))]
		r.URL.RawQuery = q[:i] + string(otherByte(rng, q[i], alnum)) + q[i+1:]
		return true
	}},
	{"header", func(rng *rand.Rand, r *http.Request, _ *[]byte, req *Request) bool {
		names := strings.Split(req.SignedHeaders, ";")
		name := names[rng.IntN(len(names))]
		if name == "host" {
			r.Host = changeByte(rng, r.Host, alnum)
			return true
		}
		vals := lookupHeader(r.Header, name)
		if name == "x-amz-date" && req.Presigned || len(vals) == 0 {
			return false
		}
		j := rng.IntN(len(vals))
		if !strings.ContainsAny(vals[j], alnum) {
			return false
		}
		vals[j] = changeByte(rng, vals[j], alnum)
		return true
	}},
	{"body", func(rng *rand.Rand, _ *http.Request, body *[]byte, _ *Request) bool {
		if len(*body) == 0 {
			*body = []byte{'x'}
			return true
		}
		b := bytes.Clone(*body)
		b[rng.IntN(len(b))] ^= byte(rng.IntN(255) + 1)
		*body = b
		return true
	}},
	{"signature", func(rng *rand.Rand, r *http.Request, _ *[]byte, req *Request) bool {
		ns := changeByte(rng, req.Signature, "0123456789abcdef")
		if req.Presigned {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Signature="+req.Signature, "X-Amz-Signature="+ns, 1)
		} else {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), req.Signature, ns, 1))
		}
		return true
	}},
	{"date", func(rng *rand.Rand, r *http.Request, _ *[]byte, req *Request) bool {
		// Move the time by one second: still inside the skew window, so only the signature can catch it.
		old := req.RequestTime.Format(iso8601Basic)
		nt := req.RequestTime.Add(time.Second).Format(iso8601Basic)
		if req.Presigned {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Date="+old, "X-Amz-Date="+nt, 1)
		} else {
			r.Header.Set("X-Amz-Date", nt)
		}
		return true
	}},
	{"scope", func(rng *rand.Rand, r *http.Request, _ *[]byte, req *Request) bool {
		old := req.Credential.Region
		nr := changeByte(rng, old, "abcdefghijklmnopqrstuvwxyz")
		if req.Presigned {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2F"+old+"%2F", "%2F"+nr+"%2F", 1)
		} else {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/"+old+"/", "/"+nr+"/", 1))
		}
		return true
	}},
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// changeByte replaces one byte of s that is in set with another byte of set.
func changeByte(rng *rand.Rand, s, set string) string {
	var idx []int
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) >= 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return s + string(set[0])
	}
	i := idx[rng.IntN(len(idx))]
	return s[:i] + string(otherByte(rng, s[i], set)) + s[i+1:]
}

func otherByte(rng *rand.Rand, c byte, set string) byte {
	for {
		if n := set[rng.IntN(len(set))]; n != c {
			return n
		}
	}
}

// alnumOutsideEscapes lists positions of letters and digits in a raw query that are not inside a %XX
// escape, where a change would be a mere change of hex case.
func alnumOutsideEscapes(q string) []int {
	var idx []int
	for i := 0; i < len(q); i++ {
		if q[i] == '%' {
			i += 2
			continue
		}
		if strings.IndexByte(alnum, q[i]) >= 0 {
			idx = append(idx, i)
		}
	}
	return idx
}

func setEscapedPath(r *http.Request, p string) error {
	u, err := r.URL.Parse(p)
	if err != nil {
		return err
	}
	r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
	return nil
}

// TestKnownVector pins the canonical request and signature against the example in AWS's SigV4
// documentation (GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08).
func TestKnownVector(t *testing.T) {
	r, err := http.NewRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date, "+
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	req, err := Parse(r, now)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := appendCanonicalRequest(nil, &scratch{}, r, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
		"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n" +
		"x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if string(cr) != want {
		t.Errorf("canonical request mismatch:\ngot:\n%s\nwant:\n%s", cr, want)
	}
	var v Verifier
	if err := v.Verify(r, req, nil, []byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestDeriveKey pins the signing key of AWS's documented derivation example.
func TestDeriveKey(t *testing.T) {
	k := deriveKey([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20120215", "us-east-1", "iam")
	got := strings.ToLower(strings.TrimSpace(hexString(k[:])))
	want := "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if got != want {
		t.Errorf("deriveKey = %s, want %s", got, want)
	}
}

func hexString(b []byte) string {
	const h = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(h[c>>4])
		s.WriteByte(h[c&15])
	}
	return s.String()
}

// TestVerifierCache checks that cached keys are per secret and scope, and that the cache stays bounded.
func TestVerifierCache(t *testing.T) {
	v := Verifier{MaxKeys: 4}
	c := Credential{Date: "20261122", Region: "us-east-1", Service: "iam"}
	for i := range 50 {
		secret := []byte{byte(i)}
		want := deriveKey(secret, c.Date, c.Region, c.Service)
		for range 2 {
			if got := v.signingKey(secret, c); got != want {
				t.Fatalf("signingKey(secret %d) = %x, want %x", i, got, want)
			}
		}
		if n := len(v.cur) + len(v.old); n > 4 {
			t.Fatalf("cache holds %d keys, MaxKeys is 4", n)
		}
	}
	other := c
	other.Region = "eu-west-1"
	if v.signingKey([]byte{49}, other) == v.signingKey([]byte{49}, c) {
		t.Error("same key for two regions")
	}
}

func TestUnsignedPayloadWithBody(t *testing.T) {
	s := spec{Method: "POST", Host: "iam.amazonaws.com", Path: "/", Service: "s3", Region: "us-east-1",
		Header: http.Header{}, Body: []byte("Action=DeleteRole&RoleName=r"), S3Payload: UnsignedPayload}
	sr := sign(t, s)
	r, body, _ := receive(t, sr.wire)
	var v Verifier
	_, err := check(r, body, signingTime, &v, testCreds.SecretAccessKey)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotImplemented {
		t.Errorf("unsigned body: err = %v, want %s", err, CodeNotImplemented)
	}
	v.AllowUnsignedPayload = true
	if _, err := check(r, body, signingTime, &v, testCreds.SecretAccessKey); err != nil {
		t.Errorf("unsigned body allowed: %v", err)
	}
}

func TestStreamingSeedSignature(t *testing.T) {
	const streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	s := spec{Method: "PUT", Host: "s3.amazonaws.com", Path: "/bucket/key", Service: "s3", Region: "us-east-1",
		Header: http.Header{}, S3Payload: streaming}
	sr := sign(t, s)
	r, body, _ := receive(t, sr.wire)
	var v Verifier
	_, err := check(r, body, signingTime, &v, testCreds.SecretAccessKey)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotImplemented {
		t.Errorf("good seed signature: err = %v, want %s", err, CodeNotImplemented)
	}
	_, err = check(r, body, signingTime, &v, "wrong")
	if !errors.As(err, &e) || e.Code != CodeSignatureDoesNotMatch {
		t.Errorf("bad seed signature: err = %v, want %s", err, CodeSignatureDoesNotMatch)
	}
}

func TestContentSHA256Mismatch(t *testing.T) {
	s := spec{Method: "PUT", Host: "s3.amazonaws.com", Path: "/b/k", Service: "s3", Region: "us-east-1",
		Header: http.Header{}, Body: []byte("hello"), S3Payload: hexSHA256([]byte("other"))}
	sr := sign(t, s)
	r, body, _ := receive(t, sr.wire)
	var v Verifier
	_, err := check(r, body, signingTime, &v, testCreds.SecretAccessKey)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeContentSHA256Mismatch || e.HTTPStatus != 400 {
		t.Errorf("err = %v, want %s (400)", err, CodeContentSHA256Mismatch)
	}
}

// TestVerifierConcurrent shares one Verifier across goroutines with a tiny cache, so that cache inserts and
// generation flips race with lookups (run with -race).
func TestVerifierConcurrent(t *testing.T) {
	v := Verifier{MaxKeys: 2}
	rng := rand.New(rand.NewPCG(3, 4))
	var reqs []signed
	for range 8 {
		s := randomSpec(rng)
		s.Service, s.S3Payload = "sts", ""
		reqs = append(reqs, sign(t, s))
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 50 {
				sr := reqs[(g+i)%len(reqs)]
				r, body, _ := receive(t, sr.wire)
				if _, e := check(r, body, signingTime, &v, testCreds.SecretAccessKey); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
