package awsquery

import (
	"fmt"
	"net/http"
)

// Error is an AWS API error: what the caller sees in <ErrorResponse>.
type Error struct {
	// Code is AWS's error code, e.g. "NoSuchEntity".
	Code string
	// Message is the human-readable message.
	Message string
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// Sender reports whether the fault is the caller's (<Type>Sender</Type>) rather than the service's.
	Sender bool
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns an Error with the message formatted from format and args (used verbatim without args, so a
// message holding a '%' survives). Sender is true for 4xx statuses.
func NewError(code string, status int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Message: msg, HTTPStatus: status, Sender: status < 500}
}

// ErrorInfo describes an error code: its HTTP status and whether it is the sender's fault.
type ErrorInfo struct {
	Code       string
	HTTPStatus int
	Sender     bool
}

// CommonErrors are the errors every Query service may return, beyond those its model lists.
// https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
// https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
var CommonErrors = map[string]ErrorInfo{
	"AccessDenied":                {"AccessDenied", http.StatusForbidden, true},
	"ExpiredToken":                {"ExpiredToken", http.StatusForbidden, true},
	"IncompleteSignature":         {"IncompleteSignature", http.StatusBadRequest, true},
	"InternalFailure":             {"InternalFailure", http.StatusInternalServerError, false},
	"InvalidAction":               {"InvalidAction", http.StatusBadRequest, true},
	"InvalidClientTokenId":        {"InvalidClientTokenId", http.StatusForbidden, true},
	"InvalidParameterCombination": {"InvalidParameterCombination", http.StatusBadRequest, true},
	"InvalidParameterValue":       {"InvalidParameterValue", http.StatusBadRequest, true},
	"InvalidQueryParameter":       {"InvalidQueryParameter", http.StatusBadRequest, true},
	"MalformedQueryString":        {"MalformedQueryString", http.StatusNotFound, true},
	"MissingAction":               {"MissingAction", http.StatusBadRequest, true},
	"MissingAuthenticationToken":  {"MissingAuthenticationToken", http.StatusForbidden, true},
	"MissingParameter":            {"MissingParameter", http.StatusBadRequest, true},
	"NotImplemented":              {"NotImplemented", http.StatusNotImplemented, false},
	"OptInRequired":               {"OptInRequired", http.StatusForbidden, true},
	"RequestEntityTooLarge":       {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge, true},
	"RequestExpired":              {"RequestExpired", http.StatusBadRequest, true},
	"ServiceFailure":              {"ServiceFailure", http.StatusInternalServerError, false},
	"ServiceUnavailable":          {"ServiceUnavailable", http.StatusServiceUnavailable, false},
	"SignatureDoesNotMatch":       {"SignatureDoesNotMatch", http.StatusForbidden, true},
	"Throttling":                  {"Throttling", http.StatusBadRequest, true},
	"ValidationError":             {"ValidationError", http.StatusBadRequest, true},
}

// Newf returns an Error of this kind with a formatted message (verbatim without args).
func (i ErrorInfo) Newf(format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: i.Code, Message: msg, HTTPStatus: i.HTTPStatus, Sender: i.Sender}
}

// NotImplemented returns the error for an operation Persona does not implement yet (HTTP 501).
func NotImplemented(service, operation string) *Error {
	return &Error{Code: "NotImplemented", HTTPStatus: http.StatusNotImplemented,
		Message: "Persona does not implement " + service + ":" + operation + " yet"}
}

// InvalidAction returns the error for an Action the service does not have, in AWS's words.
func InvalidAction(action, version string) *Error {
	return &Error{Code: "InvalidAction", HTTPStatus: http.StatusBadRequest, Sender: true,
		Message: "Could not find operation " + action + " for version " + version}
}

// EncodeError writes e as the Query protocol's <ErrorResponse>; it is the one place that does. namespace is the
// service's XML namespace (https://iam.amazonaws.com/doc/2010-05-08/). A nil e encodes as an InternalFailure so a
// caller bug never yields an empty 200.
// https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization
func EncodeError(e *Error, namespace, requestID string) []byte {
	if e == nil {
		e = CommonErrors["InternalFailure"].Newf("internal failure")
	}
	enc := NewEncoder()
	defer enc.Release()
	enc.raw(`<ErrorResponse xmlns="`)
	enc.attr(namespace)
	enc.raw(`"><Error><Type>`)
	if e.Sender {
		enc.raw("Sender")
	} else {
		enc.raw("Receiver")
	}
	enc.raw("</Type>")
	enc.String("Code", e.Code)
	enc.String("Message", e.Message)
	enc.raw("</Error>")
	enc.String("RequestId", requestID)
	enc.raw("</ErrorResponse>")
	return enc.Bytes()
}
