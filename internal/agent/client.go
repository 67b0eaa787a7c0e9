package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/persona-iam/persona/internal/secrets"
)

// ExchangePath is the Persona server's instance-credentials exchange endpoint.
const ExchangePath = "/persona/instance/credentials"

// ExchangeService is the SigV4 service name the exchange is signed for: the identity is an EC2 instance's.
const ExchangeService = "ec2"

// IdentityFile is the instance identity the agent authenticates with, as `persona instance register` (the
// RegisterInstance action) writes it. The secret is a signing key for the exchange only: it is never sent, it is
// no AWS credential, and deregistering or resetting the instance revokes it.
type IdentityFile struct {
	InstanceID string         `json:"InstanceId"`
	Secret     secrets.Secret `json:"-"`
	// Endpoint is the Persona server's URL.
	Endpoint string `json:"Endpoint"`
	Region   string `json:"Region"`
}

type identityFileJSON struct {
	InstanceID string `json:"InstanceId"`
	Secret     string `json:"InstanceSecret"`
	Endpoint   string `json:"Endpoint"`
	Region     string `json:"Region"`
}

// MarshalJSON writes the file's form, secret included (the file is the secret's one home; write it 0600).
func (f IdentityFile) MarshalJSON() ([]byte, error) {
	return json.MarshalIndent(identityFileJSON{f.InstanceID, f.Secret.Reveal(), f.Endpoint, f.Region}, "", "  ")
}

// UnmarshalJSON reads the file's form.
func (f *IdentityFile) UnmarshalJSON(b []byte) error {
	var j identityFileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = IdentityFile{InstanceID: j.InstanceID, Secret: secrets.Secret(j.Secret), Endpoint: j.Endpoint, Region: j.Region}
	return nil
}

// LoadIdentityFile reads an identity file and checks it names an instance and a secret.
func LoadIdentityFile(path string) (*IdentityFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f IdentityFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	if f.InstanceID == "" || f.Secret == "" {
		return nil, fmt.Errorf("identity file %s: InstanceId and InstanceSecret are required", path)
	}
	return &f, nil
}

// ExchangeCredentials are the credentials in an ExchangeResponse.
type ExchangeCredentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken"`
	Expiration      time.Time `json:"Expiration"`
}

// ExchangeResponse is the exchange endpoint's answer (JSON): the instance's metadata and, when its instance
// profile's role trusts the service, the role's credentials; otherwise Code and Message say why.
type ExchangeResponse struct {
	InstanceID         string               `json:"InstanceId"`
	AccountID          string               `json:"AccountId"`
	Region             string               `json:"Region"`
	AvailabilityZone   string               `json:"AvailabilityZone,omitempty"`
	InstanceType       string               `json:"InstanceType,omitempty"`
	ImageID            string               `json:"ImageId,omitempty"`
	PrivateIP          string               `json:"PrivateIp,omitempty"`
	PendingTime        time.Time            `json:"PendingTime"`
	InstanceProfileARN string               `json:"InstanceProfileArn,omitempty"`
	InstanceProfileID  string               `json:"InstanceProfileId,omitempty"`
	RoleName           string               `json:"RoleName,omitempty"`
	RoleARN            string               `json:"RoleArn,omitempty"`
	Code               string               `json:"Code"`
	Message            string               `json:"Message,omitempty"`
	Credentials        *ExchangeCredentials `json:"Credentials,omitempty"`
}

// ExchangeErrorBody is the exchange endpoint's error document.
type ExchangeErrorBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// Grant converts the response into what the agent serves.
func (r *ExchangeResponse) Grant() *Grant {
	g := &Grant{
		Identity: Identity{
			InstanceID: r.InstanceID, AccountID: r.AccountID, Region: r.Region, AvailabilityZone: r.AvailabilityZone,
			InstanceType: r.InstanceType, ImageID: r.ImageID, PrivateIP: r.PrivateIP, PendingTime: r.PendingTime,
			InstanceProfileARN: r.InstanceProfileARN, InstanceProfileID: r.InstanceProfileID,
			RoleName: r.RoleName, RoleARN: r.RoleARN,
		},
		Code: r.Code, Message: r.Message,
	}
	if c := r.Credentials; c != nil {
		g.Credentials = &Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, Expiration: c.Expiration}
	}
	return g
}

// HTTPFetcher exchanges an instance identity at a Persona server. The request is SigV4-signed with the instance
// id as access key id and the instance secret as key, so the secret never crosses the wire and a captured request
// replays for at most the server's clock-skew window, to the same answer.
type HTTPFetcher struct {
	Identity *IdentityFile
	// Client is the HTTP client; one with a 10-second timeout when nil.
	Client *http.Client
	// Now is the signing clock; time.Now when nil.
	Now func() time.Time
}

var emptyPayloadHash = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

// Fetch implements Fetcher.
func (f *HTTPFetcher) Fetch(ctx context.Context) (*Grant, error) {
	resp, err := f.Exchange(ctx)
	if err != nil {
		return nil, err
	}
	return resp.Grant(), nil
}

// Exchange performs one exchange and returns the server's answer.
func (f *HTTPFetcher) Exchange(ctx context.Context) (*ExchangeResponse, error) {
	id := f.Identity
	if id == nil || id.Endpoint == "" {
		return nil, errors.New("agent: identity names no server endpoint")
	}
	region := id.Region
	if region == "" {
		region = "us-east-1"
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(id.Endpoint, "/")+ExchangePath, bytes.NewReader(nil))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	creds := aws.Credentials{AccessKeyID: id.InstanceID, SecretAccessKey: id.Secret.Reveal()}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayloadHash, ExchangeService, region, now()); err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: exchange at %s: %w", id.Endpoint, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("agent: exchange at %s: %w", id.Endpoint, err)
	}
	if res.StatusCode != http.StatusOK {
		var e ExchangeErrorBody
		if json.Unmarshal(body, &e) != nil || e.Code == "" {
			e = ExchangeErrorBody{Code: http.StatusText(res.StatusCode), Message: strings.TrimSpace(string(body))}
		}
		return nil, &ExchangeError{Status: res.StatusCode, Code: e.Code, Message: e.Message}
	}
	var out ExchangeResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("agent: exchange at %s: undecodable answer: %w", id.Endpoint, err)
	}
	return &out, nil
}

// ProcessCredentials is the credential_process output
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html).
type ProcessCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// ProcessOutput renders c as credential_process JSON (Version 1, with Expiration so the SDK refreshes it).
func ProcessOutput(c *Credentials) ([]byte, error) {
	if c == nil {
		return nil, errors.New("agent: no credentials")
	}
	return json.MarshalIndent(ProcessCredentials{
		Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339),
	}, "", "  ")
}
