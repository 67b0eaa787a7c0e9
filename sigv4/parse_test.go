package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const goodSig = "0000000000000000000000000000000000000000000000000000000000000000"

// headerReq builds a header-signed request with the given Authorization and X-Amz-Date (omitted if empty).
func headerReq(auth, amzDate string) *http.Request {
	r, _ := http.NewRequest("POST", "https://iam.amazonaws.com/", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if amzDate != "" {
		r.Header.Set("X-Amz-Date", amzDate)
	}
	return r
}

func authz(cred, signedHeaders string) string {
	return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signedHeaders + ", Signature=" + goodSig
}

func queryReq(rawQuery string) *http.Request {
	r, _ := http.NewRequest("GET", "https://sts.amazonaws.com/?"+rawQuery, nil)
	return r
}

// sdkSigned returns a request signed by aws-sdk-go-v2 at signingTime, as a server receives it.
func sdkSigned(t *testing.T, s spec) (*http.Request, []byte) {
	t.Helper()
	r, body, ok := receive(t, sign(t, s).wire)
	if !ok {
		t.Fatal("signed request does not parse")
	}
	return r, body
}

func TestErrors(t *testing.T) {
	const cred = "AKIAIOSFODNN7EXAMPLE/20261122/us-east-1/iam/aws4_request"
	const date = "20261122T000000Z"
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	iamPost := spec{Method: "POST", Host: "iam.amazonaws.com", Path: "/", Service: "iam", Region: "us-east-1",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		Body:   []byte("Action=ListRoles&Version=2010-05-08")}
	presign := iamPost
	presign.Method, presign.Body, presign.Presign, presign.Service = "GET", nil, true, "sts"
	presign.RawQuery = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60"

	tests := []struct {
		name   string
		req    func(t *testing.T) (*http.Request, []byte)
		now    time.Time
		secret string
		want   *Error // nil: the request verifies
	}{
		{
			name: "SDKSignedHeaderVerifies",
			req:  func(t *testing.T) (*http.Request, []byte) { return sdkSigned(t, iamPost) },
			now:  signingTime,
		},
		{
			name: "SDKPresignedVerifies",
			req:  func(t *testing.T) (*http.Request, []byte) { return sdkSigned(t, presign) },
			now:  signingTime.Add(60 * time.Second),
		},
		{
			name: "NoAuthentication",
			req:  func(*testing.T) (*http.Request, []byte) { return headerReq("", date), nil },
			now:  t0,
			want: &Error{"MissingAuthenticationToken", "Request is missing Authentication Token", 403},
		},
		{
			name: "UnknownQueryAlgorithm",
			req: func(*testing.T) (*http.Request, []byte) {
				return queryReq("X-Amz-Algorithm=AWS4-HMAC-SHA512&X-Amz-Date=" + date), nil
			},
			now:  t0,
			want: &Error{"MissingAuthenticationToken", "Request is missing Authentication Token", 403},
		},
		{
			name: "GarbageAuthorization",
			req:  func(*testing.T) (*http.Request, []byte) { return headerReq("X", date), nil },
			now:  t0,
			want: &Error{"IncompleteSignature", "Authorization header requires 'Credential' parameter. " +
				"Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=X", 400},
		},
		{
			name: "NoDate",
			req:  func(*testing.T) (*http.Request, []byte) { return headerReq(authz(cred, "host"), ""), nil },
			now:  t0,
			want: &Error{"IncompleteSignature", "Authorization header requires existence of either a " +
				"'X-Amz-Date' or a 'Date' header. Authorization=" + authz(cred, "host"), 400},
		},
		{
			name: "MissingEqualSign",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq("AWS4-HMAC-SHA256 Credential", date), nil
			},
			now: t0,
			want: &Error{"IncompleteSignature", "'Credential' not a valid key=value pair (missing equal-sign) " +
				"in Authorization header: 'AWS4-HMAC-SHA256 Credential'", 400},
		},
		{
			name: "SigV4a",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq("AWS4-ECDSA-P256-SHA256 Credential=a", date), nil
			},
			now:  t0,
			want: &Error{"IncompleteSignature", "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'.", 400},
		},
		{
			name: "HostNotSigned",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz(cred, "x-amz-date"), date), nil
			},
			now:  t0,
			want: &Error{"SignatureDoesNotMatch", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", 403},
		},
		{
			name: "SignedHeadersNotSorted",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz(cred, "x-amz-date;host"), date), nil
			},
			now:  t0,
			want: &Error{"SignatureDoesNotMatch", msgSignatureDoesNotMatch, 403},
		},
		{
			name: "DateNotISO8601",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz(cred, "host;x-amz-date"), "2026-11-22T00:00:00Z"), nil
			},
			now: t0,
			want: &Error{"IncompleteSignature", "Date must be in ISO-8601 'basic format'. Got " +
				"'2026-11-22T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601", 400},
		},
		{
			name: "SignatureExpired",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz(cred, "host;x-amz-date"), date), nil
			},
			now: t0.Add(30 * time.Minute),
			want: &Error{"SignatureDoesNotMatch", "Signature expired: 20261122T000000Z is now earlier than " +
				"20261122T001500Z (20261122T003000Z - 15 min.)", 403},
		},
		{
			name: "SignatureNotYetCurrent",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz(cred, "host;x-amz-date"), date), nil
			},
			now: t0.Add(-20 * time.Minute),
			want: &Error{"SignatureDoesNotMatch", "Signature not yet current: 20261122T000000Z is still later " +
				"than 20261121T235500Z (20261121T234000Z + 15 min.)", 403},
		},
		{
			name: "CredentialFourParts",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz("AKID/20261122/us-east-1/iam", "host"), date), nil
			},
			now: t0,
			want: &Error{"IncompleteSignature", "Credential must have exactly 5 slash-delimited elements, " +
				"e.g. keyid/date/region/service/term, got 'AKID/20261122/us-east-1/iam'", 400},
		},
		{
			name: "ScopeDateAndTerminator",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz("AKID/20261121/us-east-1/iam/aws5_request", "host"), date), nil
			},
			now: t0,
			want: &Error{"SignatureDoesNotMatch", "Credential should be scoped with a valid terminator: " +
				"'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from " +
				"ISO-8601 version of date from HTTP: '20261121' != '20261122', from '20261122T000000Z'.", 403},
		},
		{
			name: "EmptyAccessKeyID",
			req: func(*testing.T) (*http.Request, []byte) {
				return headerReq(authz("/20261122/us-east-1/iam/aws4_request", "host"), date), nil
			},
			now:  t0,
			want: &Error{"InvalidClientTokenId", "The security token included in the request is invalid.", 403},
		},
		{
			name:   "WrongSecret",
			req:    func(t *testing.T) (*http.Request, []byte) { return sdkSigned(t, iamPost) },
			now:    signingTime,
			secret: "not-the-secret",
			want:   &Error{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", 403},
		},
		{
			name: "BothMechanisms",
			req: func(*testing.T) (*http.Request, []byte) {
				r := queryReq("X-Amz-Algorithm=AWS4-HMAC-SHA256")
				r.Header.Set("Authorization", authz(cred, "host"))
				return r, nil
			},
			now:  t0,
			want: &Error{"SignatureDoesNotMatch", msgTwoMechanisms, 403},
		},
		{
			name: "PresignedMissingParameters",
			req: func(*testing.T) (*http.Request, []byte) {
				return queryReq("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred), nil
			},
			now: t0,
			want: &Error{"IncompleteSignature", "AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters " +
				"must include 'X-Amz-Date'. Re-examine the query-string parameters.", 400},
		},
		{
			name: "PresignedExpired",
			req:  func(t *testing.T) (*http.Request, []byte) { return sdkSigned(t, presign) },
			now:  signingTime.Add(61 * time.Second),
			want: &Error{"RequestExpired", "Request has expired.", 400},
		},
		{
			name: "PresignedExpiresTooLong",
			req: func(*testing.T) (*http.Request, []byte) {
				return queryReq("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred +
					"&X-Amz-Date=" + date + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig +
					"&X-Amz-Expires=604801"), nil
			},
			now:  t0,
			want: &Error{"IncompleteSignature", "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400},
		},
		{
			name: "PresignedExpiresNegative",
			req: func(*testing.T) (*http.Request, []byte) {
				return queryReq("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + cred +
					"&X-Amz-Date=" + date + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig +
					"&X-Amz-Expires=-1"), nil
			},
			now:  t0,
			want: &Error{"IncompleteSignature", "X-Amz-Expires must be non-negative", 400},
		},
		{
			name: "MalformedQuery",
			req: func(*testing.T) (*http.Request, []byte) {
				r := headerReq(authz(cred, "host"), date)
				r.URL.RawQuery = "Action=ListRoles;x=1"
				return r, nil
			},
			now:  t0,
			want: &Error{"MalformedQueryString", "The query string contains a syntax error.", 404},
		},
		{
			name: "BadContentSHA256",
			req: func(*testing.T) (*http.Request, []byte) {
				r := headerReq(authz(cred, "host"), date)
				r.Header.Set("X-Amz-Content-Sha256", "abc")
				return r, nil
			},
			now:  t0,
			want: &Error{"InvalidArgument", msgBadContentSHA256, 400},
		},
		{
			name: "HTTPDateHeader",
			req: func(t *testing.T) (*http.Request, []byte) {
				// Sign with X-Amz-Date, then move the time to a Date header: the string to sign is the same.
				r, body := sdkSigned(t, iamPost)
				d := r.Header.Get("X-Amz-Date")
				r.Header.Del("X-Amz-Date")
				tm, _ := time.Parse(iso8601Basic, d)
				r.Header.Set("Date", tm.Format(http.TimeFormat))
				return r, body
			},
			now:  signingTime,
			want: &Error{"SignatureDoesNotMatch", msgSignatureDoesNotMatch, 403}, // x-amz-date was signed, now absent
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.req(t)
			secret := tc.secret
			if secret == "" {
				secret = testCreds.SecretAccessKey
			}
			var v Verifier
			_, err := check(r, body, tc.now, &v, secret)
			var got *Error
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDateHeaderSigned covers a request signed over the Date header instead of X-Amz-Date.
func TestDateHeaderSigned(t *testing.T) {
	r, _ := http.NewRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.Header.Set("Date", signingTime.Format(http.TimeFormat))
	cr := "GET\n/\nAction=ListUsers&Version=2010-05-08\ndate:" + signingTime.Format(http.TimeFormat) +
		"\nhost:iam.amazonaws.com\n\ndate;host\n" + hexSHA256(nil)
	scope := "20261122/us-east-1/iam/aws4_request"
	sts := "AWS4-HMAC-SHA256\n20261122T103000Z\n" + scope + "\n" + hexSHA256([]byte(cr))
	key := deriveKey([]byte(testCreds.SecretAccessKey), "20261122", "us-east-1", "iam")
	mk := newMACKey(key[:])
	mac := mk.sum(append(make([]byte, 64), sts...))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/"+scope+", SignedHeaders=date;host, Signature="+
		hexString(mac[:]))
	var v Verifier
	if _, err := check(r, nil, signingTime, &v, testCreds.SecretAccessKey); err != nil {
		t.Errorf("Date-signed request: %v", err)
	}
}

func TestParseResult(t *testing.T) {
	s := spec{Method: "POST", Host: "sts.amazonaws.com", Path: "/", Service: "sts", Region: "eu-west-3",
		Header: http.Header{}, Token: "the-token", Body: []byte("Action=GetCallerIdentity&Version=2011-06-15")}
	r, _ := sdkSigned(t, s)
	got, err := Parse(r, signingTime)
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{
		Credential:    Credential{AccessKeyID: testCreds.AccessKeyID, Date: "20261122", Region: "eu-west-3", Service: "sts"},
		SignedHeaders: "content-length;host;x-amz-date;x-amz-security-token",
		Signature:     got.Signature,
		RequestTime:   signingTime,
		SecurityToken: "the-token",
		scope:         "20261122/eu-west-3/sts/aws4_request",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Request{})); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
	if len(got.Signature) != 64 || strings.Trim(got.Signature, "0123456789abcdef") != "" {
		t.Errorf("Signature = %q, want 64 hex digits", got.Signature)
	}
}
