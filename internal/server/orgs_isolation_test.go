package server

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/persona-iam/persona/internal/secrets"
	"github.com/persona-iam/persona/internal/store"
)

// seedUser stores, as an out-of-band fixture, a user of account with an inline policy and an access key, and
// returns the key's credentials. (The box is the one newEnv opens the server with.)
func seedUser(t *testing.T, e *env, account, name, policyDoc string) aws.Credentials {
	t.Helper()
	box, err := secrets.NewBox(bytes.Repeat([]byte{1}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := "AKIA"+account[:4]+"SEEDEDUSER"[:10]+"22", "seeded/secret/of/"+name+"/0123456789abcdef"
	put := func(ctx context.Context, tx store.Tx, kind store.Kind, key, id string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.Create(ctx, store.Record{Kind: kind, Account: account, Key: key, ID: id, Data: data})
	}
	err = e.st.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		if err := put(ctx, tx, store.KindUser, name, "AIDASEEDED"+account, &store.User{Name: name, ID: "AIDASEEDED" + account, Path: "/", Created: tx.Now()}); err != nil {
			return err
		}
		if err := put(ctx, tx, store.KindInlinePolicy, "user/"+name+"/all", "", &store.InlinePolicy{Name: "all", Document: policyDoc}); err != nil {
			return err
		}
		return put(ctx, tx, store.KindAccessKey, name+"/"+keyID, keyID, &store.AccessKey{
			ID: keyID, UserName: name, Status: "Active", Secret: box.Seal([]byte(secret), []byte(keyID)), Created: tx.Now(),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
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

			bob := seedUser(t, e, b, "bob", allowIAMAndOrgs)
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
