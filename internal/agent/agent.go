// Package agent is Persona's workload-credentials agent: it runs beside a workload, exchanges the host's instance
// identity for the instance profile's role credentials at the Persona server, keeps them fresh, and serves them
// the ways unmodified SDKs look for them: the EC2 instance metadata service (IMDSv2) and the container
// credentials endpoint. No long-term key is ever stored on the host; the instance identity is revocable and is
// never itself a credential for any AWS API.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Credentials are temporary AWS credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// LogValue never shows the secret or the token.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.Time("expiration", c.Expiration))
}

// Identity describes the instance the agent serves, as EC2 reports it in instance metadata.
type Identity struct {
	InstanceID       string
	AccountID        string
	Region           string
	AvailabilityZone string
	InstanceType     string
	ImageID          string
	PrivateIP        string
	Architecture     string
	// PendingTime is when the instance was registered.
	PendingTime time.Time
	// InstanceProfileARN and InstanceProfileID name the associated instance profile; empty when none is.
	InstanceProfileARN string
	InstanceProfileID  string
	// RoleName and RoleARN name the instance profile's role; empty when there is none.
	RoleName string
	RoleARN  string
}

// Grant is what the server answers an identity exchange with: who the instance is and, when it has an instance
// profile with a role, the role's credentials.
type Grant struct {
	Identity Identity
	// Credentials are nil when the instance has no instance profile, or when the server would not issue them;
	// Code and Message then say why, as IMDS's iam/info does (for example AssumeRoleUnauthorizedAccess when the
	// role does not trust ec2.amazonaws.com).
	Credentials *Credentials
	Code        string
	Message     string
}

// Fetcher exchanges the instance identity for a grant. Implementations return an *ExchangeError when the server
// answered with a refusal, any other error when it could not be reached.
type Fetcher interface {
	Fetch(ctx context.Context) (*Grant, error)
}

// ExchangeError is the server's refusal of an identity exchange (revoked identity, role that does not trust EC2…).
type ExchangeError struct {
	Status  int
	Code    string
	Message string
}

func (e *ExchangeError) Error() string { return e.Code + ": " + e.Message }

// Refresh timing.
const (
	// DefaultRefreshBefore is how long before expiry the agent fetches new credentials. SDKs refresh IMDS
	// credentials up to 5 minutes before they expire; the agent stays well ahead of them.
	DefaultRefreshBefore = 15 * time.Minute
	// minRetry and maxRetry bound the backoff between failed fetches.
	minRetry = 5 * time.Second
	maxRetry = 2 * time.Minute
)

// Config configures an Agent.
type Config struct {
	Fetcher Fetcher
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RefreshBefore is how long before expiry credentials are renewed; DefaultRefreshBefore when 0. Short-lived
	// credentials are renewed at half their lifetime at the latest.
	RefreshBefore time.Duration
	// AllowIMDSv1 answers metadata requests that carry no session token (HttpTokens=optional). Off by default,
	// as with HttpTokens=required: IMDSv1 is what SSRF attacks steal credentials through.
	AllowIMDSv1 bool
	// InstanceID is the identity's instance id, known before the first exchange succeeds.
	InstanceID string
	// ContainerToken is the value the container endpoint requires in Authorization; the endpoint refuses every
	// request when it is empty.
	ContainerToken string
}

// Agent holds the current grant and renews it.
type Agent struct {
	cfg    Config
	tokens *tokenSigner

	mu          sync.Mutex
	grant       *Grant
	lastUpdated time.Time // when the current grant was fetched
	lastErr     error
	lastAttempt time.Time
	failures    int
	next        time.Time // when the next fetch is due; zero means now
}

// New returns an agent; it fetches nothing until Tick or Run.
func New(cfg Config) (*Agent, error) {
	if cfg.Fetcher == nil {
		return nil, errors.New("agent: no fetcher")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	ts, err := newTokenSigner()
	if err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, tokens: ts}, nil
}

// Run fetches credentials and keeps them fresh until ctx is done.
func (a *Agent) Run(ctx context.Context) {
	for {
		next := a.Tick(ctx)
		wait := next.Sub(a.cfg.Now())
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Tick fetches a new grant when one is due and returns when the next fetch is due.
func (a *Agent) Tick(ctx context.Context) time.Time {
	now := a.cfg.Now()
	a.mu.Lock()
	due := a.next.IsZero() || !now.Before(a.next)
	next := a.next
	a.mu.Unlock()
	if !due {
		return next
	}
	return a.Refresh(ctx)
}

// Refresh fetches a new grant now. On failure it keeps the current grant (served while its credentials are
// valid), logs that it does, and schedules a retry with backoff. It returns when the next fetch is due.
func (a *Agent) Refresh(ctx context.Context) time.Time {
	g, err := a.cfg.Fetcher.Fetch(ctx)
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastAttempt = now
	var refused *ExchangeError
	if errors.As(err, &refused) && revoked(refused) {
		// The server refused the identity itself (terminated, reset, bad secret): the operator cut this host off,
		// so the cached credentials stop being served too. Anything else (unreachable, 5xx, a proxy's 404, a
		// clock-skew RequestExpired) is an outage and is ridden out.
		a.cfg.Logger.Error("instance identity refused by the server; no longer serving credentials", "err", err)
		a.grant, a.lastErr = nil, err
		a.failures++
		a.next = now.Add(maxRetry)
		return a.next
	}
	if err != nil {
		a.lastErr = err
		a.failures++
		backoff := minRetry << min(a.failures-1, 10)
		a.next = now.Add(min(backoff, maxRetry))
		if c := a.validLocked(now); c != nil {
			a.cfg.Logger.Warn("credential refresh failed; serving cached credentials until they expire",
				"err", err, "failures", a.failures, "expiration", c.Expiration, "retry_at", a.next)
		} else {
			a.cfg.Logger.Error("credential refresh failed; no valid credentials to serve",
				"err", err, "failures", a.failures, "retry_at", a.next)
		}
		return a.next
	}
	if g.Credentials != nil && !g.Credentials.Expiration.After(now) {
		// Fail closed: never serve what is already expired, whatever the server said.
		a.lastErr = errors.New("agent: server returned expired credentials")
		a.failures++
		a.next = now.Add(minRetry)
		return a.next
	}
	if a.failures > 0 {
		a.cfg.Logger.Info("credential refresh recovered", "after_failures", a.failures)
	}
	a.grant, a.lastUpdated, a.lastErr, a.failures = g, now, nil, 0
	a.next = a.refreshAt(now, g)
	if g.Credentials != nil {
		a.cfg.Logger.Info("credentials refreshed", "role", g.Identity.RoleName, "credentials", *g.Credentials, "next_refresh", a.next)
	} else {
		a.cfg.Logger.Info("instance has no instance profile", "instance", g.Identity.InstanceID, "next_refresh", a.next)
	}
	return a.next
}

// revoked reports whether a refusal says the instance identity itself is no longer valid: unknown (terminated)
// or not matching its secret (reset).
func revoked(e *ExchangeError) bool {
	return (e.Status == 401 || e.Status == 403) && (e.Code == "InvalidClientTokenId" || e.Code == "SignatureDoesNotMatch")
}

// refreshAt is when credentials fetched at now must be renewed: RefreshBefore ahead of expiry, and never later than
// half their lifetime, so even short sessions are renewed long before an SDK sees them expire. An instance with
// no profile polls for an association every minute.
func (a *Agent) refreshAt(now time.Time, g *Grant) time.Time {
	if g.Credentials == nil {
		return now.Add(time.Minute)
	}
	life := g.Credentials.Expiration.Sub(now)
	at := g.Credentials.Expiration.Add(-a.cfg.RefreshBefore)
	if half := now.Add(life / 2); at.Before(half) || life < 2*a.cfg.RefreshBefore {
		at = half
	}
	return at
}

func (a *Agent) validLocked(now time.Time) *Credentials {
	if a.grant == nil || a.grant.Credentials == nil || !now.Before(a.grant.Credentials.Expiration) {
		return nil
	}
	return a.grant.Credentials
}

// snapshot is the state the handlers answer from.
type snapshot struct {
	identity    Identity
	creds       *Credentials // nil when none valid
	hasRole     bool
	lastUpdated time.Time
	// code and message explain why there are no credentials, when the server said.
	code, message string
}

func (a *Agent) snapshot() snapshot {
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s := snapshot{identity: Identity{InstanceID: a.cfg.InstanceID}, lastUpdated: a.lastUpdated}
	if a.grant != nil {
		s.identity = a.grant.Identity
		s.hasRole = a.grant.Identity.RoleName != ""
		s.code, s.message = a.grant.Code, a.grant.Message
	}
	s.creds = a.validLocked(now)
	return s
}

// Credentials returns the credentials being served, or nil when none are valid.
func (a *Agent) Credentials() *Credentials {
	s := a.snapshot()
	return s.creds
}

// Health is the agent's state, as its health endpoint reports it.
type Health struct {
	// Status is "ok" (credentials valid, last refresh succeeded), "degraded" (the server is unreachable or refused,
	// cached credentials still valid) or "unavailable" (no valid credentials).
	Status      string     `json:"status"`
	InstanceID  string     `json:"instanceId,omitempty"`
	Role        string     `json:"role,omitempty"`
	Expiration  *time.Time `json:"expiration,omitempty"`
	LastUpdated *time.Time `json:"lastUpdated,omitempty"`
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	NextRefresh *time.Time `json:"nextRefresh,omitempty"`
	Failures    int        `json:"consecutiveFailures"`
	LastError   string     `json:"lastError,omitempty"`
}

// Health reports the agent's state.
func (a *Agent) Health() Health {
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	h := Health{Status: "ok", InstanceID: a.cfg.InstanceID, Failures: a.failures}
	if a.grant != nil {
		h.InstanceID, h.Role = a.grant.Identity.InstanceID, a.grant.Identity.RoleName
	}
	c := a.validLocked(now)
	switch {
	case a.grant == nil || (a.grant.Identity.RoleName != "" && c == nil):
		// No identity yet, or a role whose credentials are missing (expired, or refused by the server).
		h.Status = "unavailable"
	case a.lastErr != nil:
		h.Status = "degraded"
	}
	if c != nil {
		h.Expiration = timePtr(c.Expiration)
	}
	h.LastUpdated, h.LastAttempt, h.NextRefresh = timePtr(a.lastUpdated), timePtr(a.lastAttempt), timePtr(a.next)
	if a.lastErr != nil {
		h.LastError = a.lastErr.Error()
	} else if a.grant != nil && a.grant.Code != "" && a.grant.Code != "Success" {
		h.LastError = a.grant.Code + ": " + a.grant.Message
	}
	return h
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
