package server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/awsquery/iamapi"
	"github.com/persona-iam/persona/internal/awsquery/stsapi"
	"github.com/persona-iam/persona/internal/store"
)

// Defaults of the audit trail's background work.
const (
	// DefaultActivityInterval is how often last-used data (RoleLastUsed, GetAccessKeyLastUsed) gathered in
	// memory is written to the store: one transaction per interval, not a write per request. AWS itself reports
	// last use with a delay of hours.
	DefaultActivityInterval = 30 * time.Second
)

// auditor records every request the server answers in the trail, and keeps last-used data.
type auditor struct {
	log      store.AuditLog
	writer   *audit.Writer
	activity *activity
}

func newAuditor(s *Server) *auditor {
	log, ok := s.cfg.Store.(store.AuditLog)
	if !ok {
		// Audit is not optional: a store without a trail cannot serve.
		panic("server: the store does not implement store.AuditLog")
	}
	a := &auditor{log: log, activity: newActivity()}
	lostRecords := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "persona_audit_records_lost_total",
		Help: "Audit records of reads and failed requests that could not be written (after retries).",
	})
	s.cfg.Registry.MustRegister(lostRecords)
	a.writer = audit.NewWriter(log, audit.WriterOptions{
		OnAsyncError: func(err error, lost []store.AuditRecord) {
			lostRecords.Add(float64(len(lost)))
			s.cfg.Logger.Error("audit records lost", "count", len(lost), "err", err)
		},
	})
	return a
}

// Close writes the audit records still queued and stops the writer; call it after the HTTP server has stopped.
func (s *Server) Close(ctx context.Context) error {
	err := s.audit.writer.Close(ctx)
	if ferr := s.flushActivity(ctx); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// runAudit does the trail's background work until ctx is done: last-used data is written every
// ActivityInterval, and records older than AuditRetention are pruned.
func (s *Server) runAudit(ctx context.Context) {
	flush := time.NewTicker(s.cfg.ActivityInterval)
	defer flush.Stop()
	var prune <-chan time.Time
	if s.cfg.AuditRetention > 0 {
		s.prune(ctx)
		every := min(s.cfg.AuditRetention/10, time.Hour)
		t := time.NewTicker(max(every, time.Second))
		defer t.Stop()
		prune = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := s.flushActivity(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("writing last-used data", "err", err)
			}
		case <-prune:
			s.prune(ctx)
		}
	}
}

func (s *Server) prune(ctx context.Context) {
	n, err := s.audit.log.PruneAudit(ctx, s.cfg.Now().Add(-s.cfg.AuditRetention))
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("pruning audit records", "err", err)
		}
		return
	}
	if n > 0 {
		s.cfg.Logger.Info("pruned audit records", "count", n, "retention", s.cfg.AuditRetention.String())
	}
}

// requestAudit is what the server gathers about one request for its record.
type requestAudit struct {
	pending *audit.Pending
	form    url.Values
	action  string
	source  string
}

// beginAudit starts the record of r.
func (s *Server) beginAudit(r *http.Request, requestID string, start time.Time) *requestAudit {
	ev := audit.Event{
		Time:      start,
		Region:    s.cfg.Region,
		SourceIP:  s.sourceIP(r),
		UserAgent: r.UserAgent(),
		RequestID: requestID,
	}
	if r.TLS != nil {
		ev.TLS = &audit.TLSDetails{TLSVersion: tls.VersionName(r.TLS.Version),
			CipherSuite: tls.CipherSuiteName(r.TLS.CipherSuite), ClientProvidedHostHeader: r.Host}
	}
	return &requestAudit{pending: audit.NewPending(ev)}
}

// withRequest adds what the decoded request says: the operation, its parameters and the resources it names. Called
// once the service is known and before the operation runs, so a mutation's record (appended in its transaction)
// is complete.
func (ra *requestAudit) withRequest(ctx context.Context, svc string, action string, form url.Values) context.Context {
	ra.form, ra.action = form, action
	ra.source = audit.SourceIAM
	decode := iamapi.DecodeInput
	if svc == "sts" {
		ra.source, decode = audit.SourceSTS, stsapi.DecodeInput
	}
	p := authz.PrincipalFrom(ctx)
	var params map[string]any
	if svc == "ec2" {
		// EC2's parameters come from no model here: record the form as sent (it never carries a secret).
		ra.source, params = sourceEC2, ec2Params(form)
	} else if in, err := decode(action, form); err == nil {
		params = audit.Elements(in)
	} else {
		params = formParams(form)
	}
	ra.pending.Update(func(ev *audit.Event) {
		ev.Principal = p
		ev.Source, ev.Action = ra.source, action
		ev.ReadOnly = audit.ReadOnlyAction(action)
		ev.Params = params
		ev.Resources = resourcesOf(params, p)
		if p == nil {
			// An unsigned call (AssumeRoleWithWebIdentity, AssumeRoleWithSAML) goes to the trail of the account
			// whose role it names; the STS layer may set the caller's identity (audit.WebIdentityUser, SAMLUser).
			ev.RecipientAccount = accountOfARN(first(form["RoleArn"]))
		}
	})
	return audit.WithPending(ctx, ra.pending)
}

// resourceParams are the request members that name a resource, with its CloudTrail resource type. Names are
// indexed so LookupEvents' ResourceName finds the event by the name the caller used; ARNs are written to the
// record's resources element as well.
var resourceParams = []struct {
	member, typ string
	isARN       bool
}{
	{"roleName", "AWS::IAM::Role", false},
	{"roleArn", "AWS::IAM::Role", true},
	{"userName", "AWS::IAM::User", false},
	{"groupName", "AWS::IAM::Group", false},
	{"policyArn", "AWS::IAM::Policy", true},
	{"policyName", "AWS::IAM::Policy", false},
	{"accessKeyId", "AWS::IAM::AccessKey", false},
	{"instanceProfileName", "AWS::IAM::InstanceProfile", false},
	{"sAMLProviderArn", "AWS::IAM::SAMLProvider", true},
	{"openIDConnectProviderArn", "AWS::IAM::OIDCProvider", true},
	{"serialNumber", "AWS::IAM::MFADevice", false},
	{"principalArn", "AWS::IAM::SAMLProvider", true},
}

func resourcesOf(params map[string]any, p *authz.Principal) []audit.Resource {
	var out []audit.Resource
	for _, rp := range resourceParams {
		v, _ := params[rp.member].(string)
		if v == "" {
			continue
		}
		if !rp.isARN {
			out = append(out, audit.Resource{Type: rp.typ, Name: v})
			continue
		}
		a, err := arn.Parse(v)
		if err != nil {
			continue // not an ARN: the operation rejects it; nothing to index
		}
		res := audit.Resource{Type: rp.typ, ARN: v, AccountID: a.AccountID}
		if i := strings.LastIndexByte(a.Resource, '/'); i >= 0 {
			res.Name = a.Resource[i+1:]
		}
		out = append(out, res)
	}
	return out
}

func accountOfARN(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// credentialIssuers are the calls that return credentials: their record is durable before the credentials are
// handed out, whatever their name says about reading.
var credentialIssuers = map[string]bool{
	"AssumeRole": true, "AssumeRoleWithSAML": true, "AssumeRoleWithWebIdentity": true, "AssumeRoot": true,
	"GetSessionToken": true, "GetFederationToken": true, "GetDelegatedAccessToken": true,
	"GetWebIdentityToken": true,
}

// recordSuccess records a request that succeeded, before its response is written. A mutation's record is already
// committed with it (Pending.Written); another call that changed something or issued credentials is written
// synchronously, so it is durable before the caller sees the answer; a read is queued.
func (s *Server) recordSuccess(ctx context.Context, ra *requestAudit) error {
	if ra == nil || ra.pending.Written() {
		return nil
	}
	ev := ra.pending.Event()
	ev.Response = ra.pending.Response()
	if ev.Principal == nil && ev.Identity == nil && ev.Action == "AssumeRoleWithWebIdentity" {
		// The call succeeded, so its token was verified: its claims name the caller.
		ev.Identity = webIdentityOf(first(ra.form["WebIdentityToken"]))
	}
	s.noteActivity(ev, "")
	if other := crossAccountRole(ev); other != "" && s.accountExists(ctx, other) {
		return s.recordInBothAccounts(ctx, ev, other)
	}
	if !s.deliverable(ctx, ev) {
		return nil
	}
	row, err := audit.Build(ev)
	if err != nil {
		return err
	}
	if ev.ReadOnly && !credentialIssuers[ev.Action] {
		return s.audit.writer.RecordAsync(context.WithoutCancel(ctx), row)
	}
	return s.audit.writer.Record(ctx, row)
}

// crossAccountRole returns the account of the role a successful AssumeRole call assumed when it is not the
// caller's, else "".
func crossAccountRole(ev audit.Event) string {
	if !credentialIssuers[ev.Action] || ev.Principal == nil {
		return ""
	}
	for _, r := range ev.Resources {
		if r.Type == "AWS::IAM::Role" && r.AccountID != "" && r.AccountID != ev.Principal.Account {
			return r.AccountID
		}
	}
	return ""
}

// recordInBothAccounts records a cross-account AssumeRole in the caller's trail and in the role owner's, with
// one sharedEventID linking the two records, as CloudTrail does.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
func (s *Server) recordInBothAccounts(ctx context.Context, ev audit.Event, roleAccount string) error {
	ev.SharedEventID = audit.NewID()
	mine, err := audit.Build(ev)
	if err != nil {
		return err
	}
	ev.EventID, ev.RecipientAccount = "", roleAccount
	theirs, err := audit.Build(ev)
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	for _, row := range []store.AuditRecord{mine, theirs} {
		go func() { errs <- s.audit.writer.Record(ctx, row) }()
	}
	return errors.Join(<-errs, <-errs)
}

// recordFailure records a request that failed with apiErr. Failed and denied requests changed nothing, so their
// records are queued (group commit) and the error response does not wait for them.
func (s *Server) recordFailure(r *http.Request, rec *outcome, service string, apiErr *awsquery.Error) {
	ra := rec.audit
	if ra == nil || ra.pending.Written() {
		return
	}
	ev := ra.pending.Event()
	if ev.Action == "" {
		ev.Action = rec.action
	}
	if ev.Source == "" {
		ev.Source = sourceOf(service)
	}
	ev.ErrorCode, ev.ErrorMessage = apiErr.Code, apiErr.Message
	ev.Response = nil
	if ev.Principal == nil && ev.Identity == nil && ev.RecipientAccount == "" {
		// Authentication failed. When the request names an access key Persona knows, the attempt goes to the
		// trail of the key's account (who holds the secret is unknown, so the identity is Unknown); otherwise
		// there is no account to tell.
		akid := requestAccessKeyID(r)
		if akid == "" {
			return
		}
		rec, err := s.cfg.Store.GetByID(r.Context(), store.KindAccessKey, akid)
		if err != nil {
			return
		}
		ev.Identity = &audit.UserIdentity{Type: "Unknown", AccountID: rec.Account, AccessKeyID: akid}
	}
	s.noteActivity(ev, apiErr.Code)
	if !s.deliverable(r.Context(), ev) {
		return
	}
	row, err := audit.Build(ev)
	if err != nil {
		return
	}
	if err := s.audit.writer.RecordAsync(context.WithoutCancel(r.Context()), row); err != nil {
		s.cfg.Logger.Error("audit record not queued", "id", ev.RequestID, "err", err)
	}
}

// requestAccessKeyID returns the access key id a request's signature names, or "".
func requestAccessKeyID(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if i := strings.Index(h, "Credential="); i >= 0 {
			cred = h[i+len("Credential="):]
		}
	}
	akid, _, _ := strings.Cut(cred, "/")
	if len(akid) < 16 || len(akid) > 128 || !strings.HasPrefix(akid, "AKIA") {
		// Only long-term keys are stored; a session key's account is in its token, which failed to open.
		return ""
	}
	return akid
}

// stsRecorder passes STS calls through and gives the request's record the output of the calls that issue
// credentials (CloudTrail shows their credentials, assumedRoleUser and packedPolicySize; secrets are redacted).
type stsRecorder struct{ stsapi.Handler }

func respond[T any](ctx context.Context, out *T, err error) (*T, error) {
	if err == nil && out != nil {
		audit.PendingFrom(ctx).RespondWith(func() any { return out })
	}
	return out, err
}

func (h stsRecorder) AssumeRole(ctx context.Context, in *stsapi.AssumeRoleInput) (*stsapi.AssumeRoleOutput, error) {
	out, err := h.Handler.AssumeRole(ctx, in)
	return respond(ctx, out, err)
}

func (h stsRecorder) AssumeRoleWithSAML(ctx context.Context, in *stsapi.AssumeRoleWithSAMLInput) (*stsapi.AssumeRoleWithSAMLOutput, error) {
	out, err := h.Handler.AssumeRoleWithSAML(ctx, in)
	return respond(ctx, out, err)
}

func (h stsRecorder) AssumeRoleWithWebIdentity(ctx context.Context, in *stsapi.AssumeRoleWithWebIdentityInput) (*stsapi.AssumeRoleWithWebIdentityOutput, error) {
	out, err := h.Handler.AssumeRoleWithWebIdentity(ctx, in)
	return respond(ctx, out, err)
}

func (h stsRecorder) AssumeRoot(ctx context.Context, in *stsapi.AssumeRootInput) (*stsapi.AssumeRootOutput, error) {
	out, err := h.Handler.AssumeRoot(ctx, in)
	return respond(ctx, out, err)
}

func (h stsRecorder) GetSessionToken(ctx context.Context, in *stsapi.GetSessionTokenInput) (*stsapi.GetSessionTokenOutput, error) {
	out, err := h.Handler.GetSessionToken(ctx, in)
	return respond(ctx, out, err)
}

func (h stsRecorder) GetFederationToken(ctx context.Context, in *stsapi.GetFederationTokenInput) (*stsapi.GetFederationTokenOutput, error) {
	out, err := h.Handler.GetFederationToken(ctx, in)
	return respond(ctx, out, err)
}

// activity gathers last-used data in memory between flushes.
type activity struct {
	mu    sync.Mutex
	keys  map[string]keyUse   // access key id → last use
	roles map[roleRef]roleUse // role → last use
}

type keyUse struct {
	at              time.Time
	service, region string
}

type roleRef struct{ account, name string }

type roleUse struct {
	at     time.Time
	region string
}

func newActivity() *activity {
	return &activity{keys: map[string]keyUse{}, roles: map[roleRef]roleUse{}}
}

// maxActivity bounds the entries gathered between flushes; past it, further uses wait for the next flush (last
// use is approximate on AWS too).
const maxActivity = 100000

// noteActivity notes the use of the request's access key and role. A key is used when it signed a request
// (AWS reports that even when the call was denied); a role is used when one of its sessions made a request, or
// when it was assumed.
func (s *Server) noteActivity(ev audit.Event, errorCode string) {
	a := s.audit.activity
	service := strings.TrimSuffix(ev.Source, ".amazonaws.com")
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.keys)+len(a.roles) >= maxActivity {
		return
	}
	if p := ev.Principal; p != nil {
		if strings.HasPrefix(p.AccessKeyID, "AKIA") {
			a.keys[p.AccessKeyID] = keyUse{at: ev.Time, service: service, region: ev.Region}
		}
		if p.Type == authz.AssumedRole && p.Session != nil {
			if ar, err := arn.Parse(p.Session.RoleARN); err == nil {
				a.roles[roleRef{ar.AccountID, lastPathSegment(ar.Resource)}] = roleUse{at: ev.Time, region: ev.Region}
			}
		}
	}
	if errorCode == "" && strings.HasPrefix(ev.Action, "AssumeRole") {
		for _, r := range ev.Resources {
			if r.Type == "AWS::IAM::Role" && r.ARN != "" {
				if ar, err := arn.Parse(r.ARN); err == nil {
					a.roles[roleRef{ar.AccountID, lastPathSegment(ar.Resource)}] = roleUse{at: ev.Time, region: ev.Region}
				}
			}
		}
	}
}

func lastPathSegment(resource string) string {
	return resource[strings.LastIndexByte(resource, '/')+1:]
}

// flushActivity writes the gathered last-used data in one transaction. Entities that no longer exist are skipped;
// a use older than the stored one does not overwrite it.
func (s *Server) flushActivity(ctx context.Context) error {
	a := s.audit.activity
	a.mu.Lock()
	keys, roles := a.keys, a.roles
	if len(keys) == 0 && len(roles) == 0 {
		a.mu.Unlock()
		return nil
	}
	a.keys, a.roles = map[string]keyUse{}, map[roleRef]roleUse{}
	a.mu.Unlock()
	err := s.cfg.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		for id, use := range keys {
			rec, err := tx.GetByID(ctx, store.KindAccessKey, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var k store.AccessKey
			if err := json.Unmarshal(rec.Data, &k); err != nil {
				return err
			}
			if !use.at.After(k.LastUsed) {
				continue
			}
			k.LastUsed, k.LastUsedService, k.LastUsedRegion = use.at.UTC(), use.service, use.region
			if err := updateJSON(ctx, tx, rec, &k); err != nil {
				return err
			}
		}
		for ref, use := range roles {
			var role store.Role
			rec, err := store.GetJSON(ctx, tx, store.KindRole, ref.account, ref.name, &role)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !use.at.After(role.LastUsed) {
				continue
			}
			role.LastUsed, role.LastUsedRegion = use.at.UTC(), use.region
			if err := updateJSON(ctx, tx, rec, &role); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.authz.Invalidate()
	}
	return err
}

func updateJSON(ctx context.Context, tx store.Tx, rec store.Record, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	rec.Data = data
	return tx.Update(ctx, rec)
}

// sourceOf is the eventSource of a service Persona serves.
func sourceOf(service string) string {
	switch service {
	case "sts":
		return audit.SourceSTS
	case "cloudtrail":
		return audit.SourceCloudTrail
	case "organizations":
		return audit.SourceOrganizations
	case "ec2":
		return sourceEC2
	}
	return audit.SourceIAM
}

// deliverable reports whether ev has a trail to go to. An unsigned call names its account only through the role
// ARN it sends: its record is kept only when that account exists, so anonymous callers cannot fill the store
// with trails of made-up accounts.
func (s *Server) deliverable(ctx context.Context, ev audit.Event) bool {
	if ev.Principal != nil || ev.RecipientAccount == "" {
		return true // the caller's own account (Build refuses an event with no account at all)
	}
	return s.accountExists(ctx, ev.RecipientAccount)
}

func (s *Server) accountExists(ctx context.Context, account string) bool {
	_, err := s.cfg.Store.Get(context.WithoutCancel(ctx), store.KindAccount, "", account)
	return err == nil
}

// webIdentityOf is the WebIdentityUser userIdentity of a JWT that the STS layer has verified (its claims are read,
// not checked, here); nil when the token cannot be read.
func webIdentityOf(jwt string) *audit.UserIdentity {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Iss == "" {
		return nil
	}
	var aud string
	if json.Unmarshal(claims.Aud, &aud) != nil {
		var auds []string
		if json.Unmarshal(claims.Aud, &auds) == nil && len(auds) > 0 {
			aud = auds[0]
		}
	}
	// CloudTrail names the provider without its scheme ("accounts.google.com").
	return audit.WebIdentityUser(strings.TrimPrefix(claims.Iss, "https://"), aud, claims.Sub)
}

// formParams is the requestParameters of a request whose form does not decode as its operation's input (the
// request failed validation): the members as sent, named in lower camel case, without the protocol's own
// (Action, Version) and signature (X-Amz-*) members.
func formParams(form url.Values) map[string]any {
	m := map[string]any{}
	for k, v := range form {
		if k == "Action" || k == "Version" || strings.HasPrefix(strings.ToLower(k), "x-amz-") || len(v) == 0 || k == "" {
			continue
		}
		m[strings.ToLower(k[:1])+k[1:]] = v[0]
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
