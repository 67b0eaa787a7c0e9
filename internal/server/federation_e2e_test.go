package server

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	persiam "github.com/persona-iam/persona/internal/iam"
	"github.com/persona-iam/persona/internal/oidc/oidctest"
	"github.com/persona-iam/persona/internal/saml/samltest"
	"github.com/persona-iam/persona/internal/secrets"
)

const thumb1 = "990f4193972f2becf12ddeda5237f9c952f20d9e"

// TestOIDCProviders drives the OIDC provider lifecycle and its errors with aws-sdk-go-v2 on every backend.
func TestOIDCProviders(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			out := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url:          aws.String("https://token.actions.githubusercontent.com"),
				ClientIDList: []string{"sts.amazonaws.com", "sts.amazonaws.com"},
				Tags:         []types.Tag{{Key: aws.String("ci"), Value: aws.String("github")}},
			}))
			providerARN := "arn:aws:iam::" + testAccount + ":oidc-provider/token.actions.githubusercontent.com"
			if aws.ToString(out.OpenIDConnectProviderArn) != providerARN {
				t.Fatalf("Arn = %s, want %s", aws.ToString(out.OpenIDConnectProviderArn), providerARN)
			}
			got := must[*iam.GetOpenIDConnectProviderOutput](t)(e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.Url) != "token.actions.githubusercontent.com" || !cmp.Equal(got.ClientIDList, []string{"sts.amazonaws.com"}) ||
				len(got.ThumbprintList) != 0 || got.CreateDate == nil || len(got.Tags) != 1 {
				t.Errorf("GetOpenIDConnectProvider = url %q clients %v thumbprints %v created %v tags %v",
					aws.ToString(got.Url), got.ClientIDList, got.ThumbprintList, got.CreateDate, got.Tags)
			}

			_, err := e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com")})
			apiError(t, err, "EntityAlreadyExists")
			for _, bad := range []string{"http://example.com", "https://example.com/?a=b", "example.com", "https://user@example.com", "https://example.com/#x"} {
				_, err := e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(bad)})
				apiError(t, err, "InvalidInput")
			}
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{thumb1, thumb1[:39] + "a", thumb1[:39] + "b", thumb1[:39] + "c", thumb1[:39] + "d", thumb1[:39] + "e"}})
			apiError(t, err, "LimitExceeded")
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{strings.Repeat("z", 40)}})
			apiError(t, err, "InvalidInput")
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"),
				ThumbprintList: []string{"abc"}})
			apiError(t, err, "ValidationError")
			many := make([]string, 101)
			for i := range many {
				many[i] = "client-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
			}
			_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://a.example.com"), ClientIDList: many})
			apiError(t, err, "LimitExceeded")

			// Client ids: add is idempotent, remove of an absent id is too.
			for range 2 {
				must[*iam.AddClientIDToOpenIDConnectProviderOutput](t)(e.iam.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
					OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("my-app")}))
			}
			must[*iam.RemoveClientIDFromOpenIDConnectProviderOutput](t)(e.iam.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("sts.amazonaws.com")}))
			must[*iam.RemoveClientIDFromOpenIDConnectProviderOutput](t)(e.iam.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String("never-added")}))
			must[*iam.UpdateOpenIDConnectProviderThumbprintOutput](t)(e.iam.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{
				OpenIDConnectProviderArn: aws.String(providerARN), ThumbprintList: []string{strings.ToUpper(thumb1)}}))
			got = must[*iam.GetOpenIDConnectProviderOutput](t)(e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if !cmp.Equal(got.ClientIDList, []string{"my-app"}) || !cmp.Equal(got.ThumbprintList, []string{thumb1}) {
				t.Errorf("after updates: clients %v thumbprints %v", got.ClientIDList, got.ThumbprintList)
			}

			// Tags.
			must[*iam.TagOpenIDConnectProviderOutput](t)(e.iam.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN),
				Tags: []types.Tag{{Key: aws.String("CI"), Value: aws.String("actions")}, {Key: aws.String("owner"), Value: aws.String("platform")}}}))
			tags := must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN), MaxItems: aws.Int32(1)}))
			if len(tags.Tags) != 1 || !tags.IsTruncated || aws.ToString(tags.Tags[0].Key) != "CI" || aws.ToString(tags.Tags[0].Value) != "actions" {
				t.Errorf("first tag page = %v truncated %v", tags.Tags, tags.IsTruncated)
			}
			tags = must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN), Marker: tags.Marker}))
			if len(tags.Tags) != 1 || tags.IsTruncated || aws.ToString(tags.Tags[0].Key) != "owner" {
				t.Errorf("second tag page = %v truncated %v", tags.Tags, tags.IsTruncated)
			}
			must[*iam.UntagOpenIDConnectProviderOutput](t)(e.iam.UntagOpenIDConnectProvider(ctx, &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN), TagKeys: []string{"ci", "absent"}}))
			tags = must[*iam.ListOpenIDConnectProviderTagsOutput](t)(e.iam.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" {
				t.Errorf("after untag: %v", tags.Tags)
			}

			must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"), ThumbprintList: []string{thumb1}}))
			list := must[*iam.ListOpenIDConnectProvidersOutput](t)(e.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))
			var arns []string
			for _, p := range list.OpenIDConnectProviderList {
				arns = append(arns, aws.ToString(p.Arn))
			}
			want := []string{"arn:aws:iam::" + testAccount + ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", providerARN}
			if diff := cmp.Diff(want, arns); diff != "" {
				t.Errorf("ListOpenIDConnectProviders mismatch (-want +got):\n%s", diff)
			}

			must[*iam.DeleteOpenIDConnectProviderOutput](t)(e.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}))
			_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
			ae := apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "OpenIDConnect Provider not found for arn "+providerARN {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
			apiError(t, err, "NoSuchEntity")
			_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":role/x")})
			apiError(t, err, "InvalidInput")
		})
	}
}

// TestProviderCallsAreAuthorized checks that provider calls go through the policy engine on the provider's ARN.
func TestProviderCallsAreAuthorized(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})).AccessKey
	dev := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("oidc"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateOpenIDConnectProvider","iam:GetOpenIDConnectProvider"],"Resource":"arn:aws:iam::*:oidc-provider/allowed.example.com"}]}`)}))

	must[*iam.CreateOpenIDConnectProviderOutput](t)(dev.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://allowed.example.com"), ClientIDList: []string{"a"}}))
	_, err := dev.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://other.example.com"), ClientIDList: []string{"a"}})
	ae := apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::"+testAccount+":oidc-provider/other.example.com") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	must[*iam.GetOpenIDConnectProviderOutput](t)(dev.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":oidc-provider/allowed.example.com")}))
	_, err = dev.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + testAccount + ":oidc-provider/allowed.example.com")})
	apiError(t, err, "AccessDenied")
	_, err = dev.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	apiError(t, err, "AccessDenied")
	// A provider that does not exist answers AccessDenied, not NoSuchEntity, to a caller without permission.
	_, err = dev.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String("arn:aws:iam::" + testAccount + ":saml-provider/nope")})
	apiError(t, err, "AccessDenied")
	// Another account's provider is out of reach even of the root user.
	_, err = e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::999999999999:oidc-provider/allowed.example.com")})
	apiError(t, err, "AccessDenied")
}

// TestSAMLProviders drives the SAML provider lifecycle with metadata validation on every backend.
func TestSAMLProviders(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			idp, err := samltest.New("https://idp.example.com/metadata")
			if err != nil {
				t.Fatal(err)
			}
			out := must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
				Name: aws.String("Okta"), SAMLMetadataDocument: aws.String(idp.Metadata()),
				Tags: []types.Tag{{Key: aws.String("idp"), Value: aws.String("okta")}},
			}))
			providerARN := "arn:aws:iam::" + testAccount + ":saml-provider/Okta"
			if aws.ToString(out.SAMLProviderArn) != providerARN || len(out.Tags) != 1 {
				t.Fatalf("CreateSAMLProvider = %s %v", aws.ToString(out.SAMLProviderArn), out.Tags)
			}
			got := must[*iam.GetSAMLProviderOutput](t)(e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.SAMLMetadataDocument) != idp.Metadata() || len(aws.ToString(got.SAMLProviderUUID)) != 36 || got.CreateDate == nil || len(got.Tags) != 1 {
				t.Errorf("GetSAMLProvider: uuid %q created %v tags %v, metadata equal %v", aws.ToString(got.SAMLProviderUUID), got.CreateDate, got.Tags,
					aws.ToString(got.SAMLMetadataDocument) == idp.Metadata())
			}
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("okta"), SAMLMetadataDocument: aws.String(idp.Metadata())})
			apiError(t, err, "EntityAlreadyExists")

			// Metadata that is not SAML, or has no signing certificate, is refused with the reason.
			noCert := strings.Replace(idp.Metadata(), `use="signing"`, `use="encryption"`, 1)
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String(noCert)})
			ae := apiError(t, err, "InvalidInput")
			if !strings.Contains(ae.ErrorMessage(), "no signing certificate") {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String(strings.Repeat("x", 1200))})
			apiError(t, err, "InvalidInput")
			_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Bad"), SAMLMetadataDocument: aws.String("<short/>")})
			apiError(t, err, "ValidationError")

			// Update replaces the metadata (a new key); a bad document leaves the old one in place.
			idp2, _ := samltest.New("https://idp.example.com/metadata")
			must[*iam.UpdateSAMLProviderOutput](t)(e.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), SAMLMetadataDocument: aws.String(idp2.Metadata())}))
			_, err = e.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), SAMLMetadataDocument: aws.String(noCert)})
			apiError(t, err, "InvalidInput")
			got = must[*iam.GetSAMLProviderOutput](t)(e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			if aws.ToString(got.SAMLMetadataDocument) != idp2.Metadata() {
				t.Error("UpdateSAMLProvider did not keep the new metadata")
			}

			must[*iam.TagSAMLProviderOutput](t)(e.iam.TagSAMLProvider(ctx, &iam.TagSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), Tags: []types.Tag{{Key: aws.String("IDP"), Value: aws.String("okta2")}}}))
			tags := must[*iam.ListSAMLProviderTagsOutput](t)(e.iam.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "IDP" || aws.ToString(tags.Tags[0].Value) != "okta2" {
				t.Errorf("tags = %v", tags.Tags)
			}
			must[*iam.UntagSAMLProviderOutput](t)(e.iam.UntagSAMLProvider(ctx, &iam.UntagSAMLProviderInput{SAMLProviderArn: aws.String(providerARN), TagKeys: []string{"idp"}}))
			tags = must[*iam.ListSAMLProviderTagsOutput](t)(e.iam.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(providerARN)}))
			if len(tags.Tags) != 0 {
				t.Errorf("tags after untag = %v", tags.Tags)
			}

			list := must[*iam.ListSAMLProvidersOutput](t)(e.iam.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{}))
			if len(list.SAMLProviderList) != 1 || aws.ToString(list.SAMLProviderList[0].Arn) != providerARN || list.SAMLProviderList[0].CreateDate == nil {
				t.Errorf("ListSAMLProviders = %+v", list.SAMLProviderList)
			}
			must[*iam.DeleteSAMLProviderOutput](t)(e.iam.DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)}))
			_, err = e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerARN)})
			apiError(t, err, "NoSuchEntity")
		})
	}
}

// fedClock is the server's clock in federation tests: real time plus an offset the test advances (past the OIDC
// verifier's refetch interval), well within SigV4's allowed skew.
type fedClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// newFedEnv is newEnv with the server's OIDC options and clock set by the test.
func newFedEnv(t *testing.T, open backend, clk *fedClock, oidcClient *http.Client, opts ...func(*Config)) *env {
	t.Helper()
	st := open(t)
	box, err := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := persiam.Bootstrap(context.Background(), st, box, persiam.BootstrapOptions{
		AccountID: testAccount, RootAccessKeyID: testRootKey, RootSecret: testRootSecret,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Box: box, WatchInterval: 50 * time.Millisecond, Now: clk.now, OIDCHTTPClient: oidcClient}
	for _, o := range opts {
		o(&cfg)
	}
	srv := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { cancel(); hs.Close() })
	e := &env{t: t, url: hs.URL, st: st, srv: srv, root: aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}}
	e.iam = e.iamAs(e.root)
	e.sts = e.stsAs(e.root)
	return e
}

// anonSTS is an STS client without credentials, as a workload holding only a token has.
func (e *env) anonSTS() *sts.Client {
	cfg := e.cfg(aws.Credentials{})
	cfg.Credentials = aws.AnonymousCredentials{}
	return sts.NewFromConfig(cfg)
}

func fedCreds(c *ststypes.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
}

func signToken(t *testing.T, k *oidctest.Key, claims map[string]any) string {
	t.Helper()
	s, err := oidctest.Sign(k, claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantAPIError(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	ae := apiError(t, err, code)
	if !strings.Contains(ae.ErrorMessage(), msgPart) {
		t.Fatalf("%s message = %q, want it to contain %q", code, ae.ErrorMessage(), msgPart)
	}
}

// TestAssumeRoleWithWebIdentity exchanges tokens of a local OIDC issuer (its own RSA and EC keys, over TLS) for
// role credentials, and checks every refusal AWS documents, on every backend.
func TestAssumeRoleWithWebIdentity(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			issuer, err := oidctest.New(true)
			if err != nil {
				t.Fatal(err)
			}
			defer issuer.Close()
			clk := &fedClock{}
			e := newFedEnv(t, open, clk, issuer.Server.Client())
			host := strings.TrimPrefix(issuer.URL, "https://")

			prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}}))
			providerARN := aws.ToString(prov.OpenIDConnectProviderArn)
			trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},
				"Action":"sts:AssumeRoleWithWebIdentity",
				"Condition":{"StringEquals":{%q:"sts.amazonaws.com"},"StringLike":{%q:"system:serviceaccount:default:*"}}}]}`,
				providerARN, host+":aud", host+":sub")
			roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName: aws.String("k8s-app"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("k8s-app"), PolicyName: aws.String("read"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)}))

			anon := e.anonSTS()
			assume := func(tok string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
				return anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
					RoleArn: aws.String(roleARN), RoleSessionName: aws.String("pod-1"), WebIdentityToken: aws.String(tok)})
			}
			sub := "system:serviceaccount:default:app"
			keys := issuer.Keys() // an RSA (RS256) key and an EC (ES256) key
			for _, k := range keys {
				out, err := assume(signToken(t, k, issuer.Claims(sub, "sts.amazonaws.com")))
				if err != nil {
					t.Fatalf("%s token: %v", k.Alg, err)
				}
				if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::"+testAccount+":assumed-role/k8s-app/pod-1"; got != want {
					t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, want)
				}
				if aws.ToString(out.SubjectFromWebIdentityToken) != sub || aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.Provider) != providerARN {
					t.Errorf("subject %q audience %q provider %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience), aws.ToString(out.Provider))
				}
				if !strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") {
					t.Errorf("AccessKeyId = %s", aws.ToString(out.Credentials.AccessKeyId))
				}
				// The credentials work, with the role's permissions and no more.
				who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(fedCreds(out.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
				if aws.ToString(who.Arn) != "arn:aws:sts::"+testAccount+":assumed-role/k8s-app/pod-1" || !strings.HasSuffix(aws.ToString(who.UserId), ":pod-1") {
					t.Errorf("GetCallerIdentity = %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId))
				}
				must[*iam.ListRolesOutput](t)(e.iamAs(fedCreds(out.Credentials)).ListRoles(ctx, &iam.ListRolesInput{}))
				_, err = e.iamAs(fedCreds(out.Credentials)).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
				apiError(t, err, "AccessDenied")
			}

			rsa := keys[0]
			claims := func(f func(map[string]any)) map[string]any {
				c := issuer.Claims(sub, "sts.amazonaws.com")
				f(c)
				return c
			}
			other, err := oidctest.New(true)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			stranger, _ := issuer.NewKey(jose.RS256)
			cases := []struct {
				name, token, code, msg string
			}{
				{"wrong audience", signToken(t, rsa, claims(func(c map[string]any) { c["aud"] = "another-client" })), "InvalidIdentityToken", "Incorrect token audience"},
				{"wrong issuer", signToken(t, other.Keys()[0], other.Claims(sub, "sts.amazonaws.com")), "InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + other.URL},
				{"issuer claim forged", signToken(t, other.Keys()[0], claims(func(map[string]any) {})), "InvalidIdentityToken", "signature does not verify"},
				{"expired", signToken(t, rsa, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), "ExpiredTokenException", "Token expired"},
				{"unknown key", signToken(t, stranger, claims(func(map[string]any) {})), "InvalidIdentityToken", "Couldn't retrieve verification key"},
				{"subject the trust policy does not allow", signToken(t, rsa, claims(func(c map[string]any) { c["sub"] = "system:serviceaccount:kube-system:admin" })), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
				{"not a JWT", "not.a.jwt-at-all", "InvalidIdentityToken", "not a valid JWT"},
			}
			for _, tc := range cases {
				_, err := assume(tc.token)
				if err == nil {
					t.Fatalf("%s: accepted", tc.name)
				}
				wantAPIError(t, err, tc.code, tc.msg)
			}
			// A role that does not exist is refused like a trust policy that does not allow.
			_, err = anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/nope"),
				RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(signToken(t, rsa, claims(func(map[string]any) {})))})
			wantAPIError(t, err, "AccessDenied", "Not authorized")
			_, err = anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
				DurationSeconds: aws.Int32(7200), WebIdentityToken: aws.String(signToken(t, rsa, claims(func(map[string]any) {})))})
			wantAPIError(t, err, "ValidationError", "MaxSessionDuration")

			// A session policy narrows the session below the role's permissions.
			narrowed := must[*sts.AssumeRoleWithWebIdentityOutput](t)(anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(roleARN), RoleSessionName: aws.String("narrow"), WebIdentityToken: aws.String(signToken(t, rsa, claims(func(map[string]any) {}))),
				Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}`)}))
			if narrowed.PackedPolicySize == nil || *narrowed.PackedPolicySize <= 0 {
				t.Errorf("PackedPolicySize = %v, want a percentage", narrowed.PackedPolicySize)
			}
			_, err = e.iamAs(fedCreds(narrowed.Credentials)).ListRoles(ctx, &iam.ListRolesInput{})
			apiError(t, err, "AccessDenied")

			// The issuer rotates its keys: a token signed with the new key is accepted (the key set is fetched
			// again), and one signed with a retired key no longer is.
			clk.advance(15 * time.Second)
			newKey, err := issuer.Rotate(jose.ES256)
			if err != nil {
				t.Fatal(err)
			}
			must[*sts.AssumeRoleWithWebIdentityOutput](t)(assume(signToken(t, newKey, claims(func(map[string]any) {}))))
			_, err = assume(signToken(t, rsa, claims(func(map[string]any) {})))
			wantAPIError(t, err, "InvalidIdentityToken", "Couldn't retrieve verification key")

			// An issuer that cannot be reached is IDPCommunicationError.
			down, err := oidctest.New(true)
			if err != nil {
				t.Fatal(err)
			}
			downKey := down.Keys()[0]
			downToken := signToken(t, downKey, down.Claims(sub, "sts.amazonaws.com"))
			must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String(down.URL), ClientIDList: []string{"sts.amazonaws.com"}}))
			down.Close()
			_, err = assume(downToken)
			apiError(t, err, "IDPCommunicationError")
		})
	}
}

// TestWebIdentityTokenFileProvider uses aws-sdk-go-v2's own web identity provider, reading the token from a file
// as EKS and CI runners do, then calls STS with the credentials it got.
func TestWebIdentityTokenFileProvider(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}}))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{%q:"repo:example/app:ref:refs/heads/main"}}}]}`, aws.ToString(prov.OpenIDConnectProviderArn), strings.TrimPrefix(issuer.URL, "https://")+":sub")
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("deploy"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)

	tokenFile := filepath.Join(t.TempDir(), "token")
	tok := signToken(t, issuer.Keys()[1], issuer.Claims("repo:example/app:ref:refs/heads/main", "sts.amazonaws.com"))
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	webProvider := stscreds.NewWebIdentityRoleProvider(e.anonSTS(), roleARN, stscreds.IdentityTokenFile(tokenFile),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "gha-run-42" })
	cfg := e.cfg(aws.Credentials{})
	cfg.Credentials = aws.NewCredentialsCache(webProvider)
	who := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if got, want := aws.ToString(who.Arn), "arn:aws:sts::"+testAccount+":assumed-role/deploy/gha-run-42"; got != want {
		t.Errorf("GetCallerIdentity Arn = %s, want %s", got, want)
	}
	if aws.ToString(who.Account) != testAccount {
		t.Errorf("Account = %s", aws.ToString(who.Account))
	}

	// A token for another subject, written to the same file, is refused by the trust policy.
	tok = signToken(t, issuer.Keys()[1], issuer.Claims("repo:example/app:pull_request", "sts.amazonaws.com"))
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = stscreds.NewWebIdentityRoleProvider(e.anonSTS(), roleARN, stscreds.IdentityTokenFile(tokenFile)).Retrieve(ctx)
	apiError(t, err, "AccessDenied")
}

// TestAssumeRoleWithSAML exchanges SAML responses signed by a key the test generates for role credentials.
func TestAssumeRoleWithSAML(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newFedEnv(t, open, &fedClock{}, nil)
			idp, err := samltest.New("https://idp.example.com/metadata")
			if err != nil {
				t.Fatal(err)
			}
			providerARN := aws.ToString(must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
				Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())})).SAMLProviderArn)
			trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML",
				"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml","saml:iss":"https://idp.example.com/metadata"},
				"StringLike":{"saml:sub":"*@example.com"}}}]}`, providerARN)
			roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName: aws.String("Engineers"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)
			pair := roleARN + "," + providerARN

			anon := e.anonSTS()
			assume := func(r samltest.Response) (*sts.AssumeRoleWithSAMLOutput, error) {
				if r.Roles == nil {
					r.Roles = []string{pair}
				}
				if r.SessionName == "" {
					r.SessionName = "alice@example.com"
				}
				resp, err := idp.Issue(r)
				if err != nil {
					t.Fatal(err)
				}
				return anon.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(roleARN), PrincipalArn: aws.String(providerARN), SAMLAssertion: aws.String(resp)})
			}
			out := must[*sts.AssumeRoleWithSAMLOutput](t)(assume(samltest.Response{Subject: "alice@example.com", Duration: 1800}))
			if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::"+testAccount+":assumed-role/Engineers/alice@example.com"; got != want {
				t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, want)
			}
			if aws.ToString(out.Subject) != "alice@example.com" || aws.ToString(out.SubjectType) != "persistent" || aws.ToString(out.Issuer) != idp.EntityID ||
				aws.ToString(out.Audience) != "https://signin.aws.amazon.com/saml" || aws.ToString(out.NameQualifier) == "" {
				t.Errorf("Subject %q SubjectType %q Issuer %q Audience %q NameQualifier %q", aws.ToString(out.Subject), aws.ToString(out.SubjectType),
					aws.ToString(out.Issuer), aws.ToString(out.Audience), aws.ToString(out.NameQualifier))
			}
			if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d > 31*time.Minute || d < 28*time.Minute {
				t.Errorf("credentials last %v, want the SessionDuration attribute's 30 minutes", d)
			}
			who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(fedCreds(out.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			if aws.ToString(who.Arn) != aws.ToString(out.AssumedRoleUser.Arn) {
				t.Errorf("GetCallerIdentity Arn = %s", aws.ToString(who.Arn))
			}

			other, _ := samltest.New("https://idp.example.com/metadata")
			cases := []struct {
				name string
				r    samltest.Response
				code string
				msg  string
			}{
				{"signed by another key", samltest.Response{SignWith: other}, "InvalidIdentityToken", "signature"},
				{"unsigned", samltest.Response{Unsigned: true}, "InvalidIdentityToken", "unsigned"},
				{"authentication failed at the IdP", samltest.Response{Status: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"}, "IDPRejectedClaim", "authentication failed"},
				{"expired", samltest.Response{IssueInstant: time.Now().Add(-time.Hour), NotOnOrAfter: time.Now().Add(-30 * time.Minute)}, "ExpiredTokenException", "expired"},
				{"wrong audience", samltest.Response{Audience: "urn:other:sp"}, "InvalidIdentityToken", "audience"},
				{"role not offered", samltest.Response{Roles: []string{"arn:aws:iam::" + testAccount + ":role/Admins," + providerARN}}, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML"},
				{"subject the trust policy does not allow", samltest.Response{Subject: "mallory@evil.example"}, "AccessDenied", "Not authorized"},
			}
			for _, tc := range cases {
				_, err := assume(tc.r)
				if err == nil {
					t.Fatalf("%s: accepted", tc.name)
				}
				wantAPIError(t, err, tc.code, tc.msg)
			}
			resp, _ := idp.Issue(samltest.Response{Roles: []string{pair}, SessionName: "alice"})
			_, err = anon.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(roleARN),
				PrincipalArn: aws.String("arn:aws:iam::" + testAccount + ":saml-provider/Nope"), SAMLAssertion: aws.String(resp)})
			apiError(t, err, "InvalidIdentityToken")
		})
	}
}

// TestWebIdentityThumbprints registers a provider whose TLS certificate no trusted root vouches for: it is
// unreachable (IDPCommunicationError) until the provider's thumbprint names the certificate, as on AWS.
func TestWebIdentityThumbprints(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	clk := &fedClock{}
	e := newFedEnv(t, sqliteStore, clk, nil) // the server trusts the system roots only
	providerARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{%q:"sts.amazonaws.com"}}}]}`, providerARN, strings.TrimPrefix(issuer.URL, "https://")+":aud")
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("pinned"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(signToken(t, issuer.Keys()[0], issuer.Claims("me", "sts.amazonaws.com")))}
	_, err = e.anonSTS().AssumeRoleWithWebIdentity(ctx, in)
	apiError(t, err, "IDPCommunicationError")

	sum := sha1.Sum(issuer.Server.Certificate().Raw)
	must[*iam.UpdateOpenIDConnectProviderThumbprintOutput](t)(e.iam.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{
		OpenIDConnectProviderArn: aws.String(providerARN), ThumbprintList: []string{hex.EncodeToString(sum[:])}}))
	clk.advance(15 * time.Second) // past the verifier's refetch interval
	must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, in))
}

// TestWebIdentitySessionTags passes session tags in the token's https://aws.amazon.com/tags claim: the trust
// policy must allow sts:TagSession, and the tags reach the session's aws:PrincipalTag keys.
func TestWebIdentitySessionTags(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	providerARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	trust := func(actions string) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":%s,
			"Condition":{"StringEquals":{%q:"sts.amazonaws.com"}}}]}`, providerARN, actions, strings.TrimPrefix(issuer.URL, "https://")+":aud")
	}
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("tagged"), AssumeRolePolicyDocument: aws.String(trust(`"sts:AssumeRoleWithWebIdentity"`))})).Role.Arn)
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("tagged"), PolicyName: aws.String("by-tag"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*",
			"Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`)}))
	claims := issuer.Claims("me", "sts.amazonaws.com")
	claims["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"blue"}}}
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(signToken(t, issuer.Keys()[0], claims))}
	_, err = e.anonSTS().AssumeRoleWithWebIdentity(ctx, in)
	wantAPIError(t, err, "AccessDenied", "Not authorized")

	must[*iam.UpdateAssumeRolePolicyOutput](t)(e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("tagged"),
		PolicyDocument: aws.String(trust(`["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`))}))
	out := must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, in))
	must[*iam.ListRolesOutput](t)(e.iamAs(fedCreds(out.Credentials)).ListRoles(ctx, &iam.ListRolesInput{}))

	// Without the tag, the same role's session may not list roles.
	in.WebIdentityToken = aws.String(signToken(t, issuer.Keys()[0], issuer.Claims("me", "sts.amazonaws.com")))
	out = must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, in))
	_, err = e.iamAs(fedCreds(out.Credentials)).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "AccessDenied")
}

// TestAWSCLIFederation: the aws CLI as a Kubernetes pod or CI job uses it, with AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE in its environment, and `aws sts assume-role-with-saml` with an assertion.
func TestAWSCLIFederation(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	providerARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{%q:"system:serviceaccount:shop:cart"}}}]}`, providerARN, strings.TrimPrefix(issuer.URL, "https://")+":sub")
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("cart"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(signToken(t, issuer.Keys()[0], issuer.Claims("system:serviceaccount:shop:cart", "sts.amazonaws.com"))), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := e.awsCLI(t, []string{"AWS_ROLE_ARN=" + roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile, "AWS_ROLE_SESSION_NAME=cart-pod"},
		"sts", "get-caller-identity")
	if err != nil {
		t.Fatalf("aws sts get-caller-identity with a web identity token file: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, `"arn:aws:sts::`+testAccount+`:assumed-role/cart/cart-pod"`) {
		t.Errorf("get-caller-identity printed %s", stdout)
	}

	idp, err := samltest.New("https://idp.example.com/metadata")
	if err != nil {
		t.Fatal(err)
	}
	samlARN := aws.ToString(must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())})).SAMLProviderArn)
	samlRole := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Staff"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, samlARN))})).Role.Arn)
	resp, err := idp.Issue(samltest.Response{Roles: []string{samlRole + "," + samlARN}, SessionName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = e.awsCLI(t, nil, "sts", "assume-role-with-saml", "--role-arn", samlRole, "--principal-arn", samlARN, "--saml-assertion", resp)
	if err != nil {
		t.Fatalf("aws sts assume-role-with-saml: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, `"arn:aws:sts::`+testAccount+`:assumed-role/Staff/bob"`) || !strings.Contains(stdout, `"SubjectType": "persistent"`) {
		t.Errorf("assume-role-with-saml printed %s", stdout)
	}
}

// TestFederationAcrossAccounts: a provider vouches only for roles of its own account. A role whose trust policy
// names another account's provider cannot be assumed through it, and an assertion's Role pair naming another
// account's SAML provider is refused.
func TestFederationAcrossAccounts(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	const other = "444455556666"
	rootB := e.iamAs(e.secondAccount(other))
	providerB := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(rootB.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, providerB)
	roleA := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("viaB"), AssumeRolePolicyDocument: aws.String(trust)})).Role.Arn)
	_, err = e.anonSTS().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleA), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(signToken(t, issuer.Keys()[0], issuer.Claims("me", "sts.amazonaws.com")))})
	wantAPIError(t, err, "InvalidIdentityToken", "No OpenIDConnect provider found in your account")

	idp, err := samltest.New("https://idp.example.com/metadata")
	if err != nil {
		t.Fatal(err)
	}
	samlB := aws.ToString(must[*iam.CreateSAMLProviderOutput](t)(rootB.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())})).SAMLProviderArn)
	roleA2 := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("samlViaB"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, samlB))})).Role.Arn)
	resp, err := idp.Issue(samltest.Response{Roles: []string{roleA2 + "," + samlB}, SessionName: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.anonSTS().AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(roleA2), PrincipalArn: aws.String(samlB), SAMLAssertion: aws.String(resp)})
	wantAPIError(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
}

// TestProviderQuotas: at most 100 OIDC and 100 SAML providers per account.
func TestProviderQuotas(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	idp, err := samltest.New("https://idp.example.com/metadata")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(fmt.Sprintf("https://issuer-%d.example.com", i))}))
		must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
			Name: aws.String(fmt.Sprintf("idp-%d", i)), SAMLMetadataDocument: aws.String(idp.Metadata())}))
	}
	_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://one-more.example.com")})
	wantAPIError(t, err, "LimitExceeded", "OpenIdConnectProvidersPerAccount: 100")
	_, err = e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("one-more"), SAMLMetadataDocument: aws.String(idp.Metadata())})
	wantAPIError(t, err, "LimitExceeded", "SAMLProvidersPerAccount: 100")
	list := must[*iam.ListOpenIDConnectProvidersOutput](t)(e.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))
	if len(list.OpenIDConnectProviderList) != 100 {
		t.Errorf("ListOpenIDConnectProviders returned %d providers, want 100", len(list.OpenIDConnectProviderList))
	}
}

// TestInsecureLoopbackIssuer: a plain-http issuer on a loopback address is usable only when the server was started
// with OIDCInsecureLoopback (for tests); otherwise IAM refuses its URL.
func TestInsecureLoopbackIssuer(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(false)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	strict := newFedEnv(t, sqliteStore, &fedClock{}, nil)
	_, err = strict.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})
	wantAPIError(t, err, "InvalidInput", "https://")

	e := newFedEnv(t, sqliteStore, &fedClock{}, nil, func(c *Config) { c.OIDCInsecureLoopback = true })
	_, err = e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("http://example.com"), ClientIDList: []string{"sts.amazonaws.com"}})
	wantAPIError(t, err, "InvalidInput", "https://")
	providerARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	if want := "arn:aws:iam::" + testAccount + ":oidc-provider/" + strings.TrimPrefix(issuer.URL, "http://"); providerARN != want {
		t.Errorf("Arn = %s, want %s", providerARN, want)
	}
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("local"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, providerARN))})).Role.Arn)
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
		WebIdentityToken: aws.String(signToken(t, issuer.Keys()[0], issuer.Claims("me", "sts.amazonaws.com")))}
	must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, in))
	// A token claiming the https form of the same issuer does not match the http provider.
	claims := issuer.Claims("me", "sts.amazonaws.com")
	claims["iss"] = strings.Replace(issuer.URL, "http://", "https://", 1)
	in.WebIdentityToken = aws.String(signToken(t, issuer.Keys()[0], claims))
	_, err = e.anonSTS().AssumeRoleWithWebIdentity(ctx, in)
	wantAPIError(t, err, "InvalidIdentityToken", "No OpenIDConnect provider found")
}

// TestFederationAudit: AssumeRoleWithWebIdentity and AssumeRoleWithSAML are recorded in the role's account's trail
// with the federated caller as userIdentity (WebIdentityUser, SAMLUser), the token and the secrets hidden.
func TestFederationAudit(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	providerARN := aws.ToString(must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}})).OpenIDConnectProviderArn)
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("audited"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}]}`, providerARN))})).Role.Arn)
	tok := signToken(t, issuer.Keys()[0], issuer.Claims("workload-7", "sts.amazonaws.com"))
	must[*sts.AssumeRoleWithWebIdentityOutput](t)(e.anonSTS().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok)}))

	idp, err := samltest.New("https://idp.example.com/metadata")
	if err != nil {
		t.Fatal(err)
	}
	samlARN := aws.ToString(must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())})).SAMLProviderArn)
	samlRole := aws.ToString(must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Staff"),
		AssumeRolePolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, samlARN))})).Role.Arn)
	resp, err := idp.Issue(samltest.Response{Roles: []string{samlRole + "," + samlARN}, SessionName: "bob", Subject: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	out := must[*sts.AssumeRoleWithSAMLOutput](t)(e.anonSTS().AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(samlRole), PrincipalArn: aws.String(samlARN), SAMLAssertion: aws.String(resp)}))

	web := e.find(testAccount, "AssumeRoleWithWebIdentity")
	if len(web) != 1 {
		t.Fatalf("%d AssumeRoleWithWebIdentity records, want 1", len(web))
	}
	id := web[0].UserIdentity
	if id.Type != "WebIdentityUser" || id.UserName != "workload-7" || id.IdentityProvider != providerARN ||
		id.PrincipalID != providerARN+":sts.amazonaws.com:workload-7" {
		t.Errorf("web identity userIdentity = %+v", id)
	}
	data, _ := json.Marshal(web[0])
	if strings.Contains(string(data), tok) {
		t.Error("the web identity token is in the trail")
	}
	sr := e.find(testAccount, "AssumeRoleWithSAML")
	if len(sr) != 1 {
		t.Fatalf("%d AssumeRoleWithSAML records, want 1", len(sr))
	}
	if id := sr[0].UserIdentity; id.Type != "SAMLUser" || id.UserName != "bob@example.com" || id.IdentityProvider != aws.ToString(out.NameQualifier) {
		t.Errorf("SAML userIdentity = %+v", id)
	}
	data, _ = json.Marshal(sr[0])
	if strings.Contains(string(data), resp) || strings.Contains(string(data), aws.ToString(out.Credentials.SecretAccessKey)) {
		t.Error("the SAML assertion or the secret key is in the trail")
	}
}
