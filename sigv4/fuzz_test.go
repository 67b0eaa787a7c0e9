package sigv4

import (
	"bufio"
	"errors"
	"math/rand/v2"
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
