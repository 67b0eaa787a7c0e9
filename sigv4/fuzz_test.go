package sigv4

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// FuzzParseAuthorization checks properties of the Authorization header parser: it never panics; on
// failure it returns IncompleteSignature (400); on success the three parameters are comma-free parts of
// the header, and rendering them in canonical form parses back to the same values.
func FuzzParseAuthorization(f *testing.F) {
	file, err := os.Open("testdata/authorization.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text(), true)
		f.Add(sc.Text(), false)
	}
	f.Fuzz(func(t *testing.T, h string, hasDate bool) {
		a, e := parseAuthorization(h, hasDate)
		if e != nil {
			if e.Code != CodeIncompleteSignature || e.HTTPStatus != 400 {
				t.Fatalf("parseAuthorization(%q) = %+v, want IncompleteSignature/400", h, e)
			}
			return
		}
		if !hasDate {
			t.Fatalf("parseAuthorization(%q, no date) succeeded", h)
		}
		for _, v := range []string{a.credential, a.signedHeaders, a.signature} {
			if strings.Contains(v, ",") || !strings.Contains(h, v) {
				t.Fatalf("parameter %q is not a comma-free part of %q", v, h)
			}
		}
		if !strings.HasPrefix(strings.TrimLeft(h, " \t"), Algorithm+" ") {
			t.Fatalf("parsed %q without the %s prefix", h, Algorithm)
		}
		canon := Algorithm + " Credential=" + a.credential + ", SignedHeaders=" + a.signedHeaders +
			", Signature=" + a.signature
		b, e := parseAuthorization(canon, true)
		if e != nil || b != a {
			t.Fatalf("round trip of %q: got %+v, %v; want %+v", canon, b, e, a)
		}
	})
}

// FuzzVerify signs seed requests with the SDK and applies fuzzer-chosen single-byte mutations to one
// signed element: a request that was changed must never verify, and nothing may panic. Arbitrary bytes
// are also parsed as a wire request to look for panics on hostile input.
func FuzzVerify(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 7))
	var seeds []signed
	for range 16 {
		s := randomSpec(rng)
		if s.Service == "s3" {
			s.Service = "iam" // keep the body signed, so every mutation must be caught
			s.S3Payload = ""
		}
		seeds = append(seeds, sign(f, s))
	}
	for i := range seeds {
		f.Add(uint8(i), uint8(i%len(mutations)), uint64(i), []byte(nil))
	}
	f.Add(uint8(0), uint8(0), uint64(0), seeds[0].wire)
	var v Verifier
	f.Fuzz(func(t *testing.T, seed, op uint8, pick uint64, raw []byte) {
		if len(raw) > 0 {
			// Hostile wire input: nothing may panic.
			if r, body, ok := receive(t, raw); ok {
				_, _ = check(r, body, signingTime, &v, testCreds.SecretAccessKey)
			}
			return
		}
		sr := seeds[int(seed)%len(seeds)]
		r, body, ok := receive(t, sr.wire)
		if !ok {
			t.Fatal("seed does not parse")
		}
		req, err := check(r, body, signingTime, &v, testCreds.SecretAccessKey)
		if err != nil {
			t.Fatalf("seed does not verify: %v", err)
		}
		m := mutations[int(op)%len(mutations)]
		mrng := rand.New(rand.NewPCG(pick, uint64(seed)))
		if !m.apply(mrng, r, &body, req) {
			return
		}
		_, err = check(r, body, signingTime, &v, testCreds.SecretAccessKey)
		var e *Error
		if err == nil {
			t.Fatalf("mutation %s of seed %d verifies", m.name, seed)
		}
		if !errors.As(err, &e) || e.HTTPStatus < 400 {
			t.Fatalf("mutation %s: error %v is not an *Error with a 4xx/5xx status", m.name, err)
		}
	})
}

// FuzzParsePresigned checks the presigned-URL query parser against net/url and the contract of Parse: a query
// scanQuery accepts is one url.ParseQuery reads without error, and every X-Amz-* parameter it found is
// ParseQuery's first value for that key (so the signer and the handler see the same parameters); a refusal is
// MalformedQueryString/404 (sic, AWS's status). Parse of a request that carries only the query never panics, fails only with an
// *Error with its code's 4xx status, and on success returns a presigned request whose parts are those of the query.
func FuzzParsePresigned(f *testing.F) {
	for i, s := range []spec{
		{Method: "GET", Host: "sts.amazonaws.com", Path: "/", RawQuery: "Action=GetCallerIdentity&Version=2011-06-15",
			Service: "sts", Region: "us-east-1", Presign: true},
		{Method: "GET", Host: "127.0.0.1:8443", Path: "/", RawQuery: "Action=ListUsers&Version=2010-05-08&X-Amz-Expires=60",
			Service: "iam", Region: "us-east-1", Presign: true, Token: "FwoGZXIvYXdzE+/="},
	} {
		s.Header = http.Header{}
		r, _, ok := receive(f, sign(f, s).wire)
		if !ok {
			f.Fatalf("seed %d does not parse", i)
		}
		f.Add(r.URL.RawQuery)
	}
	for _, s := range []string{"", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "a=%zz", "a;b=c", "X-Amz-Expires=-1&X-Amz-Expires=5",
		"X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=20261122T103000Z&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=&X-Amz-SignedHeaders=host",
		"X-Amz-Date=x+y&&=&X-Amz-Date=z", "%58-Amz-Date=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, qerr := scanQuery(raw)
		if qerr != nil {
			if qerr.Code != CodeMalformedQueryString || qerr.HTTPStatus != 404 {
				t.Fatalf("scanQuery(%q) = %+v, want MalformedQueryString/404", raw, qerr)
			}
		} else {
			vals, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatalf("scanQuery accepted %q, which url.ParseQuery refuses: %v", raw, err)
			}
			for key, p := range map[string]queryParam{
				"X-Amz-Algorithm": q.algorithm, "X-Amz-Credential": q.credential, "X-Amz-Date": q.date,
				"X-Amz-Expires": q.expires, "X-Amz-SignedHeaders": q.signedHeaders, "X-Amz-Signature": q.signature,
				"X-Amz-Security-Token": q.securityToken,
			} {
				vs, ok := vals[key]
				if p.present != ok || (ok && p.value != vs[0]) {
					t.Fatalf("scanQuery(%q): %s = %+v; url.ParseQuery has %q", raw, key, p, vs)
				}
			}
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: raw}, Header: http.Header{}, Host: "sts.amazonaws.com"}
		req, err := Parse(r, signingTime)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.HTTPStatus != statusOf(e.Code) || e.HTTPStatus < 400 || e.HTTPStatus >= 500 ||
				e.Message == "" {
				t.Fatalf("Parse(%q) error %#v is not an *Error with its code's 4xx status", raw, err)
			}
			return
		}
		if qerr != nil || !req.Presigned || q.algorithm.value != Algorithm {
			t.Fatalf("Parse(%q) accepted a query scanQuery refused or that is not presigned: %+v", raw, req)
		}
		if req.Signature != q.signature.value || req.SignedHeaders != q.signedHeaders.value ||
			req.SecurityToken != q.securityToken.value ||
			req.Credential.AccessKeyID+"/"+req.scope != q.credential.value || req.Credential.AccessKeyID == "" {
			t.Fatalf("Parse(%q) = %+v, whose parts are not the query's", raw, req)
		}
		if req.Expires < 0 || req.Expires > MaxExpires || (req.Expires == 0) == q.expires.present {
			t.Fatalf("Parse(%q): Expires %v out of range or not from the query", raw, req.Expires)
		}
		if req.RequestTime.After(signingTime.Add(MaxSkew)) {
			t.Fatalf("Parse(%q) accepted a request time %v beyond the skew", raw, req.RequestTime)
		}
	})
}
