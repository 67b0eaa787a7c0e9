package sigv4

import "net/http"

// Error codes returned in Error.Code. They are the codes AWS's Query-protocol services (IAM, STS) answer
// with; see https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html.
const (
	// CodeMissingAuthenticationToken means the request carries no SigV4 authentication at all.
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	// CodeIncompleteSignature means the SigV4 elements are missing or malformed.
	CodeIncompleteSignature = "IncompleteSignature"
	// CodeInvalidClientTokenID means the access key id (or session token) is unknown; the caller decides it.
	CodeInvalidClientTokenID = "InvalidClientTokenId"
	// CodeExpiredToken means the session token has expired; the caller decides it.
	CodeExpiredToken = "ExpiredToken"
	// CodeSignatureDoesNotMatch means the signature, its scope or its time is wrong.
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	// CodeRequestExpired means a presigned request is used after X-Amz-Expires.
	CodeRequestExpired = "RequestExpired"
	// CodeMalformedQueryString means the query string cannot be decoded unambiguously.
	CodeMalformedQueryString = "MalformedQueryString"
	// CodeInvalidArgument means X-Amz-Content-Sha256 holds a value SigV4 does not define.
	CodeInvalidArgument = "InvalidArgument"
	// CodeContentSHA256Mismatch means the body does not hash to the signed X-Amz-Content-Sha256.
	CodeContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
	// CodeNotImplemented means a valid but unsupported SigV4 feature (streaming payloads) was used.
	CodeNotImplemented = "NotImplemented"
)

// Messages AWS sends with the errors above. The texts are AWS's own, byte for byte, because SDKs and
// people search for them.
const (
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingAuthToken   = "Request is missing Authentication Token"
	msgInvalidClientToken = "The security token included in the request is invalid."
	msgExpiredToken       = "The security token included in the request is expired"
	msgHostMustBeSigned   = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgRequestExpired     = "Request has expired."
	msgNotImplemented     = "A header you provided implies functionality that is not implemented."
	msgContentMismatch    = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgBadContentSHA256   = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, " +
		"or a valid sha256 value."
	msgMalformedQuery = "The query string contains a syntax error."
	msgTwoMechanisms  = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter " +
		"or the Authorization header should be specified."
)

// Error is a SigV4 authentication failure in the form AWS answers it: an error code, AWS's message and the
// HTTP status to send. The server writes it as an <ErrorResponse> (Type Sender).
type Error struct {
	// Code is one of the Code* constants.
	Code string
	// Message is AWS's message text for the failure. It never contains secret material.
	Message string
	// HTTPStatus is the status AWS sends with Code.
	HTTPStatus int
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, msg string) *Error {
	return &Error{Code: code, Message: msg, HTTPStatus: statusOf(code)}
}

// statusOf returns the HTTP status AWS pairs with code
// (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html; the S3-only codes from
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
func statusOf(code string) int {
	switch code {
	case CodeMissingAuthenticationToken, CodeInvalidClientTokenID, CodeExpiredToken, CodeSignatureDoesNotMatch:
		return http.StatusForbidden
	case CodeMalformedQueryString:
		return http.StatusNotFound // sic: AWS documents 404 for MalformedQueryString
	case CodeNotImplemented:
		return http.StatusNotImplemented
	default: // IncompleteSignature, RequestExpired, InvalidArgument, XAmzContentSHA256Mismatch
		return http.StatusBadRequest
	}
}

// InvalidClientTokenID returns the error AWS sends when the access key id in the credential scope, or the
// session token, is not known. Verification cannot decide this; the caller looks the key up.
func InvalidClientTokenID() *Error { return newError(CodeInvalidClientTokenID, msgInvalidClientToken) }

// ExpiredToken returns the error AWS sends when the session token of temporary credentials has expired.
func ExpiredToken() *Error { return newError(CodeExpiredToken, msgExpiredToken) }
