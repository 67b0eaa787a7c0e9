package server

// Attacks on Persona through the real HTTP server with aws-sdk-go-v2: each test is named after the attack it
// pins down, and fails if the attack succeeds.

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/persona-iam/persona/internal/oidc/oidctest"
	"github.com/persona-iam/persona/internal/saml/samltest"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// TestAttackAttachAdminPastPolicyARNGuard: a user allowed to manage policies, but denied attaching
// AdministratorAccess by the guard AWS documents (a Deny on iam:PolicyARN), attaches it to itself. IAM passes
// iam:PolicyARN on every Attach/Detach*Policy call, so the guard holds.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html#awsidentityandaccessmanagementiam-policy-keys
func TestAttackAttachAdminPastPolicyARNGuard(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mallory := e.iamAs(e.newUser("mallory", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["iam:Attach*","iam:Detach*","iam:Get*","iam:List*"],"Resource":"*"},
	 {"Effect":"Deny","Action":["iam:AttachUserPolicy","iam:AttachRolePolicy","iam:AttachGroupPolicy"],"Resource":"*",
	  "Condition":{"ArnEquals":{"iam:PolicyARN":"`+adminPolicyARN+`"}}}]}`))
		must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))

		_, err := mallory.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("mallory"), PolicyArn: aws.String(adminPolicyARN)})
		apiError(t, err, "AccessDenied")
		_, err = mallory.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: aws.String(adminPolicyARN)})
		apiError(t, err, "AccessDenied")
		// Another policy is not caught by the guard.
		must[*iam.AttachUserPolicyOutput](t)(mallory.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("mallory"),
			PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))

		// The allow-side form: "anything but AdministratorAccess" must not let AdministratorAccess through either.
		trent := e.iamAs(e.newUser("trent", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*",
	  "Condition":{"ArnNotEquals":{"iam:PolicyARN":"`+adminPolicyARN+`"}}}]}`))
		_, err = trent.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("trent"), PolicyArn: aws.String(adminPolicyARN)})
		apiError(t, err, "AccessDenied")
	})
}

// TestAttackReachAnotherAccountByARN: the root user and an administrator of one account name another account's
// policy, role and user by ARN; every call is refused and nothing of the other account is shown.
func TestAttackReachAnotherAccountByARN(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const other = "444455556666"
	otherRoot := e.addAccount(other, "AKIAOTHERACCOUNT2222", "otherAccountSecretKey0123456789abcdefghi")
	oiam := e.iamAs(otherRoot)
	pol := must[*iam.CreatePolicyOutput](t)(oiam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("secret"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}))
	must[*iam.CreateRoleOutput](t)(oiam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + other + `:root"},"Action":"sts:AssumeRole"}]}`)}))

	admin := e.newUser("admin", "")
	must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String(adminPolicyARN)}))
	for name, c := range map[string]*iam.Client{"root": e.iam, "admin": e.iamAs(admin)} {
		t.Run(name, func(t *testing.T) {
			_, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: pol.Policy.Arn})
			apiError(t, err, "AccessDenied")
			_, err = c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: pol.Policy.Arn, VersionId: aws.String("v1")})
			apiError(t, err, "AccessDenied")
			_, err = c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: pol.Policy.Arn})
			apiError(t, err, "AccessDenied")
			_, err = c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: pol.Policy.Arn, SetAsDefault: true,
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			apiError(t, err, "AccessDenied")
			_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: pol.Policy.Arn})
			apiError(t, err, "AccessDenied")
			// Attaching another account's policy: IAM refuses it.
			_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: pol.Policy.Arn})
			if err == nil {
				t.Fatal("attached another account's policy")
			}
			// Assuming the other account's role, whose trust names only its own account.
			_, err = e.stsAs(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + other + ":role/ops"), RoleSessionName: aws.String("xx")})
			apiError(t, err, "AccessDenied")
		})
	}
	// The other account's list does not leak through a marker taken from this one.
	for i := 0; i < 3; i++ {
		must[*iam.CreateUserOutput](t)(oiam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("o" + string(rune('a'+i)))}))
	}
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("b")}))
	page := must[*iam.ListUsersOutput](t)(e.iam.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(1)}))
	if page.Marker == nil {
		t.Fatal("want a marker")
	}
	next := must[*iam.ListUsersOutput](t)(e.iam.ListUsers(ctx, &iam.ListUsersInput{Marker: page.Marker, MaxItems: aws.Int32(100)}))
	for _, u := range next.Users {
		if aws.ToString(u.UserName)[0] == 'o' {
			t.Errorf("listed the other account's user %s", aws.ToString(u.UserName))
		}
	}
	forged := must[*iam.ListUsersOutput](t)(e.iam.ListUsers(ctx, &iam.ListUsersInput{Marker: aws.String("a"), MaxItems: aws.Int32(100)}))
	for _, u := range forged.Users {
		if aws.ToString(u.UserName)[0] == 'o' {
			t.Errorf("a forged marker listed the other account's user %s", aws.ToString(u.UserName))
		}
	}
}

// TestAttackDelegatedAdminEditsUnboundedUser: a delegated administrator may edit the policies only of users bound
// by a given permissions boundary (iam:PermissionsBoundary, AWS's documented delegation pattern). It can edit
// such a user, but not an unbounded one and not itself.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
func TestAttackDelegatedAdminEditsUnboundedUser(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const boundary = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	delegate := e.iamAs(e.newUser("delegate", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["iam:PutUserPolicy","iam:DeleteUserPolicy","iam:AttachUserPolicy","iam:DetachUserPolicy"],"Resource":"*",
	  "Condition":{"StringEquals":{"iam:PermissionsBoundary":"`+boundary+`"}}}]}`))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev"), PermissionsBoundary: aws.String(boundary)}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}))
	doc := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)

	must[*iam.PutUserPolicyOutput](t)(delegate.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("p"), PolicyDocument: doc}))
	must[*iam.AttachUserPolicyOutput](t)(delegate.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"), PolicyArn: aws.String(adminPolicyARN)}))
	for _, victim := range []string{"ops", "delegate"} {
		_, err := delegate.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(victim), PolicyName: aws.String("p"), PolicyDocument: doc})
		apiError(t, err, "AccessDenied")
		_, err = delegate.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(victim), PolicyArn: aws.String(adminPolicyARN)})
		apiError(t, err, "AccessDenied")
	}
}

// TestAttackPassRoleToECSAsEC2: a user allowed to pass roles to EC2 only (iam:PassedToService ec2.amazonaws.com)
// registers a container task (ServicePrincipal ecs-tasks.amazonaws.com) with the profile of a role that trusts
// only ECS tasks, and so would obtain that role's credentials. PassRole is checked for the service the role is
// really passed to.
func TestAttackPassRoleToECSAsEC2(t *testing.T) {
	e := newEnv(t, sqliteStore)
	const ecsTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	e.role(e.iam, "task-admin", ecsTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	e.instanceProfile("task", "task-admin")
	passTo := func(service string) string {
		return `{"Version":"2012-10-17","Statement":[
		 {"Effect":"Allow","Action":["ec2:RunInstances","ec2:AssociateIamInstanceProfile","ec2:ReplaceIamInstanceProfileAssociation"],"Resource":"*"},
		 {"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"` + service + `"}}}]}`
	}
	ec2Only := e.newUser("ec2only", passTo("ec2.amazonaws.com"))
	register := func(c aws.Credentials, params ...string) (int, string) {
		form := url.Values{"Action": {"RegisterInstance"}, "ServicePrincipal": {"ecs-tasks.amazonaws.com"}}
		for i := 0; i+1 < len(params); i += 2 {
			form.Set(params[i], params[i+1])
		}
		status, body := e.ec2Raw(c, form)
		return status, string(body)
	}
	status, body := register(ec2Only, "IamInstanceProfile.Name", "task")
	if status != 403 || !strings.Contains(body, "iam:PassRole") {
		t.Fatalf("RegisterInstance of an ECS task with PassRole to EC2 only = %d %s", status, body)
	}
	// Nor by associating the profile later.
	status, body = register(ec2Only)
	if status != 200 {
		t.Fatalf("RegisterInstance = %d %s", status, body)
	}
	var r registered
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	status, raw := e.ec2Raw(ec2Only, url.Values{"Action": {"AssociateIamInstanceProfile"}, "InstanceId": {r.InstanceID}, "IamInstanceProfile.Name": {"task"}})
	body = string(raw)
	if status != 403 || !strings.Contains(body, "iam:PassRole") {
		t.Fatalf("AssociateIamInstanceProfile of an ECS task with PassRole to EC2 only = %d %s", status, body)
	}
	// Passing to ECS tasks is what this takes.
	ecs := e.newUser("ecs", passTo("ecs-tasks.amazonaws.com"))
	if status, body = register(ecs, "IamInstanceProfile.Name", "task"); status != 200 {
		t.Fatalf("RegisterInstance with PassRole to ECS tasks = %d %s", status, body)
	}
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	status, raw = e.ec2Raw(ec2Only, url.Values{"Action": {"ReplaceIamInstanceProfileAssociation"}, "AssociationId": {r.Association.AssociationID}, "IamInstanceProfile.Name": {"task"}})
	body = string(raw)
	if status != 403 || !strings.Contains(body, "iam:PassRole") {
		t.Fatalf("ReplaceIamInstanceProfileAssociation of an ECS task with PassRole to EC2 only = %d %s", status, body)
	}
}

// TestAttackDeniedAssumeRoleWithMFALooksSuccessful: an AssumeRole call with an MFA code, refused by the role's trust
// policy, must be in the trail as refused. (Checking the code writes the device's last used step; that write must
// not commit the request's record early, as a success without error code or response.)
func TestAttackDeniedAssumeRoleWithMFALooksSuccessful(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.newUser("alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice")})).VirtualMFADevice
	seed := string(dev.Base32StringSeed)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: dev.SerialNumber,
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))
	roleARN := e.role(e.iam, "guarded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},
	 "Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"expected"}}}]}`, "")

	_, err := e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("probe"),
		SerialNumber: dev.SerialNumber, TokenCode: aws.String(totpAt(t, seed, now.Add(30*time.Second)))})
	apiError(t, err, "AccessDenied")
	recs := e.find(testAccount, "AssumeRole")
	if len(recs) != 1 {
		t.Fatalf("%d AssumeRole records, want 1", len(recs))
	}
	if recs[0].ErrorCode != "AccessDenied" {
		t.Errorf("the refused AssumeRole is recorded with errorCode %q, want AccessDenied", recs[0].ErrorCode)
	}
}

// TestAttackPasswordGuessesLookLikeChanges: ChangePassword with a wrong current password counts the failure in
// the store (so guessing locks out), and the trail must show each guess as failed, not as a password change.
func TestAttackPasswordGuessesLookLikeChanges(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	guesser := e.iamAs(e.newUser("guesser", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"*"}]}`))
	must[*iam.CreateLoginProfileOutput](t)(e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("guesser"), Password: aws.String("Corr3ct-Horse-Battery")}))
	_, err := guesser.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Wr0ng-Guess-Number-1"), NewPassword: aws.String("N3w-Password-Chosen")})
	if err == nil {
		t.Fatal("ChangePassword with a wrong old password succeeded")
	}
	recs := e.find(testAccount, "ChangePassword")
	if len(recs) != 1 {
		t.Fatalf("%d ChangePassword records, want 1", len(recs))
	}
	if recs[0].ErrorCode == "" {
		t.Error("a wrong-password ChangePassword is recorded as a successful password change")
	}
}

// TestAttackSimulatorFillsPolicyCache: SimulateCustomPolicy's input documents are the caller's, up to 131,072
// characters each, and a compiled one of that size takes about a megabyte: kept in the authorizer's cache (10,000
// entries), a read-only user could make the server hold gigabytes. Simulation inputs are compiled for the call only.
func TestAttackSimulatorFillsPolicyCache(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	sim := e.iamAs(e.newUser("sim", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:SimulateCustomPolicy","Resource":"*"}]}`))
	doc := func(i int) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-` + strings.Repeat("x", i) + `/*"}]}`
	}
	simulate := func(docs ...string) {
		t.Helper()
		out := must[*iam.SimulateCustomPolicyOutput](t)(sim.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: docs,
			ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::bucket-x/key"}}))
		if len(out.EvaluationResults) != 1 {
			t.Fatalf("%d results", len(out.EvaluationResults))
		}
	}
	simulate(doc(1)) // the caller's own policies are compiled and cached on its first call
	before := e.srv.authz.CachedPolicies()
	simulate(doc(2), doc(3), doc(4))
	if after := e.srv.authz.CachedPolicies(); after != before {
		t.Errorf("the policy cache grew from %d to %d entries with a caller's simulation inputs", before, after)
	}
}

// TestAttackLongRoleChainBreaksServer: a role that may assume itself is chained far beyond any real use; every
// step must still be answered (AWS sets no limit on the number of hops, only the one-hour session), never with a
// ServiceFailure.
func TestAttackLongRoleChainBreaksServer(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "loop", trustAWS("arn:aws:iam::"+testAccount+":root"), allow(`"sts:AssumeRole"`, "*"))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "*"))}))
	creds := alice
	for hop := 1; hop <= 260; hop++ {
		out, err := e.stsAs(creds).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("hop")})
		if err != nil {
			t.Fatalf("hop %d: %v", hop, err)
		}
		creds = e.sessionCreds(out)
	}
	who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if !strings.HasSuffix(aws.ToString(who.Arn), ":assumed-role/loop/hop") {
		t.Errorf("caller after the chain = %s", aws.ToString(who.Arn))
	}
}

// TestAttackCaseVariantARNSkipsDeny: IAM stores names without regard to case, but policies match ARNs with it. A
// caller denied changes to one policy, OIDC provider or SAML provider (say, the boundary it is bound by) names it by
// an ARN in other case; the ARN must not reach the protected entity past the deny.
func TestAttackCaseVariantARNSkipsDeny(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		acct := "arn:aws:iam::" + testAccount + ":"
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
		must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Boundary"), PolicyDocument: aws.String(doc)}))
		must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("PowerPolicy"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}))
		must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String("https://idp.example.com/tenant"), ClientIDList: []string{"sts.amazonaws.com"}}))
		idp, err := samltest.New("https://idp.example.com/metadata")
		if err != nil {
			t.Fatal(err)
		}
		must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())}))

		mallory := e.iamAs(e.newUser("mallory", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iam:*","Resource":"*"},
	 {"Effect":"Deny","Action":["iam:CreatePolicyVersion","iam:SetDefaultPolicyVersion","iam:DeletePolicy","iam:GetPolicy"],"Resource":"`+acct+`policy/Boundary"},
	 {"Effect":"Deny","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{"ArnEquals":{"iam:PolicyARN":"`+acct+`policy/PowerPolicy"}}},
	 {"Effect":"Deny","Action":["iam:DeleteOpenIDConnectProvider","iam:AddClientIDToOpenIDConnectProvider"],"Resource":"`+acct+`oidc-provider/idp.example.com/tenant"},
	 {"Effect":"Deny","Action":["iam:DeleteSAMLProvider","iam:UpdateSAMLProvider"],"Resource":"`+acct+`saml-provider/Corp"}]}`))

		refused := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s: a case-variant ARN got past the deny", what)
			}
		}
		_, err = mallory.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(acct + "policy/BOUNDARY"), SetAsDefault: true,
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
		refused("CreatePolicyVersion", err)
		_, err = mallory.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(acct + "policy/boundary")})
		refused("GetPolicy", err)
		_, err = mallory.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(acct + "policy/boundary")})
		refused("DeletePolicy", err)
		_, err = mallory.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("mallory"), PolicyArn: aws.String(acct + "policy/POWERPOLICY")})
		refused("AttachUserPolicy", err)
		_, err = mallory.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(acct + "oidc-provider/IDP.example.com/tenant"), ClientID: aws.String("evil")})
		refused("AddClientIDToOpenIDConnectProvider", err)
		_, err = mallory.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(acct + "oidc-provider/idp.example.com/TENANT")})
		refused("DeleteOpenIDConnectProvider", err)
		_, err = mallory.DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(acct + "saml-provider/CORP")})
		refused("DeleteSAMLProvider", err)

		// Nothing changed.
		versions := must[*iam.ListPolicyVersionsOutput](t)(e.iam.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(acct + "policy/Boundary")}))
		if len(versions.Versions) != 1 {
			t.Errorf("the protected policy has %d versions", len(versions.Versions))
		}
		attached := must[*iam.ListAttachedUserPoliciesOutput](t)(e.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("mallory")}))
		if len(attached.AttachedPolicies) != 0 {
			t.Errorf("mallory has %v attached", attached.AttachedPolicies)
		}
		prov := must[*iam.GetOpenIDConnectProviderOutput](t)(e.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(acct + "oidc-provider/idp.example.com/tenant")}))
		if len(prov.ClientIDList) != 1 {
			t.Errorf("the protected provider's client ids are %v", prov.ClientIDList)
		}
		must[*iam.GetSAMLProviderOutput](t)(e.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(acct + "saml-provider/Corp")}))
	})
}

// TestAttackProbeRoleNamesAcrossAccounts: a caller of another account, whom no trust policy allows, must get the
// same answer for a role that exists and one that does not, whatever DurationSeconds it asks for; otherwise it can
// list an account's role names.
func TestAttackProbeRoleNamesAcrossAccounts(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	e.role(e.iam, "deploy", trustAWS("arn:aws:iam::"+testAccount+":root"), "")
	oiam := e.iamAs(e.addAccount("444455556666", "AKIAOTHERACCOUNT2222", "otherAccountSecretKey0123456789abcdefghi"))
	must[*iam.CreateUserOutput](t)(oiam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("prober")}))
	must[*iam.PutUserPolicyOutput](t)(oiam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("prober"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "*"))}))
	key := must[*iam.CreateAccessKeyOutput](t)(oiam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("prober")})).AccessKey
	prober := e.stsAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	for _, d := range []*int32{nil, aws.Int32(43200)} {
		var msgs []string
		for _, name := range []string{"deploy", "no-such-role"} {
			_, err := prober.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + name),
				RoleSessionName: aws.String("probe"), DurationSeconds: d})
			ae := apiError(t, err, "AccessDenied")
			msgs = append(msgs, strings.ReplaceAll(ae.ErrorMessage(), name, "NAME"))
		}
		if msgs[0] != msgs[1] {
			t.Errorf("DurationSeconds %v: existing role answered %q, missing one %q", d, msgs[0], msgs[1])
		}
	}
}

// TestAttackProbeRoleNamesWithWebIdentity: anyone can hold a valid token of a widely registered provider (any
// repository gets a GitHub Actions token). Whom no trust policy allows must get the same answer for a role that
// exists and one that does not, whatever DurationSeconds it asks for.
func TestAttackProbeRoleNamesWithWebIdentity(t *testing.T) {
	ctx := context.Background()
	issuer, err := oidctest.New(true)
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	e := newFedEnv(t, sqliteStore, &fedClock{}, issuer.Server.Client())
	prov := must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer.URL), ClientIDList: []string{"sts.amazonaws.com"}}))
	host := strings.TrimPrefix(issuer.URL, "https://")
	e.role(e.iam, "deploy", fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},
	 "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{%q:"repo:acme/app:ref:refs/heads/main"}}}]}`,
		aws.ToString(prov.OpenIDConnectProviderArn), host+":sub"), "")
	tok := signToken(t, issuer.Keys()[0], issuer.Claims("repo:mallory/fork:ref:refs/heads/main", "sts.amazonaws.com"))
	for _, d := range []*int32{nil, aws.Int32(43200)} {
		var msgs []string
		for _, name := range []string{"deploy", "no-such-role"} {
			_, err := e.anonSTS().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/" + name),
				RoleSessionName: aws.String("probe"), WebIdentityToken: aws.String(tok), DurationSeconds: d})
			ae := apiError(t, err, "AccessDenied")
			msgs = append(msgs, ae.ErrorMessage())
		}
		if msgs[0] != msgs[1] {
			t.Errorf("DurationSeconds %v: existing role answered %q, missing one %q", d, msgs[0], msgs[1])
		}
	}
}

// TestAttackPartitionOrRegionVariantARNSkipsDeny: an ARN that differs from the real one only in its partition or
// region (which IAM ARNs do not have) must not reach the entity past a deny of the real ARN.
func TestAttackPartitionOrRegionVariantARNSkipsDeny(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		acct := "arn:aws:iam::" + testAccount + ":"
		must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Boundary"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}))
		e.role(e.iam, "Admin", trustAWS("arn:aws:iam::"+testAccount+":root"), allow(`"*"`, "*"))
		mallory := e.newUser("mallory", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["iam:*","sts:AssumeRole"],"Resource":"*"},
	 {"Effect":"Deny","Action":["iam:CreatePolicyVersion","iam:GetPolicy"],"Resource":"`+acct+`policy/Boundary"},
	 {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"`+acct+`role/Admin"}]}`)
		for _, variant := range []string{"arn:aws-cn:iam::" + testAccount + ":", "arn:aws:iam:us-east-1:" + testAccount + ":"} {
			_, err := e.iamAs(mallory).CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(variant + "policy/Boundary"), SetAsDefault: true,
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			if err == nil {
				t.Errorf("CreatePolicyVersion through %spolicy/Boundary got past the deny", variant)
			}
			_, err = e.stsAs(mallory).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(variant + "role/Admin"), RoleSessionName: aws.String("x1")})
			if err == nil {
				t.Errorf("AssumeRole of %srole/Admin got past the deny", variant)
			}
		}
		versions := must[*iam.ListPolicyVersionsOutput](t)(e.iam.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(acct + "policy/Boundary")}))
		if len(versions.Versions) != 1 {
			t.Errorf("the protected policy has %d versions", len(versions.Versions))
		}

		// Identity providers, named with a region.
		must[*iam.CreateOpenIDConnectProviderOutput](t)(e.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String("https://idp.example.com"), ClientIDList: []string{"sts.amazonaws.com"}}))
		idp, err := samltest.New("https://idp.example.com/metadata")
		if err != nil {
			t.Fatal(err)
		}
		must[*iam.CreateSAMLProviderOutput](t)(e.iam.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("Corp"), SAMLMetadataDocument: aws.String(idp.Metadata())}))
		must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("mallory"), PolicyName: aws.String("providers"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[
		 {"Effect":"Deny","Action":"iam:*","Resource":["` + acct + `oidc-provider/idp.example.com","` + acct + `saml-provider/Corp"]}]}`)}))
		regional := "arn:aws:iam:us-east-1:" + testAccount + ":"
		_, err = e.iamAs(mallory).AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(regional + "oidc-provider/idp.example.com"), ClientID: aws.String("evil")})
		if err == nil {
			t.Error("AddClientIDToOpenIDConnectProvider through a regional ARN got past the deny")
		}
		_, err = e.iamAs(mallory).DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(regional + "saml-provider/Corp")})
		if err == nil {
			t.Error("DeleteSAMLProvider through a regional ARN got past the deny")
		}
	})
}

// TestAttackDetachGuardrailByCaseVariant: a managed policy of explicit denies is attached to a user as a guardrail,
// and the user is denied detaching it (iam:PolicyARN). Naming the policy in other case must not detach it.
func TestAttackDetachGuardrailByCaseVariant(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		acct := "arn:aws:iam::" + testAccount + ":"
		guard := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Guardrail"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}`)}))
		mallory := e.iamAs(e.newUser("mallory", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iam:*","Resource":"*"},
	 {"Effect":"Deny","Action":["iam:DetachUserPolicy","iam:DeletePolicy","iam:CreatePolicyVersion","iam:DeletePolicyVersion","iam:SetDefaultPolicyVersion"],"Resource":"*",
	  "Condition":{"ArnEquals":{"iam:PolicyARN":"`+acct+`policy/Guardrail"}}}]}`))
		must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("mallory"), PolicyArn: guard.Policy.Arn}))
		_, err := mallory.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("mallory"), PolicyArn: aws.String(acct + "policy/GUARDRAIL")})
		if err == nil {
			t.Error("a case variant of the guardrail's ARN detached it")
		}
		attached := must[*iam.ListAttachedUserPoliciesOutput](t)(e.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("mallory")}))
		if len(attached.AttachedPolicies) != 1 {
			t.Errorf("mallory's attached policies: %d, want the guardrail", len(attached.AttachedPolicies))
		}
		_, err = mallory.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("minion")})
		apiError(t, err, "AccessDenied")
	})
}

// TestAttackDNSRebindingReadsIMDS: a web page whose name the attacker re-points at 127.0.0.1 reaches the agent's
// IMDS from the victim's browser as a same-origin request, custom headers and PUT included, so IMDSv2's token does
// not stop it; only the Host header still names the attacker's domain. The agent serves addresses and local names
// only.
func TestAttackDNSRebindingReadsIMDS(t *testing.T) {
	e := newEnv(t, sqliteStore)
	e.role(e.iam, "web-role", ec2Trust, "")
	e.instanceProfile("web", "web-role")
	r := e.register(e.root, "IamInstanceProfile.Name", "web")
	_, imds, _ := e.startAgent(r, nil)
	do := func(method, path, host string, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, imds.URL+path, nil)
		req.Host = host
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const creds = "/latest/meta-data/iam/security-credentials/web-role"
	ttl := map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}
	for _, host := range []string{"rebind.attacker.example", "rebind.attacker.example:80"} {
		status, tok := do("PUT", "/latest/api/token", host, ttl)
		if status == 200 {
			if status, body := do("GET", creds, host, map[string]string{"X-aws-ec2-metadata-token": tok}); status == 200 {
				t.Fatalf("Host %s read the role's credentials: %.60s…", host, body)
			}
			t.Errorf("Host %s got an IMDSv2 token", host)
		}
	}
	// The names an SDK really uses are served.
	for _, host := range []string{strings.TrimPrefix(imds.URL, "http://"), "169.254.169.254", "localhost:9169", "[fd00:ec2::254]"} {
		status, tok := do("PUT", "/latest/api/token", host, ttl)
		if status != 200 {
			t.Fatalf("Host %s: token request = %d", host, status)
		}
		if status, _ := do("GET", creds, host, map[string]string{"X-aws-ec2-metadata-token": tok}); status != 200 {
			t.Errorf("Host %s: credentials = %d", host, status)
		}
	}
}

// TestAttackSelfServiceUserReadsRootKeyUse: a user allowed GetAccessKeyLastUsed on its own ARN only (the usual
// self-service policy) must not learn when and where the root user's access key was last used.
func TestAttackSelfServiceUserReadsRootKeyUse(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	self := e.iamAs(e.newUser("self", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iam:GetAccessKeyLastUsed","Resource":"arn:aws:iam::*:user/${aws:username}"}]}`))
	_, err := self.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(testRootKey)})
	apiError(t, err, "AccessDenied")
}

// TestAttackSessionTagKeepsRoleTagByCase: a session tag replaces the role's tag of the same key, and tag keys are
// the same whatever their case: passing PROJECT=beta must leave the session with project beta only, not with the
// role's alpha too.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-tags
func TestAttackSessionTagKeepsRoleTagByCase(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(allow(`["sts:AssumeRole","sts:TagSession"]`, "*"))}))
	roleARN := e.role(e.iam, "R", trustAWS("arn:aws:iam::"+testAccount+":root", "sts:AssumeRole", "sts:TagSession"),
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"alpha"}}}]}`)
	must[*iam.TagRoleOutput](t)(e.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("R"), Tags: []iamtypes.Tag{{Key: aws.String("project"), Value: aws.String("alpha")}}}))
	for _, key := range []string{"project", "PROJECT"} {
		out := must[*sts.AssumeRoleOutput](t)(e.stsAs(alice).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
			Tags: []ststypes.Tag{{Key: aws.String(key), Value: aws.String("beta")}}}))
		_, err := e.iamAs(e.sessionCreds(out)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("R")})
		if err == nil {
			t.Errorf("session tag %s=beta: the session still has the role's project=alpha", key)
		}
	}
}

// BenchmarkAttackManyEC2Filters: DescribeIamInstanceProfileAssociations with thousands of filters, sent by a caller
// with no permission at all (the filters are read before the call is authorized, which then fails). The cost must
// grow linearly with the number of filters: compare the two cases' ns/op.
func BenchmarkAttackManyEC2Filters(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/persona.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st})
	for _, n := range []int{10, 4990} {
		form := map[string][]string{}
		for i := 1; i <= n; i++ {
			form["Filter."+strconv.Itoa(i)+".Name"] = []string{"instance-id"}
			form["Filter."+strconv.Itoa(i)+".Value.1"] = []string{"i-0"}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.ec2Call(context.Background(), "DescribeIamInstanceProfileAssociations", form, "id"); err == nil {
					b.Fatal("an unauthenticated call succeeded")
				}
			}
		})
	}
}

// eachBackend runs f against a server on every store backend: the attacks on case folding depend on how the store
// compares keys.
func eachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { f(t, newEnv(t, open)) })
	}
}
