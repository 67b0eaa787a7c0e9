package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeFetcher hands out numbered credentials valid for life from the clock's now, or fails with err.
type fakeFetcher struct {
	mu    sync.Mutex
	clock *clock
	life  time.Duration
	err   error
	calls int
	grant func(n int, now time.Time) *Grant
}

func (f *fakeFetcher) Fetch(context.Context) (*Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return f.grant(f.calls, f.clock.Now()), nil
}

func (f *fakeFetcher) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeFetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var testIdentity = Identity{
	InstanceID: "i-0123456789abcdef0", AccountID: "111122223333", Region: "eu-west-1", AvailabilityZone: "eu-west-1a",
	InstanceType: "t3.micro", ImageID: "ami-0abcdef1234567890", PrivateIP: "10.0.0.12",
	PendingTime:        time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC),
	InstanceProfileARN: "arn:aws:iam::111122223333:instance-profile/web", InstanceProfileID: "AIPAEXAMPLEEXAMPLE123",
	RoleName: "web-role", RoleARN: "arn:aws:iam::111122223333:role/web-role",
}

func newFake(c *clock, life time.Duration) *fakeFetcher {
	f := &fakeFetcher{clock: c, life: life}
	f.grant = func(n int, now time.Time) *Grant {
		return &Grant{Identity: testIdentity, Credentials: &Credentials{
			AccessKeyID:     "ASIAFAKE" + strings.Repeat(string(rune('A'+n%26)), 12),
			SecretAccessKey: "secret-" + strings.Repeat("x", n),
			SessionToken:    "token-" + strings.Repeat("t", n),
			Expiration:      now.Add(f.life),
		}}
	}
	return f
}

type testAgent struct {
	*Agent
	clock   *clock
	fetcher *fakeFetcher
	logs    *bytes.Buffer
}

func newTestAgent(t *testing.T, cfg Config) *testAgent {
	t.Helper()
	c := newClock()
	f := newFake(c, time.Hour)
	logs := &bytes.Buffer{}
	cfg.Fetcher, cfg.Now = f, c.Now
	cfg.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: logs}, nil))
	if cfg.InstanceID == "" {
		cfg.InstanceID = testIdentity.InstanceID
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testAgent{Agent: a, clock: c, fetcher: f, logs: logs}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestRefreshBeforeExpiry: credentials are renewed RefreshBefore ahead of expiry, not earlier, and the renewed
// ones are served.
func TestRefreshBeforeExpiry(t *testing.T) {
	a := newTestAgent(t, Config{})
	ctx := context.Background()
	start := a.clock.Now()
	next := a.Tick(ctx)
	if want := start.Add(time.Hour - DefaultRefreshBefore); !next.Equal(want) {
		t.Fatalf("next refresh = %v, want %v", next, want)
	}
	first := a.Credentials()
	if first == nil || a.fetcher.count() != 1 {
		t.Fatalf("after first tick: creds %v, fetches %d", first, a.fetcher.count())
	}
	a.clock.Advance(44 * time.Minute)
	a.Tick(ctx)
	if n := a.fetcher.count(); n != 1 {
		t.Fatalf("fetched %d times before the refresh was due, want 1", n)
	}
	a.clock.Advance(time.Minute)
	a.Tick(ctx)
	if n := a.fetcher.count(); n != 2 {
		t.Fatalf("fetched %d times once the refresh was due, want 2", n)
	}
	second := a.Credentials()
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatal("refreshed credentials are the old ones")
	}
	if remaining := second.Expiration.Sub(a.clock.Now()); remaining != time.Hour {
		t.Fatalf("served credentials have %v left, want 1h", remaining)
	}
}

// TestRefreshShortLived: credentials shorter-lived than twice RefreshBefore are renewed at half their lifetime.
func TestRefreshShortLived(t *testing.T) {
	a := newTestAgent(t, Config{})
	a.fetcher.life = 20 * time.Minute
	start := a.clock.Now()
	if next := a.Tick(context.Background()); !next.Equal(start.Add(10 * time.Minute)) {
		t.Fatalf("next refresh = %v, want start+10m", next.Sub(start))
	}
}

// TestOutageServesCachedCredentials: when the server is unreachable, the agent keeps serving the cached
// credentials while they are valid, says so in its logs and health, retries with backoff, stops serving them at
// expiry, and recovers when the server is back.
func TestOutageServesCachedCredentials(t *testing.T) {
	a := newTestAgent(t, Config{})
	ctx := context.Background()
	a.Tick(ctx)
	cached := *a.Credentials()
	a.fetcher.setErr(errors.New("dial tcp 10.0.0.1:8080: connect: connection refused"))
	a.clock.Advance(46 * time.Minute) // refresh due at 45m
	next := a.Tick(ctx)
	if got := a.Credentials(); got == nil || got.AccessKeyID != cached.AccessKeyID {
		t.Fatalf("during the outage served %v, want the cached credentials", got)
	}
	if h := a.Health(); h.Status != "degraded" || h.Failures != 1 || !strings.Contains(h.LastError, "connection refused") {
		t.Fatalf("health during outage = %+v", h)
	}
	if !strings.Contains(a.logs.String(), "serving cached credentials until they expire") {
		t.Fatalf("logs do not report the outage:\n%s", a.logs)
	}
	if wait := next.Sub(a.clock.Now()); wait != minRetry {
		t.Fatalf("first retry in %v, want %v", wait, minRetry)
	}
	a.clock.Advance(minRetry)
	if wait := a.Tick(ctx).Sub(a.clock.Now()); wait != 2*minRetry {
		t.Fatalf("second retry in %v, want %v (backoff)", wait, 2*minRetry)
	}
	// Past expiry nothing is served.
	a.clock.Advance(15 * time.Minute)
	a.Tick(ctx)
	if got := a.Credentials(); got != nil {
		t.Fatalf("served expired credentials %v", got)
	}
	if h := a.Health(); h.Status != "unavailable" {
		t.Fatalf("health after expiry = %+v", h)
	}
	rec := httptest.NewRecorder()
	a.ContainerHandler().ServeHTTP(rec, httptest.NewRequest("GET", HealthPath, nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("health endpoint = %d, want 503", rec.Code)
	}
	// The server comes back.
	a.fetcher.setErr(nil)
	a.clock.Advance(maxRetry)
	a.Tick(ctx)
	if h := a.Health(); h.Status != "ok" || a.Credentials() == nil {
		t.Fatalf("after recovery health = %+v", h)
	}
}

// TestRevokedIdentityStopsServing: a server that refuses the instance identity (revoked) ends the serving of
// cached credentials at once, unlike an outage.
func TestRevokedIdentityStopsServing(t *testing.T) {
	a := newTestAgent(t, Config{})
	ctx := context.Background()
	a.Tick(ctx)
	// A clock-skew refusal is not a revocation: the cached credentials stay.
	a.fetcher.setErr(&ExchangeError{Status: 403, Code: "RequestExpired", Message: "Signature expired"})
	a.Refresh(ctx)
	if a.Credentials() == nil {
		t.Fatal("a RequestExpired refusal dropped the cached credentials")
	}
	a.fetcher.setErr(&ExchangeError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."})
	a.Refresh(ctx)
	if got := a.Credentials(); got != nil {
		t.Fatalf("served %v after the identity was revoked", got)
	}
	if h := a.Health(); h.Status != "unavailable" {
		t.Fatalf("health = %+v", h)
	}
	// A 5xx is an outage, not a refusal.
	a.fetcher.setErr(nil)
	a.Refresh(ctx)
	a.fetcher.setErr(&ExchangeError{Status: 503, Code: "ServiceUnavailable"})
	a.Refresh(ctx)
	if a.Credentials() == nil {
		t.Fatal("a 503 from the server dropped the cached credentials")
	}
}

// TestNeverServesExpiredFromServer: credentials the server sends already expired are refused.
func TestNeverServesExpiredFromServer(t *testing.T) {
	a := newTestAgent(t, Config{})
	a.fetcher.life = -time.Second
	a.Tick(context.Background())
	if got := a.Credentials(); got != nil {
		t.Fatalf("served %v", got)
	}
}

func TestProcessOutput(t *testing.T) {
	exp := time.Date(2026, 11, 30, 13, 0, 0, 0, time.FixedZone("x", 3600))
	b, err := ProcessOutput(&Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t", Expiration: exp})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Version": 1,
  "AccessKeyId": "ASIAX",
  "SecretAccessKey": "s",
  "SessionToken": "t",
  "Expiration": "2026-11-30T12:00:00Z"
}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Fatalf("mismatch (-want +got):\n%s", diff)
	}
}

// TestContainerTokenFromFile: a missing token file is created (0600, in a 0700 directory) with a random token that
// later calls read back; a short token is refused.
func TestContainerTokenFromFile(t *testing.T) {
	path := t.TempDir() + "/run/persona/token"
	tok, err := ContainerTokenFromFile(path)
	if err != nil || len(tok) < 32 {
		t.Fatalf("created %q, %v", tok, err)
	}
	again, err := ContainerTokenFromFile(path)
	if err != nil || again != tok {
		t.Fatalf("read back %q, %v; want %q", again, err, tok)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", st.Mode())
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := ContainerTokenFromFile(path); err == nil {
		t.Fatal("a 5-character token was accepted")
	}
}
