package server

// Attacks on Persona through the real HTTP server with aws-sdk-go-v2: each test is named after the attack it
// pins down, and fails if the attack succeeds.

import (
	"context"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// TestAttackAttachAdminPastPolicyARNGuard: a user allowed to manage policies, but denied attaching
// AdministratorAccess by the guard AWS documents (a Deny on iam:PolicyARN), attaches it to itself. IAM passes
// iam:PolicyARN on every Attach/Detach*Policy call, so the guard holds.
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html#awsidentityandaccessmanagementiam-policy-keys
func TestAttackAttachAdminPastPolicyARNGuard(t *testing.T) {
	e := newEnv(t, sqliteStore)
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
