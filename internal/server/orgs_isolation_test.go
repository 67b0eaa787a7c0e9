package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// memberAdmin returns credentials of a session of the OrganizationAccountAccessRole in account, assumed by a
// user of the management account allowed sts:AssumeRole on it, as AWS's guide has administrators do.
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html
func (e *env) memberAdmin(t *testing.T, account string) aws.Credentials {
	t.Helper()
	ctx := context.Background()
	admin := e.userWithKey("admin-of-" + account)
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin-of-" + account),
		PolicyName: aws.String("assume"), PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "arn:aws:iam::*:role/OrganizationAccountAccessRole"))}))
	var out *sts.AssumeRoleOutput
	var err error
	waitAllowedCode(t, "AccessDenied", func() error {
		out, err = e.stsAs(admin).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("admin"),
		})
		return err
	})
	return e.sessionCreds(out)
}

// userIn creates, through creds (a session in account), a user with policyDoc and an access key.
func (e *env) userIn(t *testing.T, creds aws.Credentials, name, policyDoc string) aws.Credentials {
	t.Helper()
	ctx := context.Background()
	c := e.iamAs(creds)
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	must[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("all"), PolicyDocument: aws.String(policyDoc)}))
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})).AccessKey
	return aws.Credentials{AccessKeyID: aws.ToString(k.AccessKeyId), SecretAccessKey: aws.ToString(k.SecretAccessKey)}
}

// waitAllowedCode retries f while it fails with code: policy changes apply within the cache's invalidation.
func waitAllowedCode(t *testing.T, code string, f func() error) {
	t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		if err = f(); err == nil {
			return
		}
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("still denied: %v", err)
}

const allowIAMAndOrgs = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:*"],"Resource":"*"}]}`

// TestAccountsAreIsolated pins down that no call reaches another account's entities: a user of member account
// B, allowed iam:* on "*", sees only B's roles, users and policies, never account A's, and cannot manage A's
// organization.
func TestAccountsAreIsolated(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			org := e.orgsAs(e.root)
			must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
			b := e.createAccount(t, org, "B", "b@example.com")

			// Account A's entities.
			must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("only-in-a"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
			must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
			pol := must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("a-policy"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})).Policy

			bob := e.userIn(t, e.memberAdmin(t, b), "bob", allowIAMAndOrgs)
			bobIAM := e.iamAs(bob)

			id := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(bob).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			if aws.ToString(id.Account) != b {
				t.Fatalf("bob's account = %s, want %s", aws.ToString(id.Account), b)
			}
			_, err := bobIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("only-in-a")})
			apiError(t, err, "NoSuchEntity")
			_, err = bobIAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
			apiError(t, err, "NoSuchEntity")
			// A's policy by its full ARN: the policy engine refuses the other account's resource.
			_, err = bobIAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: pol.Arn})
			apiError(t, err, "AccessDenied")
			_, err = bobIAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("OrganizationAccountAccessRole"), PolicyArn: pol.Arn})
			apiError(t, err, "NoSuchEntity") // as AWS: "Policy … does not exist or is not attachable."
			// A's role cannot be changed or deleted from B: the name resolves in B only.
			_, err = bobIAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("only-in-a")})
			apiError(t, err, "NoSuchEntity")
			must[*iam.GetRoleOutput](t)(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("only-in-a")}))

			roles := must[*iam.ListRolesOutput](t)(bobIAM.ListRoles(ctx, &iam.ListRolesInput{}))
			if len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != "OrganizationAccountAccessRole" {
				t.Errorf("B's roles = %v, want only OrganizationAccountAccessRole", roleNames(roles))
			}
			users := must[*iam.ListUsersOutput](t)(bobIAM.ListUsers(ctx, &iam.ListUsersInput{}))
			if len(users.Users) != 1 || aws.ToString(users.Users[0].UserName) != "bob" {
				t.Errorf("B's users = %d, want only bob", len(users.Users))
			}
			// bob's session-less key cannot assume A's roles either: the trust policy names A's own principals.
			_, err = e.stsAs(bob).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/only-in-a"), RoleSessionName: aws.String("bob-session")})
			apiError(t, err, "AccessDenied")
			local := must[*iam.ListPoliciesOutput](t)(bobIAM.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"}))
			if len(local.Policies) != 0 {
				t.Errorf("B's customer policies = %d, want none", len(local.Policies))
			}
			// And A sees none of B's: bob is not a user of A.
			_, err = e.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bob")})
			apiError(t, err, "NoSuchEntity")

			// A member account may describe its organization but not manage its accounts, whatever its policies say.
			bobOrgs := e.orgsAs(bob)
			d := must[*organizations.DescribeOrganizationOutput](t)(bobOrgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}))
			if aws.ToString(d.Organization.MasterAccountId) != testAccount {
				t.Errorf("member sees management account %s", aws.ToString(d.Organization.MasterAccountId))
			}
			_, err = bobOrgs.ListAccounts(ctx, &organizations.ListAccountsInput{})
			apiError(t, err, "AccessDeniedException")
			_, err = bobOrgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")})
			apiError(t, err, "AccessDeniedException")
			_, err = bobOrgs.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(testAccount)})
			apiError(t, err, "AccessDeniedException")
			_, err = bobOrgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
			apiError(t, err, "AlreadyInOrganizationException")
		})
	}
}

func roleNames(out *iam.ListRolesOutput) []string {
	var names []string
	for _, r := range out.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	return names
}
