package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/persona-iam/persona/internal/agent"
	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/oidc/oidctest"
	"github.com/persona-iam/persona/internal/secrets"
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

// instanceProfile creates an instance profile holding role and returns its ARN.
func (e *env) instanceProfile(name, role string) string {
	e.t.Helper()
	ctx := context.Background()
	out := must[*iam.CreateInstanceProfileOutput](e.t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}))
	must[*iam.AddRoleToInstanceProfileOutput](e.t)(e.iam.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
		InstanceProfileName: aws.String(name), RoleName: aws.String(role)}))
	return aws.ToString(out.InstanceProfile.Arn)
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

const readOnlyIAM = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`

// TestInstanceCredentialsThroughAgent is the seed walk-through: a role for EC2 with a read-only policy, an
// instance profile, an instance registered with it, the agent; the SDK's default chain (IMDS, then the container
// endpoint) gets the role's credentials for a session named after the instance.
func TestInstanceCredentialsThroughAgent(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			e.role(e.iam, "MyEC2Role", ec2Trust, "")
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
			if time.Until(want.Expiration) < 59*time.Minute {
				t.Fatalf("credentials expire at %v, want an hour from now", want.Expiration)
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
					chain := sdkChain(t, tc.env)
					got, err := chain.Retrieve(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken {
						t.Fatalf("SDK got %s, agent serves %s", got.AccessKeyID, want.AccessKeyID)
					}
					// The program's calls: who am I, a read (allowed), a write (denied).
					cfg := e.cfgProvider(chain)
					who := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
					wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/MyEC2Role/" + r.InstanceID
					if aws.ToString(who.Arn) != wantARN || aws.ToString(who.Account) != testAccount || !strings.HasSuffix(aws.ToString(who.UserId), ":"+r.InstanceID) {
						t.Fatalf("GetCallerIdentity = %s %s %s, want %s", aws.ToString(who.Arn), aws.ToString(who.Account), aws.ToString(who.UserId), wantARN)
					}
					program := iam.NewFromConfig(cfg)
					must[*iam.ListRolesOutput](t)(program.ListRoles(ctx, &iam.ListRolesInput{}))
					_, err = program.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("intruder")})
					ae := apiError(t, err, "AccessDenied")
					if !strings.Contains(ae.ErrorMessage(), wantARN+" is not authorized to perform: iam:CreateUser") {
						t.Errorf("message = %q", ae.ErrorMessage())
					}
				})
			}

			// The session carries ec2:SourceInstanceARN: a grant conditioned on another instance does not apply,
			// one conditioned on this instance does.
			program := iam.NewFromConfig(e.cfg(aws.Credentials{AccessKeyID: want.AccessKeyID, SecretAccessKey: want.SecretAccessKey, SessionToken: want.SessionToken}))
			for _, tc := range []struct {
				instance string
				allowed  bool
			}{{"i-0000000000000000f", false}, {r.InstanceID, true}} {
				must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("MyEC2Role"),
					PolicyName: aws.String("only-this-instance"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[
					  {"Effect":"Allow","Action":"iam:CreateUser","Resource":"*","Condition":{"StringEquals":{"ec2:SourceInstanceARN":"arn:aws:ec2:us-east-1:` +
						testAccount + `:instance/` + tc.instance + `"}}}]}`)}))
				_, err := program.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("made-by-instance")})
				if tc.allowed && err != nil {
					t.Fatalf("CreateUser allowed for %s: %v", tc.instance, err)
				}
				if !tc.allowed {
					apiError(t, err, "AccessDenied")
				}
			}
		})
	}
}

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
const tasksTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// exchange performs one identity exchange for r.
func (e *env) exchange(r registered) (*agent.ExchangeResponse, error) {
	f := &agent.HTTPFetcher{Identity: &agent.IdentityFile{InstanceID: r.InstanceID, Secret: secrets.Secret(r.InstanceSecret), Endpoint: e.url}}
	return f.Exchange(context.Background())
}

// TestInstanceTrustPolicy: credentials are issued only when the role trusts the instance's service principal,
// ec2.amazonaws.com for instances and ecs-tasks.amazonaws.com for tasks; otherwise the exchange (and the agent's
// iam/info) say AssumeRoleUnauthorizedAccess, as IMDS does.
func TestInstanceTrustPolicy(t *testing.T) {
	e := newEnv(t, sqliteStore)
	e.role(e.iam, "lambda-role", lambdaTrust, "")
	e.role(e.iam, "task-role", tasksTrust, "")
	e.role(e.iam, "ec2-role", ec2Trust, "")
	e.role(e.iam, "conditional", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole",
	  "Condition":{"StringEquals":{"aws:SourceAccount":"999999999999"}}}]}`, "")
	e.instanceProfile("lambda", "lambda-role")
	e.instanceProfile("task", "task-role")
	e.instanceProfile("ec2", "ec2-role")
	e.instanceProfile("conditional", "conditional")
	for _, tc := range []struct {
		name, profile, service, code string
	}{
		{"EC2RoleOnInstance", "ec2", "", "Success"},
		{"LambdaRoleOnInstance", "lambda", "", "AssumeRoleUnauthorizedAccess"},
		{"TaskRoleOnInstance", "task", "", "AssumeRoleUnauthorizedAccess"},
		{"TaskRoleOnTask", "task", "ecs-tasks.amazonaws.com", "Success"},
		{"EC2RoleOnTask", "ec2", "ecs-tasks.amazonaws.com", "AssumeRoleUnauthorizedAccess"},
		{"ConfusedDeputyCondition", "conditional", "", "AssumeRoleUnauthorizedAccess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := []string{"IamInstanceProfile.Name", tc.profile}
			if tc.service != "" {
				params = append(params, "ServicePrincipal", tc.service)
			}
			r := e.register(e.root, params...)
			out, err := e.exchange(r)
			if err != nil {
				t.Fatal(err)
			}
			if out.Code != tc.code || (out.Credentials != nil) != (tc.code == "Success") {
				t.Fatalf("exchange = %s %q (credentials %v), want %s", out.Code, out.Message, out.Credentials != nil, tc.code)
			}
			if tc.code == "Success" {
				c := out.Credentials
				who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
					SessionToken: c.SessionToken}).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}))
				if want := "arn:aws:sts::" + testAccount + ":assumed-role/" + out.RoleName + "/" + r.InstanceID; aws.ToString(who.Arn) != want {
					t.Fatalf("GetCallerIdentity = %s, want %s", aws.ToString(who.Arn), want)
				}
				return
			}
			// The agent reports the refusal in iam/info and serves no credentials.
			a, imds, _ := e.startAgent(r, nil)
			if a.Credentials() != nil {
				t.Fatal("agent serves credentials for an untrusted role")
			}
			tok := imdsToken(t, imds.URL)
			status, body := imdsGet(t, imds.URL+"/latest/meta-data/iam/info", tok)
			if status != 200 || !strings.Contains(body, `"Code" : "AssumeRoleUnauthorizedAccess"`) {
				t.Fatalf("iam/info = %d %s", status, body)
			}
		})
	}
}

func imdsToken(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("PUT", base+"/latest/api/token", nil)
	req.Header.Set(agent.TokenTTLHeader, "300")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func imdsGet(t *testing.T, u, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if tok != "" {
		req.Header.Set(agent.TokenHeader, tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestInstanceProfileAssociations drives association, replacement and disassociation with the SDK's EC2 client,
// and the agent following them on its next refresh.
func TestInstanceProfileAssociations(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "role-a", ec2Trust, "")
	e.role(e.iam, "role-b", ec2Trust, "")
	arnA := e.instanceProfile("profile-a", "role-a")
	arnB := e.instanceProfile("profile-b", "role-b")
	c := e.ec2As(e.root)
	r := e.register(e.root)
	if r.Association.AssociationID != "" {
		t.Fatalf("registered without a profile but associated: %+v", r)
	}
	a, imds, _ := e.startAgent(r, nil)
	tok := imdsToken(t, imds.URL)
	if status, _ := imdsGet(t, imds.URL+"/latest/meta-data/iam/info", tok); status != 404 {
		t.Fatalf("iam/info without a profile = %d, want 404", status)
	}
	if status, body := imdsGet(t, imds.URL+"/latest/meta-data/instance-id", tok); status != 200 || body != r.InstanceID {
		t.Fatalf("instance-id = %d %q", status, body)
	}

	assoc := must[*ec2.AssociateIamInstanceProfileOutput](t)(c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(r.InstanceID), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("profile-a")}}))
	ia := assoc.IamInstanceProfileAssociation
	if aws.ToString(ia.InstanceId) != r.InstanceID || aws.ToString(ia.IamInstanceProfile.Arn) != arnA || ia.State != ec2types.IamInstanceProfileAssociationStateAssociating {
		t.Fatalf("association = %+v", ia)
	}
	_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(r.InstanceID), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(arnB)}})
	ae := apiError(t, err, "IncorrectState")
	if !strings.Contains(ae.ErrorMessage(), "existing association for instance "+r.InstanceID) {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	a.Refresh(ctx)
	if status, body := imdsGet(t, imds.URL+"/latest/meta-data/iam/security-credentials/", tok); status != 200 || body != "role-a" {
		t.Fatalf("after associate: %d %q", status, body)
	}

	rep := must[*ec2.ReplaceIamInstanceProfileAssociationOutput](t)(c.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{
		AssociationId: ia.AssociationId, IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(arnB)}}))
	if aws.ToString(rep.IamInstanceProfileAssociation.AssociationId) == aws.ToString(ia.AssociationId) || aws.ToString(rep.IamInstanceProfileAssociation.IamInstanceProfile.Arn) != arnB {
		t.Fatalf("replacement = %+v", rep.IamInstanceProfileAssociation)
	}
	_, err = c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: ia.AssociationId})
	apiError(t, err, "InvalidAssociationID.NotFound")
	a.Refresh(ctx)
	if status, body := imdsGet(t, imds.URL+"/latest/meta-data/iam/security-credentials/", tok); status != 200 || body != "role-b" {
		t.Fatalf("after replace: %d %q", status, body)
	}
	ac := a.Credentials()
	who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(aws.Credentials{AccessKeyID: ac.AccessKeyID, SecretAccessKey: ac.SecretAccessKey,
		SessionToken: ac.SessionToken}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if want := "arn:aws:sts::" + testAccount + ":assumed-role/role-b/" + r.InstanceID; aws.ToString(who.Arn) != want {
		t.Fatalf("after replace, GetCallerIdentity = %s, want %s", aws.ToString(who.Arn), want)
	}

	dis := must[*ec2.DisassociateIamInstanceProfileOutput](t)(c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{
		AssociationId: rep.IamInstanceProfileAssociation.AssociationId}))
	if dis.IamInstanceProfileAssociation.State != ec2types.IamInstanceProfileAssociationStateDisassociating {
		t.Fatalf("disassociation = %+v", dis.IamInstanceProfileAssociation)
	}
	a.Refresh(ctx)
	if status, _ := imdsGet(t, imds.URL+"/latest/meta-data/iam/security-credentials/", tok); status != 404 {
		t.Fatalf("after disassociate: %d, want 404", status)
	}
	if a.Credentials() != nil {
		t.Fatal("agent still serves credentials after disassociation")
	}
	all := must[*ec2.DescribeIamInstanceProfileAssociationsOutput](t)(c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{}))
	if len(all.IamInstanceProfileAssociations) != 0 {
		t.Fatalf("associations left: %+v", all.IamInstanceProfileAssociations)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"UnknownInstance", func() error {
			_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String("i-0123456789abcdef0"),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("profile-a")}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"MalformedInstance", func() error {
			_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String("web-1"),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("profile-a")}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"UnknownProfile", func() error {
			_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.InstanceID),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("nope")}})
			return err
		}, "InvalidParameterValue"},
		{"ProfileOfAnotherAccount", func() error {
			_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.InstanceID),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::999999999999:instance-profile/profile-a")}})
			return err
		}, "InvalidParameterValue"},
		{"UnknownAssociation", func() error {
			_, err := c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String("iip-assoc-0123456789abcdef0")})
			return err
		}, "InvalidAssociationID.NotFound"},
		{"DescribeBadMaxResults", func() error {
			_, err := c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{MaxResults: aws.Int32(2)})
			return err
		}, "InvalidParameterValue"},
		{"DescribeBadFilter", func() error {
			_, err := c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
				Filters: []ec2types.Filter{{Name: aws.String("color"), Values: []string{"blue"}}}})
			return err
		}, "InvalidParameterValue"},
	} {
		t.Run(tc.name, func(t *testing.T) { apiError(t, tc.call(), tc.code) })
	}
}

// TestDescribeAssociationsPaginates: MaxResults pages and NextToken continues without repeats or gaps.
func TestDescribeAssociationsPaginates(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	want := map[string]bool{}
	for range 12 {
		want[e.register(e.root, "IamInstanceProfile.Name", "p").Association.AssociationID] = true
	}
	c := e.ec2As(e.root)
	seen := map[string]bool{}
	p := ec2.NewDescribeIamInstanceProfileAssociationsPaginator(c, &ec2.DescribeIamInstanceProfileAssociationsInput{MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.IamInstanceProfileAssociations {
			id := aws.ToString(a.AssociationId)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != len(want) || pages < 3 {
		t.Fatalf("saw %d associations in %d pages, want %d in at least 3", len(seen), pages, len(want))
	}
}

// TestInstanceOperationsAuthorized: registering and associating need ec2:RunInstances /
// ec2:AssociateIamInstanceProfile and iam:PassRole on the profile's role; denials are EC2's UnauthorizedOperation.
func TestInstanceOperationsAuthorized(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "web-role", ec2Trust, "")
	e.role(e.iam, "admin-role", ec2Trust, "")
	e.instanceProfile("web", "web-role")
	e.instanceProfile("admin", "admin-role")
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ops")})).AccessKey
	ops := aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)}
	put := func(doc string) {
		must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ops"),
			PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}))
	}
	register := func(params ...string) (int, string) {
		form := url.Values{"Action": {"RegisterInstance"}}
		for i := 0; i+1 < len(params); i += 2 {
			form.Set(params[i], params[i+1])
		}
		status, body := e.ec2Raw(ops, form)
		return status, string(body)
	}
	status, body := register()
	if status != 403 || !strings.Contains(body, "<Code>UnauthorizedOperation</Code>") || !strings.Contains(body, "ec2:RunInstances") {
		t.Fatalf("register without permission = %d %s", status, body)
	}
	put(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:RunInstances","ec2:AssociateIamInstanceProfile","ec2:DescribeIamInstanceProfileAssociations"],"Resource":"*"}]}`)
	status, body = register("IamInstanceProfile.Name", "web")
	if status != 403 || !strings.Contains(body, "iam:PassRole") || !strings.Contains(body, "role/web-role") {
		t.Fatalf("register with a profile, without iam:PassRole = %d %s", status, body)
	}
	status, body = register()
	if status != 200 {
		t.Fatalf("register = %d %s", status, body)
	}
	var r registered
	xml.Unmarshal([]byte(body), &r)
	c := e.ec2As(ops)
	_, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.InstanceID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("web")}})
	ae := apiError(t, err, "UnauthorizedOperation")
	if !strings.Contains(ae.ErrorMessage(), "iam:PassRole on resource: arn:aws:iam::"+testAccount+":role/web-role") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	// PassRole on web-role only: web can be associated, admin cannot.
	put(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:RunInstances","ec2:AssociateIamInstanceProfile","ec2:DescribeIamInstanceProfileAssociations"],"Resource":"*"},
	  {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/web-role","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}]}`)
	_, err = c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.InstanceID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("admin")}})
	apiError(t, err, "UnauthorizedOperation")
	must[*ec2.AssociateIamInstanceProfileOutput](t)(c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.InstanceID),
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("web")}}))
	// Disassociating and terminating were never granted.
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{r.InstanceID}})
	apiError(t, err, "UnauthorizedOperation")
}

// TestInstancesAreAccountScoped: another account neither sees nor touches an instance, and cannot associate its
// own profiles with it.
func TestInstancesAreAccountScoped(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	other := e.secondAccount("444455556666")
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	r := e.register(e.root, "IamInstanceProfile.Name", "p")
	c := e.ec2As(other)
	_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{r.InstanceID}})
	apiError(t, err, "InvalidInstanceID.NotFound")
	_, err = c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(r.Association.AssociationID)})
	apiError(t, err, "InvalidAssociationID.NotFound")
	out := must[*ec2.DescribeIamInstanceProfileAssociationsOutput](t)(c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{}))
	if len(out.IamInstanceProfileAssociations) != 0 {
		t.Fatalf("other account sees %+v", out.IamInstanceProfileAssociations)
	}
}

// TestExchangeAuthentication: only a live instance identity, signing for ec2 with its own secret, gets an answer;
// terminating or resetting the identity revokes it at once, and the agent then stops serving credentials.
func TestExchangeAuthentication(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	r := e.register(e.root, "IamInstanceProfile.Name", "p")

	signed := func(c aws.Credentials, service string, mutate func(*http.Request)) (int, string) {
		req, _ := http.NewRequest("POST", e.url+agent.ExchangePath, nil)
		if mutate != nil {
			mutate(req)
		}
		if c.AccessKeyID != "" {
			sum := sha256.Sum256(nil)
			v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	identity := aws.Credentials{AccessKeyID: r.InstanceID, SecretAccessKey: r.InstanceSecret}
	for _, tc := range []struct {
		name    string
		creds   aws.Credentials
		service string
		mutate  func(*http.Request)
		status  int
		code    string
	}{
		{"Valid", identity, "ec2", nil, 200, ""},
		{"Unsigned", aws.Credentials{}, "", nil, 403, "MissingAuthenticationToken"},
		{"WrongSecret", aws.Credentials{AccessKeyID: r.InstanceID, SecretAccessKey: strings.Repeat("x", 40)}, "ec2", nil, 403, "SignatureDoesNotMatch"},
		{"UnknownInstance", aws.Credentials{AccessKeyID: "i-0123456789abcdef0", SecretAccessKey: r.InstanceSecret}, "ec2", nil, 403, "InvalidClientTokenId"},
		{"OperatorKey", e.root, "ec2", nil, 403, "InvalidClientTokenId"},
		{"OtherService", identity, "sts", nil, 403, "InvalidClientTokenId"},
		{"WithSessionToken", aws.Credentials{AccessKeyID: r.InstanceID, SecretAccessKey: r.InstanceSecret, SessionToken: "FwoGZXIvYXdzE"}, "ec2", nil, 403, "InvalidClientTokenId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := signed(tc.creds, tc.service, tc.mutate)
			if status != tc.status || (tc.code != "" && !strings.Contains(body, `"Code":"`+tc.code+`"`)) {
				t.Fatalf("= %d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}

	// Reset: the old secret stops working, the new one works.
	status, body := e.ec2Raw(e.root, url.Values{"Action": {"ResetInstanceIdentity"}, "InstanceId": {r.InstanceID}})
	if status != 200 {
		t.Fatalf("reset = %d %s", status, body)
	}
	var reset registered
	xml.Unmarshal(body, &reset)
	if reset.InstanceSecret == "" || reset.InstanceSecret == r.InstanceSecret {
		t.Fatalf("reset returned %+v", reset)
	}
	if _, err := e.exchange(r); !isRefusal(err, "SignatureDoesNotMatch") {
		t.Fatalf("old secret after reset: %v", err)
	}
	r.InstanceSecret = reset.InstanceSecret
	a, _, _ := e.startAgent(r, nil)
	if a.Credentials() == nil {
		t.Fatalf("new secret: %+v", a.Health())
	}

	// Terminate: the identity is gone; the agent stops serving at its next refresh.
	must[*ec2.TerminateInstancesOutput](t)(e.ec2As(e.root).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{r.InstanceID}}))
	if _, err := e.exchange(r); !isRefusal(err, "InvalidClientTokenId") {
		t.Fatalf("after terminate: %v", err)
	}
	a.Refresh(ctx)
	if a.Credentials() != nil || a.Health().Status != "unavailable" {
		t.Fatalf("agent after terminate: %+v", a.Health())
	}
}

func isRefusal(err error, code string) bool {
	var ex *agent.ExchangeError
	return errors.As(err, &ex) && ex.Code == code && ex.Status == 403
}

// TestAgentRidesOutServerOutage: with the server down, the agent keeps serving the cached credentials to the SDK
// and reports degraded health; the injected clock drives the refresh (no sleeping).
func TestAgentRidesOutServerOutage(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	r := e.register(e.root, "IamInstanceProfile.Name", "p")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// A server that can be switched off in front of the real one.
	var down bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		off := down
		mu.Unlock()
		if off {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		e.srv.ServeHTTP(w, req)
	}))
	defer proxy.Close()
	a, err := agent.New(agent.Config{Fetcher: &agent.HTTPFetcher{Identity: &agent.IdentityFile{
		InstanceID: r.InstanceID, Secret: secrets.Secret(r.InstanceSecret), Endpoint: proxy.URL}}, Now: clock, InstanceID: r.InstanceID})
	if err != nil {
		t.Fatal(err)
	}
	a.Tick(ctx)
	first := *a.Credentials()
	mu.Lock()
	down, now = true, now.Add(50*time.Minute)
	mu.Unlock()
	a.Tick(ctx)
	if c := a.Credentials(); c == nil || c.AccessKeyID != first.AccessKeyID {
		t.Fatalf("during the outage the agent serves %v", c)
	}
	if h := a.Health(); h.Status != "degraded" || !strings.Contains(h.LastError, "Bad Gateway") {
		t.Fatalf("health = %+v", h)
	}
	mu.Lock()
	down, now = false, now.Add(time.Minute)
	mu.Unlock()
	a.Tick(ctx)
	if c := a.Credentials(); c == nil || c.AccessKeyID == first.AccessKeyID || a.Health().Status != "ok" {
		t.Fatalf("after the outage: %v %+v", c, a.Health())
	}
}

// TestWebIdentityFileDefaultChain: a Kubernetes-style workload gets role credentials with no agent and no key:
// AWS_WEB_IDENTITY_TOKEN_FILE (its projected service-account token) and AWS_ROLE_ARN in the environment, the
// SDK's default credential chain calls AssumeRoleWithWebIdentity at Persona (AWS_ENDPOINT_URL_STS), and re-reads
// the file, so a rotated token is used.
func TestWebIdentityFileDefaultChain(t *testing.T) {
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
		"Condition":{"StringEquals":{%q:"system:serviceaccount:shop:cart"}}}]}`, aws.ToString(prov.OpenIDConnectProviderArn), strings.TrimPrefix(issuer.URL, "https://")+":sub")
	roleARN := e.role(e.iam, "cart", trust, readOnlyIAM)
	tokenFile := filepath.Join(t.TempDir(), "token")
	write := func(sub string) {
		if err := os.WriteFile(tokenFile, []byte(signToken(t, issuer.Keys()[0], issuer.Claims(sub, "sts.amazonaws.com"))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("system:serviceaccount:shop:cart")
	chain := sdkChain(t, map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": roleARN,
		"AWS_ROLE_SESSION_NAME": "cart-7d9f", "AWS_ENDPOINT_URL_STS": e.url, "AWS_EC2_METADATA_DISABLED": "true"})
	cfg := e.cfgProvider(chain)
	who := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if got, want := aws.ToString(who.Arn), "arn:aws:sts::"+testAccount+":assumed-role/cart/cart-7d9f"; got != want {
		t.Fatalf("GetCallerIdentity = %s, want %s", got, want)
	}
	must[*iam.ListRolesOutput](t)(iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{}))
	_, err = iam.NewFromConfig(cfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	apiError(t, err, "AccessDenied")

	// The file is read at each refresh: a token for another service account is refused.
	write("system:serviceaccount:shop:admin")
	_, err = sdkChain(t, map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": roleARN,
		"AWS_ENDPOINT_URL_STS": e.url, "AWS_EC2_METADATA_DISABLED": "true"}).Retrieve(ctx)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("token of another subject: err = %v, want AccessDenied", err)
	}
}

// TestInstanceAuditTrail: EC2 calls are recorded with eventSource ec2.amazonaws.com and without the instance
// secret; a credential delivery is an AssumeRole by the AWSService ec2.amazonaws.com naming the role and the
// instance session, without the secret key or the token.
func TestInstanceAuditTrail(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	r := e.register(e.root)
	must[*ec2.AssociateIamInstanceProfileOutput](t)(e.ec2As(e.root).AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(r.InstanceID), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("p")}}))
	out, err := e.exchange(r)
	if err != nil || out.Credentials == nil {
		t.Fatalf("exchange: %v %+v", err, out)
	}
	all, _ := json.Marshal(e.records(testAccount))
	for _, secret := range []string{r.InstanceSecret, out.Credentials.SecretAccessKey, out.Credentials.SessionToken} {
		if strings.Contains(string(all), secret) {
			t.Fatalf("the audit trail contains a secret: %s", secret)
		}
	}
	for _, name := range []string{"RegisterInstance", "AssociateIamInstanceProfile"} {
		recs := e.find(testAccount, name)
		if len(recs) != 1 || recs[0].EventSource != "ec2.amazonaws.com" || recs[0].UserIdentity.Type != "Root" {
			t.Fatalf("%s records = %+v", name, recs)
		}
	}
	var delivery *audit.Record
	for _, rec := range e.find(testAccount, "AssumeRole") {
		if rec.UserIdentity.Type == "AWSService" {
			delivery = &rec
		}
	}
	if delivery == nil {
		t.Fatal("no AssumeRole record of the credential delivery")
	}
	if delivery.UserIdentity.InvokedBy != "ec2.amazonaws.com" || delivery.EventSource != "sts.amazonaws.com" ||
		delivery.RequestParameters["roleSessionName"] != r.InstanceID || delivery.RequestParameters["roleArn"] != "arn:aws:iam::"+testAccount+":role/r" {
		t.Fatalf("delivery record = %+v", delivery)
	}
}

// TestInstanceProfileChangesApply: the exchange reads the profile each time: a role removed from the profile, a
// deleted profile, and a profile re-created under the same name (a new id) all stop the credentials.
func TestInstanceProfileChangesApply(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "r", ec2Trust, "")
	e.instanceProfile("p", "r")
	r := e.register(e.root, "IamInstanceProfile.Name", "p")
	code := func() string {
		t.Helper()
		out, err := e.exchange(r)
		if err != nil {
			t.Fatal(err)
		}
		if (out.Credentials != nil) != (out.Code == "Success") {
			t.Fatalf("exchange %s with credentials %v", out.Code, out.Credentials != nil)
		}
		return out.Code
	}
	if c := code(); c != "Success" {
		t.Fatalf("exchange = %s", c)
	}
	must[*iam.RemoveRoleFromInstanceProfileOutput](t)(e.iam.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
		InstanceProfileName: aws.String("p"), RoleName: aws.String("r")}))
	if c := code(); c != "NoRoleInInstanceProfile" {
		t.Fatalf("after removing the role: %s", c)
	}
	must[*iam.DeleteInstanceProfileOutput](t)(e.iam.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("p")}))
	if c := code(); c != "InstanceProfileNotFound" {
		t.Fatalf("after deleting the profile: %s", c)
	}
	e.instanceProfile("p", "r")
	if c := code(); c != "InstanceProfileNotFound" {
		t.Fatalf("after re-creating the profile under the same name: %s (the association names the old one)", c)
	}
}
