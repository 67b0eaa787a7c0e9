package server

// Acceptance of the core IAM API (issues 3 and 4) against AWS: exact error codes, HTTP statuses and messages, the
// model's validation, pagination of every List call, permissions-boundary usage, and AccessDenied's wording. Each
// case below pins an AWS behaviour; where the wording comes from AWS's own error output, the case says so.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

const acceptPolicyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

func acceptPolicyARN(name string) string { return "arn:aws:iam::" + testAccount + ":policy/" + name }

// acceptFixture creates the entities the error table refers to: role app (path /svc/) with the managed policy pol
// (which has a second, non-default version) attached and an inline policy; user alice with two access keys, in
// group devs; group devs with an inline policy; policy bound, used as bob's permissions boundary.
func acceptFixture(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), Path: aws.String("/svc/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("pol"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreatePolicyVersionOutput](t)(e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(acceptPolicyARN("pol")), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.AttachRolePolicyOutput](t)(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String(acceptPolicyARN("pol"))}))
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("inline-only"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("inline-only"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	for range 2 {
		must[*iam.CreateAccessKeyOutput](t)(e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	}
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")}))
	must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("grouped")}))
	must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("grouped")}))
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("with-inline")}))
	must[*iam.PutGroupPolicyOutput](t)(e.iam.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("with-inline"), PolicyName: aws.String("g"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bound"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"), PermissionsBoundary: aws.String(acceptPolicyARN("bound"))}))
}

// httpStatus is the HTTP status of an SDK error.
func httpStatus(err error) int {
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) {
		return hs.HTTPStatusCode()
	}
	return 0
}

// TestAcceptanceErrors pins the code, HTTP status and exact message of each error the core IAM API answers, on
// every backend.
func TestAcceptanceErrors(t *testing.T) {
	bigInline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("x", 2100) + `"}]}`
	bigTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"` + strings.Repeat("1", 2100) + `"}}}]}`
	cases := []struct {
		name   string
		call   func(ctx context.Context, c *iam.Client) error
		code   string
		status int
		msg    string
	}{
		// NoSuchEntity, 404.
		{"GetRole missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The role with name nope cannot be found."},
		{"GetUser missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The user with name nope cannot be found."},
		{"GetGroup missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The group with name nope cannot be found."},
		// AWS: "NoSuchEntity: Policy arn:aws:iam::…:policy/… was not found." from GetPolicy.
		{"GetPolicy missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(acceptPolicyARN("nope"))})
			return err
		}, "NoSuchEntity", 404, "Policy " + acceptPolicyARN("nope") + " was not found."},
		// AWS: "NoSuchEntity: Policy arn:aws:iam::aws:policy/… does not exist or is not attachable." from AttachRolePolicy.
		{"AttachRolePolicy missing policy", func(ctx context.Context, c *iam.Client) error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonEK_CNI_Policy")})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/AmazonEK_CNI_Policy does not exist or is not attachable."},
		{"DetachRolePolicy not attached", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found."},
		{"GetPolicyVersion missing version", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(acceptPolicyARN("pol")), VersionId: aws.String("v9")})
			return err
		}, "NoSuchEntity", 404, "Policy " + acceptPolicyARN("pol") + " version v9 does not exist or is not attachable."},
		{"GetRolePolicy missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The role policy with name nope cannot be found."},
		{"GetUserPolicy missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The user policy with name nope cannot be found."},
		{"DeleteGroupPolicy missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteGroupPolicy(ctx, &iam.DeleteGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The group policy with name nope cannot be found."},
		{"UpdateAccessKey missing", func(ctx context.Context, c *iam.Client) error {
			_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: types.StatusTypeInactive})
			return err
		}, "NoSuchEntity", 404, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found."},
		{"AddUserToGroup missing user", func(ctx context.Context, c *iam.Client) error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The user with name nope cannot be found."},

		// EntityAlreadyExists, 409: names are unique without regard to case.
		{"CreateRole same name other case", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("APP"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			return err
		}, "EntityAlreadyExists", 409, "Role with name APP already exists."},
		{"CreateUser same name other case", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice")})
			return err
		}, "EntityAlreadyExists", 409, "User with name Alice already exists."},
		{"CreateGroup same name other case", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("DEVS")})
			return err
		}, "EntityAlreadyExists", 409, "Group with name DEVS already exists."},
		{"CreatePolicy same name other case", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("POL"), PolicyDocument: aws.String(acceptPolicyDoc)})
			return err
		}, "EntityAlreadyExists", 409, "A policy called POL already exists. Duplicate names are not allowed."},
		{"UpdateUser rename onto another user", func(ctx context.Context, c *iam.Client) error {
			_, err := c.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("grouped"), NewUserName: aws.String("ALICE")})
			return err
		}, "EntityAlreadyExists", 409, "User with name ALICE already exists."},

		// DeleteConflict, 409, per https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html and friends.
		{"DeleteUser with access keys", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must delete access keys first."},
		{"DeleteUser in a group", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("grouped")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must remove user from all groups first."},
		{"DeleteGroup with members", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must remove users from group first."},
		{"DeleteGroup with inline policy", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("with-inline")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must delete policies first."},
		{"DeleteRole with attached policy", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first."},
		{"DeleteRole with inline policy", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("inline-only")})
			return err
		}, "DeleteConflict", 409, "Cannot delete entity, must delete policies first."},
		{"DeletePolicy attached", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(acceptPolicyARN("pol"))})
			return err
		}, "DeleteConflict", 409, "Cannot delete a policy attached to entities."},
		// A permissions boundary is an attachment as DeletePolicy sees it.
		{"DeletePolicy used as a permissions boundary", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(acceptPolicyARN("bound"))})
			return err
		}, "DeleteConflict", 409, "Cannot delete a policy attached to entities."},
		{"DeletePolicyVersion default", func(ctx context.Context, c *iam.Client) error {
			_, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(acceptPolicyARN("pol")), VersionId: aws.String("v1")})
			return err
		}, "DeleteConflict", 409, "Cannot delete the default version of a policy."},

		// LimitExceeded, 409, with the quotas of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html.
		{"third access key", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
			return err
		}, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"},
		// AWS: "Maximum policy size of 10240 bytes exceeded for role …", here the user's 2,048.
		{"user inline policies over 2048", func(ctx context.Context, c *iam.Client) error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"), PolicyDocument: aws.String(bigInline)})
			return err
		}, "LimitExceeded", 409, "Maximum policy size of 2048 bytes exceeded for user alice"},
		{"trust policy over 2048", func(ctx context.Context, c *iam.Client) error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(bigTrust)})
			return err
		}, "LimitExceeded", 409, "Cannot exceed quota for ACLSizePerRole: 2048"},

		// ValidationError, 400, from the model's constraints, in AWS's words.
		{"role name pattern", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"role name length", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			return err
		}, "ValidationError", 400, "1 validation error detected: Value '" + strings.Repeat("r", 65) + "' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"path pattern", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("p"), Path: aws.String("nopath")})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value 'nopath' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`},
		{"MaxSessionDuration below 3600", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("short"), AssumeRolePolicyDocument: aws.String(ec2Trust), MaxSessionDuration: aws.Int32(3599)})
			return err
		}, "ValidationError", 400, "1 validation error detected: Value '3599' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
		{"MaxItems 0", func(ctx context.Context, c *iam.Client) error {
			_, err := c.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
			return err
		}, "ValidationError", 400, "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxItems 1001", func(ctx context.Context, c *iam.Client) error {
			_, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(acceptPolicyARN("pol")), MaxItems: aws.Int32(1001)})
			return err
		}, "ValidationError", 400, "1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{"version id pattern", func(ctx context.Context, c *iam.Client) error {
			_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(acceptPolicyARN("pol")), VersionId: aws.String("1")})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value '1' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`},

		// InvalidInput, 400. AWS: "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles".
		{"CreateRole under the service-linked path", func(ctx context.Context, c *iam.Client) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("AWSServiceRoleForECS"), Path: aws.String("/aws-service-role/ecs.amazonaws.com/"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			return err
		}, "InvalidInput", 400, "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles"},
		// An ARN that names no IAM policy is answered like a missing policy.
		{"policy ARN that is not one", func(ctx context.Context, c *iam.Client) error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:s3:::not-a-policy-at-all")})
			return err
		}, "NoSuchEntity", 404, "Policy arn:aws:s3:::not-a-policy-at-all does not exist or is not attachable."},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			acceptFixture(t, e)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					err := tc.call(context.Background(), e.iam)
					ae := apiError(t, err, tc.code)
					if ae.ErrorMessage() != tc.msg {
						t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), tc.msg)
					}
					if got := httpStatus(err); got != tc.status {
						t.Errorf("HTTP status = %d, want %d", got, tc.status)
					}
				})
			}
		})
	}
}

// TestAcceptanceDeletePolicyWithVersions pins AWS's DeleteConflict message for a policy that still has non-default
// versions ("This policy has more than one version. …"), and that deleting them lets the policy go.
func TestAcceptanceDeletePolicyWithVersions(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	arn := aws.String(acceptPolicyARN("versions"))
	must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("versions"), PolicyDocument: aws.String(acceptPolicyDoc)}))
	must[*iam.CreatePolicyVersionOutput](t)(e.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: aws.String(acceptPolicyDoc)}))
	_, err := e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn})
	ae := apiError(t, err, "DeleteConflict")
	if want := "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."; ae.ErrorMessage() != want {
		t.Errorf("message = %q, want %q", ae.ErrorMessage(), want)
	}
	must[*iam.DeletePolicyVersionOutput](t)(e.iam.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v2")}))
	must[*iam.DeletePolicyOutput](t)(e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn}))
	_, err = e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn})
	apiError(t, err, "NoSuchEntity")
}

// page is one List call's page: the items as comparable strings, the marker and whether it is truncated.
type page struct {
	items     []string
	marker    string
	truncated bool
}

// TestAcceptancePagination pages every List call of the core API one item at a time (MaxItems 1) and checks the
// pages, joined, are exactly the unpaged list, that IsTruncated is false only on the last page, and that each
// truncated page carries a Marker. Both backends.
func TestAcceptancePagination(t *testing.T) {
	type lister func(ctx context.Context, c *iam.Client, marker *string, max *int32) (page, error)
	arn := func(name string) *string { return aws.String("arn:aws:iam::" + testAccount + ":policy/pg/" + name) }
	names := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cases := []struct {
		name string
		list lister
		want int
	}{
		{"ListUsers", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/pg/"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Users), func(i int) string { return aws.ToString(o.Users[i].UserName) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListRoles", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/pg/"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Roles), func(i int) string { return aws.ToString(o.Roles[i].RoleName) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListGroups", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListGroups(ctx, &iam.ListGroupsInput{PathPrefix: aws.String("/pg/"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Groups), func(i int) string { return aws.ToString(o.Groups[i].GroupName) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListGroupsForUser", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("pu0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Groups), func(i int) string { return aws.ToString(o.Groups[i].GroupName) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"GetGroup", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("pg0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Users), func(i int) string { return aws.ToString(o.Users[i].UserName) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListAccessKeys", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("pu0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.AccessKeyMetadata), func(i int) string { return aws.ToString(o.AccessKeyMetadata[i].AccessKeyId) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 2},
		{"ListPolicies Local", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal, PathPrefix: aws.String("/pg/"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Policies), func(i int) string { return aws.ToString(o.Policies[i].Arn) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListPolicies AWS service-role path", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, PathPrefix: aws.String("/service-role/"), OnlyAttached: true, Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Policies), func(i int) string { return aws.ToString(o.Policies[i].Arn) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 2},
		{"ListPolicyVersions", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: arn("pp0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Versions), func(i int) string { return aws.ToString(o.Versions[i].VersionId) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListEntitiesForPolicy", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: arn("pp0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			var items []string
			for _, g := range o.PolicyGroups {
				items = append(items, "group/"+aws.ToString(g.GroupName))
			}
			for _, r := range o.PolicyRoles {
				items = append(items, "role/"+aws.ToString(r.RoleName))
			}
			for _, u := range o.PolicyUsers {
				items = append(items, "user/"+aws.ToString(u.UserName))
			}
			return page{items, aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 5},
		{"ListAttachedUserPolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("pu0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.AttachedPolicies), func(i int) string { return aws.ToString(o.AttachedPolicies[i].PolicyArn) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListAttachedGroupPolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: aws.String("pg0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.AttachedPolicies), func(i int) string { return aws.ToString(o.AttachedPolicies[i].PolicyArn) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListAttachedRolePolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("pr0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.AttachedPolicies), func(i int) string { return aws.ToString(o.AttachedPolicies[i].PolicyArn) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 4},
		{"ListUserPolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("pu0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{o.PolicyNames, aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListGroupPolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: aws.String("pg0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{o.PolicyNames, aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListRolePolicies", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("pr0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{o.PolicyNames, aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListRoleTags", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("pr0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Tags), func(i int) string { return aws.ToString(o.Tags[i].Key) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
		{"ListUserTags", func(ctx context.Context, c *iam.Client, m *string, max *int32) (page, error) {
			o, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("pu0"), Marker: m, MaxItems: max})
			if err != nil {
				return page{}, err
			}
			return page{names(len(o.Tags), func(i int) string { return aws.ToString(o.Tags[i].Key) }), aws.ToString(o.Marker), o.IsTruncated}, nil
		}, 3},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			c := e.iam
			for i := range 3 {
				n := fmt.Sprint(i)
				must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("pu" + n), Path: aws.String("/pg/")}))
				must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("pg" + n), Path: aws.String("/pg/")}))
				must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pr" + n), Path: aws.String("/pg/"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
				must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("pp" + n), Path: aws.String("/pg/"), PolicyDocument: aws.String(acceptPolicyDoc)}))
				must[*iam.AddUserToGroupOutput](t)(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("pu0"), GroupName: aws.String("pg" + n)}))
				must[*iam.AddUserToGroupOutput](t)(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("pu" + n), GroupName: aws.String("pg0")}))
				must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("pu0"), PolicyArn: arn("pp" + n)}))
				must[*iam.AttachGroupPolicyOutput](t)(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("pg0"), PolicyArn: arn("pp" + n)}))
				must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("pr0"), PolicyArn: arn("pp" + n)}))
				must[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("pu0"), PolicyName: aws.String("in" + n), PolicyDocument: aws.String(acceptPolicyDoc)}))
				must[*iam.PutGroupPolicyOutput](t)(c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("pg0"), PolicyName: aws.String("in" + n), PolicyDocument: aws.String(acceptPolicyDoc)}))
				must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pr0"), PolicyName: aws.String("in" + n), PolicyDocument: aws.String(acceptPolicyDoc)}))
				must[*iam.TagRoleOutput](t)(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("pr0"), Tags: []types.Tag{{Key: aws.String("k" + n), Value: aws.String("v")}}}))
				must[*iam.TagUserOutput](t)(c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("pu0"), Tags: []types.Tag{{Key: aws.String("k" + n), Value: aws.String("v")}}}))
			}
			for range 2 {
				must[*iam.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn("pp0"), PolicyDocument: aws.String(acceptPolicyDoc)}))
				must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("pu0")}))
			}
			// Two AWS-managed policies under /service-role/ in use, and pp0 attached to two more principals.
			must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("pr0"), PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")}))
			must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("pr1"), PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")}))
			must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("pu1"), PolicyArn: arn("pp0")}))
			must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("pr1"), PolicyArn: arn("pp0")}))

			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					full, err := tc.list(ctx, c, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					if full.truncated || len(full.items) != tc.want {
						t.Fatalf("unpaged: %d items (truncated %v), want %d: %v", len(full.items), full.truncated, tc.want, full.items)
					}
					var got []string
					var marker *string
					for pages := 1; ; pages++ {
						p, err := tc.list(ctx, c, marker, aws.Int32(1))
						if err != nil {
							t.Fatal(err)
						}
						if len(p.items) != 1 {
							t.Fatalf("page %d has %d items, want 1", pages, len(p.items))
						}
						got = append(got, p.items...)
						if !p.truncated {
							if p.marker != "" {
								t.Errorf("last page carries Marker %q", p.marker)
							}
							break
						}
						if p.marker == "" {
							t.Fatalf("page %d is truncated without a Marker", pages)
						}
						if pages > tc.want {
							t.Fatalf("more than %d pages", tc.want)
						}
						marker = aws.String(p.marker)
					}
					want := append([]string(nil), full.items...)
					if tc.name == "ListEntitiesForPolicy" {
						// One page mixes kinds in separate lists: compare as sets.
						sort.Strings(want)
						sort.Strings(got)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("paged items mismatch (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestAcceptanceBoundaryUsage checks that a policy used as a permissions boundary is counted and listed as AWS
// does: PermissionsBoundaryUsageCount, ListPolicies' and ListEntitiesForPolicy's PolicyUsageFilter, and
// ListEntitiesForPolicy's PathPrefix and EntityFilter. Both backends.
func TestAcceptanceBoundaryUsage(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			c := e.iam
			bound := aws.String(acceptPolicyARN("bound"))
			must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bound"), PolicyDocument: aws.String(acceptPolicyDoc)}))
			must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("plain"), PolicyDocument: aws.String(acceptPolicyDoc)}))
			must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u"), Path: aws.String("/team/"), PermissionsBoundary: bound}))
			must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			must[*iam.PutRolePermissionsBoundaryOutput](t)(c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: bound}))
			// r also has bound attached as a permissions policy: listed once when no filter is given.
			must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: bound}))
			must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
			must[*iam.AttachGroupPolicyOutput](t)(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: bound}))

			got := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: bound})).Policy
			if aws.ToInt32(got.PermissionsBoundaryUsageCount) != 2 || aws.ToInt32(got.AttachmentCount) != 2 {
				t.Errorf("GetPolicy: PermissionsBoundaryUsageCount %d, AttachmentCount %d; want 2 and 2",
					aws.ToInt32(got.PermissionsBoundaryUsageCount), aws.ToInt32(got.AttachmentCount))
			}

			listed := func(in *iam.ListPoliciesInput) []string {
				in.Scope = types.PolicyScopeTypeLocal
				var out []string
				for _, p := range must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, in)).Policies {
					out = append(out, fmt.Sprintf("%s:%d", aws.ToString(p.PolicyName), aws.ToInt32(p.PermissionsBoundaryUsageCount)))
				}
				return out
			}
			for _, tc := range []struct {
				name string
				in   *iam.ListPoliciesInput
				want []string
			}{
				{"all", &iam.ListPoliciesInput{}, []string{"bound:2", "plain:0"}},
				{"boundaries", &iam.ListPoliciesInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}, []string{"bound:2"}},
				{"attached boundaries", &iam.ListPoliciesInput{OnlyAttached: true, PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}, []string{"bound:2"}},
				{"only attached", &iam.ListPoliciesInput{OnlyAttached: true}, []string{"bound:2"}},
			} {
				if diff := cmp.Diff(tc.want, listed(tc.in)); diff != "" {
					t.Errorf("ListPolicies %s mismatch (-want +got):\n%s", tc.name, diff)
				}
			}

			entities := func(in *iam.ListEntitiesForPolicyInput) []string {
				in.PolicyArn = bound
				o := must[*iam.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, in))
				var out []string
				for _, g := range o.PolicyGroups {
					out = append(out, "group/"+aws.ToString(g.GroupName))
				}
				for _, r := range o.PolicyRoles {
					out = append(out, "role/"+aws.ToString(r.RoleName))
				}
				for _, u := range o.PolicyUsers {
					out = append(out, "user/"+aws.ToString(u.UserName))
				}
				return out
			}
			for _, tc := range []struct {
				name string
				in   *iam.ListEntitiesForPolicyInput
				want []string
			}{
				{"no filter", &iam.ListEntitiesForPolicyInput{}, []string{"group/g", "role/r", "user/u"}},
				{"permissions policy", &iam.ListEntitiesForPolicyInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsPolicy}, []string{"group/g", "role/r"}},
				{"permissions boundary", &iam.ListEntitiesForPolicyInput{PolicyUsageFilter: types.PolicyUsageTypePermissionsBoundary}, []string{"role/r", "user/u"}},
				{"path prefix", &iam.ListEntitiesForPolicyInput{PathPrefix: aws.String("/team/")}, []string{"user/u"}},
				{"entity filter", &iam.ListEntitiesForPolicyInput{EntityFilter: types.EntityTypeRole}, []string{"role/r"}},
			} {
				if diff := cmp.Diff(tc.want, entities(tc.in)); diff != "" {
					t.Errorf("ListEntitiesForPolicy %s mismatch (-want +got):\n%s", tc.name, diff)
				}
			}

			// Once nothing uses it as a boundary or a permissions policy, it can go.
			must[*iam.DeleteRolePermissionsBoundaryOutput](t)(c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("r")}))
			// The count follows the change at once (it is cached only while the store does not change).
			if got := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: bound})).Policy; aws.ToInt32(got.PermissionsBoundaryUsageCount) != 1 {
				t.Errorf("after DeleteRolePermissionsBoundary: PermissionsBoundaryUsageCount %d, want 1", aws.ToInt32(got.PermissionsBoundaryUsageCount))
			}
			must[*iam.DetachRolePolicyOutput](t)(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: bound}))
			must[*iam.DetachGroupPolicyOutput](t)(c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: bound}))
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: bound})
			apiError(t, err, "DeleteConflict") // u still has it as its boundary
			must[*iam.DeleteUserPermissionsBoundaryOutput](t)(c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("u")}))
			must[*iam.DeletePolicyOutput](t)(c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: bound}))
		})
	}
}

// TestAcceptanceAccessDeniedNamesResource pins how AWS names the resource in IAM's AccessDenied messages: a user,
// group, role or instance profile by kind and name ("on resource: role MyRole"), a managed policy as "policy ARN",
// and a role being created, or the simulator's principal, by its ARN.
func TestAcceptanceAccessDeniedNamesResource(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	acceptFixture(t, e)
	must[*iam.CreateInstanceProfileOutput](t)(e.iam.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")}))
	nobody := e.iamAs(e.newUser("nobody", ""))
	who := "User: arn:aws:iam::" + testAccount + ":user/nobody is not authorized to perform: "
	because := func(action string) string {
		return " because no identity-based policy allows the " + action + " action"
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"GetRole", func() error {
			_, err := nobody.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
			return err
		}, who + "iam:GetRole on resource: role app" + because("iam:GetRole")},
		{"GetRole of a role that does not exist", func() error {
			_, err := nobody.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ghost")})
			return err
		}, who + "iam:GetRole on resource: role ghost" + because("iam:GetRole")},
		{"CreateAccessKey", func() error {
			_, err := nobody.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
			return err
		}, who + "iam:CreateAccessKey on resource: user alice" + because("iam:CreateAccessKey")},
		{"ListGroupsForUser", func() error {
			_, err := nobody.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("nobody")})
			return err
		}, who + "iam:ListGroupsForUser on resource: user nobody" + because("iam:ListGroupsForUser")},
		{"AddUserToGroup", func() error {
			_, err := nobody.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("nobody")})
			return err
		}, who + "iam:AddUserToGroup on resource: group devs" + because("iam:AddUserToGroup")},
		{"AttachRolePolicy", func() error {
			_, err := nobody.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, who + "iam:AttachRolePolicy on resource: role app" + because("iam:AttachRolePolicy")},
		{"GetPolicy AWS-managed", func() error {
			_, err := nobody.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, who + "iam:GetPolicy on resource: policy arn:aws:iam::aws:policy/ReadOnlyAccess" + because("iam:GetPolicy")},
		{"DeletePolicyVersion", func() error {
			_, err := nobody.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(acceptPolicyARN("pol")), VersionId: aws.String("v2")})
			return err
		}, who + "iam:DeletePolicyVersion on resource: policy " + acceptPolicyARN("pol") + because("iam:DeletePolicyVersion")},
		{"AddRoleToInstanceProfile", func() error {
			_, err := nobody.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("app")})
			return err
		}, who + "iam:AddRoleToInstanceProfile on resource: instance profile web" + because("iam:AddRoleToInstanceProfile")},
		{"CreateRole names the ARN", func() error {
			_, err := nobody.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("new"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
			return err
		}, who + "iam:CreateRole on resource: arn:aws:iam::" + testAccount + ":role/new" + because("iam:CreateRole")},
		{"SimulatePrincipalPolicy names the ARN", func() error {
			_, err := nobody.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + testAccount + ":user/alice"), ActionNames: []string{"s3:GetObject"}})
			return err
		}, who + "iam:SimulatePrincipalPolicy on resource: arn:aws:iam::" + testAccount + ":user/alice" + because("iam:SimulatePrincipalPolicy")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			ae := apiError(t, err, "AccessDenied")
			if ae.ErrorMessage() != tc.want {
				t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), tc.want)
			}
			if got := httpStatus(err); got != 403 {
				t.Errorf("HTTP status = %d, want 403", got)
			}
		})
	}
}

// TestAcceptanceAWSManagedPolicies checks the AWS-managed policies issue 3 names: each is served under its real
// path with a default version whose document is a valid identity policy, and a few carry their known statements.
func TestAcceptanceAWSManagedPolicies(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	names := []string{"AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess",
		"AmazonS3FullAccess", "AmazonS3ReadOnlyAccess", "AmazonDynamoDBFullAccess", "AmazonDynamoDBReadOnlyAccess",
		"AmazonEC2ReadOnlyAccess", "service-role/AWSLambdaBasicExecutionRole", "CloudWatchLogsFullAccess"}
	// Actions each document is known to allow (from the policies' published documents).
	contains := map[string][]string{
		"AdministratorAccess":                      {"*"},
		"AmazonS3ReadOnlyAccess":                   {"s3:Get*", "s3:List*"},
		"AmazonS3FullAccess":                       {"s3:*"},
		"IAMFullAccess":                            {"iam:*"},
		"service-role/AWSLambdaBasicExecutionRole": {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
		"AmazonDynamoDBFullAccess":                 {"dynamodb:*"},
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			arn := "arn:aws:iam::aws:policy/" + n
			p := must[*iam.GetPolicyOutput](t)(e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})).Policy
			wantPath := "/"
			if i := strings.LastIndex(n, "/"); i >= 0 {
				wantPath = "/" + n[:i+1]
			}
			if aws.ToString(p.Arn) != arn || aws.ToString(p.Path) != wantPath || !strings.HasPrefix(aws.ToString(p.PolicyId), "ANPA") || !p.IsAttachable {
				t.Errorf("GetPolicy = %s path %s id %s attachable %v", aws.ToString(p.Arn), aws.ToString(p.Path), aws.ToString(p.PolicyId), p.IsAttachable)
			}
			v := must[*iam.GetPolicyVersionOutput](t)(e.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.DefaultVersionId})).PolicyVersion
			doc, err := url.QueryUnescape(aws.ToString(v.Document))
			if err != nil || !v.IsDefaultVersion {
				t.Fatalf("document %q (%v), default %v", doc, err, v.IsDefaultVersion)
			}
			var parsed struct {
				Version   string
				Statement []struct {
					Effect string
					Action any
				}
			}
			if err := json.Unmarshal([]byte(doc), &parsed); err != nil || parsed.Version != "2012-10-17" || len(parsed.Statement) == 0 {
				t.Fatalf("document does not parse as a policy: %v\n%s", err, doc)
			}
			actions := map[string]bool{}
			for _, st := range parsed.Statement {
				switch a := st.Action.(type) {
				case string:
					actions[a] = true
				case []any:
					for _, x := range a {
						actions[fmt.Sprint(x)] = true
					}
				}
			}
			for _, want := range contains[n] {
				if !actions[want] {
					t.Errorf("document lacks action %s:\n%s", want, doc)
				}
			}
		})
	}
}

// TestAcceptanceIdentifiers checks ids, ARNs and timestamps as AWS forms them, and that a new role's RoleLastUsed
// is present and empty, as GetRole shows it on AWS.
func TestAcceptanceIdentifiers(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	u := must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Ann"), Path: aws.String("/a/b/")})).User
	g := must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Grp"), Path: aws.String("/a/")})).Group
	r := must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Rl"), Path: aws.String("/a/"), AssumeRolePolicyDocument: aws.String(ec2Trust)})).Role
	p := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Pl"), Path: aws.String("/a/"), PolicyDocument: aws.String(acceptPolicyDoc)})).Policy
	for _, tc := range []struct{ what, id, prefix, arn, wantARN string }{
		{"user", aws.ToString(u.UserId), "AIDA", aws.ToString(u.Arn), "arn:aws:iam::" + testAccount + ":user/a/b/Ann"},
		{"group", aws.ToString(g.GroupId), "AGPA", aws.ToString(g.Arn), "arn:aws:iam::" + testAccount + ":group/a/Grp"},
		{"role", aws.ToString(r.RoleId), "AROA", aws.ToString(r.Arn), "arn:aws:iam::" + testAccount + ":role/a/Rl"},
		{"policy", aws.ToString(p.PolicyId), "ANPA", aws.ToString(p.Arn), "arn:aws:iam::" + testAccount + ":policy/a/Pl"},
	} {
		if !strings.HasPrefix(tc.id, tc.prefix) || len(tc.id) != 21 || strings.Trim(tc.id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Errorf("%s id = %s, want %s and 17 characters of A-Z2-7", tc.what, tc.id, tc.prefix)
		}
		if tc.arn != tc.wantARN {
			t.Errorf("%s ARN = %s, want %s", tc.what, tc.arn, tc.wantARN)
		}
	}
	// IAM prints times to the second, in UTC.
	for what, ts := range map[string]*time.Time{"user": u.CreateDate, "group": g.CreateDate, "role": r.CreateDate, "policy": p.CreateDate} {
		if ts == nil || ts.Nanosecond() != 0 || ts.Location() != time.UTC {
			t.Errorf("%s CreateDate = %v, want whole seconds in UTC", what, ts)
		}
	}
	got := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("rl")})).Role
	if got.RoleLastUsed == nil || got.RoleLastUsed.LastUsedDate != nil || got.RoleLastUsed.Region != nil {
		t.Errorf("RoleLastUsed of a new role = %+v, want present and empty", got.RoleLastUsed)
	}
	if aws.ToString(got.RoleName) != "Rl" {
		t.Errorf("GetRole by another case returned %s, want the stored name Rl", aws.ToString(got.RoleName))
	}
}

// TestAcceptancePermissionsBoundaryOperations drives Put/Delete{User,Role}PermissionsBoundary: a boundary caps an
// administrator at once and lifting it restores the grant; iam:PermissionsBoundary lets a delegated administrator
// hand out only one boundary; errors as AWS answers them. Both backends.
func TestAcceptancePermissionsBoundaryOperations(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			readOnly := aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
			dev := e.iamAs(e.newUser("dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`))
			must[*iam.CreateUserOutput](t)(dev.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("first")}))

			must[*iam.PutUserPermissionsBoundaryOutput](t)(e.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("dev"), PermissionsBoundary: readOnly}))
			got := must[*iam.GetUserOutput](t)(e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")})).User
			if got.PermissionsBoundary == nil || aws.ToString(got.PermissionsBoundary.PermissionsBoundaryArn) != *readOnly ||
				got.PermissionsBoundary.PermissionsBoundaryType != "Policy" { // AWS's value; the model's enum says PermissionsBoundaryPolicy
				t.Errorf("GetUser PermissionsBoundary = %+v", got.PermissionsBoundary)
			}
			must[*iam.ListUsersOutput](t)(dev.ListUsers(ctx, &iam.ListUsersInput{}))
			_, err := dev.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("second")})
			ae := apiError(t, err, "AccessDenied")
			if want := "User: arn:aws:iam::" + testAccount + ":user/dev is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::" + testAccount +
				":user/second because no permissions boundary allows the iam:CreateUser action"; ae.ErrorMessage() != want {
				t.Errorf("message = %q\nwant      %q", ae.ErrorMessage(), want)
			}
			must[*iam.DeleteUserPermissionsBoundaryOutput](t)(e.iam.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("dev")}))
			must[*iam.CreateUserOutput](t)(dev.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("second")}))
			if got := must[*iam.GetUserOutput](t)(e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")})).User; got.PermissionsBoundary != nil {
				t.Errorf("after DeleteUserPermissionsBoundary: %+v", got.PermissionsBoundary)
			}

			// Roles: set, shown by GetRole, cleared.
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			must[*iam.PutRolePermissionsBoundaryOutput](t)(e.iam.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: readOnly}))
			role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})).Role
			if role.PermissionsBoundary == nil || aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn) != *readOnly {
				t.Errorf("GetRole PermissionsBoundary = %+v", role.PermissionsBoundary)
			}
			must[*iam.DeleteRolePermissionsBoundaryOutput](t)(e.iam.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("r")}))
			if role := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})).Role; role.PermissionsBoundary != nil {
				t.Errorf("after DeleteRolePermissionsBoundary: %+v", role.PermissionsBoundary)
			}

			// A delegated administrator may set only the boundary its policy names.
			delegate := e.iamAs(e.newUser("delegate", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PutRolePermissionsBoundary","Resource":"*",
				"Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}}}]}`))
			must[*iam.PutRolePermissionsBoundaryOutput](t)(delegate.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: readOnly}))
			_, err = delegate.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
			ae = apiError(t, err, "AccessDenied")
			if want := "iam:PutRolePermissionsBoundary on resource: role r"; !strings.Contains(ae.ErrorMessage(), want) {
				t.Errorf("message = %q, want it to contain %q", ae.ErrorMessage(), want)
			}

			_, err = e.iam.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("ghost"), PermissionsBoundary: readOnly})
			if ae := apiError(t, err, "NoSuchEntity"); ae.ErrorMessage() != "The role with name ghost cannot be found." {
				t.Errorf("message = %q", ae.ErrorMessage())
			}
			_, err = e.iam.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("ghost")})
			apiError(t, err, "NoSuchEntity")
			_, err = e.iam.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("dev"), PermissionsBoundary: aws.String(acceptPolicyARN("missing"))})
			apiError(t, err, "InvalidInput")
		})
	}
}

// TestAcceptanceQuotas pins the per-entity quotas of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
// with AWS's LimitExceeded wording ("Cannot exceed quota for PoliciesPerRole: 10").
func TestAcceptanceQuotas(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	c := e.iam
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	awsPolicies := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, PathPrefix: aws.String("/"), MaxItems: aws.Int32(11)})).Policies
	for i := range 10 {
		must[*iam.AttachRolePolicyOutput](t)(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: awsPolicies[i].Arn}))
		must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: awsPolicies[i].Arn}))
		must[*iam.AttachGroupPolicyOutput](t)(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: awsPolicies[i].Arn}))
		must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(fmt.Sprint("member-of-", i))}))
		must[*iam.AddUserToGroupOutput](t)(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("u"), GroupName: aws.String(fmt.Sprint("member-of-", i))}))
	}
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("eleventh")}))
	resource := func(n int) string { // a statement of about n non-white-space characters
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", n) + `"}]}`
	}
	for _, tc := range []struct {
		name string
		call func() error
		msg  string
	}{
		{"PoliciesPerRole", func() error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: awsPolicies[10].Arn})
			return err
		}, "Cannot exceed quota for PoliciesPerRole: 10"},
		{"PoliciesPerUser", func() error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: awsPolicies[10].Arn})
			return err
		}, "Cannot exceed quota for PoliciesPerUser: 10"},
		{"PoliciesPerGroup", func() error {
			_, err := c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: awsPolicies[10].Arn})
			return err
		}, "Cannot exceed quota for PoliciesPerGroup: 10"},
		{"GroupsPerUser", func() error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("u"), GroupName: aws.String("eleventh")})
			return err
		}, "Cannot exceed quota for GroupsPerUser: 10"},
		{"PolicySize", func() error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("huge"), PolicyDocument: aws.String(resource(6144))})
			return err
		}, "Cannot exceed quota for PolicySize: 6144"},
		{"RolePolicySize", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("huge"), PolicyDocument: aws.String(resource(10240))})
			return err
		}, "Maximum policy size of 10240 bytes exceeded for role r"},
		{"GroupPolicySize", func() error {
			_, err := c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String("huge"), PolicyDocument: aws.String(resource(5120))})
			return err
		}, "Maximum policy size of 5120 bytes exceeded for group g"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			ae := apiError(t, err, "LimitExceeded")
			if ae.ErrorMessage() != tc.msg {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tc.msg)
			}
			if got := httpStatus(err); got != 409 {
				t.Errorf("HTTP status = %d, want 409", got)
			}
		})
	}
	// A trust policy counts non-white-space characters too: a pretty-printed one under 2,048 of them is accepted.
	spacious := strings.Replace(*trustWithCondition(1800), `"Version"`, strings.Repeat(" \n", 300)+`"Version"`, 1)
	must[*iam.UpdateAssumeRolePolicyOutput](t)(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("r"), PolicyDocument: aws.String(spacious)}))
	_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("r"), PolicyDocument: trustWithCondition(2048)})
	apiError(t, err, "LimitExceeded")
	// Just under the sizes is accepted: white space does not count.
	must[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("big"),
		PolicyDocument: aws.String(strings.Replace(resource(10240-120), `"Version"`, strings.Repeat(" \n", 500)+`"Version"`, 1))}))
}

// TestAcceptanceTrustPolicyPrincipals pins IAM's check of a trust policy's "AWS" principals when it is saved: a user
// or role that does not exist, or any group, is MalformedPolicyDocument `Invalid principal in policy: "AWS":"ARN"`
// (AWS's wording); existing principals, account ids and accounts this server does not host are accepted.
func TestAcceptanceTrustPolicyPrincipals(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol"), Path: aws.String("/staff/")}))
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Developers")}))
	trust := func(principal string) *string {
		return aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`)
	}
	acct := "arn:aws:iam::" + testAccount + ":"
	for _, tc := range []struct {
		name, principal string
		ok              bool
	}{
		{"existing user", acct + "user/staff/carol", true},
		{"account root", acct + "root", true},
		{"account id", testAccount, true},
		{"account this server does not host", "arn:aws:iam::999988887777:user/anyone", true},
		{"user that does not exist", acct + "user/ghost", false},
		{"existing user under the wrong path", acct + "user/carol", false},
		{"role that does not exist", acct + "role/ghost", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := aws.String("trusting-" + strings.NewReplacer(" ", "-").Replace(tc.name))
			_, err := e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust(tc.principal)})
			if tc.ok {
				if err != nil {
					t.Fatalf("CreateRole: %v", err)
				}
				return
			}
			ae := apiError(t, err, "MalformedPolicyDocument")
			if want := `Invalid principal in policy: "AWS":"` + tc.principal + `"`; ae.ErrorMessage() != want {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), want)
			}
			if got := httpStatus(err); got != 400 {
				t.Errorf("HTTP status = %d, want 400", got)
			}
		})
	}
	// A group is never a principal: the policy validator refuses it, saying where.
	_, err := e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("trusting-group"), AssumeRolePolicyDocument: trust(acct + "group/Developers")})
	apiError(t, err, "MalformedPolicyDocument")
	// UpdateAssumeRolePolicy checks the same way and leaves the stored policy alone when it refuses.
	_, err = e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("trusting-existing-user"), PolicyDocument: trust(acct + "role/ghost")})
	apiError(t, err, "MalformedPolicyDocument")
	got := must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("trusting-existing-user")})).Role
	if doc, _ := url.QueryUnescape(aws.ToString(got.AssumeRolePolicyDocument)); doc != *trust(acct + "user/staff/carol") {
		t.Errorf("trust policy after a refused update = %s", doc)
	}
}

// TestAcceptanceGroupsPerAccount fills the account's 300 groups (IAM's default quota, the smallest account-level
// one) and checks the 301st is LimitExceeded with AWS's wording, and that deleting one makes room again.
func TestAcceptanceGroupsPerAccount(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	for i := range 300 {
		must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(fmt.Sprintf("g%03d", i))}))
	}
	_, err := e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("one-too-many")})
	ae := apiError(t, err, "LimitExceeded")
	if want := "Cannot exceed quota for GroupsPerAccount: 300"; ae.ErrorMessage() != want {
		t.Errorf("message = %q, want %q", ae.ErrorMessage(), want)
	}
	must[*iam.DeleteGroupOutput](t)(e.iam.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("g000")}))
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("one-too-many")}))
}

// trustWithCondition is an EC2 trust policy padded with a condition value of n characters.
func trustWithCondition(n int) *string {
	return aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"` + strings.Repeat("1", n) + `"}}}]}`)
}
