package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func serveIMDS(t *testing.T, cfg Config) (*testAgent, *httptest.Server) {
	t.Helper()
	a := newTestAgent(t, cfg)
	a.Tick(context.Background())
	hs := httptest.NewServer(a.IMDSHandler())
	t.Cleanup(hs.Close)
	return a, hs
}

// do sends a raw request, as curl would, and returns status, body and headers.
func do(t *testing.T, method, url string, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func token(t *testing.T, base string, ttl string) string {
	t.Helper()
	status, body, h := do(t, "PUT", base+tokenPath, map[string]string{TokenTTLHeader: ttl})
	if status != 200 {
		t.Fatalf("token PUT = %d %s", status, body)
	}
	if h.Get(TokenTTLHeader) != ttl {
		t.Fatalf("token TTL header = %q, want %q", h.Get(TokenTTLHeader), ttl)
	}
	return body
}

// TestIMDSErrors pins IMDS's answers to bad requests, as raw HTTP (what curl sees).
func TestIMDSErrors(t *testing.T) {
	a, hs := serveIMDS(t, Config{})
	good := token(t, hs.URL, "60")
	short := token(t, hs.URL, "1")
	a.clock.Advance(1500 * time.Millisecond) // short has expired, good has not
	creds := hs.URL + "/latest/meta-data/iam/security-credentials/web-role"
	tests := []struct {
		name    string
		method  string
		url     string
		headers map[string]string
		status  int
	}{
		{"IMDSv1RefusedByDefault", "GET", creds, nil, 401},
		{"IMDSv1ListingRefused", "GET", hs.URL + "/latest/meta-data/", nil, 401},
		{"WrongToken", "GET", creds, map[string]string{TokenHeader: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401},
		{"GarbageToken", "GET", creds, map[string]string{TokenHeader: "not a token"}, 401},
		{"ExpiredToken", "GET", creds, map[string]string{TokenHeader: short}, 401},
		{"TamperedToken", "GET", creds, map[string]string{TokenHeader: tamper(good)}, 401},
		{"TokenWithoutTTL", "PUT", hs.URL + tokenPath, nil, 400},
		{"TokenTTLZero", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "0"}, 400},
		{"TokenTTLTooLong", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "21601"}, 400},
		{"TokenTTLNotANumber", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "6h"}, 400},
		{"TokenTTLSigned", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "+60"}, 400},
		{"TokenTTLNegative", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "-1"}, 400},
		{"TokenThroughProxy", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "60", "X-Forwarded-For": "203.0.113.9"}, 403},
		{"TokenUsedThroughProxy", "GET", creds, map[string]string{TokenHeader: good, "X-Forwarded-For": "203.0.113.9"}, 403},
		{"TokenByGET", "GET", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "60"}, 405},
		{"TokenByPOST", "POST", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "60"}, 405},
		{"MetadataByPUT", "PUT", creds, map[string]string{TokenHeader: good}, 405},
		{"MetadataByPOST", "POST", creds, map[string]string{TokenHeader: good}, 405},
		{"UnknownPath", "GET", hs.URL + "/latest/meta-data/no-such-thing", map[string]string{TokenHeader: good}, 404},
		{"UnknownRole", "GET", hs.URL + "/latest/meta-data/iam/security-credentials/admin", map[string]string{TokenHeader: good}, 404},
		{"LeafWithSlash", "GET", hs.URL + "/latest/meta-data/instance-id/", map[string]string{TokenHeader: good}, 404},
		{"OutsideLatest", "GET", hs.URL + "/computeMetadata/v1/", map[string]string{TokenHeader: good}, 404},
		{"ValidToken", "GET", creds, map[string]string{TokenHeader: good}, 200},
		{"MaxTTL", "PUT", hs.URL + tokenPath, map[string]string{TokenTTLHeader: "21600"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := do(t, tc.method, tc.url, tc.headers)
			if status != tc.status {
				t.Fatalf("%s %s = %d, want %d\n%s", tc.method, tc.url, status, tc.status, body)
			}
			if status >= 400 {
				title := "<title>" + strconv.Itoa(status) + " - " + http.StatusText(status) + "</title>"
				if !strings.Contains(body, title) || h.Get("Content-Type") != "text/html" {
					t.Fatalf("error page = %q (%s), want it to contain %q", body, h.Get("Content-Type"), title)
				}
			}
		})
	}
}

// tamper flips one character of a token's MAC.
func tamper(tok string) string {
	b := []byte(tok)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

// TestIMDSv1WhenEnabled: with IMDSv1 allowed (HttpTokens=optional), the learners' plain
// `curl http://169.254.169.254/latest/meta-data/iam/security-credentials/<role-name>` works; a bad token is still
// refused.
func TestIMDSv1WhenEnabled(t *testing.T) {
	_, hs := serveIMDS(t, Config{AllowIMDSv1: true})
	status, body, _ := do(t, "GET", hs.URL+"/latest/meta-data/iam/security-credentials/", nil)
	if status != 200 || body != "web-role" {
		t.Fatalf("listing = %d %q", status, body)
	}
	status, body, _ = do(t, "GET", hs.URL+"/latest/meta-data/iam/security-credentials/web-role", nil)
	if status != 200 || !strings.Contains(body, `"Code" : "Success"`) {
		t.Fatalf("credentials = %d %q", status, body)
	}
	if status, _, _ := do(t, "GET", hs.URL+"/latest/meta-data/instance-id", map[string]string{TokenHeader: "bogus"}); status != 401 {
		t.Fatalf("bad token with IMDSv1 on = %d, want 401", status)
	}
}

// TestIMDSDocuments checks the metadata tree and documents as IMDS lays them out.
func TestIMDSDocuments(t *testing.T) {
	a, hs := serveIMDS(t, Config{})
	tok := token(t, hs.URL, "21600")
	get := func(path string) string {
		t.Helper()
		status, body, h := do(t, "GET", hs.URL+path, map[string]string{TokenHeader: tok})
		if status != 200 || h.Get("Content-Type") != "text/plain" {
			t.Fatalf("GET %s = %d %s %q", path, status, h.Get("Content-Type"), body)
		}
		return body
	}
	checks := map[string]string{
		"/latest":                "dynamic/\nmeta-data/",
		"/latest/":               "dynamic/\nmeta-data/",
		"/latest/meta-data/":     "ami-id\niam/\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/",
		"/latest/meta-data":      "ami-id\niam/\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/",
		"/latest/meta-data/iam/": "info\nsecurity-credentials/",
		"/latest/meta-data/iam/security-credentials": "web-role",
		"/latest/meta-data/instance-id":              "i-0123456789abcdef0",
		"/latest/meta-data/placement/region":         "eu-west-1",
		"/latest/meta-data/placement/":               "availability-zone\nregion",
		"/latest/dynamic/":                           "instance-identity/",
		"/latest/dynamic/instance-identity/":         "document",
	}
	for path, want := range checks {
		if got := get(path); got != want {
			t.Errorf("GET %s = %q, want %q", path, got, want)
		}
	}
	var creds map[string]string
	body := get("/latest/meta-data/iam/security-credentials/web-role")
	if !strings.HasPrefix(body, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : ") {
		t.Errorf("credentials layout: %q", body)
	}
	if err := json.Unmarshal([]byte(body), &creds); err != nil {
		t.Fatal(err)
	}
	c := a.Credentials()
	want := map[string]string{"Code": "Success", "LastUpdated": "2026-11-30T12:00:00Z", "Type": "AWS-HMAC",
		"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "Token": c.SessionToken,
		"Expiration": "2026-11-30T13:00:00Z"}
	for k, v := range want {
		if creds[k] != v {
			t.Errorf("credentials[%s] = %q, want %q", k, creds[k], v)
		}
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(get("/latest/meta-data/iam/info")), &info); err != nil {
		t.Fatal(err)
	}
	if info["Code"] != "Success" || info["InstanceProfileArn"] != testIdentity.InstanceProfileARN || info["InstanceProfileId"] != testIdentity.InstanceProfileID {
		t.Errorf("iam/info = %v", info)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(get("/latest/dynamic/instance-identity/document")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["accountId"] != "111122223333" || doc["instanceId"] != "i-0123456789abcdef0" || doc["region"] != "eu-west-1" || doc["version"] != "2017-09-30" {
		t.Errorf("identity document = %v", doc)
	}
	// HEAD answers the length without a body.
	status, body, h := do(t, "HEAD", hs.URL+"/latest/meta-data/instance-id", map[string]string{TokenHeader: tok})
	if status != 200 || body != "" || h.Get("Content-Length") != "19" {
		t.Errorf("HEAD = %d %q %q", status, body, h.Get("Content-Length"))
	}
}

// TestIMDSNoProfile: an instance without an instance profile has no iam/ tree, as on EC2.
func TestIMDSNoProfile(t *testing.T) {
	a := newTestAgent(t, Config{AllowIMDSv1: true})
	a.fetcher.grant = func(int, time.Time) *Grant {
		id := testIdentity
		id.InstanceProfileARN, id.InstanceProfileID, id.RoleName, id.RoleARN = "", "", "", ""
		return &Grant{Identity: id}
	}
	a.Tick(context.Background())
	hs := httptest.NewServer(a.IMDSHandler())
	defer hs.Close()
	if status, _, _ := do(t, "GET", hs.URL+"/latest/meta-data/iam/info", nil); status != 404 {
		t.Fatalf("iam/info = %d, want 404", status)
	}
	if _, body, _ := do(t, "GET", hs.URL+"/latest/meta-data/", nil); strings.Contains(body, "iam/") {
		t.Fatalf("listing shows iam/: %q", body)
	}
	if h := a.Health(); h.Status != "ok" {
		t.Fatalf("health = %+v", h)
	}
}

// TestIMDSRoleNotTrusted: when the server will not issue the role's credentials, iam/info says why with the
// server's code, and the credentials path is absent.
func TestIMDSRoleNotTrusted(t *testing.T) {
	a := newTestAgent(t, Config{AllowIMDSv1: true})
	a.fetcher.grant = func(int, time.Time) *Grant {
		return &Grant{Identity: testIdentity, Code: "AssumeRoleUnauthorizedAccess", Message: "EC2 cannot assume the role web-role."}
	}
	a.Tick(context.Background())
	hs := httptest.NewServer(a.IMDSHandler())
	defer hs.Close()
	_, body, _ := do(t, "GET", hs.URL+"/latest/meta-data/iam/info", nil)
	if !strings.Contains(body, `"Code" : "AssumeRoleUnauthorizedAccess"`) || !strings.Contains(body, "EC2 cannot assume") {
		t.Fatalf("iam/info = %q", body)
	}
	if status, _, _ := do(t, "GET", hs.URL+"/latest/meta-data/iam/security-credentials/web-role", nil); status != 404 {
		t.Fatalf("credentials = %d, want 404", status)
	}
	if h := a.Health(); h.Status != "unavailable" || !strings.Contains(h.LastError, "AssumeRoleUnauthorizedAccess") {
		t.Fatalf("health = %+v", h)
	}
}
