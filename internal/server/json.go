package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/internal/orgs"
	"github.com/persona-iam/persona/sigv4"
)

// jsonService is a service Persona speaks over the JSON 1.1 protocol, routed by the prefix of X-Amz-Target.
type jsonService struct {
	// name is the service's signing name (the SigV4 credential scope's service) and metrics label.
	name string
	// dispatch decodes the body as the input of op, runs it and encodes the output (a generated Dispatch).
	dispatch func(ctx context.Context, op string, body []byte) ([]byte, error)
	// invalid words an input that breaks the model's constraints as the service does; nil answers
	// ValidationException with the runtime's message.
	invalid func(*awsjson.ValidationError) *awsjson.Error
	// source is the service's CloudTrail eventSource ("organizations.amazonaws.com").
	source string
	// operations are the model's operations; a request naming another is recorded without its name.
	operations map[string]*awsjson.Operation
	// params returns the request's parameters for its audit record (CloudTrail's requestParameters): the decoded
	// input in lower camel case, sensitive members hidden; nil when the body does not decode.
	params func(op string, body []byte) map[string]any
}

// jsonRoutes registers every JSON 1.1 service by its X-Amz-Target prefix, in one place.
func (s *Server) jsonRoutes() {
	s.json = map[string]*jsonService{}
	o := orgs.New(orgs.Config{Store: s.cfg.Store, Authz: s.authz, Now: s.cfg.Now})
	s.json[orgsapi.TargetPrefix] = &jsonService{
		name: orgsapi.Service,
		dispatch: func(ctx context.Context, op string, body []byte) ([]byte, error) {
			return orgsapi.Dispatch(ctx, o, op, body)
		},
		invalid:    orgs.Invalid,
		source:     audit.SourceOrganizations,
		operations: orgsapi.Operations,
		params: func(op string, body []byte) map[string]any {
			in, err := orgsapi.DecodeInput(op, body)
			if err != nil {
				return nil
			}
			return hideMembers(audit.Elements(in), orgsapi.SensitiveMembers)
		},
	}
	ct := s.cloudTrailService()
	for _, prefix := range cloudTrailPrefixes {
		s.json[prefix] = ct
	}
}

// jsonOperation reports whether action is an operation of a JSON 1.1 service Persona routes, and so a metrics
// label (metrics.go).
func jsonOperation(action string) bool {
	_, ok := orgsapi.Operations[action]
	return ok || cloudTrailOperations[action] != nil
}

// hideMembers replaces, at any depth, the values of members named in sensitive (model names, matched on their
// lower camel case form as records write them) with audit.Hidden, as CloudTrail withholds an account's email.
func hideMembers(m map[string]any, sensitive map[string]bool) map[string]any {
	for k, v := range m {
		if k != "" && sensitive[strings.ToUpper(k[:1])+k[1:]] {
			m[k] = audit.Hidden
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			hideMembers(v, sensitive)
		case []any:
			for _, x := range v {
				if xm, ok := x.(map[string]any); ok {
					hideMembers(xm, sensitive)
				}
			}
		}
	}
	return m
}

// serveJSON answers a JSON 1.1 request: X-Amz-Target "Prefix.Operation", a JSON body, signed with SigV4 over
// that body. https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, target, requestID string, start time.Time, rec *outcome) {
	// The operation follows the last dot: CloudTrail's prefix has dots of its own
	// ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents").
	var svc *jsonService
	op := ""
	if i := strings.LastIndexByte(target, '.'); i > 0 {
		svc, op = s.json[target[:i]], target[i+1:]
	}
	fail := func(err error) { s.writeJSONError(w, r, svc, requestID, rec, err) }
	if svc == nil {
		rec.action = "unknown"
		fail(awsjson.UnknownOperation())
		return
	}
	known := svc.operations[op] != nil
	rec.service, rec.action = svc.name, "unknown" // metrics label: never a caller-chosen string
	if known {
		rec.action = op
	}
	rec.audit.pending.Update(func(ev *audit.Event) {
		ev.Source = svc.source
		if known {
			ev.Action = op // never a caller-chosen string
		}
	})
	if r.Method != http.MethodPost {
		fail(awsjson.UnknownOperation())
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(strings.HasPrefix(mt, "application/x-amz-json-") || mt == "application/json") {
			fail(awsjson.CommonErrors["SerializationException"].Newf("Content-Type %q is not supported; JSON 1.1 requests send %s.", ct, awsjson.ContentType))
			return
		}
	}
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		fail(err)
		return
	}
	ctx := authz.WithRequest(r.Context(), &authz.Request{
		SourceIP:        s.sourceIP(r),
		UserAgent:       r.UserAgent(),
		Time:            start.UTC(),
		SecureTransport: r.TLS != nil,
		Region:          s.cfg.Region,
		RequestID:       requestID,
	})
	p, scoped, err := s.authn.Authenticate(ctx, r, body)
	if err != nil {
		fail(err)
		return
	}
	if !targetSigned(r, s.cfg.Now()) {
		// The operation is named by a header: unsigned, a man in the middle could turn a signed call into another
		// operation on the same body. Every SDK and the aws CLI sign it; Persona requires it.
		fail(awsjson.CommonErrors["IncompleteSignatureException"].Newf("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."))
		return
	}
	if scoped != svc.name {
		// AWS's words when a request for one service is signed for another.
		fail(awsjson.CommonErrors["InvalidSignatureException"].Newf("Credential should be scoped to correct service: '%s'. ", svc.name))
		return
	}
	ctx = authz.WithPrincipal(ctx, p)
	rec.principal = p.ARN
	var params map[string]any
	if known && svc.params != nil {
		params = svc.params(op, body)
	}
	rec.audit.pending.Update(func(ev *audit.Event) {
		ev.Principal = p
		ev.ReadOnly = audit.ReadOnlyAction(op)
		ev.Params = params
	})
	ctx = audit.WithPending(ctx, rec.audit.pending)
	out, err := svc.dispatch(ctx, op, body)
	if err == nil {
		// A mutation's record was committed in its transaction; a read's is queued now.
		err = s.recordSuccess(ctx, rec.audit)
	}
	if err != nil {
		fail(err)
		return
	}
	rec.status = http.StatusOK
	w.Header().Set("Content-Type", awsjson.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	s.cfg.Logger.Debug("request", "id", requestID, "service", svc.name, "action", op, "principal", rec.principal, "status", 200)
}

// writeJSONError is the JSON 1.1 funnel from an error to a wire error, as writeError is for the Query protocol.
func (s *Server) writeJSONError(w http.ResponseWriter, r *http.Request, svc *jsonService, requestID string, rec *outcome, err error) {
	apiErr := jsonWireError(err, svc)
	if apiErr == nil {
		s.cfg.Logger.Error("internal error", "id", requestID, "service", rec.service, "action", rec.action, "err", err)
		apiErr = awsjson.CommonErrors["InternalFailure"].Newf("Persona failed to process the request (request id %s).", requestID)
	}
	if apiErr.Code == "UnknownOperationException" {
		rec.action = "unknown"
	}
	rec.status, rec.code = apiErr.HTTPStatus, apiErr.Code
	s.recordFailure(r, rec, rec.service, &awsquery.Error{Code: apiErr.Code, Message: apiErr.Message, HTTPStatus: apiErr.HTTPStatus, Sender: apiErr.Sender})
	awsjson.WriteError(w, apiErr)
	s.cfg.Logger.Info("request failed", "id", requestID, "service", rec.service, "action", rec.action,
		"principal", rec.principal, "status", apiErr.HTTPStatus, "code", apiErr.Code)
}

// jsonSigErrors are the JSON services' codes for SigV4 failures, which the Query protocol names differently.
var jsonSigErrors = map[string]string{
	sigv4.CodeMissingAuthenticationToken: "MissingAuthenticationTokenException",
	sigv4.CodeIncompleteSignature:        "IncompleteSignatureException",
	sigv4.CodeInvalidClientTokenID:       "UnrecognizedClientException",
	sigv4.CodeExpiredToken:               "ExpiredTokenException",
	sigv4.CodeSignatureDoesNotMatch:      "InvalidSignatureException",
	sigv4.CodeRequestExpired:             "InvalidSignatureException",
}

// jsonWireError maps the errors the layers return to JSON 1.1 wire errors; nil for an unexpected error.
func jsonWireError(err error, svc *jsonService) *awsjson.Error {
	var je *awsjson.Error
	if errors.As(err, &je) {
		return je
	}
	var ve *awsjson.ValidationError
	if errors.As(err, &ve) {
		if svc != nil && svc.invalid != nil {
			return svc.invalid(ve)
		}
		return awsjson.CommonErrors["ValidationException"].Newf("%s", ve.Error())
	}
	var sigErr *sigv4.Error
	if errors.As(err, &sigErr) {
		code := sigErr.Code
		if c, ok := jsonSigErrors[code]; ok {
			code = c
		}
		status := sigErr.HTTPStatus
		if status == http.StatusForbidden {
			status = http.StatusBadRequest // JSON services answer authentication failures with 400
		}
		return &awsjson.Error{Code: code, Message: sigErr.Message, HTTPStatus: status, Sender: true}
	}
	var denied *authz.DeniedError
	if errors.As(err, &denied) {
		return awsjson.CommonErrors["AccessDeniedException"].Newf("%s", denied.Error())
	}
	var qe *awsquery.Error // readBody's errors
	if errors.As(err, &qe) {
		return &awsjson.Error{Code: qe.Code, Message: qe.Message, HTTPStatus: qe.HTTPStatus, Sender: qe.Sender}
	}
	return nil
}

// targetSigned reports whether X-Amz-Target is among the request's signed headers (checked after authentication,
// so the list is the one the signature covers).
func targetSigned(r *http.Request, now time.Time) bool {
	req, err := sigv4.Parse(r, now)
	if err != nil {
		return false
	}
	for _, h := range strings.Split(req.SignedHeaders, ";") {
		if h == "x-amz-target" {
			return true
		}
	}
	return false
}
