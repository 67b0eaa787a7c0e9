package audit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/persona-iam/persona/internal/store"
)

// LookupError is a CloudTrail LookupEvents client error (HTTP 400) with its AWS error code.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html#API_LookupEvents_Errors
type LookupError struct {
	Code    string
	Message string
}

// Error returns the code and the message.
func (e *LookupError) Error() string { return e.Code + ": " + e.Message }

func lookupErr(code, format string, args ...any) error {
	return &LookupError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// LookupAttribute is one of LookupEvents' LookupAttributes.
type LookupAttribute struct {
	AttributeKey   string `json:"AttributeKey"`
	AttributeValue string `json:"AttributeValue"`
}

// LookupInput is LookupEvents' input (EventCategory "insight" is not supported: Persona has no Insights).
type LookupInput struct {
	LookupAttributes []LookupAttribute `json:"LookupAttributes,omitempty"`
	StartTime        *time.Time        `json:"StartTime,omitempty"`
	EndTime          *time.Time        `json:"EndTime,omitempty"`
	MaxResults       *int32            `json:"MaxResults,omitempty"`
	NextToken        *string           `json:"NextToken,omitempty"`
}

// LookupOutput is LookupEvents' output.
type LookupOutput struct {
	Events    []LookupEvent `json:"Events"`
	NextToken *string       `json:"NextToken,omitempty"`
}

// LookupEvent is one event in LookupEvents' output.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html
type LookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       time.Time        `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []LookupResource `json:"Resources,omitempty"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

// LookupResource is a resource of a LookupEvent.
type LookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// The LookupEvents limits. https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const (
	// DefaultLookback is how far back a lookup without StartTime reaches: CloudTrail's 90 days of event history.
	DefaultLookback = 90 * 24 * time.Hour
	// MaxLookupResults is the largest and default MaxResults.
	MaxLookupResults = 50
	// maxAttributeValue is AttributeValue's longest length.
	maxAttributeValue = 2000
)

// lookupKeys maps LookupEvents' attribute keys to the store's attributes. PrincipalArn is Persona's own and is
// not offered through the API.
var lookupKeys = map[string]store.AuditAttribute{
	"EventId":      store.AuditEventID,
	"EventName":    store.AuditEventName,
	"ReadOnly":     store.AuditReadOnly,
	"Username":     store.AuditUsername,
	"ResourceType": store.AuditResourceType,
	"ResourceName": store.AuditResourceName,
	"EventSource":  store.AuditEventSource,
	"AccessKeyId":  store.AuditAccessKeyID,
}

// Lookup answers LookupEvents for the caller's account: only that account's events are ever read, whatever
// the input or token says (the caller's account comes from its credentials, not from the request). now is the
// server's clock, for the default time range. Errors are *LookupError for invalid input, else store errors.
func Lookup(ctx context.Context, log store.AuditLog, account string, now time.Time, in LookupInput) (*LookupOutput, error) {
	q := store.AuditQuery{Account: account, Max: MaxLookupResults}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > MaxLookupResults {
			return nil, lookupErr("InvalidMaxResultsException", "MaxResults must be between 1 and %d", MaxLookupResults)
		}
		q.Max = int(*in.MaxResults)
	}
	switch len(in.LookupAttributes) {
	case 0:
	case 1:
		a := in.LookupAttributes[0]
		attr, ok := lookupKeys[a.AttributeKey]
		if !ok {
			return nil, lookupErr("InvalidLookupAttributesException", "unknown AttributeKey %q", a.AttributeKey)
		}
		if n := utf8.RuneCountInString(a.AttributeValue); n < 1 || n > maxAttributeValue {
			return nil, lookupErr("InvalidLookupAttributesException",
				"AttributeValue must be 1 to %d characters long", maxAttributeValue)
		}
		q.Attribute, q.Value = attr, a.AttributeValue
	default:
		return nil, lookupErr("InvalidLookupAttributesException", "only one lookup attribute may be specified")
	}
	q.End = now
	if in.EndTime != nil {
		q.End = *in.EndTime
	}
	q.Start = q.End.Add(-DefaultLookback)
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	if q.Start.After(q.End) {
		return nil, lookupErr("InvalidTimeRangeException", "StartTime must be before EndTime")
	}
	fp := fingerprint(in)
	if in.NextToken != nil {
		tok, err := decodeToken(*in.NextToken)
		if err != nil || tok.fingerprint != fp {
			// A token from another query would page through the wrong results; CloudTrail requires the same
			// parameters on every page.
			return nil, lookupErr("InvalidNextTokenException", "invalid NextToken")
		}
		// The time range resolved on the first page holds for every page, so "the last 90 days" does not slide
		// between pages.
		q.Start, q.End, q.Marker = time.UnixMicro(tok.start), time.UnixMicro(tok.end), tok.marker
	}
	recs, next, err := log.LookupAudit(ctx, q)
	if errors.Is(err, store.ErrInvalidMarker) {
		return nil, lookupErr("InvalidNextTokenException", "invalid NextToken")
	}
	if err != nil {
		return nil, err
	}
	out := &LookupOutput{Events: make([]LookupEvent, 0, len(recs))}
	for _, r := range recs {
		ev := LookupEvent{
			EventID: r.EventID, EventName: r.EventName, ReadOnly: strconv.FormatBool(r.ReadOnly),
			AccessKeyID: r.AccessKeyID, EventTime: r.Time, EventSource: r.EventSource, Username: r.Username,
			CloudTrailEvent: string(r.Data),
		}
		for _, res := range r.Resources {
			ev.Resources = append(ev.Resources, LookupResource{ResourceType: res.Type, ResourceName: res.Name})
		}
		out.Events = append(out.Events, ev)
	}
	if next != "" {
		s := encodeToken(token{fingerprint: fp, start: q.Start.UnixMicro(), end: q.End.UnixMicro(), marker: next})
		out.NextToken = &s
	}
	return out, nil
}

// token is what a NextToken carries: which query it belongs to, the query's resolved time range, and the
// store's marker.
type token struct {
	fingerprint uint64
	start, end  int64
	marker      string
}

// fingerprint identifies the parameters a caller gave (not the defaults, which depend on the clock).
func fingerprint(in LookupInput) uint64 {
	h := sha256.New()
	for _, a := range in.LookupAttributes {
		fmt.Fprintf(h, "%q=%q;", a.AttributeKey, a.AttributeValue)
	}
	if in.StartTime != nil {
		fmt.Fprintf(h, "s%d;", in.StartTime.UnixMicro())
	}
	if in.EndTime != nil {
		fmt.Fprintf(h, "e%d;", in.EndTime.UnixMicro())
	}
	if in.MaxResults != nil {
		fmt.Fprintf(h, "m%d;", *in.MaxResults)
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// encodeToken makes an opaque NextToken: URL-safe base64 of the fingerprint, the range and the marker.
func encodeToken(t token) string {
	b := make([]byte, 0, 24+len(t.marker))
	b = binary.BigEndian.AppendUint64(b, t.fingerprint)
	b = binary.BigEndian.AppendUint64(b, uint64(t.start))
	b = binary.BigEndian.AppendUint64(b, uint64(t.end))
	b = append(b, t.marker...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("audit: invalid NextToken")

// decodeToken parses a NextToken. It accepts exactly the tokens encodeToken makes (canonical base64, a
// non-empty marker); the marker itself is checked by the store.
func decodeToken(s string) (token, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) <= 24 {
		return token{}, errBadToken
	}
	t := token{
		fingerprint: binary.BigEndian.Uint64(b),
		start:       int64(binary.BigEndian.Uint64(b[8:])),
		end:         int64(binary.BigEndian.Uint64(b[16:])),
		marker:      string(b[24:]),
	}
	// The decoder skips '\r' and '\n' even in strict mode (found by FuzzNextToken): accept only the canonical
	// spelling, so a token has exactly one form.
	if encodeToken(t) != s {
		return token{}, errBadToken
	}
	return t, nil
}
