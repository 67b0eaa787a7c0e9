package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/awsjson"
)

// CloudTrail speaks AWS's JSON 1.1 protocol and is served by the JSON 1.1 route (json.go) like Organizations. Its
// target is "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.Op" from botocore (the model's target prefix)
// and "CloudTrail_20131101.Op" from aws-sdk-go-v2: both prefixes are registered. Only LookupEvents is served: the
// trail Persona keeps is the event history of each account; trails, event data stores and insights are not.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
var cloudTrailPrefixes = []string{"CloudTrail_20131101", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"}

// cloudTrailOperations are the CloudTrail operations Persona serves.
var cloudTrailOperations = map[string]*awsjson.Operation{"LookupEvents": {Name: "LookupEvents", Input: "LookupEventsRequest", Output: "LookupEventsResponse"}}

// cloudTrailService is CloudTrail's entry in the JSON 1.1 route table.
func (s *Server) cloudTrailService() *jsonService {
	return &jsonService{
		name:       "cloudtrail",
		dispatch:   s.lookupEvents,
		source:     audit.SourceCloudTrail,
		operations: cloudTrailOperations,
		params: func(op string, body []byte) map[string]any {
			in, _, err := decodeLookupInput(body)
			if err != nil {
				return nil
			}
			return audit.Elements(in)
		},
	}
}

// lookupEvents answers LookupEvents from the caller's account's trail.
func (s *Server) lookupEvents(ctx context.Context, op string, body []byte) ([]byte, error) {
	if op != "LookupEvents" {
		return nil, awsjson.UnknownOperation()
	}
	in, insight, err := decodeLookupInput(body)
	if err != nil {
		return nil, err
	}
	// LookupEvents has no resource types: it is authorized on "*".
	// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudtrail.html
	if err := s.authz.Authorize(ctx, "cloudtrail:LookupEvents", "*", nil); err != nil {
		return nil, err
	}
	if insight {
		// Persona has no CloudTrail Insights: there is no insight event to return.
		return json.Marshal(&lookupOutputWire{Events: []lookupEventWire{}})
	}
	// The account comes from the caller's credentials, never from the request: an account reads only its own
	// trail.
	res, err := audit.Lookup(ctx, s.audit.log, authz.PrincipalFrom(ctx).Account, s.cfg.Now(), *in)
	var le *audit.LookupError
	if errors.As(err, &le) {
		return nil, awsjson.NewError(le.Code, http.StatusBadRequest, "%s", le.Message)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(encodeLookupOutput(res))
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
			return nil, false, awsjson.CommonErrors["SerializationException"].Newf("Could not parse the request body as JSON: %s", jsonProblem(err))
		}
		if dec.More() {
			return nil, false, awsjson.CommonErrors["SerializationException"].Newf("Unexpected data after the JSON request body")
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
		return nil, false, awsjson.NewError("InvalidEventCategoryException", http.StatusBadRequest, "EventCategory must be insight when it is given")
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
	bad := awsjson.CommonErrors["SerializationException"].Newf("%s must be a timestamp (epoch seconds or ISO 8601)", field)
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
