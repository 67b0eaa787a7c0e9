package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Region is the region every request is signed for.
const Region = "us-east-1"

// Target is a server the scenarios run against, with what setting it up produced.
type Target struct {
	// Name labels the target in the report ("persona", "moto").
	Name string
	// URL is the server's base URL; Addr its host:port.
	URL, Addr string
	// Root is a long-term key allowed to do everything (the account root's).
	Root aws.Credentials
	// Account is the account id Root belongs to.
	Account string
	// Roles are the names of the roles Setup made; each trusts the account (its root).
	Roles []string
	// User is the long-term key of an IAM user allowed to assume the roles (AWS refuses AssumeRole to a root).
	User aws.Credentials
	// Temp are temporary credentials from the user's AssumeRole of Roles[0]; zero when the target cannot assume
	// roles.
	Temp aws.Credentials
	// TempErr says why Temp is empty.
	TempErr error
}

func (t *Target) awsConfig(c aws.Credentials) aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.StaticCredentialsProvider{Value: c},
		BaseEndpoint:     aws.String(t.URL),
		RetryMaxAttempts: 1,
	}
}

// RolePrefix names the roles Setup creates: RolePrefix + a three-digit number.
const RolePrefix = "load-role-"

// UserName is the IAM user Setup creates to assume the roles.
const UserName = "load-user"

// Setup prepares t through its API with aws-sdk-go-v2's clients: it learns the account, makes roles roles (trusting
// the account, whose identity policies then decide; an existing one is reused), an IAM user whose policy allows
// sts:AssumeRole on them, with an access key, and assumes the first role as that user for temporary credentials.
func Setup(ctx context.Context, t *Target, roles int) error {
	stsc := sts.NewFromConfig(t.awsConfig(t.Root))
	id, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("%s: GetCallerIdentity: %w", t.Name, err)
	}
	t.Account = aws.ToString(id.Account)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, t.Account)
	iamc := iam.NewFromConfig(t.awsConfig(t.Root))
	t.Roles = t.Roles[:0]
	for i := range roles {
		name := fmt.Sprintf("%s%03d", RolePrefix, i)
		_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(name),
			AssumeRolePolicyDocument: aws.String(trust),
			Description:              aws.String("made by persona-load"),
			Tags:                     []iamtypes.Tag{{Key: aws.String("purpose"), Value: aws.String("load test")}},
		})
		var ae smithy.APIError
		if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "EntityAlreadyExists") {
			return fmt.Errorf("%s: CreateRole %s: %w", t.Name, name, err)
		}
		t.Roles = append(t.Roles, name)
	}
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(UserName)}); err != nil {
		var ae smithy.APIError
		if !(errors.As(err, &ae) && ae.ErrorCode() == "EntityAlreadyExists") {
			return fmt.Errorf("%s: CreateUser: %w", t.Name, err)
		}
	}
	allow := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::%s:role/%s*"}]}`, t.Account, RolePrefix)
	if _, err := iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(UserName), PolicyName: aws.String("assume-load-roles"), PolicyDocument: aws.String(allow)}); err != nil {
		return fmt.Errorf("%s: PutUserPolicy: %w", t.Name, err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(UserName)})
	if err != nil {
		return fmt.Errorf("%s: CreateAccessKey: %w", t.Name, err)
	}
	t.User = aws.Credentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
	out, err := sts.NewFromConfig(t.awsConfig(t.User)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(t.roleARN(0)),
		RoleSessionName: aws.String("persona-load"),
		DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.TempErr = err
		return nil
	}
	c := out.Credentials
	t.Temp = aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration)}
	return nil
}

func (t *Target) roleARN(i int) string {
	return "arn:aws:iam::" + t.Account + ":role/" + t.Roles[i]
}

// Scenario is one kind of request replayed under load.
type Scenario struct {
	// Name identifies the scenario on the command line and in the report.
	Name string
	// Description says what is replayed.
	Description string
	// CeilingGoal is the fraction of the ceiling's rate Persona should reach; 0 for none.
	CeilingGoal float64
	// MotoGoal is the multiple of Moto's rate Persona should reach; 0 for none.
	MotoGoal float64
	// Moto reports whether the scenario also runs against moto_server.
	Moto bool
	// Temp reports whether the scenario needs temporary credentials.
	Temp bool
	// Build signs the scenario's requests for t at now, rendered for replay.
	Build func(t *Target, now time.Time) ([][]byte, error)
}

// Scenarios are the harness's scenarios, in the order they run.
var Scenarios = []Scenario{
	{Name: "GetRole", Description: "iam:GetRole, header-signed by the root's long-term key, over the 100 roles",
		CeilingGoal: 0.5, Moto: true, Build: func(t *Target, now time.Time) ([][]byte, error) {
			var reqs [][]byte
			for _, r := range t.Roles {
				raw, err := signedPost(t, t.Root, "iam", "Action=GetRole&RoleName="+url.QueryEscape(r)+"&Version=2010-05-08", now)
				if err != nil {
					return nil, err
				}
				reqs = append(reqs, raw)
			}
			return reqs, nil
		}},
	{Name: "ListRoles", Description: "iam:ListRoles with MaxItems=100 (a page of 100 roles), header-signed by the root",
		Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(signedPost(t, t.Root, "iam", "Action=ListRoles&MaxItems=100&Version=2010-05-08", now))
		}},
	{Name: "GetCallerIdentity", Description: "sts:GetCallerIdentity, header-signed by the root's long-term key",
		Moto: true, Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(signedPost(t, t.Root, "sts", "Action=GetCallerIdentity&Version=2011-06-15", now))
		}},
	{Name: "GetCallerIdentity/presigned", Description: "sts:GetCallerIdentity as a presigned GET URL, root's long-term key",
		Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(presignedGet(t, t.Root, "sts", "Action=GetCallerIdentity&Version=2011-06-15", now))
		}},
	{Name: "AssumeRole", Description: "sts:AssumeRole of a role trusting the account, header-signed by an IAM user allowed to",
		CeilingGoal: 0.25, MotoGoal: 100, Moto: true, Temp: true, Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(signedPost(t, t.User, "sts", "Action=AssumeRole&RoleArn="+url.QueryEscape(t.roleARN(0))+
				"&RoleSessionName=persona-load&DurationSeconds=3600&Version=2011-06-15", now))
		}},
	{Name: "GetCallerIdentity/temporary", Description: "sts:GetCallerIdentity, header-signed with AssumeRole's temporary credentials",
		Temp: true, Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(signedPost(t, t.Temp, "sts", "Action=GetCallerIdentity&Version=2011-06-15", now))
		}},
	{Name: "GetCallerIdentity/temporary/presigned", Description: "sts:GetCallerIdentity as a presigned GET URL with temporary credentials",
		CeilingGoal: 0.6, MotoGoal: 100, Moto: true, Temp: true, Build: func(t *Target, now time.Time) ([][]byte, error) {
			return one(presignedGet(t, t.Temp, "sts", "Action=GetCallerIdentity&Version=2011-06-15", now))
		}},
}

func one(b []byte, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

// signedPost is a form POST as aws-sdk-go-v2 sends it, signed in the Authorization header by the SDK's signer.
func signedPost(t *Target, c aws.Credentials, service, form string, now time.Time) ([]byte, error) {
	r, err := http.NewRequest(http.MethodPost, t.URL+"/", strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "persona-load")
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(context.Background(), c, r, hex.EncodeToString(sum[:]), service, Region, now); err != nil {
		return nil, err
	}
	return Render(r)
}

// presignedGet is a GET whose signature travels in the query string, as the SDK's presign clients make it (valid
// for 15 minutes).
func presignedGet(t *Target, c aws.Credentials, service, query string, now time.Time) ([]byte, error) {
	r, err := http.NewRequest(http.MethodGet, t.URL+"/?"+query+"&X-Amz-Expires=900", nil)
	if err != nil {
		return nil, err
	}
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	signed, header, err := v4.NewSigner().PresignHTTP(context.Background(), c, r, emptySHA256, service, Region, now)
	if err != nil {
		return nil, err
	}
	p, err := http.NewRequest(http.MethodGet, signed, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		if !strings.EqualFold(k, "Host") {
			p.Header[k] = v
		}
	}
	p.Header.Set("User-Agent", "persona-load")
	return Render(p)
}
