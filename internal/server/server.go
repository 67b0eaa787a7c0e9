// Package server is Persona's HTTP front: one endpoint for every service (IAM, STS, …), routed by the SigV4
// credential scope, X-Amz-Target or Action; request ids, size limits, authentication, metrics and the one funnel
// that turns errors into AWS wire errors.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/persona-iam/persona/internal/agent"
	"github.com/persona-iam/persona/internal/authn"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/ec2"
	"github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/oidc"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/cache"
	"github.com/persona-iam/persona/internal/sts"
	"github.com/persona-iam/persona/internal/token"
	"github.com/persona-iam/persona/sigv4"
)

// DefaultMaxBodyBytes bounds a request body. IAM's largest inputs (policy documents of 131,072 characters,
// URL-encoded) fit with room to spare.
const DefaultMaxBodyBytes = 1 << 20

// Config holds the server's opened dependencies.
type Config struct {
	Store store.Store
	// Box seals and opens secrets at rest with the master key.
	Box    *secrets.Box
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Region is the region Persona reports (aws:RequestedRegion, AssumedRoleUser, …).
	Region string
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// Registry receives Persona's metrics; a new registry when nil.
	Registry *prometheus.Registry
	// WatchInterval is how often the server polls the store for other nodes' writes; one second when 0.
	WatchInterval time.Duration
	// TrustedProxies are the networks of reverse proxies and load balancers in front of Persona: from a peer in
	// one of them, the caller's address (aws:SourceIp, sourceIPAddress) is taken from X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// OIDCHTTPClient fetches identity providers' discovery documents and keys; HTTPS with the system roots when nil.
	OIDCHTTPClient *http.Client
	// OIDCInsecureLoopback lets OIDC providers on loopback hosts be registered and read over plain http (tests only).
	OIDCInsecureLoopback bool
	// Keyring is the session-token key ring; New opens (and on the first start creates) it from Store when nil.
	Keyring *sts.Keyring
	// AuditRetention is how long audit records are kept; 0 keeps them forever.
	AuditRetention time.Duration
	// ActivityInterval is how often last-used data is written; DefaultActivityInterval when 0.
	ActivityInterval time.Duration
}

// Server serves Persona's HTTP API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *metrics
	authz   *authz.Authorizer
	authn   *authn.Authenticator
	iam     iamapi.Handler
	sts     stsapi.Handler
	json    map[string]*jsonService // JSON 1.1 services by X-Amz-Target prefix (json.go)
	audit   *auditor

	// ec2 serves instances and their profile associations; exchangeVerifier verifies the agent's identity
	// exchanges (ec2.go).
	ec2              *ec2.Service
	exchangeVerifier sigv4.Verifier
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = time.Second
	}
	if cfg.ActivityInterval == 0 {
		cfg.ActivityInterval = DefaultActivityInterval
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newMetrics(cfg.Registry)}
	s.audit = newAuditor(s)
	s.authz = authz.New(cfg.Store)
	if s.cfg.Keyring == nil && cfg.Store != nil && cfg.Box != nil {
		k, err := sts.OpenKeyring(context.Background(), cfg.Store, cfg.Box)
		if err != nil {
			// Fail closed: without a ring no temporary credential is issued or accepted.
			cfg.Logger.Error("session-token keyring unavailable; temporary credentials are refused", "err", err)
		}
		s.cfg.Keyring = k
	}
	var ring *token.Ring
	var refreshRing func(context.Context) bool
	if s.cfg.Keyring != nil {
		ring, refreshRing = s.cfg.Keyring.Ring(), s.cfg.Keyring.RefreshNow
	}
	s.authn = authn.New(authn.Config{Store: cfg.Store, Box: cfg.Box, Generation: s.authz.Generation, Now: cfg.Now, Tokens: ring, RefreshTokens: refreshRing})
	// IAM and STS read entities through a cache that writes through it and the authorizer's generation (other
	// nodes' writes) invalidate: a GetRole or AssumeRole then costs no database round trip (docs/performance.md,
	// "Server under load").
	cached := cache.New(cfg.Store, s.authz.Generation, 0)
	iamSvc := iam.New(iam.Config{Store: cached, Box: cfg.Box, Authz: s.authz, Now: cfg.Now, InsecureOIDCLoopback: cfg.OIDCInsecureLoopback})
	s.iam = iamSvc
	// AssumeRole and GetSessionToken check SerialNumber and TokenCode against IAM's MFA devices.
	stsService := sts.New(sts.Config{Store: cached, Box: cfg.Box, Authz: s.authz, Tokens: ring, MFA: iamSvc.VerifyMFA, Now: cfg.Now})
	// AssumeRoleWithWebIdentity fetches providers' keys with this verifier (federation.go).
	stsService.SetOIDCVerifier(oidc.New(oidc.Config{HTTPClient: cfg.OIDCHTTPClient, AllowInsecureLoopback: cfg.OIDCInsecureLoopback, Now: cfg.Now}))
	s.sts = stsService
	s.jsonRoutes()
	s.ec2 = ec2.New(ec2.Config{Store: cfg.Store, Box: cfg.Box, Authz: s.authz, Now: cfg.Now, Region: cfg.Region, Mint: instanceMinter(ring)})
	s.routes()
	return s
}

// Run does the server's background work (noticing other nodes' writes) until ctx is done.
func (s *Server) Run(ctx context.Context) {
	if s.cfg.Keyring != nil {
		go s.cfg.Keyring.Watch(ctx, s.cfg.WatchInterval)
	}
	go s.runAudit(ctx)
	s.authz.Watch(ctx, s.cfg.WatchInterval)
}

// routes registers every route in one place.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("POST "+agent.ExchangePath, s.instanceCredentials)
	s.mux.HandleFunc("/", s.api)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.ChangeSeq(ctx); err != nil {
		s.cfg.Logger.Warn("not ready: store unreachable", "err", err)
		http.Error(w, "store unreachable\n", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// service describes one AWS service Persona speaks.
type service struct {
	name      string
	namespace string
	dispatch  func(ctx context.Context, action string, form map[string][]string, requestID string) ([]byte, error)
	// encodeError writes the service's error document; awsquery.EncodeError when nil.
	encodeError func(e *awsquery.Error, namespace, requestID string) []byte
}

func (s *Server) service(name string) *service {
	switch name {
	case "iam":
		return &service{name: "iam", namespace: iamapi.Namespace, dispatch: func(ctx context.Context, action string, form map[string][]string, id string) ([]byte, error) {
			return iamapi.Dispatch(ctx, s.iam, action, form, id)
		}}
	case "sts":
		return &service{name: "sts", namespace: stsapi.Namespace, dispatch: func(ctx context.Context, action string, form map[string][]string, id string) ([]byte, error) {
			return stsapi.Dispatch(ctx, stsRecorder{s.sts}, action, form, id)
		}}
	case "ec2":
		return s.ec2Service()
	}
	return nil
}

// serviceForAction routes a request that names no service in its signature (unsigned STS calls) by its Action.
func serviceForAction(action string) string {
	if _, ok := stsapi.Operations[action]; ok {
		return "sts"
	}
	if _, ok := iamapi.Operations[action]; ok {
		return "iam"
	}
	return ""
}

// unsignedActions are the calls AWS accepts without a signature: the caller proves itself with a token or
// assertion instead. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
var unsignedActions = map[string]bool{"AssumeRoleWithWebIdentity": true, "AssumeRoleWithSAML": true}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	rec := &outcome{service: "unknown", action: "unknown", audit: s.beginAudit(r, requestID, start)}
	defer func() { s.metrics.observe(rec, time.Since(start)) }()

	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveJSON(w, r, target, requestID, start, rec) // JSON 1.1 (Organizations, CloudTrail): json.go
		return
	}
	svc := &service{name: "iam", namespace: iamapi.Namespace}
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, svc, requestID, rec, err)
		return
	}
	form, err := requestForm(r, body)
	if err != nil {
		s.writeError(w, r, svc, requestID, rec, err)
		return
	}
	action := first(form["Action"])
	rec.action = action
	if name := serviceForAction(action); name != "" {
		svc = s.service(name)
	}
	req := &authz.Request{
		SourceIP:        s.sourceIP(r),
		UserAgent:       r.UserAgent(),
		Time:            start.UTC(),
		SecureTransport: r.TLS != nil,
		Region:          s.cfg.Region,
		RequestID:       requestID,
	}
	ctx := authz.WithRequest(r.Context(), req)

	if !unsignedActions[action] || hasSignature(r) {
		p, scoped, err := s.authn.Authenticate(ctx, r, body)
		if err != nil {
			s.writeError(w, r, svc, requestID, rec, err)
			return
		}
		if other := s.service(scoped); other != nil {
			svc = other
		} else {
			s.writeError(w, r, svc, requestID, rec, awsquery.NewError("InvalidAction", http.StatusBadRequest,
				"Persona does not serve the service %q named in the request's credential scope", scoped))
			return
		}
		ctx = authz.WithPrincipal(ctx, p)
		rec.principal = p.ARN
	}
	rec.service = svc.name
	if action == "" {
		s.writeError(w, r, svc, requestID, rec, awsquery.NewError("MissingAction", http.StatusBadRequest, "Missing Action"))
		return
	}
	ctx = rec.audit.withRequest(ctx, svc.name, action, form)
	out, err := svc.dispatch(ctx, action, form, requestID)
	if err == nil {
		err = s.recordSuccess(ctx, rec.audit)
	}
	if err != nil {
		s.writeError(w, r, svc, requestID, rec, err)
		return
	}
	rec.status = http.StatusOK
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	s.cfg.Logger.Debug("request", "id", requestID, "service", svc.name, "action", action, "principal", rec.principal, "status", 200)
}

// writeError is the one funnel from an error to a wire error: an API error keeps its code and status; anything
// else is a ServiceFailure whose details are logged with the request id and never shown to the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, svc *service, requestID string, rec *outcome, err error) {
	apiErr := wireError(err)
	if apiErr == nil {
		s.cfg.Logger.Error("internal error", "id", requestID, "service", svc.name, "action", rec.action, "err", err)
		apiErr = awsquery.NewError("ServiceFailure", http.StatusInternalServerError,
			"Persona failed to process the request (request id %s).", requestID)
	}
	rec.status, rec.code = apiErr.HTTPStatus, apiErr.Code
	s.recordFailure(r, rec, svc.name, apiErr)
	encode := awsquery.EncodeError
	if svc.encodeError != nil {
		encode = svc.encodeError
	}
	body := encode(apiErr, svc.namespace, requestID)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(apiErr.HTTPStatus)
	w.Write(body)
	s.cfg.Logger.Info("request failed", "id", requestID, "service", svc.name, "action", rec.action,
		"principal", rec.principal, "status", apiErr.HTTPStatus, "code", apiErr.Code)
}

// wireError maps the errors the layers return to AWS wire errors; nil for an unexpected error.
func wireError(err error) *awsquery.Error {
	var apiErr *awsquery.Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var sigErr *sigv4.Error
	if errors.As(err, &sigErr) {
		return &awsquery.Error{Code: sigErr.Code, Message: sigErr.Message, HTTPStatus: sigErr.HTTPStatus, Sender: true}
	}
	var denied *authz.DeniedError
	if errors.As(err, &denied) {
		return &awsquery.Error{Code: "AccessDenied", Message: denied.Error(), HTTPStatus: http.StatusForbidden, Sender: true}
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, awsquery.NewError("RequestEntityTooLarge", http.StatusRequestEntityTooLarge,
			"Request body is larger than %d bytes.", limit)
	}
	if err != nil {
		return nil, awsquery.NewError("IncompleteBody", http.StatusBadRequest, "Could not read the request body: %v", err)
	}
	return body, nil
}

// requestForm merges the query string with a form-encoded POST body, as the Query protocol allows both.
func requestForm(r *http.Request, body []byte) (map[string][]string, error) {
	form, err := awsquery.ParseForm([]byte(r.URL.RawQuery))
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, awsquery.NewError("InvalidParameterValue", http.StatusBadRequest,
				"Content-Type %q is not supported; the Query protocol sends application/x-www-form-urlencoded", ct)
		}
		bodyForm, err := awsquery.ParseForm(body)
		if err != nil {
			return nil, err
		}
		for k, v := range bodyForm {
			form[k] = append(form[k], v...)
		}
	}
	return form, nil
}

func hasSignature(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.URL.Query().Get("X-Amz-Signature") != ""
}

// sourceIP is the caller's address for aws:SourceIp and the audit trail: the connection's peer, or, when the peer
// is one of the trusted proxies, the nearest address in X-Forwarded-For that is not (proxies append the address
// they saw, so entries left of a trusted one may be forged by the client and are never taken past an untrusted one).
func (s *Server) sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.cfg.TrustedProxies) == 0 || !s.trustedProxy(host) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	ip := host
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a malformed entry: stop at the last address a trusted proxy vouched for
		}
		ip = a.Unmap().String()
		if !s.trustedProxy(ip) {
			return ip
		}
	}
	return ip
}

func (s *Server) trustedProxy(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
