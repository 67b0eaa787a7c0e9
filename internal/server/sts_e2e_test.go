package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/persona-iam/persona/internal/store"
	persts "github.com/persona-iam/persona/internal/sts"
)

// userWithKey creates an IAM user with an access key and returns its credentials.
func (e *env) userWithKey(name string) aws.Credentials {
	e.t.Helper()
	ctx := context.Background()
	must[*iam.CreateUserOutput](e.t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	k := must[*iam.CreateAccessKeyOutput](e.t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).AccessKey
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKeyId), SecretAccessKey: aws.ToString(k.SecretAccessKey)}
}

// role creates a role with a trust policy and, when permissions is not empty, an inline policy; it returns its ARN.
func (e *env) role(c *iam.Client, name, trust, permissions string) string {
	e.t.Helper()
	ctx := context.Background()
	out := must[*iam.CreateRoleOutput](e.t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}))
	if permissions != "" {
		must[*iam.PutRolePolicyOutput](e.t)(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("perms"), PolicyDocument: aws.String(permissions)}))
	}
	return aws.ToString(out.Role.Arn)
}

func trustAWS(principal string, actions ...string) string {
	if len(actions) == 0 {
		actions = []string{"sts:AssumeRole"}
	}
	a, _ := json.Marshal(actions)
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":%s}]}`, principal, a)
}

func allow(actions, resource string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%s,"Resource":%q}]}`, actions, resource)
}

// provider returns an aws-sdk-go-v2 stscreds assume-role provider signed by c.
func (e *env) provider(c aws.Credentials, roleARN string, opts ...func(*stscreds.AssumeRoleOptions)) *aws.CredentialsCache {
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(e.stsAs(c), roleARN, opts...))
}

func (e *env) cfgProvider(p aws.CredentialsProvider) aws.Config {
	cfg := e.cfg(aws.Credentials{})
	cfg.Credentials = p
	return cfg
}

func (e *env) sessionCreds(out *sts.AssumeRoleOutput) aws.Credentials {
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}
}

// TestAssumeRoleWithSDKProvider drives AssumeRole through aws-sdk-go-v2's own stscreds provider and uses the
// session on IAM: what the role allows works, what it does not is denied, a change to the role applies to the live
// session, and the console's "revoke active sessions" deny ends it.
func TestAssumeRoleWithSDKProvider(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			alice := e.userWithKey("alice")
			roleARN := e.role(e.iam, "Reader", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`["iam:ListRoles","iam:GetRole"]`, "*"))

			prov := e.provider(alice, roleARN, func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "Session1" })
			asRole := iam.NewFromConfig(e.cfgProvider(prov))
			stsRole := sts.NewFromConfig(e.cfgProvider(prov))

			// Same account, trust policy naming alice: no identity policy of alice's is needed.
			must[*iam.ListRolesOutput](t)(asRole.ListRoles(ctx, &iam.ListRolesInput{}))
			creds := must[aws.Credentials](t)(prov.Retrieve(ctx))
			if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 || len(creds.SecretAccessKey) != 40 || creds.SessionToken == "" {
				t.Errorf("credentials %s / %d-char secret / token %d chars", creds.AccessKeyID, len(creds.SecretAccessKey), len(creds.SessionToken))
			}
			who := must[*sts.GetCallerIdentityOutput](t)(stsRole.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Reader")})).Role
			if got, want := aws.ToString(who.Arn), "arn:aws:sts::"+testAccount+":assumed-role/Reader/Session1"; got != want {
				t.Errorf("Arn = %s, want %s", got, want)
			}
			if got, want := aws.ToString(who.UserId), aws.ToString(role.RoleId)+":Session1"; got != want {
				t.Errorf("UserId = %s, want %s", got, want)
			}

			_, err := asRole.ListUsers(ctx, &iam.ListUsersInput{})
			ae := apiError(t, err, "AccessDenied")
			if want := "User: arn:aws:sts::" + testAccount + ":assumed-role/Reader/Session1 is not authorized to perform: iam:ListUsers"; !strings.HasPrefix(ae.ErrorMessage(), want) ||
				!strings.HasSuffix(ae.ErrorMessage(), "because no identity-based policy allows the iam:ListUsers action") {
				t.Errorf("message = %q", ae.ErrorMessage())
			}

			// A policy change on the role applies to the live session.
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Reader"), PolicyName: aws.String("more"), PolicyDocument: aws.String(allow(`"iam:ListUsers"`, "*"))}))
			must[*iam.ListUsersOutput](t)(asRole.ListUsers(ctx, &iam.ListUsersInput{}))

			// Revoke active sessions: deny everything to sessions issued before a time after this one's issue.
			revokeTime := time.Now().UTC().Truncate(time.Second).Add(time.Second)
			revokeAt := revokeTime.Format(time.RFC3339)
			must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Reader"), PolicyName: aws.String("AWSRevokeOlderSessions"), PolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + revokeAt + `"}}}]}`)}))
			_, err = asRole.ListRoles(ctx, &iam.ListRolesInput{})
			ae = apiError(t, err, "AccessDenied")
			if !strings.HasSuffix(ae.ErrorMessage(), "with an explicit deny in an identity-based policy") {
				t.Errorf("revoked session: %q", ae.ErrorMessage())
			}
			// GetCallerIdentity still answers: it needs no permission.
			must[*sts.GetCallerIdentityOutput](t)(stsRole.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			// Sessions issued from the revocation time on are not affected.
			time.Sleep(time.Until(revokeTime))
			fresh := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("fresh")}))
			must[*iam.ListRolesOutput](t)(e.iamAs(e.sessionCreds(fresh)).ListRoles(ctx, &iam.ListRolesInput{}))
		})
	}
}

// TestAssumeRoleDecisionRules pins the same-account rules: a trust policy naming the account delegates to the
// caller's identity policies; root may not assume roles; inputs are validated as AWS does.
func TestAssumeRoleDecisionRules(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	bob := e.userWithKey("bob")
	roleARN := e.role(e.iam, "AccountTrust", trustAWS("arn:aws:iam::"+testAccount+":root"), allow(`"iam:ListRoles"`, "*"))
	bobSTS := e.stsAs(bob)

	_, err := bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")})
	ae := apiError(t, err, "AccessDenied")
	if want := "User: arn:aws:iam::" + testAccount + ":user/bob is not authorized to perform: sts:AssumeRole on resource: " + roleARN; ae.ErrorMessage() != want {
		t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), want)
	}
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, roleARN))}))
	out := must[*sts.AssumeRoleOutput](t)(bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)}))
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d > 900*time.Second || d < 800*time.Second {
		t.Errorf("expiration in %s, want 15 minutes", d)
	}
	if out.PackedPolicySize != nil {
		t.Errorf("PackedPolicySize = %d without session policies or tags", *out.PackedPolicySize)
	}
	// A changed trust policy applies to the next AssumeRole at once (no stale cached role).
	trustDoc := trustAWS("arn:aws:iam::" + testAccount + ":root")
	must[*iam.UpdateAssumeRolePolicyOutput](t)(e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("AccountTrust"), PolicyDocument: aws.String(ec2Trust)}))
	_, err = bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied")
	must[*iam.UpdateAssumeRolePolicyOutput](t)(e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("AccountTrust"), PolicyDocument: aws.String(trustDoc)}))

	// Regression: in its own account a role's trust policy must still allow the caller; an identity policy allowing
	// sts:AssumeRole on every role does not reach a role that trusts only a service.
	ec2Role := e.role(e.iam, "Instances", ec2Trust, allow(`"iam:*"`, "*"))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("assume-all"), PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "*"))}))
	_, err = bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ec2Role), RoleSessionName: aws.String("escalate")})
	apiError(t, err, "AccessDenied")

	// ABAC in the trust policy: the caller's own tags (aws:PrincipalTag) are seen.
	abacRole := e.role(e.iam, "Abac", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`, "")
	_, err = bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(abacRole), RoleSessionName: aws.String("abac")})
	apiError(t, err, "AccessDenied")
	must[*iam.TagUserOutput](t)(e.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("bob"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}}))
	must[*sts.AssumeRoleOutput](t)(bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(abacRole), RoleSessionName: aws.String("abac")}))

	// A role that does not exist is refused like one that does not trust the caller.
	_, err = bobSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/Nope"), RoleSessionName: aws.String("s1")})
	apiError(t, err, "AccessDenied")

	_, err = e.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")})
	if ae := apiError(t, err, "AccessDenied"); ae.ErrorMessage() != "Roles may not be assumed by root accounts." {
		t.Errorf("root: %q", ae.ErrorMessage())
	}

	for _, tc := range []struct {
		name, code, msg string
		in              sts.AssumeRoleInput
	}{
		{"duration over the role's maximum", "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)}},
		{"duration under 900", "ValidationError", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)}},
		{"bad session name", "ValidationError", "",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("bad name!")}},
		{"not a role ARN", "ValidationError", "Request ARN is invalid",
			sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":user/bob"), RoleSessionName: aws.String("s1")}},
		{"session policy too long", "ValidationError", "",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Sid":"` + strings.Repeat("a", 2100) + `"}]}`)}},
		{"malformed session policy", "MalformedPolicyDocument", "",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`)}},
		{"duplicate tag keys", "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Tags: []ststypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}}},
		{"tags without sts:TagSession", "AccessDenied", "User: arn:aws:iam::" + testAccount + ":user/bob is not authorized to perform: sts:TagSession on resource: " + roleARN,
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Tags: []ststypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}},
		{"source identity without sts:SetSourceIdentity", "AccessDenied", "User: arn:aws:iam::" + testAccount + ":user/bob is not authorized to perform: sts:SetSourceIdentity on resource: " + roleARN,
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("bob")}},
		{"session policy of another account", "InvalidParameterValue", "",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::444455556666:policy/Admin")}}}},
		{"packed tags too large", "PackedPolicyTooLarge", "",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Tags: bigTags()}},
		{"another partition", "AccessDenied", "",
			sts.AssumeRoleInput{RoleArn: aws.String(strings.Replace(roleARN, "arn:aws:", "arn:aws-cn:", 1)), RoleSessionName: aws.String("s1")}},
		{"MFA code without serial", "AccessDenied", "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
			sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), TokenCode: aws.String("123456")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bobSTS.AssumeRole(ctx, &tc.in)
			ae := apiError(t, err, tc.code)
			if tc.msg != "" && ae.ErrorMessage() != tc.msg {
				t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), tc.msg)
			}
		})
	}
}

// TestSessionPoliciesNarrow: a session policy intersects with the role's policies, and PackedPolicySize is
// reported.
func TestSessionPoliciesNarrow(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "Wide", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`"iam:List*"`, "*"))
	out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("narrow"),
		Policy:     aws.String(allow(`["iam:ListRoles","iam:CreateUser"]`, "*")),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}},
	}))
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Errorf("PackedPolicySize = %v", out.PackedPolicySize)
	}
	c := e.iamAs(e.sessionCreds(out))
	must[*iam.ListRolesOutput](t)(c.ListRoles(ctx, &iam.ListRolesInput{}))
	must[*iam.ListUsersOutput](t)(c.ListUsers(ctx, &iam.ListUsersInput{})) // the managed session policy allows it
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	ae := apiError(t, err, "AccessDenied")
	if !strings.HasSuffix(ae.ErrorMessage(), "because no identity-based policy allows the iam:CreateUser action") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	must[*iam.ListGroupsOutput](t)(c.ListGroups(ctx, &iam.ListGroupsInput{}))

	// Only the inline session policy: what it leaves out is denied even though the role allows it.
	out = must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("narrower"), Policy: aws.String(allow(`"iam:ListRoles"`, "*")),
	}))
	c = e.iamAs(e.sessionCreds(out))
	_, err = c.ListUsers(ctx, &iam.ListUsersInput{})
	ae = apiError(t, err, "AccessDenied")
	if !strings.HasSuffix(ae.ErrorMessage(), "because no session policy allows the iam:ListUsers action") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
}

// TestTemporaryCredentialFailures: tampered, mismatched and expired tokens get AWS's codes.
func TestTemporaryCredentialFailures(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`"iam:ListRoles"`, "*"))
	out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")}))
	good := e.sessionCreds(out)
	must[*iam.ListRolesOutput](t)(e.iamAs(good).ListRoles(ctx, &iam.ListRolesInput{}))

	tampered := good
	b := []byte(good.SessionToken)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	tampered.SessionToken = string(b)
	other := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("t1")}))
	swapped := good
	swapped.SessionToken = aws.ToString(other.Credentials.SessionToken)
	wrongSecret := good
	wrongSecret.SecretAccessKey = strings.Repeat("x", 40)

	// An expired token, sealed with the server's own ring.
	now := time.Now()
	role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("R")})).Role
	old, _, err := persts.MintRoleSession(e.srv.cfg.Keyring.Ring(), persts.RoleSession{RoleARN: roleARN, RoleID: aws.ToString(role.RoleId), SessionName: "old", Duration: time.Hour}, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired := aws.Credentials{AccessKeyID: old.AccessKeyId, SecretAccessKey: old.SecretAccessKey, SessionToken: old.SessionToken}

	for _, tc := range []struct {
		name  string
		creds aws.Credentials
		code  string
		msg   string
	}{
		{"tampered token", tampered, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"token of another key id", swapped, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"wrong secret", wrongSecret, "SignatureDoesNotMatch", ""},
		{"expired token", expired, "ExpiredToken", "The security token included in the request is expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.iamAs(tc.creds).ListRoles(ctx, &iam.ListRolesInput{})
			ae := apiError(t, err, tc.code)
			if tc.msg != "" && ae.ErrorMessage() != tc.msg {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tc.msg)
			}
			_, err = e.stsAs(tc.creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			apiError(t, err, tc.code)
		})
	}

	// A session of a role that was deleted and re-created under the same name does not get the new role's rights.
	for _, p := range []string{"perms"} {
		must[*iam.DeleteRolePolicyOutput](t)(e.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("R"), PolicyName: aws.String(p)}))
	}
	must[*iam.DeleteRoleOutput](t)(e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("R")}))
	_, err = e.iamAs(good).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "AccessDenied")
	e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":root"), allow(`"iam:*"`, "*"))
	_, err = e.iamAs(good).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "AccessDenied")
}

// secondAccount creates another account with a root access key directly in the store and returns its root
// credentials.
func (e *env) secondAccount(id string) aws.Credentials {
	e.t.Helper()
	keyID, secret := "AKIA"+strings.Repeat("B", 12)+id[:4], "secondAccountSecretKeyEXAMPLEKEYxxxxxxxx"
	err := e.st.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		acct, _ := json.Marshal(store.Account{ID: id, Name: "second", Created: tx.Now()})
		if err := tx.Create(ctx, store.Record{Kind: store.KindAccount, Key: id, Data: acct}); err != nil {
			return err
		}
		k, _ := json.Marshal(store.AccessKey{ID: keyID, Status: "Active", Secret: e.srv.cfg.Box.Seal([]byte(secret), []byte(keyID)), Created: tx.Now()})
		return tx.Create(ctx, store.Record{Kind: store.KindAccessKey, Account: id, Key: "/" + keyID, ID: keyID, Data: k})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
}

// TestAssumeRoleCrossAccount: the trust policy in the role's account and the caller's identity policies in its own
// must both allow; ExternalId guards the confused deputy.
func TestAssumeRoleCrossAccount(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			const other = "444455556666"
			rootB := e.iamAs(e.secondAccount(other))
			sharedARN := e.role(rootB, "Shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"deputy-42"}}}]}`, allow(`"iam:ListRoles"`, "*"))
			carol := e.userWithKey("carol") // before a trust policy names her: IAM refuses a principal that does not exist
			namedARN := e.role(rootB, "Named", trustAWS("arn:aws:iam::"+testAccount+":user/carol"), allow(`"iam:ListRoles"`, "*"))
			carolSTS := e.stsAs(carol)

			// Without an identity policy in her own account, not even a trust policy naming carol suffices.
			_, err := carolSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(namedARN), RoleSessionName: aws.String("x1")})
			apiError(t, err, "AccessDenied")
			_, err = carolSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(sharedARN), RoleSessionName: aws.String("x1"), ExternalId: aws.String("deputy-42")})
			apiError(t, err, "AccessDenied")

			must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "arn:aws:iam::"+other+":role/*"))}))
			must[*sts.AssumeRoleOutput](t)(carolSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(namedARN), RoleSessionName: aws.String("x1")}))

			// The confused deputy: the wrong or a missing external id is refused.
			for _, ext := range []string{"", "deputy-43"} {
				in := &sts.AssumeRoleInput{RoleArn: aws.String(sharedARN), RoleSessionName: aws.String("x1")}
				if ext != "" {
					in.ExternalId = aws.String(ext)
				}
				_, err = carolSTS.AssumeRole(ctx, in)
				apiError(t, err, "AccessDenied")
			}

			// The SDK provider with ExternalID; the session lives in the role's account.
			prov := e.provider(carol, sharedARN, func(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("deputy-42") })
			who := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(e.cfgProvider(prov)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			if aws.ToString(who.Account) != other || !strings.HasPrefix(aws.ToString(who.Arn), "arn:aws:sts::"+other+":assumed-role/Shared/") {
				t.Errorf("caller identity %s %s", aws.ToString(who.Account), aws.ToString(who.Arn))
			}
			roles := must[*iam.ListRolesOutput](t)(iam.NewFromConfig(e.cfgProvider(prov)).ListRoles(ctx, &iam.ListRolesInput{}))
			if len(roles.Roles) != 2 || !strings.Contains(aws.ToString(roles.Roles[0].Arn), other) {
				t.Errorf("the session listed %d roles, want account %s's two", len(roles.Roles), other)
			}
			// Account B's session cannot touch account A's roles.
			_, err = iam.NewFromConfig(e.cfgProvider(prov)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Missing")})
			apiError(t, err, "AccessDenied")
		})
	}
}

// TestRoleChaining: a role session assumes another role; the chain is limited to one hour, transitive tags and the
// source identity pass along.
func TestRoleChaining(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	firstARN := e.role(e.iam, "First", trustAWS("arn:aws:iam::"+testAccount+":user/alice", "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"), "")
	secondARN := e.role(e.iam, "Second", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+firstARN+`"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"sts:TransitiveTag/team":"blue"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:SourceIdentity":"alice"}}}]}`)
	must[*iam.UpdateRoleOutput](t)(e.iam.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("Second"), MaxSessionDuration: aws.Int32(7200)}))

	first := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(firstARN), RoleSessionName: aws.String("one"), SourceIdentity: aws.String("alice"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}, TransitiveTagKeys: []string{"team"},
	}))
	if aws.ToString(first.SourceIdentity) != "alice" || first.PackedPolicySize == nil {
		t.Errorf("SourceIdentity %q PackedPolicySize %v", aws.ToString(first.SourceIdentity), first.PackedPolicySize)
	}
	firstSTS := e.stsAs(e.sessionCreds(first))
	_, err := firstSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(secondARN), RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(3601)})
	if ae := apiError(t, err, "ValidationError"); ae.ErrorMessage() != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = firstSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(secondARN), RoleSessionName: aws.String("two"), SourceIdentity: aws.String("mallory")})
	apiError(t, err, "InvalidParameterValue")
	_, err = firstSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(secondARN), RoleSessionName: aws.String("two"), Tags: []ststypes.Tag{{Key: aws.String("Team"), Value: aws.String("red")}}})
	apiError(t, err, "InvalidParameterValue")

	second := must[*sts.AssumeRoleOutput](t)(firstSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(secondARN), RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(3600)}))
	if aws.ToString(second.SourceIdentity) != "alice" {
		t.Errorf("chained SourceIdentity = %q, want it inherited", aws.ToString(second.SourceIdentity))
	}
	// The condition on the transitive tag and the source identity holds only because both passed along.
	must[*iam.ListRolesOutput](t)(e.iamAs(e.sessionCreds(second)).ListRoles(ctx, &iam.ListRolesInput{}))

	// A trust policy that does not allow sts:SetSourceIdentity refuses a chain that carries one.
	thirdARN := e.role(e.iam, "Third", trustAWS(firstARN), "")
	_, err = firstSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(thirdARN), RoleSessionName: aws.String("three")})
	apiError(t, err, "AccessDenied")
}

// TestKeyRotationKeepsLiveSessions: after the ring rotates in the store, the server picks it up; tokens sealed
// before keep working and new ones use the new key.
func TestKeyRotationKeepsLiveSessions(t *testing.T) {
	e := newEnv(t, postgresStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`"iam:ListRoles"`, "*"))
	before := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")}))
	res, err := persts.RotateKeyring(ctx, e.st, e.srv.cfg.Box)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.cfg.Keyring.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	after := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1")}))
	for _, out := range []*sts.AssumeRoleOutput{before, after} {
		must[*iam.ListRolesOutput](t)(e.iamAs(e.sessionCreds(out)).ListRoles(ctx, &iam.ListRolesInput{}))
	}
	sess, err := e.srv.cfg.Keyring.Ring().Open(aws.ToString(after.Credentials.SessionToken), time.Now())
	if err != nil || sess.SessionName != "s1" {
		t.Fatalf("open: %v", err)
	}
	if _, active := e.srv.cfg.Keyring.Ring().Keys(); active != res.Active {
		t.Errorf("server's active key %d, want the rotated %d", active, res.Active)
	}
}

// TestNodesShareSessionKeys: two servers on one PostgreSQL store share the key ring: credentials minted by one
// work on the other, a rotation reaches both through the store's change sequence, and a node that has not yet
// noticed a rotation reloads the ring when a token names a key it does not have.
func TestNodesShareSessionKeys(t *testing.T) {
	e := newEnv(t, postgresStore)
	ctx := context.Background()
	// Node 2 does not poll in this test's lifetime: only on-demand refreshes can teach it the new key.
	node2 := New(Config{Store: e.st, Box: e.srv.cfg.Box, WatchInterval: time.Hour})
	runCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go node2.Run(runCtx)
	hs := httptest.NewServer(node2)
	t.Cleanup(hs.Close)
	e2 := &env{t: t, url: hs.URL, st: e.st, srv: node2}

	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`"iam:ListRoles"`, "*"))
	fromNode1 := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("n1")}))
	must[*iam.ListRolesOutput](t)(e2.iamAs(e.sessionCreds(fromNode1)).ListRoles(ctx, &iam.ListRolesInput{}))

	res, err := persts.RotateKeyring(ctx, e.st, e.srv.cfg.Box)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.cfg.Keyring.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, active := node2.cfg.Keyring.Ring().Keys(); active == res.Active {
		t.Fatal("node 2 already has the rotated ring; the test would prove nothing")
	}
	rotated := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("n1b")}))
	must[*iam.ListRolesOutput](t)(e2.iamAs(e.sessionCreds(rotated)).ListRoles(ctx, &iam.ListRolesInput{}))
	if _, active := node2.cfg.Keyring.Ring().Keys(); active != res.Active {
		t.Errorf("node 2 active key %d after an on-demand refresh, want %d", active, res.Active)
	}
	fromNode2 := must[*sts.AssumeRoleOutput](t)(e2.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("n2")}))
	for _, out := range []*sts.AssumeRoleOutput{fromNode1, rotated, fromNode2} {
		for _, n := range []*env{e, e2} {
			must[*iam.ListRolesOutput](t)(n.iamAs(e.sessionCreds(out)).ListRoles(ctx, &iam.ListRolesInput{}))
		}
	}
}

// bigTags returns 50 session tags of maximal, incompressible (random) keys and values.
func bigTags() []ststypes.Tag {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	var tags []ststypes.Tag
	for range 50 {
		tags = append(tags, ststypes.Tag{Key: aws.String(word(128)), Value: aws.String(word(256))})
	}
	return tags
}

// TestSessionContextKeys: a role session is authorized with AWS's context keys for it: aws:PrincipalArn is the
// role's ARN, aws:userid is ROLEID:session, aws:PrincipalType AssumedRole, role tags and (overriding them) session
// tags as aws:PrincipalTag, aws:TokenIssueTime, and aws:MultiFactorAuthPresent false without MFA.
func TestSessionContextKeys(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "Ctx", trustAWS("arn:aws:iam::"+testAccount+":user/alice", "sts:AssumeRole", "sts:TagSession"), "")
	must[*iam.TagRoleOutput](t)(e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("Ctx"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}))
	role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Ctx")})).Role
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Ctx"), PolicyName: aws.String("keys"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{
		"StringEquals":{"aws:PrincipalArn":"` + roleARN + `","aws:PrincipalType":"AssumedRole","aws:userid":"` + aws.ToString(role.RoleId) + `:ctx","aws:PrincipalTag/env":"prod","aws:PrincipalAccount":"` + testAccount + `"},
		"Bool":{"aws:MultiFactorAuthPresent":"false"},
		"Null":{"aws:TokenIssueTime":"false"}}}]}`)}))
	out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ctx")}))
	must[*iam.ListRolesOutput](t)(e.iamAs(e.sessionCreds(out)).ListRoles(ctx, &iam.ListRolesInput{}))

	// Another session name, or a session tag overriding the role's tag, no longer satisfies the conditions.
	for _, in := range []*sts.AssumeRoleInput{
		{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("other")},
		{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("ctx"), Tags: []ststypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}},
	} {
		out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, in))
		_, err := e.iamAs(e.sessionCreds(out)).ListRoles(ctx, &iam.ListRolesInput{})
		apiError(t, err, "AccessDenied")
	}
}
