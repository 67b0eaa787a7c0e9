package sigv4

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm this package verifies.
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hash values defined by SigV4 besides a hex SHA-256
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
const (
	// UnsignedPayload in X-Amz-Content-Sha256 says the body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// streamingPrefix starts every chunked-upload payload hash (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, ...).
	streamingPrefix = "STREAMING-"
)

const (
	// MaxSkew is the clock skew AWS tolerates between the request time and the server's clock
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html).
	MaxSkew = 15 * time.Minute
	// MaxExpires is the longest X-Amz-Expires a presigned request may carry: seven days, because a
	// signing key is scoped to a day and AWS bounds its reuse
	// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
	MaxExpires = 7 * 24 * time.Hour

	iso8601Basic = "20060102T150405Z"
	scopeDate    = "20060102"
	terminator   = "aws4_request"
)

// Credential is the credential scope of a SigV4 request: which key signed it, for which day, region and
// service (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
type Credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD, UTC
	Region      string
	Service     string
}

// Request holds the SigV4 elements of an HTTP request, as Parse found them. Its fields are what the
// client sent: nothing in it is authentic until Verifier.Verify has returned nil.
type Request struct {
	// Credential is the credential scope; route by Credential.Service, then look up the key.
	Credential Credential
	// SignedHeaders is the semicolon-separated, lowercase list of signed header names, as sent.
	SignedHeaders string
	// Signature is the hex signature as sent.
	Signature string
	// RequestTime is the signing time from X-Amz-Date (query or header) or the Date header.
	RequestTime time.Time
	// SecurityToken is X-Amz-Security-Token (header or query); set for temporary credentials, which
	// the caller must open and check itself.
	SecurityToken string
	// Presigned reports whether the signature came in the query string rather than Authorization.
	Presigned bool
	// Expires is X-Amz-Expires of a presigned request; zero when absent (the request is then valid for
	// MaxSkew around RequestTime, like a header-signed one).
	Expires time.Duration
	// PayloadHash is X-Amz-Content-Sha256 as sent, or "" when absent (the body is then hashed).
	PayloadHash string

	scope string // "YYYYMMDD/region/service/aws4_request", a substring of the credential
}

// Streaming reports whether the payload uses chunked signing (STREAMING-*), which Verify does not support.
func (r *Request) Streaming() bool { return strings.HasPrefix(r.PayloadHash, streamingPrefix) }

// UnsignedPayload reports whether the client declared the body unsigned (X-Amz-Content-Sha256:
// UNSIGNED-PAYLOAD, or an S3 presigned URL).
func (r *Request) UnsignedPayload() bool { return r.PayloadHash == UnsignedPayload }

// Parse extracts the SigV4 elements of r and checks everything that needs no secret: that exactly one
// mechanism (Authorization header or presigned query) is present and complete, that host is signed, that
// the request time is within MaxSkew of now (or, presigned, before its expiry), and that the credential
// scope is well formed and matches the request date. It does not check the signature: route by
// Credential.Service, look up the secret for Credential.AccessKeyID, then call Verifier.Verify.
//
// Every error is an *Error. The checks run in the order AWS applies them, so a client sees the same first
// error it would see from AWS.
func Parse(r *http.Request, now time.Time) (*Request, error) {
	q, qerr := scanQuery(r.URL.RawQuery)
	if qerr != nil {
		return nil, qerr
	}
	auth, hasAuth := firstHeader(r.Header, "Authorization")
	switch {
	case hasAuth && q.algorithm.present:
		// Fail closed: two mechanisms could disagree about who signed.
		return nil, newError(CodeSignatureDoesNotMatch, msgTwoMechanisms)
	case !hasAuth && !q.algorithm.present:
		return nil, newError(CodeMissingAuthenticationToken, msgMissingAuthToken)
	}

	req := &Request{}
	var credential, rawDate string
	httpDate := false // the time came from the Date header (RFC 1123), not X-Amz-Date
	if hasAuth {
		date, hasDate := firstHeader(r.Header, "X-Amz-Date")
		if !hasDate {
			date, hasDate = firstHeader(r.Header, "Date")
			httpDate = hasDate
		}
		a, err := parseAuthorization(auth, hasDate)
		if err != nil {
			return nil, err
		}
		credential, req.SignedHeaders, req.Signature, rawDate = a.credential, a.signedHeaders, a.signature, date
		req.SecurityToken, _ = firstHeader(r.Header, "X-Amz-Security-Token")
	} else {
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-authentication-methods.html
		if q.algorithm.value != Algorithm {
			// AWS treats an unknown query algorithm as no authentication at all.
			return nil, newError(CodeMissingAuthenticationToken, msgMissingAuthToken)
		}
		var missing []string
		if !q.credential.present {
			missing = append(missing, "AWS query-string parameters must include 'X-Amz-Credential'.")
		}
		if !q.signature.present {
			missing = append(missing, "AWS query-string parameters must include 'X-Amz-Signature'.")
		}
		if !q.signedHeaders.present {
			missing = append(missing, "AWS query-string parameters must include 'X-Amz-SignedHeaders'.")
		}
		if !q.date.present {
			missing = append(missing, "AWS query-string parameters must include 'X-Amz-Date'.")
		}
		if len(missing) > 0 {
			return nil, newError(CodeIncompleteSignature,
				strings.Join(missing, " ")+" Re-examine the query-string parameters.")
		}
		req.Presigned = true
		credential, req.SignedHeaders, req.Signature = q.credential.value, q.signedHeaders.value, q.signature.value
		rawDate, req.SecurityToken = q.date.value, q.securityToken.value
		if q.expires.present {
			d, err := parseExpires(q.expires.value)
			if err != nil {
				return nil, err
			}
			req.Expires = d
		}
	}

	if err := checkSignedHeaders(req.SignedHeaders); err != nil {
		return nil, err
	}
	t, err := parseRequestTime(rawDate, httpDate)
	if err != nil {
		return nil, err
	}
	req.RequestTime = t
	if err := checkTime(req, now); err != nil {
		return nil, err
	}
	if err := parseCredential(credential, req); err != nil {
		return nil, err
	}
	if ph, ok := firstHeader(r.Header, "X-Amz-Content-Sha256"); ok {
		if !validPayloadHash(ph) {
			return nil, newError(CodeInvalidArgument, msgBadContentSHA256)
		}
		req.PayloadHash = ph
	} else if req.Presigned && req.Credential.Service == "s3" {
		// S3 presigned URLs never cover the body
		// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
		req.PayloadHash = UnsignedPayload
	}
	return req, nil
}

// authParams are the parameters of an Authorization header, as substrings of it.
type authParams struct {
	credential, signedHeaders, signature string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". hasDate
// reports whether the request has X-Amz-Date or Date, because AWS lists a missing date among the missing
// parameters of the header.
func parseAuthorization(h string, hasDate bool) (authParams, *Error) {
	var a authParams
	h = strings.Trim(h, " \t")
	alg, rest, _ := strings.Cut(h, " ")
	if alg != Algorithm {
		if strings.HasPrefix(alg, "AWS4-") {
			return a, newError(CodeIncompleteSignature, "Unsupported AWS 'algorithm': '"+alg+"'.")
		}
		// Not SigV4 at all (SigV2 "AWS key:sig", "Bearer ..."): AWS answers with what SigV4 lacks.
		rest = ""
	}
	var hasCred, hasHeaders, hasSig bool
	for rest != "" {
		var p string
		p, rest, _ = strings.Cut(rest, ",")
		p = strings.Trim(p, " \t")
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return a, newError(CodeIncompleteSignature, "'"+p+
				"' not a valid key=value pair (missing equal-sign) in Authorization header: '"+h+"'")
		}
		// A repeated key keeps its last value, as AWS does; the signature covers none of this anyway.
		switch k {
		case "Credential":
			a.credential, hasCred = v, true
		case "SignedHeaders":
			a.signedHeaders, hasHeaders = v, true
		case "Signature":
			a.signature, hasSig = v, true
		}
	}
	if hasCred && hasHeaders && hasSig && hasDate {
		return a, nil
	}
	var b strings.Builder
	if !hasCred {
		b.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if !hasSig {
		b.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if !hasHeaders {
		b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if !hasDate {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	b.WriteString("Authorization=")
	b.WriteString(h)
	return a, newError(CodeIncompleteSignature, b.String())
}

// checkSignedHeaders requires a non-empty, strictly ascending list of lowercase names that includes host.
// SigV4 defines the list as sorted lowercase names; a list in another form cannot have been produced by a
// conforming signer, so it is refused instead of being reinterpreted.
func checkSignedHeaders(s string) *Error {
	hasHost := false
	prev := ""
	for i, rest := 0, s; ; i++ {
		name, tail, more := strings.Cut(rest, ";")
		if name == "" || (i > 0 && name <= prev) || !lowerToken(name) {
			return newError(CodeSignatureDoesNotMatch, msgSignatureDoesNotMatch)
		}
		if name == "host" {
			hasHost = true
		}
		prev = name
		if !more {
			break
		}
		rest = tail
	}
	if !hasHost {
		// Security: an unsigned Host would let a signed request be replayed against another endpoint.
		return newError(CodeSignatureDoesNotMatch, msgHostMustBeSigned)
	}
	return nil
}

// lowerToken reports whether s is an HTTP token (RFC 9110 section 5.6.2) without upper-case letters.
func lowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseRequestTime reads X-Amz-Date (ISO 8601 basic, UTC) or, when httpDate, the Date header (an HTTP
// date, or ISO 8601 basic, both of which AWS accepts there).
func parseRequestTime(s string, httpDate bool) (time.Time, *Error) {
	if t, err := time.Parse(iso8601Basic, s); err == nil {
		return t, nil
	}
	if httpDate {
		if t, err := http.ParseTime(s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, newError(CodeIncompleteSignature,
		"Date must be in ISO-8601 'basic format'. Got '"+s+"'. See http://en.wikipedia.org/wiki/ISO_8601")
}

// checkTime applies the clock-skew window and, for presigned requests, X-Amz-Expires. The message forms
// are AWS's ("Signature expired: 20261122T000000Z is now earlier than 20261122T001500Z
// (20261122T003000Z - 15 min.)"); AWS answers them with SignatureDoesNotMatch on IAM and STS.
func checkTime(req *Request, now time.Time) *Error {
	now = now.UTC().Truncate(time.Second)
	t := req.RequestTime
	if t.After(now.Add(MaxSkew)) {
		return newError(CodeSignatureDoesNotMatch, "Signature not yet current: "+t.Format(iso8601Basic)+
			" is still later than "+now.Add(MaxSkew).Format(iso8601Basic)+
			" ("+now.Format(iso8601Basic)+" + 15 min.)")
	}
	if req.Presigned && req.Expires > 0 {
		// A presigned URL is good until its own expiry, which may be longer or shorter than the skew.
		if now.After(t.Add(req.Expires)) {
			return newError(CodeRequestExpired, msgRequestExpired)
		}
		return nil
	}
	if t.Before(now.Add(-MaxSkew)) {
		return newError(CodeSignatureDoesNotMatch, "Signature expired: "+t.Format(iso8601Basic)+
			" is now earlier than "+now.Add(-MaxSkew).Format(iso8601Basic)+
			" ("+now.Format(iso8601Basic)+" - 15 min.)")
	}
	return nil
}

// parseCredential splits "AKID/YYYYMMDD/region/service/aws4_request" into req.Credential and req.scope and
// checks the scope against the request date
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
func parseCredential(s string, req *Request) *Error {
	if strings.Count(s, "/") != 4 {
		return newError(CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, "+
			"e.g. keyid/date/region/service/term, got '"+s+"'")
	}
	var parts [5]string
	rest := s
	for i := 0; i < 4; i++ {
		parts[i], rest, _ = strings.Cut(rest, "/")
	}
	parts[4] = rest
	req.Credential = Credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	req.scope = s[len(parts[0])+1:]
	var msgs []string
	if parts[2] == "" || !lowerToken(parts[2]) {
		msgs = append(msgs, "Credential should be scoped to a valid region, not '"+parts[2]+"'.")
	}
	if parts[3] == "" || !lowerToken(parts[3]) {
		msgs = append(msgs, "Credential should be scoped to correct service: '"+parts[3]+"'.")
	}
	if parts[4] != terminator {
		msgs = append(msgs, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+
			parts[4]+"'.")
	}
	var db [len(scopeDate)]byte
	if want := req.RequestTime.AppendFormat(db[:0], scopeDate); parts[1] != string(want) {
		msgs = append(msgs, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "+
			"from HTTP: '"+parts[1]+"' != '"+string(want)+"', from '"+req.RequestTime.Format(iso8601Basic)+"'.")
	}
	if parts[0] == "" {
		return InvalidClientTokenID()
	}
	if len(msgs) > 0 {
		return newError(CodeSignatureDoesNotMatch, strings.Join(msgs, " "))
	}
	return nil
}

// parseExpires reads X-Amz-Expires: whole seconds, 1 to 604800.
func parseExpires(s string) (time.Duration, *Error) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil && !strings.HasPrefix(s, "-"):
		return 0, newError(CodeIncompleteSignature, "X-Amz-Expires should be a number")
	case err != nil || n < 0:
		return 0, newError(CodeIncompleteSignature, "X-Amz-Expires must be non-negative")
	case n == 0:
		return 0, newError(CodeIncompleteSignature, "X-Amz-Expires must be at least 1 second")
	case n > int64(MaxExpires/time.Second):
		return 0, newError(CodeIncompleteSignature,
			"X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	return time.Duration(n) * time.Second, nil
}

// validPayloadHash reports whether s is a payload hash SigV4 defines: 64 hex digits, UNSIGNED-PAYLOAD or a
// STREAMING-* name.
func validPayloadHash(s string) bool {
	if s == UnsignedPayload {
		return true
	}
	if strings.HasPrefix(s, streamingPrefix) {
		return lowerOrUpperToken(s)
	}
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) < 0 {
			return false
		}
	}
	return true
}

func lowerOrUpperToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// firstHeader returns the first value of the header whose canonical name is key.
func firstHeader(h http.Header, key string) (string, bool) {
	v := h[key]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// queryParam is one X-Amz-* query parameter: its first value, decoded.
type queryParam struct {
	value   string
	present bool
}

// sigQuery holds the presigning parameters of a query string.
type sigQuery struct {
	algorithm, credential, date, expires, signedHeaders, signature, securityToken queryParam
}

// scanQuery decodes the presigning parameters from a raw query string in one pass, and refuses query
// strings that cannot be decoded unambiguously.
func scanQuery(raw string) (sigQuery, *Error) {
	var q sigQuery
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		// Security: Go's url.ParseQuery silently drops pairs with ';' or bad escapes, so such a pair
		// would be neither signed nor seen by the handler on one side and seen on another. Refuse it.
		if strings.IndexByte(pair, ';') >= 0 {
			return q, newError(CodeMalformedQueryString, msgMalformedQuery)
		}
		k, v, _ := strings.Cut(pair, "=")
		key, ok := unescapeQuery(k)
		if !ok {
			return q, newError(CodeMalformedQueryString, msgMalformedQuery)
		}
		if !strings.HasPrefix(key, "X-Amz-") {
			if !validEscapes(v) {
				return q, newError(CodeMalformedQueryString, msgMalformedQuery)
			}
			continue
		}
		var p *queryParam
		switch key {
		case "X-Amz-Algorithm":
			p = &q.algorithm
		case "X-Amz-Credential":
			p = &q.credential
		case "X-Amz-Date":
			p = &q.date
		case "X-Amz-Expires":
			p = &q.expires
		case "X-Amz-SignedHeaders":
			p = &q.signedHeaders
		case "X-Amz-Signature":
			p = &q.signature
		case "X-Amz-Security-Token":
			p = &q.securityToken
		}
		val, ok := unescapeQuery(v)
		if !ok {
			return q, newError(CodeMalformedQueryString, msgMalformedQuery)
		}
		if p != nil && !p.present {
			*p = queryParam{value: val, present: true}
		}
	}
	return q, nil
}

// unescapeQuery decodes application/x-www-form-urlencoded text ('+' is a space), as url.QueryUnescape
// does, allocating only when s holds an escape.
func unescapeQuery(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", false
			}
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

// validEscapes reports whether every '%' in s starts a valid escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return false
			}
			i += 2
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
