package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/persona-iam/persona/internal/secrets"
)

// RegisterParams are RegisterInstance's parameters.
type RegisterParams struct {
	InstanceProfile  string // name or ARN
	InstanceType     string
	ImageID          string
	PrivateIP        string
	AvailabilityZone string
	ServicePrincipal string
}

// Register calls the server's RegisterInstance action (EC2 Query protocol) signed with the operator's
// credentials and returns the new instance's identity file.
func Register(ctx context.Context, endpoint, region string, creds aws.Credentials, p RegisterParams) (*IdentityFile, error) {
	form := url.Values{"Action": {"RegisterInstance"}, "Version": {"2016-11-15"}}
	set := func(k, v string) {
		if v != "" {
			form.Set(k, v)
		}
	}
	if strings.HasPrefix(p.InstanceProfile, "arn:") {
		set("IamInstanceProfile.Arn", p.InstanceProfile)
	} else {
		set("IamInstanceProfile.Name", p.InstanceProfile)
	}
	set("InstanceType", p.InstanceType)
	set("ImageId", p.ImageID)
	set("PrivateIpAddress", p.PrivateIP)
	set("Placement.AvailabilityZone", p.AvailabilityZone)
	set("ServicePrincipal", p.ServicePrincipal)
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", region, time.Now()); err != nil {
		return nil, err
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Code    string `xml:"Errors>Error>Code"`
			Message string `xml:"Errors>Error>Message"`
		}
		if xml.Unmarshal(b, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("RegisterInstance: %s: %s", e.Code, e.Message)
		}
		return nil, fmt.Errorf("RegisterInstance: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	var out struct {
		InstanceID string `xml:"instanceId"`
		Secret     string `xml:"instanceSecret"`
		Region     string `xml:"region"`
	}
	if err := xml.Unmarshal(b, &out); err != nil || out.InstanceID == "" || out.Secret == "" {
		return nil, fmt.Errorf("RegisterInstance: undecodable answer")
	}
	return &IdentityFile{InstanceID: out.InstanceID, Secret: secrets.Secret(out.Secret), Endpoint: endpoint, Region: out.Region}, nil
}

// WriteIdentityFile writes f to path, readable by its owner only, refusing to overwrite an existing file.
func WriteIdentityFile(path string, f *IdentityFile) error {
	b, err := f.MarshalJSON()
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// ContainerTokenFromFile returns the container endpoint's authorization token kept at path, creating a random one
// (mode 0600) when the file does not exist. Workloads read the same file through
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
func ContainerTokenFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", fmt.Errorf("container token file %s: the token must be at least 16 characters", path)
		}
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}
