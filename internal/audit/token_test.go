package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzNextToken checks the NextToken codec: decoding never panics; whatever decodes re-encodes to the same
// token (one token per position, so a token cannot be altered and still name the same page); and encoding any
// token decodes back to it.
func FuzzNextToken(f *testing.F) {
	for _, t := range []token{
		{fingerprint: 1, start: 0, end: 1, marker: "1.1"},
		{fingerprint: 1 << 63, start: -1, end: 1 << 62, marker: "1780272000000000.42"},
	} {
		f.Add(encodeToken(t), t.fingerprint, t.start, t.end, t.marker)
	}
	f.Add("", uint64(0), int64(0), int64(0), "")
	f.Add("not-a-token", uint64(0), int64(0), int64(0), "x")
	f.Fuzz(func(t *testing.T, s string, fp uint64, start, end int64, marker string) {
		if tok, err := decodeToken(s); err == nil {
			if tok.marker == "" {
				t.Fatalf("decodeToken(%q) accepted an empty marker", s)
			}
			if again := encodeToken(tok); again != s {
				t.Fatalf("decodeToken(%q) re-encodes to %q", s, again)
			}
		}
		if marker == "" {
			return
		}
		want := token{fingerprint: fp, start: start, end: end, marker: marker}
		got, err := decodeToken(encodeToken(want))
		if err != nil {
			t.Fatalf("decodeToken(encodeToken(%+v)): %v", want, err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(token{})); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}
