package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/persona-iam/persona/internal/agent"
	persec2 "github.com/persona-iam/persona/internal/ec2"
	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
)

var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{17}$`)

func (e *env) ec2As(c aws.Credentials) *ec2.Client { return ec2.NewFromConfig(e.cfg(c)) }

// ec2Raw sends a SigV4-signed EC2 Query request (for Persona's own actions, which no SDK knows) and returns the
// status and body.
func (e *env) ec2Raw(c aws.Credentials, form url.Values) (int, []byte) {
	e.t.Helper()
	form.Set("Version", "2016-11-15")
	body := form.Encode()
	req, _ := http.NewRequest("POST", e.url+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

type registered struct {
	InstanceID     string `xml:"instanceId"`
	InstanceSecret string `xml:"instanceSecret"`
	OwnerID        string `xml:"ownerId"`
	Region         string `xml:"region"`
	Association    struct {
		AssociationID string `xml:"associationId"`
	} `xml:"iamInstanceProfileAssociation"`
}

// register registers an instance as c and returns it; params are extra form values.
func (e *env) register(c aws.Credentials, params ...string) registered {
	e.t.Helper()
	form := url.Values{"Action": {"RegisterInstance"}, "InstanceType": {"t3.micro"}, "ImageId": {"ami-0abcdef1234567890"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	status, body := e.ec2Raw(c, form)
	if status != 200 {
		e.t.Fatalf("RegisterInstance = %d %s", status, body)
	}
	var r registered
	if err := xml.Unmarshal(body, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// instanceProfile creates an instance profile holding role.
func (e *env) instanceProfile(name, role string) string {
	e.t.Helper()
	ctx := context.Background()
	var ro store.Role
	if _, err := store.GetJSON(ctx, e.st, store.KindRole, testAccount, role, &ro); err != nil {
		e.t.Fatal(err)
	}
	id := "AIPA" + strings.ToUpper(hex.EncodeToString([]byte(name+"0000000000"))[:17])
	data := `{"name":"` + name + `","id":"` + id + `","path":"/","roles":["` + ro.Name + `"]}`
	if err := e.st.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.Create(ctx, store.Record{Kind: "instance-profile", Account: testAccount, Key: name, ID: id, Data: []byte(data)})
	}); err != nil {
		e.t.Fatal(err)
	}
	return "arn:aws:iam::" + testAccount + ":instance-profile/" + name
}

// mintLog is a test minter: it records the sessions asked for and hands out recognisable credentials.
type mintLog struct {
	mu       sync.Mutex
	sessions []ec2Session
}

type ec2Session = struct {
	RoleARN, RoleID, SessionName, SourceInstanceARN, ServicePrincipal string
}

func (e *env) role(name, trust string) {
	e.t.Helper()
	must[*iam.CreateRoleOutput](e.t)(e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}))
}

// startAgent runs an agent for the instance against the server and serves its IMDS and container endpoints.
func (e *env) startAgent(r registered, clock func() time.Time) (*agent.Agent, *httptest.Server, *httptest.Server) {
	e.t.Helper()
	a, err := agent.New(agent.Config{
		Fetcher: &agent.HTTPFetcher{Identity: &agent.IdentityFile{
			InstanceID: r.InstanceID, Secret: secrets.Secret(r.InstanceSecret), Endpoint: e.url, Region: "us-east-1"}},
		InstanceID: r.InstanceID, ContainerToken: "task-token", Now: clock,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	a.Tick(context.Background())
	imds := httptest.NewServer(a.IMDSHandler())
	ctr := httptest.NewServer(a.ContainerHandler())
	e.t.Cleanup(func() { imds.Close(); ctr.Close() })
	return a, imds, ctr
}

// sdkChain returns the SDK's default credential chain with only env set.
func sdkChain(t *testing.T, env map[string]string) aws.CredentialsProvider {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
		t.Setenv(v, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Credentials
}

func (m *mintLog) mint(_ context.Context, s persec2.Session, now time.Time) (*persec2.Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions = append(m.sessions, ec2Session{s.RoleARN, s.RoleID, s.SessionName, s.SourceInstanceARN, s.ServicePrincipal})
	n := len(m.sessions)
	return &persec2.Credentials{AccessKeyID: "ASIATEST" + strings.Repeat(string(rune('A'+n%26)), 12),
		SecretAccessKey: "secret" + strings.Repeat("s", n), SessionToken: "token" + strings.Repeat("t", n),
		Expiration: now.Add(s.Duration).UTC().Truncate(time.Second)}, nil
}

func (m *mintLog) last() ec2Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[len(m.sessions)-1]
}

const readOnlyIAM = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`

// TestInstanceCredentialsThroughAgent is the seed walk-through: a role for EC2 with a read-only policy, an
// instance profile, an instance registered with it, the agent; the SDK's default chain (IMDS, then the container
// endpoint) gets the role's credentials for a session named after the instance.
func TestInstanceCredentialsThroughAgent(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			minted := &mintLog{}
			e.srv.ec2.SetMinter(minted.mint)
			e.role("MyEC2Role", ec2Trust)
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("MyEC2Role"),
				PolicyName: aws.String("read"), PolicyDocument: aws.String(readOnlyIAM)}))
			profileARN := e.instanceProfile("web", "MyEC2Role")
			r := e.register(e.root, "IamInstanceProfile.Name", "web", "PrivateIpAddress", "10.0.0.12")
			if !instanceIDPattern.MatchString(r.InstanceID) || len(r.InstanceSecret) != 40 || r.OwnerID != testAccount ||
				!strings.HasPrefix(r.Association.AssociationID, "iip-assoc-") {
				t.Fatalf("RegisterInstance = %+v", r)
			}

			desc := must[*ec2.DescribeIamInstanceProfileAssociationsOutput](t)(e.ec2As(e.root).DescribeIamInstanceProfileAssociations(ctx,
				&ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{r.InstanceID}}}}))
			if len(desc.IamInstanceProfileAssociations) != 1 {
				t.Fatalf("associations = %+v", desc.IamInstanceProfileAssociations)
			}
			as := desc.IamInstanceProfileAssociations[0]
			if aws.ToString(as.AssociationId) != r.Association.AssociationID || aws.ToString(as.IamInstanceProfile.Arn) != profileARN ||
				as.State != ec2types.IamInstanceProfileAssociationStateAssociated || as.Timestamp == nil {
				t.Fatalf("association = %+v", as)
			}

			a, imds, ctr := e.startAgent(r, nil)
			want := a.Credentials()
			if want == nil {
				t.Fatalf("agent has no credentials: %+v", a.Health())
			}
			sess := minted.last()
			wantSess := ec2Session{RoleARN: "arn:aws:iam::" + testAccount + ":role/MyEC2Role", SessionName: r.InstanceID,
				SourceInstanceARN: "arn:aws:ec2:us-east-1:" + testAccount + ":instance/" + r.InstanceID, ServicePrincipal: "ec2.amazonaws.com"}
			sess.RoleID = ""
			if sess != wantSess {
				t.Fatalf("minted session = %+v\nwant %+v", sess, wantSess)
			}

			for _, tc := range []struct {
				name string
				env  map[string]string
			}{
				{"IMDS", map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL}},
				{"Container", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": ctr.URL + agent.ContainerPath,
					"AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-token", "AWS_EC2_METADATA_DISABLED": "true"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := sdkChain(t, tc.env).Retrieve(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken {
						t.Fatalf("SDK got %s, agent serves %s", got.AccessKeyID, want.AccessKeyID)
					}
				})
			}
		})
	}
}
