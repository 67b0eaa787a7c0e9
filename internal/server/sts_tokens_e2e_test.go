package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/persona-iam/persona/internal/authz"
	persts "github.com/persona-iam/persona/internal/sts"
)

func stsCreds(akid, secret, tok *string) aws.Credentials {
	return aws.Credentials{AccessKeyID: aws.ToString(akid), SecretAccessKey: aws.ToString(secret), SessionToken: aws.ToString(tok)}
}

// fakeMFA accepts code 123456 from alice's device only.
func fakeMFA(_ context.Context, account, user, serial, code string) error {
	if account == testAccount && user == "alice" && serial == "arn:aws:iam::"+testAccount+":mfa/alice" && code == "123456" {
		return nil
	}
	return errors.New("invalid code")
}

// TestGetSessionToken: users' and root's session credentials, IAM refused without MFA, MFA through the verifier
// seam, and the SDK's assume-role provider with an MFA token provider.
func TestGetSessionToken(t *testing.T) {
	e := newEnv(t, sqliteStore)
	e.srv.sts.(*persts.Service).SetMFAVerifier(fakeMFA)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)}))

	out := must[*sts.GetSessionTokenOutput](t)(e.stsAs(alice).GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 11*time.Hour || d > 12*time.Hour {
		t.Errorf("default duration: expires in %s, want 12 hours", d)
	}
	plain := stsCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(plain).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(who.Arn) != "arn:aws:iam::"+testAccount+":user/alice" {
		t.Errorf("caller = %s", aws.ToString(who.Arn))
	}
	_, err := e.iamAs(plain).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "InvalidClientTokenId")
	_, err = e.stsAs(plain).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if ae := apiError(t, err, "AccessDenied"); ae.ErrorMessage() != "Cannot call GetSessionToken with session credentials" {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = e.stsAs(plain).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)})
	apiError(t, err, "AccessDenied")

	_, err = e.stsAs(alice).GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::" + testAccount + ":mfa/alice"), TokenCode: aws.String("000000")})
	if ae := apiError(t, err, "AccessDenied"); ae.ErrorMessage() != "MultiFactorAuthentication failed with invalid MFA one time pass code." {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	out = must[*sts.GetSessionTokenOutput](t)(e.stsAs(alice).GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber: aws.String("arn:aws:iam::" + testAccount + ":mfa/alice"), TokenCode: aws.String("123456"), DurationSeconds: aws.Int32(900)}))
	withMFA := stsCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	must[*iam.ListRolesOutput](t)(e.iamAs(withMFA).ListRoles(ctx, &iam.ListRolesInput{}))

	// An MFA-protected role, through the SDK provider's MFA token provider.
	roleARN := e.role(e.iam, "Guarded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:user/alice"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`, allow(`"iam:ListRoles"`, "*"))
	_, err = e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("nomfa")})
	apiError(t, err, "AccessDenied")
	prov := e.provider(alice, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.SerialNumber = aws.String("arn:aws:iam::" + testAccount + ":mfa/alice")
		o.TokenProvider = func() (string, error) { return "123456", nil }
	})
	must[*iam.ListRolesOutput](t)(iam.NewFromConfig(e.cfgProvider(prov)).ListRoles(ctx, &iam.ListRolesInput{}))
	// A session made with MFA passes it on: GetSessionToken with MFA, then AssumeRole without a code.
	must[*sts.AssumeRoleOutput](t)(e.stsAs(withMFA).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("viasession")}))

	// Root: sessions last at most an hour.
	rootOut := must[*sts.GetSessionTokenOutput](t)(e.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)}))
	if d := time.Until(aws.ToTime(rootOut.Credentials.Expiration)); d > time.Hour {
		t.Errorf("root session expires in %s, want at most an hour", d)
	}
	rootWho := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(stsCreds(rootOut.Credentials.AccessKeyId, rootOut.Credentials.SecretAccessKey, rootOut.Credentials.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(rootWho.Arn) != "arn:aws:iam::"+testAccount+":root" || aws.ToString(rootWho.UserId) != testAccount {
		t.Errorf("root session caller = %s %s", aws.ToString(rootWho.Arn), aws.ToString(rootWho.UserId))
	}
}

// TestGetFederationToken: the federated user's identity, its limits (no IAM, no STS but GetCallerIdentity), and
// the permission it needs.
func TestGetFederationToken(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	bob := e.userWithKey("bob")
	_, err := e.stsAs(bob).GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("Jane")})
	ae := apiError(t, err, "AccessDenied")
	if want := "User: arn:aws:iam::" + testAccount + ":user/bob is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::" + testAccount + ":federated-user/Jane"; !strings.HasPrefix(ae.ErrorMessage(), want) {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(
		allow(`["sts:GetFederationToken","iam:ListRoles"]`, "*"))}))
	out := must[*sts.GetFederationTokenOutput](t)(e.stsAs(bob).GetFederationToken(ctx, &sts.GetFederationTokenInput{
		Name: aws.String("Jane"), Policy: aws.String(allow(`"iam:ListRoles"`, "*")), DurationSeconds: aws.Int32(3600)}))
	if aws.ToString(out.FederatedUser.Arn) != "arn:aws:sts::"+testAccount+":federated-user/Jane" || aws.ToString(out.FederatedUser.FederatedUserId) != testAccount+":Jane" {
		t.Errorf("FederatedUser = %s %s", aws.ToString(out.FederatedUser.Arn), aws.ToString(out.FederatedUser.FederatedUserId))
	}
	if out.PackedPolicySize == nil {
		t.Error("no PackedPolicySize with a session policy")
	}
	jane := stsCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(jane).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(who.Arn) != "arn:aws:sts::"+testAccount+":federated-user/Jane" || aws.ToString(who.UserId) != testAccount+":Jane" || aws.ToString(who.Account) != testAccount {
		t.Errorf("caller = %s %s %s", aws.ToString(who.Arn), aws.ToString(who.UserId), aws.ToString(who.Account))
	}
	_, err = e.iamAs(jane).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "AccessDenied")
	_, err = e.stsAs(jane).GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("Again")})
	apiError(t, err, "AccessDenied")
	roleARN := e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":root"), "")
	_, err = e.stsAs(jane).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("jj")})
	apiError(t, err, "AccessDenied")

	rootFed := must[*sts.GetFederationTokenOutput](t)(e.sts.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("Ops")}))
	if d := time.Until(aws.ToTime(rootFed.Credentials.Expiration)); d > time.Hour {
		t.Errorf("root's federated user expires in %s, want at most an hour", d)
	}
}

// TestGetAccessKeyInfo: long-term keys are looked up, temporary ones name their account; the call needs
// sts:GetAccessKeyInfo.
func TestGetAccessKeyInfo(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const other = "444455556666"
	rootB := e.secondAccount(other)
	sharedARN := e.role(e.iamAs(rootB), "Shared", trustAWS("arn:aws:iam::"+testAccount+":root"), "")
	bob := e.userWithKey("bob")
	_, err := e.stsAs(bob).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(bob.AccessKeyID)})
	apiError(t, err, "AccessDenied")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(
		allow(`["sts:GetAccessKeyInfo","sts:AssumeRole"]`, "*"))}))
	session := must[*sts.AssumeRoleOutput](t)(e.stsAs(bob).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(sharedARN), RoleSessionName: aws.String("x1")}))
	for key, want := range map[string]string{
		bob.AccessKeyID:   testAccount,
		testRootKey:       testAccount,
		rootB.AccessKeyID: other,
		aws.ToString(session.Credentials.AccessKeyId): other,
	} {
		got := must[*sts.GetAccessKeyInfoOutput](t)(e.stsAs(bob).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(key)}))
		if aws.ToString(got.Account) != want {
			t.Errorf("GetAccessKeyInfo(%s) = %s, want %s", key, aws.ToString(got.Account), want)
		}
	}
	_, err = e.stsAs(bob).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA")})
	apiError(t, err, "InvalidParameterValue")
}

// TestDecodeAuthorizationMessage: IAM's own denials carry no encoded message, as AWS's do not; a message encoded
// for a denial decodes only for a caller of its account allowed sts:DecodeAuthorizationMessage.
func TestDecodeAuthorizationMessage(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	bob := e.userWithKey("bob")
	_, err := e.iamAs(bob).ListUsers(ctx, &iam.ListUsersInput{})
	if ae := apiError(t, err, "AccessDenied"); strings.Contains(ae.ErrorMessage(), "Encoded authorization failure message") {
		t.Errorf("IAM denial carries an encoded message: %q", ae.ErrorMessage())
	}

	p := &authz.Principal{Type: authz.IAMUser, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/bob", UserID: "AIDAEXAMPLE", Name: "bob"}
	denied := &authz.DeniedError{PrincipalARN: p.ARN, Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1:" + testAccount + ":instance/*"}
	encoded, err := persts.EncodeAuthorizationMessage(e.srv.cfg.Box, p, denied, map[string][]string{"ec2:InstanceType": {"t3.micro"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.stsAs(bob).DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)})
	apiError(t, err, "AccessDenied")

	out := must[*sts.DecodeAuthorizationMessageOutput](t)(e.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)}))
	var msg struct {
		Allowed      bool `json:"allowed"`
		ExplicitDeny bool `json:"explicitDeny"`
		Context      struct {
			Principal  struct{ ID, ARN string } `json:"principal"`
			Action     string                   `json:"action"`
			Resource   string                   `json:"resource"`
			Conditions struct {
				Items []struct {
					Key    string `json:"key"`
					Values struct {
						Items []struct{ Value string } `json:"items"`
					} `json:"values"`
				} `json:"items"`
			} `json:"conditions"`
		} `json:"context"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.DecodedMessage)), &msg); err != nil {
		t.Fatalf("decoded message %q: %v", aws.ToString(out.DecodedMessage), err)
	}
	if msg.Allowed || msg.ExplicitDeny || msg.Context.Action != "ec2:RunInstances" || msg.Context.Principal.ARN != p.ARN ||
		len(msg.Context.Conditions.Items) != 1 || msg.Context.Conditions.Items[0].Values.Items[0].Value != "t3.micro" {
		t.Errorf("decoded = %+v", msg)
	}

	for name, m := range map[string]string{"tampered": encoded[:len(encoded)-2] + "AA", "garbage": "not-a-message"} {
		_, err = e.sts.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(m)})
		if ae := apiError(t, err, "InvalidAuthorizationMessageException"); ae == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Another account's root cannot read this account's message.
	rootB := e.secondAccount("444455556666")
	_, err = e.stsAs(rootB).DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(encoded)})
	apiError(t, err, "InvalidAuthorizationMessageException")
}

// TestAssumeRoleWithVirtualMFA: the SDK's assume-role provider with an MFA token provider, against a virtual MFA
// device enabled through IAM; a replayed code is refused.
func TestAssumeRoleWithVirtualMFA(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-phone")})).VirtualMFADevice
	serial, seed := aws.ToString(dev.SerialNumber), string(dev.Base32StringSeed)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))
	roleARN := e.role(e.iam, "Guarded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:user/alice"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"300"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)

	code := totpAt(t, seed, now.Add(30*time.Second)) // the next code: the enabling ones are spent
	prov := e.provider(alice, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.SerialNumber = aws.String(serial)
		o.TokenProvider = func() (string, error) { return code, nil }
	})
	must[*iam.ListRolesOutput](t)(iam.NewFromConfig(e.cfgProvider(prov)).ListRoles(ctx, &iam.ListRolesInput{}))

	_, err := e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("replay"), SerialNumber: aws.String(serial), TokenCode: aws.String(code)})
	if ae := apiError(t, err, "AccessDenied"); ae.ErrorMessage() != "MultiFactorAuthentication failed with invalid MFA one time pass code." {
		t.Errorf("replayed code: %q", ae.ErrorMessage())
	}
}
