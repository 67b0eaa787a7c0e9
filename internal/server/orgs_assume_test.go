package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestManagementAssumesOrganizationAccountAccessRole is the scenario: the management account reaches a
// new account through sts:AssumeRole on the role CreateAccount made, and administers it; nobody else can.
func TestManagementAssumesOrganizationAccountAccessRole(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			org := e.orgsAs(e.root)
			must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}))
			b := e.createAccount(t, org, "B", "b@example.com")
			c := e.createAccount(t, org, "C", "c@example.com")

			session := e.memberAdmin(t, b)
			id := must[*sts.GetCallerIdentityOutput](t)(e.stsAs(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
			if want := "arn:aws:sts::" + b + ":assumed-role/OrganizationAccountAccessRole/admin"; aws.ToString(id.Account) != b || aws.ToString(id.Arn) != want {
				t.Fatalf("caller = %s %s, want account %s as %s", aws.ToString(id.Account), aws.ToString(id.Arn), b, want)
			}

			// AdministratorAccess in B: create a role, a policy, attach it.
			inB := e.iamAs(session)
			e.role(inB, "app", ec2Trust, "")
			pol := must[*iam.CreatePolicyOutput](t)(inB.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("app-policy"),
				PolicyDocument: aws.String(allow(`"s3:GetObject"`, "*"))})).Policy
			if want := "arn:aws:iam::" + b + ":policy/app-policy"; aws.ToString(pol.Arn) != want {
				t.Errorf("policy ARN = %s, want %s", aws.ToString(pol.Arn), want)
			}
			must[*iam.AttachRolePolicyOutput](t)(inB.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: pol.Arn}))
			roles := must[*iam.ListRolesOutput](t)(inB.ListRoles(ctx, &iam.ListRolesInput{}))
			if got := roleNames(roles); fmt.Sprint(got) != "[app OrganizationAccountAccessRole]" {
				t.Errorf("B's roles = %v", got)
			}
			attached := must[*iam.ListAttachedRolePoliciesOutput](t)(inB.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("OrganizationAccountAccessRole")}))
			if len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/AdministratorAccess" {
				t.Errorf("the access role's policies = %+v, want AdministratorAccess", attached.AttachedPolicies)
			}
			// What was done in B stays in B.
			_, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
			apiError(t, err, "NoSuchEntity")

			// B's administrator cannot hop to C: C's role trusts the management account only.
			_, err = e.stsAs(session).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + c + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("hop")})
			apiError(t, err, "AccessDenied")
			// A user of the management account needs sts:AssumeRole in its own policies too.
			nobody := e.userWithKey("nobody")
			_, err = e.stsAs(nobody).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + b + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("try")})
			apiError(t, err, "AccessDenied")

			// A role named by RoleName is assumed the same way.
			out := must[*organizations.CreateAccountOutput](t)(org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("D"), Email: aws.String("d@example.com"), RoleName: aws.String("OrgAdmin")}))
			d := aws.ToString(must[*organizations.DescribeCreateAccountStatusOutput](t)(org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: out.CreateAccountStatus.Id})).CreateAccountStatus.AccountId)
			admin := e.userWithKey("admin-d")
			must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin-d"), PolicyName: aws.String("assume"),
				PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "arn:aws:iam::"+d+":role/OrgAdmin"))}))
			waitAllowedCode(t, "AccessDenied", func() error {
				_, err := e.stsAs(admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + d + ":role/OrgAdmin"), RoleSessionName: aws.String("admin")})
				return err
			})
		})
	}
}
