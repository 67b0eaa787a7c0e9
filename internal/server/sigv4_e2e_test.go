package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// wireAnswer is an HTTP answer's status and, for errors, the AWS error code and message in its body.
type wireAnswer struct {
	status        int
	code, message string
	body          string
}

func do(t *testing.T, req *http.Request) wireAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	xml.Unmarshal(body, &e)
	return wireAnswer{status: resp.StatusCode, code: e.Error.Code, message: e.Error.Message, body: string(body)}
}

// TestPresignedGetCallerIdentity sends a URL presigned by aws-sdk-go-v2's STS presigner, the way EKS and Vault
// prove an identity, and then the same URL with one byte changed.
func TestPresignedGetCallerIdentity(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	p, err := sts.NewPresignClient(e.sts).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	send := func(u string) wireAnswer {
		req, err := http.NewRequest(p.Method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range p.SignedHeader {
			if !strings.EqualFold(k, "Host") {
				req.Header[k] = v
			}
		}
		return do(t, req)
	}
	got := send(p.URL)
	if got.status != http.StatusOK || !strings.Contains(got.body, "<Arn>arn:aws:iam::"+testAccount+":root</Arn>") {
		t.Fatalf("presigned GetCallerIdentity: %d %s", got.status, got.body)
	}
	// Change one byte of the signature.
	u, _ := url.Parse(p.URL)
	q := u.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	if sig[0] == 'a' {
		sig[0] = 'b'
	} else {
		sig[0] = 'a'
	}
	q.Set("X-Amz-Signature", string(sig))
	u.RawQuery = q.Encode()
	if got := send(u.String()); got.status != http.StatusForbidden || got.code != "SignatureDoesNotMatch" {
		t.Errorf("tampered presigned URL: %d %s %s", got.status, got.code, got.message)
	}
}

// TestAuthenticationErrorsOnTheWire pins the codes and statuses AWS answers for requests that fail before any
// policy is looked at.
func TestAuthenticationErrorsOnTheWire(t *testing.T) {
	e := newEnv(t, sqliteStore)
	form := "Action=ListRoles&Version=2010-05-08"
	post := func(mutate func(r *http.Request)) wireAnswer {
		req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		mutate(req)
		return do(t, req)
	}
	sign := func(r *http.Request, at time.Time) {
		t.Helper()
		sum := sha256.Sum256([]byte(form))
		if err := v4.NewSigner().SignHTTP(context.Background(), e.root, r, hex.EncodeToString(sum[:]), "iam", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		status int
		code   string
		msg    string
	}{
		{
			name:   "NoSignature",
			mutate: func(r *http.Request) {},
			status: http.StatusForbidden, code: "MissingAuthenticationToken",
		},
		{
			name: "AuthorizationWithoutSignature",
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testRootKey+"/20261130/us-east-1/iam/aws4_request")
			},
			status: http.StatusBadRequest, code: "IncompleteSignature",
		},
		{
			// AWS answers a header-signed request outside the 15-minute window with SignatureDoesNotMatch
			// ("Signature expired: …"); RequestExpired is for presigned URLs.
			name:   "SignedAnHourAgo",
			mutate: func(r *http.Request) { sign(r, time.Now().Add(-time.Hour)) },
			status: http.StatusForbidden, code: "SignatureDoesNotMatch", msg: "Signature expired: ",
		},
		{
			name:   "SignedNow",
			mutate: func(r *http.Request) { sign(r, time.Now()) },
			status: http.StatusOK,
		},
		{
			name: "BodyChangedAfterSigning",
			mutate: func(r *http.Request) {
				sign(r, time.Now())
				r.Body = io.NopCloser(strings.NewReader(strings.Replace(form, "ListRoles", "ListUsers", 1)))
			},
			status: http.StatusForbidden, code: "SignatureDoesNotMatch",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := post(tc.mutate)
			if got.status != tc.status || got.code != tc.code || !strings.HasPrefix(got.message, tc.msg) {
				t.Errorf("got %d %s (%s), want %d %s (%s…)", got.status, got.code, got.message, tc.status, tc.code, tc.msg)
			}
		})
	}
}
