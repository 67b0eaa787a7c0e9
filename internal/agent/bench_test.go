package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkIMDSCredentials measures the agent answering GET …/security-credentials/ROLE with a valid IMDSv2 token
// (token check, tree, document), in process.
func BenchmarkIMDSCredentials(b *testing.B) {
	c := newClock()
	a, err := New(Config{Fetcher: newFake(c, time.Hour), Now: c.Now})
	if err != nil {
		b.Fatal(err)
	}
	a.Tick(context.Background())
	h := a.IMDSHandler()
	tok := a.tokens.issue(c.Now().Add(time.Hour))
	req := httptest.NewRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/web-role", nil)
	req.Header.Set(TokenHeader, tok)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkIMDSToken measures issuing and checking an IMDSv2 session token.
func BenchmarkIMDSToken(b *testing.B) {
	ts, err := newTokenSigner()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if !ts.valid(ts.issue(now.Add(time.Minute)), now) {
			b.Fatal("invalid")
		}
	}
}
