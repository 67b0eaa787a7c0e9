// Package awsjson is the runtime of AWS's JSON 1.1 protocol (Organizations, CloudTrail): operations named by
// X-Amz-Target "Prefix.Operation", JSON bodies decoded into typed inputs and validated against the model's
// constraints, outputs encoded as JSON with timestamps in epoch seconds, and errors as {"__type", "message"} with
// the x-amzn-ErrorType header. Typed APIs (orgsapi) are generated from botocore models by
// internal/awsquery/gen and call the small runtime here.
// https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of JSON 1.1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// Error is an AWS API error as a JSON service answers it.
type Error struct {
	// Code is the error's shape name ("AccountNotFoundException"), sent as __type and x-amzn-ErrorType.
	Code string
	// Message is the human-readable message.
	Message string
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Sender reports whether the fault is the caller's.
	Sender bool
	// Fields are further members of the error shape (Organizations' "Reason"), sent beside the message.
	Fields map[string]string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// With returns a copy of e with the member name set to value (an error's Reason, say).
func (e *Error) With(name, value string) *Error {
	c := *e
	c.Fields = make(map[string]string, len(e.Fields)+1)
	for k, v := range e.Fields {
		c.Fields[k] = v
	}
	c.Fields[name] = value
	return &c
}

// ErrorInfo describes an error code: its HTTP status and whether it is the sender's fault.
type ErrorInfo struct {
	Code       string
	HTTPStatus int
	Sender     bool
}

// Newf returns an Error of this kind with a formatted message (verbatim without args, so a '%' survives).
func (i ErrorInfo) Newf(format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: i.Code, Message: msg, HTTPStatus: i.HTTPStatus, Sender: i.Sender}
}

// NewError returns an Error with a formatted message; Sender is true for statuses below 500.
func NewError(code string, status int, format string, args ...any) *Error {
	return ErrorInfo{Code: code, HTTPStatus: status, Sender: status < 500}.Newf(format, args...)
}

// CommonErrors are the errors every JSON 1.1 service may return beyond those its model lists. AWS's JSON
// services answer client faults with HTTP 400, authentication failures included (unlike the Query protocol's 403).
// https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html
var CommonErrors = map[string]ErrorInfo{
	"AccessDeniedException":               {"AccessDeniedException", http.StatusBadRequest, true},
	"IncompleteSignatureException":        {"IncompleteSignatureException", http.StatusBadRequest, true},
	"InternalFailure":                     {"InternalFailure", http.StatusInternalServerError, false},
	"InvalidSignatureException":           {"InvalidSignatureException", http.StatusBadRequest, true},
	"MissingAuthenticationTokenException": {"MissingAuthenticationTokenException", http.StatusBadRequest, true},
	"ExpiredTokenException":               {"ExpiredTokenException", http.StatusBadRequest, true},
	"NotImplemented":                      {"NotImplemented", http.StatusNotImplemented, false},
	"RequestEntityTooLarge":               {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge, true},
	"SerializationException":              {"SerializationException", http.StatusBadRequest, true},
	"ServiceUnavailable":                  {"ServiceUnavailable", http.StatusServiceUnavailable, false},
	"ThrottlingException":                 {"ThrottlingException", http.StatusBadRequest, true},
	"UnknownOperationException":           {"UnknownOperationException", http.StatusBadRequest, true},
	"UnrecognizedClientException":         {"UnrecognizedClientException", http.StatusBadRequest, true},
	"ValidationException":                 {"ValidationException", http.StatusBadRequest, true},
}

// NotImplemented returns the error for an operation Persona does not implement yet (HTTP 501).
func NotImplemented(service, operation string) *Error {
	return CommonErrors["NotImplemented"].Newf("Persona does not implement %s:%s yet", service, operation)
}

// UnknownOperation returns the error for an X-Amz-Target that names no operation of the service.
func UnknownOperation() *Error {
	return CommonErrors["UnknownOperationException"].Newf("")
}

// EncodeError returns the body of e's response: {"__type":CODE,"message":MESSAGE} plus e's Fields. A nil e
// encodes as InternalFailure so a caller bug never yields an empty 200.
// https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization
func EncodeError(e *Error) []byte {
	if e == nil {
		e = CommonErrors["InternalFailure"].Newf("internal failure")
	}
	m := make(map[string]string, len(e.Fields)+2)
	for k, v := range e.Fields {
		m[k] = v
	}
	m["__type"] = e.Code
	if e.Message != "" {
		m["message"] = e.Message
	}
	b, err := json.Marshal(m)
	if err != nil { // cannot happen: a map of strings always marshals
		return []byte(`{"__type":"InternalFailure"}`)
	}
	return b
}

// WriteError writes e as a JSON 1.1 error response: status, x-amzn-ErrorType, Content-Type and body.
func WriteError(w http.ResponseWriter, e *Error) {
	body := EncodeError(e)
	if e == nil {
		e = CommonErrors["InternalFailure"].Newf("internal failure")
	}
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.HTTPStatus)
	w.Write(body)
}

// Time is a timestamp member: JSON 1.1 sends timestamps as epoch seconds, with fractions of a second when any.
// The zero Time is an absent member (tagged omitzero).
type Time struct{ time.Time }

// At returns t as a Time (in UTC, to millisecond precision as AWS sends).
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms // whole and fraction carry the sign together: -0.1 is not 0.1
	}
	s := sign + strconv.FormatInt(ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", frac), "0")
	}
	return []byte(s), nil
}

// UnmarshalJSON reads epoch seconds (an integer or a decimal number).
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
	return nil
}

// Decode reads a request body into in. An empty body is an empty object, as SDKs send "{}" for inputs without
// members. Unknown members are ignored, as AWS does; anything that is not a JSON object of the input's shape is
// a SerializationException that says what is wrong and where. Known divergence: encoding/json matches member
// names without regard to case (and keeps the last of duplicate names) where AWS matches exactly; SDKs and the
// CLI always send the model's names, once.
func Decode(body []byte, in any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] != '{' {
		return CommonErrors["SerializationException"].Newf("The request body must be a JSON object.")
	}
	if err := json.Unmarshal(trimmed, in); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			where := typeErr.Field
			if where == "" {
				where = "the request"
			}
			return CommonErrors["SerializationException"].Newf("Cannot read %s: expected %s, found a JSON %s at offset %d.",
				where, typeErr.Type.String(), typeErr.Value, typeErr.Offset)
		case errors.As(err, &syntaxErr):
			return CommonErrors["SerializationException"].Newf("The request body is not valid JSON: %s (offset %d).", syntaxErr.Error(), syntaxErr.Offset)
		}
		return CommonErrors["SerializationException"].Newf("Cannot read the request body: %s", err.Error())
	}
	return nil
}

// Encode writes an output as JSON; a nil output is "{}".
func Encode(out any) ([]byte, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return []byte("{}"), nil
	}
	return b, nil
}

// Call decodes body into a new input, validates it, calls op and encodes its output: the body of every
// generated dispatch case. A failed validation returns a *ValidationError for the service to word.
func Call[I, O any](ctx context.Context, body []byte, op func(context.Context, *I) (*O, error), validate func(*I, *Validator, string)) ([]byte, error) {
	in := new(I)
	if err := Decode(body, in); err != nil {
		return nil, err
	}
	var v Validator
	validate(in, &v, "")
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := op(ctx, in)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return []byte("{}"), nil
	}
	return Encode(out)
}

// Operation describes one operation of a service, from its model.
type Operation struct {
	// Name is the operation's name, the part of X-Amz-Target after the dot.
	Name string
	// Input and Output are the model's shape names; "" when the model has none.
	Input, Output string
	// Errors are the error codes the model lists for the operation.
	Errors []string
}
