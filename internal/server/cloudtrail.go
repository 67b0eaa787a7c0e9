package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsquery"
	"github.com/persona-iam/persona/sigv4"
)

// CloudTrail speaks AWS's JSON 1.1 protocol: POST /, X-Amz-Target names the operation, the body is JSON. The
// target is "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.Op" from botocore (the model's target prefix)
// and "CloudTrail_20131101.Op" from aws-sdk-go-v2.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const (
	cloudTrailTargetPrefix = "CloudTrail_20131101."
	cloudTrailNamespace    = "com.amazonaws.cloudtrail.v20131101."
	jsonContentType        = "application/x-amz-json-1.1"
)

// cloudTrailOperation returns the CloudTrail operation r names, and whether it is a CloudTrail call.
func cloudTrailOperation(r *http.Request) (string, bool) {
	return strings.CutPrefix(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), cloudTrailNamespace), cloudTrailTargetPrefix)
}

// isCloudTrail reports whether r is a CloudTrail call.
func isCloudTrail(r *http.Request) bool {
	_, ok := cloudTrailOperation(r)
	return ok
}

// jsonError is an error of a JSON 1.1 service: its code (the "__type"), HTTP status and message.
type jsonError struct {
	Code    string
	Status  int
	Message string
}

func (e *jsonError) Error() string { return e.Code + ": " + e.Message }

// cloudTrail answers a CloudTrail call. Only LookupEvents is served: the trail Persona keeps is the event history
// of each account; trails, event data stores and insights are not.
func (s *Server) cloudTrail(w http.ResponseWriter, r *http.Request, requestID string, rec *outcome) {
	rec.service = "cloudtrail"
	op, _ := cloudTrailOperation(r)
	rec.action = "invalid" // metrics label: never a caller-chosen string
	if op == "LookupEvents" {
		rec.action = op
	}
	ev := rec.audit.pending.Event()
	req := &authz.Request{SourceIP: ev.SourceIP, UserAgent: ev.UserAgent, Time: ev.Time.UTC(),
		SecureTransport: r.TLS != nil, Region: s.cfg.Region, RequestID: requestID}
	ctx := authz.WithRequest(r.Context(), req)

	out, err := func() (any, error) {
		body, err := readBody(w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			return nil, err
		}
		p, scoped, err := s.authn.Authenticate(ctx, r, body)
		if err != nil {
			return nil, err
		}
		if scoped != "cloudtrail" {
			return nil, &jsonError{"InvalidSignatureException", http.StatusBadRequest,
				"Credential should be scoped to correct service: 'cloudtrail'."}
		}
		ctx = authz.WithPrincipal(ctx, p)
		rec.principal = p.ARN
		rec.audit.pending.Update(func(ev *audit.Event) {
			ev.Principal = p
			ev.Source, ev.Action, ev.ReadOnly = audit.SourceCloudTrail, op, true
		})
		if op != "LookupEvents" {
			return nil, &jsonError{"UnknownOperationException", http.StatusBadRequest, ""}
		}
		in, insight, err := decodeLookupInput(body)
		if err != nil {
			return nil, err
		}
		rec.audit.pending.Update(func(ev *audit.Event) { ev.Params = audit.Elements(in) })
		// LookupEvents has no resource types: it is authorized on "*".
		// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html
		if err := s.authz.Authorize(ctx, "cloudtrail:LookupEvents", "*", nil); err != nil {
			return nil, err
		}
		// The account comes from the caller's credentials, never from the request: an account reads only its
		// own trail.
		if insight {
			// Persona has no CloudTrail Insights: there is no insight event to return.
			return &lookupOutputWire{Events: []lookupEventWire{}}, nil
		}
		res, err := audit.Lookup(ctx, s.audit.log, p.Account, s.cfg.Now(), *in)
		if err != nil {
			return nil, err
		}
		return encodeLookupOutput(res), nil
	}()

	if err != nil {
		je := s.cloudTrailError(requestID, err)
		rec.status, rec.code = je.Status, je.Code
		s.recordFailure(r, rec, "cloudtrail", awsqueryError(je))
		body, _ := json.Marshal(map[string]string{"__type": je.Code, "message": je.Message})
		w.Header().Set("Content-Type", jsonContentType)
		w.Header().Set("X-Amzn-ErrorType", je.Code)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(je.Status)
		w.Write(body)
		return
	}
	body, err := json.Marshal(out)
	if err == nil {
		err = s.recordSuccess(ctx, rec.audit)
	}
	if err != nil {
		s.cfg.Logger.Error("internal error", "id", requestID, "service", "cloudtrail", "err", err)
		rec.status = http.StatusInternalServerError
		http.Error(w, `{"__type":"InternalFailure"}`, http.StatusInternalServerError)
		return
	}
	rec.status = http.StatusOK
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// cloudTrailError maps an error to CloudTrail's wire error. JSON services name authentication failures
// differently from the Query services (UnrecognizedClientException, not InvalidClientTokenId).
func (s *Server) cloudTrailError(requestID string, err error) *jsonError {
	var je *jsonError
	if errors.As(err, &je) {
		return je
	}
	var le *audit.LookupError
	if errors.As(err, &le) {
		return &jsonError{le.Code, http.StatusBadRequest, le.Message}
	}
	var denied *authz.DeniedError
	if errors.As(err, &denied) {
		return &jsonError{"AccessDeniedException", http.StatusBadRequest, denied.Error()}
	}
	var sigErr *sigv4.Error
	if errors.As(err, &sigErr) {
		code := sigErr.Code
		switch code {
		case "InvalidClientTokenId":
			code = "UnrecognizedClientException"
		case "SignatureDoesNotMatch":
			code = "InvalidSignatureException"
		case "MissingAuthenticationToken":
			code = "MissingAuthenticationTokenException"
		}
		return &jsonError{code, sigErr.HTTPStatus, sigErr.Message}
	}
	if apiErr := wireError(err); apiErr != nil {
		return &jsonError{apiErr.Code, apiErr.HTTPStatus, apiErr.Message}
	}
	s.cfg.Logger.Error("internal error", "id", requestID, "service", "cloudtrail", "err", err)
	return &jsonError{"InternalFailure", http.StatusInternalServerError,
		fmt.Sprintf("Persona failed to process the request (request id %s).", requestID)}
}

// lookupWire is LookupEvents' input as it is sent: timestamps are epoch seconds (JSON 1.1's default), which
// decodeLookupInput also accepts as ISO 8601 strings.
type lookupWire struct {
	LookupAttributes []audit.LookupAttribute `json:"LookupAttributes"`
	StartTime        json.RawMessage         `json:"StartTime"`
	EndTime          json.RawMessage         `json:"EndTime"`
	EventCategory    *string                 `json:"EventCategory"`
	MaxResults       *int32                  `json:"MaxResults"`
	NextToken        *string                 `json:"NextToken"`
}

// decodeLookupInput parses LookupEvents' JSON body. An empty body is an empty input.
// insight reports whether Insights events were asked for.
func decodeLookupInput(body []byte) (in *audit.LookupInput, insight bool, err error) {
	var w lookupWire
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&w); err != nil {
			return nil, false, &jsonError{"SerializationException", http.StatusBadRequest, "Could not parse the request body as JSON: " + jsonProblem(err)}
		}
		if dec.More() {
			return nil, false, &jsonError{"SerializationException", http.StatusBadRequest, "Unexpected data after the JSON request body"}
		}
	}
	in = &audit.LookupInput{LookupAttributes: w.LookupAttributes, MaxResults: w.MaxResults, NextToken: w.NextToken}
	if in.StartTime, err = decodeTimestamp("StartTime", w.StartTime); err != nil {
		return nil, false, err
	}
	if in.EndTime, err = decodeTimestamp("EndTime", w.EndTime); err != nil {
		return nil, false, err
	}
	if w.EventCategory != nil && *w.EventCategory != "insight" {
		return nil, false, &jsonError{"InvalidEventCategoryException", http.StatusBadRequest,
			"EventCategory must be insight when it is given"}
	}
	return in, w.EventCategory != nil, nil
}

// jsonProblem describes a JSON error without echoing the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("%s must be of type %s", typ.Field, typ.Type)
	}
	return "malformed JSON"
}

// decodeTimestamp reads a JSON 1.1 timestamp: epoch seconds (with an optional fraction) or an ISO 8601 string.
func decodeTimestamp(field string, raw json.RawMessage) (*time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	bad := &jsonError{"SerializationException", http.StatusBadRequest, field + " must be a timestamp (epoch seconds or ISO 8601)"}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad
		}
		return &t, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	// Years 0001 to 9999: what any date in a trail can be, and what time.Unix represents exactly.
	if err != nil || math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return nil, bad
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	return &t, nil
}

// lookupOutputWire is LookupEvents' output as it is sent: EventTime in epoch seconds.
type lookupOutputWire struct {
	Events    []lookupEventWire `json:"Events"`
	NextToken *string           `json:"NextToken,omitempty"`
}

type lookupEventWire struct {
	EventID         string                 `json:"EventId"`
	EventName       string                 `json:"EventName"`
	ReadOnly        string                 `json:"ReadOnly"`
	AccessKeyID     string                 `json:"AccessKeyId,omitempty"`
	EventTime       float64                `json:"EventTime"`
	EventSource     string                 `json:"EventSource"`
	Username        string                 `json:"Username,omitempty"`
	Resources       []audit.LookupResource `json:"Resources,omitempty"`
	CloudTrailEvent string                 `json:"CloudTrailEvent"`
}

func encodeLookupOutput(out *audit.LookupOutput) *lookupOutputWire {
	w := &lookupOutputWire{Events: make([]lookupEventWire, 0, len(out.Events)), NextToken: out.NextToken}
	for _, e := range out.Events {
		w.Events = append(w.Events, lookupEventWire{
			EventID: e.EventID, EventName: e.EventName, ReadOnly: e.ReadOnly, AccessKeyID: e.AccessKeyID,
			EventTime: float64(e.EventTime.UnixMicro()) / 1e6, EventSource: e.EventSource, Username: e.Username,
			Resources: e.Resources, CloudTrailEvent: e.CloudTrailEvent,
		})
	}
	return w
}

// awsqueryError gives a JSON error the form the audit recorder takes.
func awsqueryError(je *jsonError) *awsquery.Error {
	return &awsquery.Error{Code: je.Code, Message: je.Message, HTTPStatus: je.Status}
}
