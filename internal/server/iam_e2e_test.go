package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

// TestRoles drives the role lifecycle with aws-sdk-go-v2 on every backend.
func TestRoles(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			created := must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName:                 aws.String("MyEC2Role"),
				AssumeRolePolicyDocument: aws.String(ec2Trust),
				Description:              aws.String("for EC2"),
				Path:                     aws.String("/app/"),
				Tags:                     []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}},
			}))
			r := created.Role
			if got, want := aws.ToString(r.Arn), "arn:aws:iam::"+testAccount+":role/app/MyEC2Role"; got != want {
				t.Errorf("Arn = %s, want %s", got, want)
			}
			if id := aws.ToString(r.RoleId); !strings.HasPrefix(id, "AROA") || len(id) != 21 {
				t.Errorf("RoleId = %s, want AROA + 17 characters", id)
			}
			if aws.ToInt32(r.MaxSessionDuration) != 3600 {
				t.Errorf("MaxSessionDuration = %d, want the default 3600", aws.ToInt32(r.MaxSessionDuration))
			}

			got := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("myec2role")}))
			doc, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
			if err != nil || doc != ec2Trust {
				t.Errorf("trust policy came back as %q (%v), want the document sent", doc, err)
			}
			if diff := cmp.Diff([]types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}, got.Role.Tags, cmpTags); diff != "" {
				t.Errorf("tags mismatch (-want +got):\n%s", diff)
			}

			_, err = e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("MYEC2ROLE"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			apiError(t, err, "EntityAlreadyExists")

			must[*iam.UpdateRoleOutput](t)(e.iam.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("MyEC2Role"), MaxSessionDuration: aws.Int32(7200)}))
			got = must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("MyEC2Role")}))
			if aws.ToInt32(got.Role.MaxSessionDuration) != 7200 || aws.ToString(got.Role.Description) != "for EC2" {
				t.Errorf("after UpdateRole: %d %q", aws.ToInt32(got.Role.MaxSessionDuration), aws.ToString(got.Role.Description))
			}
			_, err = e.iam.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("MyEC2Role"), MaxSessionDuration: aws.Int32(43201)})
			apiError(t, err, "ValidationError")

			must[*iam.AttachRolePolicyOutput](t)(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("MyEC2Role"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}))
			_, err = e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("MyEC2Role")})
			apiError(t, err, "DeleteConflict")
			must[*iam.DetachRolePolicyOutput](t)(e.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("MyEC2Role"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}))
			must[*iam.DeleteRoleOutput](t)(e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("MyEC2Role")}))
			_, err = e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("MyEC2Role")})
			ae := apiError(t, err, "NoSuchEntity")
			if ae.ErrorMessage() != "The role with name MyEC2Role cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
		})
	}
}

var cmpTags = cmp.Comparer(func(a, b types.Tag) bool {
	return aws.ToString(a.Key) == aws.ToString(b.Key) && aws.ToString(a.Value) == aws.ToString(b.Value)
})

// TestMalformedTrustPolicySaysWhere pins the learner's missing-comma trust policy: the error names the place.
func TestMalformedTrustPolicySaysWhere(t *testing.T) {
	e := newEnv(t, sqliteStore)
	bad := `{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow"
    "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" } ] }`
	_, err := e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(bad)})
	ae := apiError(t, err, "MalformedPolicyDocument")
	if !strings.Contains(ae.ErrorMessage(), "line 2") {
		t.Errorf("message %q does not say where (line 2)", ae.ErrorMessage())
	}
	// An identity policy's Principal is refused; a trust policy without one is refused.
	_, err = e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)})
	apiError(t, err, "MalformedPolicyDocument")
}

func TestValidationFromTheModel(t *testing.T) {
	e := newEnv(t, sqliteStore)
	_, err := e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	ae := apiError(t, err, "ValidationError")
	if !strings.Contains(ae.ErrorMessage(), "roleName") {
		t.Errorf("message %q does not name roleName", ae.ErrorMessage())
	}
}

// TestListRolesPaginates creates more roles than a page and walks the Marker.
func TestListRolesPaginates(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	var want []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("role-%02d", i)
		path := "/"
		if i%2 == 1 {
			path = "/odd/"
		}
		must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
		if i%2 == 1 {
			want = append(want, name)
		}
	}
	var got []string
	pages := 0
	p := iam.NewListRolesPaginator(e.iam, &iam.ListRolesInput{PathPrefix: aws.String("/odd/"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page := must[*iam.ListRolesOutput](t)(p.NextPage(ctx))
		pages++
		for _, r := range page.Roles {
			got = append(got, aws.ToString(r.RoleName))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles mismatch (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
}

// TestUserPermissionsAreEnforced gives a user keys and checks that IAM allows it exactly what its policies allow.
func TestUserPermissionsAreEnforced(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})).AccessKey
	if id := aws.ToString(key.AccessKeyId); !strings.HasPrefix(id, "AKIA") || len(id) != 20 {
		t.Errorf("AccessKeyId = %s", id)
	}
	bob := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})

	_, err := bob.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	ae := apiError(t, err, "AccessDenied")
	want := "User: arn:aws:iam::" + testAccount + ":user/bob is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::" +
		testAccount + ":role/x because no identity-based policy allows the iam:CreateRole action"
	if ae.ErrorMessage() != want {
		t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), want)
	}

	// A group's managed policy grants IAM read access.
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("readers")}))
	must[*iam.AttachGroupPolicyOutput](t)(e.iam.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("readers"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
	must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("readers"), UserName: aws.String("bob")}))
	must[*iam.ListUsersOutput](t)(bob.ListUsers(ctx, &iam.ListUsersInput{}))
	_, err = bob.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("eve")})
	apiError(t, err, "AccessDenied")

	// An inline policy allows creating roles only under /apps/.
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("apps"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateRole","Resource":"arn:aws:iam::*:role/apps/*"}]}`)}))
	must[*iam.CreateRoleOutput](t)(bob.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), Path: aws.String("/apps/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	_, err = bob.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("y"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	apiError(t, err, "AccessDenied")

	// An explicit deny wins over the group's allow.
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("deny"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}`)}))
	_, err = bob.ListUsers(ctx, &iam.ListUsersInput{})
	ae = apiError(t, err, "AccessDenied")
	if !strings.HasSuffix(ae.ErrorMessage(), "with an explicit deny in an identity-based policy") {
		t.Errorf("message = %q", ae.ErrorMessage())
	}

	// GetCallerIdentity needs no permission.
	who := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(who.Arn) != "arn:aws:iam::"+testAccount+":user/bob" || aws.ToString(who.Account) != testAccount {
		t.Errorf("GetCallerIdentity = %s %s", aws.ToString(who.Arn), aws.ToString(who.Account))
	}

	// A deactivated key stops working at once.
	must[*iam.UpdateAccessKeyOutput](t)(e.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: key.AccessKeyId, Status: types.StatusTypeInactive}))
	_, err = bob.ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "InvalidClientTokenId")
}

func TestPermissionsBoundaryLimitsAdmin(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ann"), PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
	must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("ann"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ann")})).AccessKey
	ann := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	must[*iam.ListRolesOutput](t)(ann.ListRoles(ctx, &iam.ListRolesInput{}))
	_, err := ann.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x")})
	ae := apiError(t, err, "AccessDenied")
	if !strings.Contains(ae.ErrorMessage(), "permissions boundary") {
		t.Errorf("message = %q, want it to blame the permissions boundary", ae.ErrorMessage())
	}
}

func TestAccessKeysQuotaAndListing(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")}))
	for i := 0; i < 2; i++ {
		must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")}))
	}
	_, err := e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")})
	apiError(t, err, "LimitExceeded")
	list := must[*iam.ListAccessKeysOutput](t)(e.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("carol")}))
	if len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("%d keys listed, want 2", len(list.AccessKeyMetadata))
	}
	_, err = e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("carol")})
	apiError(t, err, "DeleteConflict")
	for _, k := range list.AccessKeyMetadata {
		must[*iam.DeleteAccessKeyOutput](t)(e.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: k.AccessKeyId}))
	}
	must[*iam.DeleteUserOutput](t)(e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("carol")}))
}

func TestManagedPolicyVersions(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	doc := func(action string) *string {
		return aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`)
	}
	p := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p1"), PolicyDocument: doc("s3:GetObject")})).Policy
	arn := p.Arn
	if aws.ToString(arn) != "arn:aws:iam::"+testAccount+":policy/p1" || aws.ToString(p.DefaultVersionId) != "v1" {
		t.Fatalf("CreatePolicy = %s %s", aws.ToString(arn), aws.ToString(p.DefaultVersionId))
	}
	for i := 2; i <= 5; i++ {
		v := must[*iam.CreatePolicyVersionOutput](t)(e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: doc("s3:PutObject"), SetAsDefault: i == 3}))
		if got := aws.ToString(v.PolicyVersion.VersionId); got != fmt.Sprintf("v%d", i) {
			t.Errorf("version id = %s, want v%d", got, i)
		}
	}
	_, err := e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: doc("s3:PutObject")})
	apiError(t, err, "LimitExceeded")
	_, err = e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v3")})
	apiError(t, err, "DeleteConflict")
	must[*iam.SetDefaultPolicyVersionOutput](t)(e.iam.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v5")}))
	got := must[*iam.GetPolicyOutput](t)(e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn}))
	if aws.ToString(got.Policy.DefaultVersionId) != "v5" {
		t.Errorf("DefaultVersionId = %s, want v5", aws.ToString(got.Policy.DefaultVersionId))
	}
	v1 := must[*iam.GetPolicyVersionOutput](t)(e.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v1")}))
	if d, _ := url.QueryUnescape(aws.ToString(v1.PolicyVersion.Document)); d != aws.ToString(doc("s3:GetObject")) {
		t.Errorf("v1 document = %q", d)
	}
	versions := must[*iam.ListPolicyVersionsOutput](t)(e.iam.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: arn}))
	if len(versions.Versions) != 5 {
		t.Errorf("%d versions listed, want 5", len(versions.Versions))
	}

	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.AttachRolePolicyOutput](t)(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: arn}))
	ents := must[*iam.ListEntitiesForPolicyOutput](t)(e.iam.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: arn}))
	if len(ents.PolicyRoles) != 1 || aws.ToString(ents.PolicyRoles[0].RoleName) != "r" {
		t.Errorf("PolicyRoles = %+v", ents.PolicyRoles)
	}
	got = must[*iam.GetPolicyOutput](t)(e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn}))
	if aws.ToInt32(got.Policy.AttachmentCount) != 1 {
		t.Errorf("AttachmentCount = %d, want 1", aws.ToInt32(got.Policy.AttachmentCount))
	}
	_, err = e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn})
	apiError(t, err, "DeleteConflict")
	_, err = e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	apiError(t, err, "NoSuchEntity")

	aws1 := must[*iam.ListPoliciesOutput](t)(e.iam.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal}))
	if len(aws1.Policies) != 1 || aws.ToString(aws1.Policies[0].PolicyName) != "p1" {
		t.Errorf("local policies = %d", len(aws1.Policies))
	}
	attached := must[*iam.ListPoliciesOutput](t)(e.iam.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, MaxItems: aws.Int32(5)}))
	if len(attached.Policies) != 5 || !attached.IsTruncated || aws.ToString(attached.Marker) == "" {
		t.Errorf("AWS policies page: %d, truncated %v", len(attached.Policies), attached.IsTruncated)
	}
}

func TestInlineRolePolicies(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::my bucket"}]}`
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(doc)}))
	got := must[*iam.GetRolePolicyOutput](t)(e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3")}))
	if d, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); d != doc {
		t.Errorf("document = %q", d)
	}
	names := must[*iam.ListRolePoliciesOutput](t)(e.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("r")}))
	if diff := cmp.Diff([]string{"s3"}, names.PolicyNames); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
	_, err := e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	apiError(t, err, "DeleteConflict")
	must[*iam.DeleteRolePolicyOutput](t)(e.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3")}))
	_, err = e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("s3")})
	apiError(t, err, "NoSuchEntity")
}

func TestUserRenameCarriesEverything(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dan")}))
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("g"), UserName: aws.String("dan")}))
	must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dan"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}))
	key := must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dan")})).AccessKey
	must[*iam.UpdateUserOutput](t)(e.iam.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("dan"), NewUserName: aws.String("daniel"), NewPath: aws.String("/eng/")}))

	u := must[*iam.GetUserOutput](t)(e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("daniel")})).User
	if aws.ToString(u.Arn) != "arn:aws:iam::"+testAccount+":user/eng/daniel" {
		t.Errorf("Arn = %s", aws.ToString(u.Arn))
	}
	g := must[*iam.GetGroupOutput](t)(e.iam.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("g")}))
	if len(g.Users) != 1 || aws.ToString(g.Users[0].UserName) != "daniel" {
		t.Errorf("group users = %+v", g.Users)
	}
	daniel := e.iamAs(aws.Credentials{AccessKeyID: aws.ToString(key.AccessKeyId), SecretAccessKey: aws.ToString(key.SecretAccessKey)})
	who := must[*iam.GetUserOutput](t)(daniel.GetUser(ctx, &iam.GetUserInput{})).User
	if aws.ToString(who.UserName) != "daniel" {
		t.Errorf("the key now signs as %s, want daniel", aws.ToString(who.UserName))
	}
}

func TestAuthenticationFailures(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	_, err := e.iamAs(aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: "wrong"}).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "SignatureDoesNotMatch")
	_, err = e.iamAs(aws.Credentials{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "x"}).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "InvalidClientTokenId")
	_, err = e.iamAs(aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret, SessionToken: "forged"}).ListRoles(ctx, &iam.ListRolesInput{})
	apiError(t, err, "InvalidClientTokenId")
}
