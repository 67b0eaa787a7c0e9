package token

import "testing"

func BenchmarkSeal(b *testing.B) {
	r := newTestRing(b)
	s := fullSession()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := r.Seal(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	r := newTestRing(b)
	tok, _, _, err := r.Seal(fullSession())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCredentials is the per-request cost of temporary credentials: open, check, derive the secret.
func BenchmarkCredentials(b *testing.B) {
	r := newTestRing(b)
	tok, akid, _, err := r.Seal(fullSession())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.Credentials(tok, akid, t0); err != nil {
			b.Fatal(err)
		}
	}
}
