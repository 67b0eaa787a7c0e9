package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

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
		invalid: orgs.Invalid,
	}
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
	fail := func(err error) { s.writeJSONError(w, svc, requestID, rec, err) }
	if svc == nil {
		rec.action = "invalid"
		fail(awsjson.UnknownOperation())
		return
	}
	rec.service, rec.action = svc.name, op
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
		SourceIP:        sourceIP(r),
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
	if scoped != svc.name {
		// AWS's words when a request for one service is signed for another.
		fail(awsjson.CommonErrors["InvalidSignatureException"].Newf("Credential should be scoped to correct service: '%s'. ", svc.name))
		return
	}
	ctx = authz.WithPrincipal(ctx, p)
	rec.principal = p.ARN
	out, err := svc.dispatch(ctx, op, body)
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
func (s *Server) writeJSONError(w http.ResponseWriter, svc *jsonService, requestID string, rec *outcome, err error) {
	apiErr := jsonWireError(err, svc)
	if apiErr == nil {
		s.cfg.Logger.Error("internal error", "id", requestID, "service", rec.service, "action", rec.action, "err", err)
		apiErr = awsjson.CommonErrors["InternalFailure"].Newf("Persona failed to process the request (request id %s).", requestID)
	}
	if apiErr.Code == "UnknownOperationException" {
		rec.action = "invalid"
	}
	rec.status, rec.code = apiErr.HTTPStatus, apiErr.Code
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
