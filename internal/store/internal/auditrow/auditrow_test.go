package auditrow

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/persona-iam/persona/internal/store"
)

// FuzzParseMarker checks the marker codec: a marker that parses is the canonical spelling of its position, one
// that does not parse is ErrInvalidMarker, and every position round-trips.
func FuzzParseMarker(f *testing.F) {
	for _, m := range []string{"1.1", "0.0", "-5.3", "1780272000000000.42", "01.1", "1.", ".1", "1.-1", "x", ""} {
		f.Add(m, int64(1), int64(2))
	}
	f.Fuzz(func(t *testing.T, m string, micros, seq int64) {
		if tm, s, err := ParseMarker(m); err == nil {
			if Marker(tm, s) != m {
				t.Fatalf("ParseMarker(%q) = %d, %d, which is spelled %q", m, tm, s, Marker(tm, s))
			}
		} else if !errors.Is(err, store.ErrInvalidMarker) {
			t.Fatalf("ParseMarker(%q) error = %v, want ErrInvalidMarker", m, err)
		}
		if seq < 0 {
			return
		}
		tm, s, err := ParseMarker(Marker(micros, seq))
		if err != nil || tm != micros || s != seq {
			t.Fatalf("round trip of (%d, %d) = %d, %d, %v", micros, seq, tm, s, err)
		}
	})
}

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantLen  int
	}{
		{"short", "admin", 5},
		{"cut on a rune boundary", strings.Repeat("é", 600), 1024},
		{"cut ascii", strings.Repeat("a", 5000), 1024},
		{"NUL removed", "a\x00b", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Value(tc.in)
			if len(got) != tc.wantLen || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
				t.Errorf("Value = %d bytes (valid %v), want %d valid bytes without NUL", len(got), utf8.ValidString(got), tc.wantLen)
			}
		})
	}
}
