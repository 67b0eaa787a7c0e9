package server

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// forwardedFor adds an X-Forwarded-For header to every request, as a reverse proxy does.
type forwardedFor string

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", string(f))
	return http.DefaultTransport.RoundTrip(r)
}

// TestSourceIPBehindTrustedProxy: a policy on aws:SourceIp sees the client's address when Persona runs behind a
// trusted proxy, the proxy's own when the proxy is not trusted, and never an address a client forged to the left
// of the one the proxy appended.
func TestSourceIPBehindTrustedProxy(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	office := e.userWithKey("office")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("office"), PolicyName: aws.String("from-office"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`)}))
	via := func(xff string) *iam.Client {
		cfg := e.cfg(office)
		cfg.HTTPClient = &http.Client{Transport: forwardedFor(xff)}
		return iam.NewFromConfig(cfg)
	}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		allowed bool
	}{
		{"proxy not trusted: the peer's address counts", nil, "203.0.113.7", false},
		{"trusted proxy: the client's address counts", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7", true},
		{"forged entry left of the proxy's", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7, 198.51.100.1", false},
		{"chain of trusted proxies", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.7, 10.1.2.3", true},
		{"malformed entry", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7, not-an-ip", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.cfg.TrustedProxies = tc.trusted
			_, err := via(tc.xff).ListRoles(ctx, &iam.ListRolesInput{})
			if tc.allowed && err != nil {
				t.Fatalf("denied: %v", err)
			}
			if !tc.allowed {
				apiError(t, err, "AccessDenied")
			}
		})
	}
}
