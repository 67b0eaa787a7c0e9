package server

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestTrustByPrincipalOrgID: a role in a member account trusts every principal of its organization through
// aws:PrincipalOrgID; a user of the management account gets in, a user of an account outside the organization
// with the same permissions does not.
func TestTrustByPrincipalOrgID(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	org := e.orgsAs(e.root)
	orgID := aws.ToString(must[*organizations.CreateOrganizationOutput](t)(org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})).Organization.Id)
	member := e.createAccount(t, org, "member", "member@example.com")
	inMember := e.iamAs(e.memberAdmin(t, member))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole",
		"Condition":{"StringEquals":{"aws:PrincipalOrgID":"` + orgID + `"}}}]}`
	roleARN := e.role(inMember, "org-shared", trust, "")
	assumeAnything := allow(`"sts:AssumeRole"`, "*")

	insider := e.userWithKey("insider")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("insider"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(assumeAnything)}))
	out := must[*sts.AssumeRoleOutput](t)(e.stsAs(insider).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("in")}))
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::"+member+":assumed-role/org-shared/in"; got != want {
		t.Errorf("AssumedRoleUser = %s, want %s", got, want)
	}

	const outside = "444455556666"
	rootOutside := e.iamAs(e.secondAccount(outside))
	must[*iam.CreateUserOutput](t)(rootOutside.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("outsider")}))
	must[*iam.PutUserPolicyOutput](t)(rootOutside.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("outsider"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(assumeAnything)}))
	k := must[*iam.CreateAccessKeyOutput](t)(rootOutside.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("outsider")})).AccessKey
	_, err := e.stsAs(aws.Credentials{AccessKeyID: aws.ToString(k.AccessKeyId), SecretAccessKey: aws.ToString(k.SecretAccessKey)}).
		AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("out")})
	apiError(t, err, "AccessDenied")
}
