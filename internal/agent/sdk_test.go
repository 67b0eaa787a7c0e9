package agent

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// isolateSDK clears every setting the SDK's default chain could pick up from the machine, so a test sees only
// the source it sets up.
func isolateSDK(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o600)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_V1_DISABLED"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("AWS_REGION", "us-east-1")
}

// TestSDKIMDSClient: aws-sdk-go-v2's feature/ec2/imds client reads the agent (token, metadata, identity document,
// IAM info, region).
func TestSDKIMDSClient(t *testing.T) {
	_, hs := serveIMDS(t, Config{})
	ctx := context.Background()
	c := imds.New(imds.Options{Endpoint: hs.URL, EnableFallback: 2 /* aws.FalseTernary: IMDSv2 only */})
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Content)
	if string(b) != testIdentity.InstanceID {
		t.Fatalf("instance-id = %q", b)
	}
	region, err := c.GetRegion(ctx, nil)
	if err != nil || region.Region != "eu-west-1" {
		t.Fatalf("region = %v, %v", region, err)
	}
	doc, err := c.GetInstanceIdentityDocument(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.AccountID != testIdentity.AccountID || doc.InstanceID != testIdentity.InstanceID || doc.AvailabilityZone != "eu-west-1a" ||
		!doc.PendingTime.Equal(testIdentity.PendingTime) {
		t.Fatalf("identity document = %+v", doc.InstanceIdentityDocument)
	}
	info, err := c.GetIAMInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.InstanceProfileArn != testIdentity.InstanceProfileARN || info.Code != "Success" {
		t.Fatalf("iam info = %+v", info.IAMInfo)
	}
}

// TestSDKDefaultChainIMDS: the SDK's default credential chain, pointed at the agent with
// AWS_EC2_METADATA_SERVICE_ENDPOINT, gets the agent's credentials and refreshes them.
func TestSDKDefaultChainIMDS(t *testing.T) {
	a, hs := serveIMDS(t, Config{})
	isolateSDK(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", hs.URL)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := a.Credentials()
	// The SDK caps IMDS credentials' Expires to an hour from its own (real) clock, so only "not later" is asserted.
	if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken ||
		got.Expires.After(want.Expiration) || got.Source != "EC2RoleProvider" {
		t.Fatalf("SDK got %+v, agent serves %+v", got, want)
	}
}

// TestSDKContainerProvider: the SDK's container credentials provider (AWS_CONTAINER_CREDENTIALS_FULL_URI with the
// token in AWS_CONTAINER_AUTHORIZATION_TOKEN or _FILE) gets the agent's credentials; a wrong token is refused.
func TestSDKContainerProvider(t *testing.T) {
	a := newTestAgent(t, Config{ContainerToken: "container-token-123"})
	a.Tick(context.Background())
	hs := httptest.NewServer(a.ContainerHandler())
	defer hs.Close()
	ctx := context.Background()
	want := a.Credentials()

	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("container-token-123"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"Token", map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token-123"}, true},
		{"TokenFile", map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile}, true},
		{"WrongToken", map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token-124"}, false},
		{"NoToken", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateSDK(t)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", hs.URL+ContainerPath)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Credentials.Retrieve(ctx)
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
					t.Fatalf("err = %v, want the agent's AccessDenied", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The SDK's cache expires credentials 5 minutes early.
			if got.AccessKeyID != want.AccessKeyID || got.SessionToken != want.SessionToken ||
				!got.Expires.Equal(want.Expiration.Add(-5*time.Minute)) || got.AccountID != testIdentity.AccountID {
				t.Fatalf("SDK got %+v, agent serves %+v", got, want)
			}
		})
	}
}
