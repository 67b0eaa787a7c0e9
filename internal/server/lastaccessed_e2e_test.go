package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// lastAccessedFixture is an account where a role (through its sessions), a user and a group's members have used
// some of the services their policies allow.
type lastAccessedFixture struct {
	roleARN, userARN, opsARN, groupARN, policyARN string
}

func (e *env) lastAccessedFixture() lastAccessedFixture {
	t := e.t
	ctx := context.Background()
	f := lastAccessedFixture{
		roleARN:   "arn:aws:iam::" + testAccount + ":role/app/worker",
		userARN:   "arn:aws:iam::" + testAccount + ":user/dev",
		opsARN:    "arn:aws:iam::" + testAccount + ":user/ops",
		groupARN:  "arn:aws:iam::" + testAccount + ":group/team",
		policyARN: "arn:aws:iam::" + testAccount + ":policy/TeamPolicy",
	}
	// The role allows IAM reads, sts:GetCallerIdentity and s3:GetObject (never used).
	must[*iam.CreateRoleOutput](t)(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("worker"), Path: aws.String("/app/"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"sts:AssumeRole"}]}`)}))
	must[*iam.PutRolePolicyOutput](t)(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("worker"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","sts:GetCallerIdentity","s3:GetObject"],"Resource":"*"}]}`)}))
	// The user allows iam:GetUser and ec2:DescribeInstances (never used), plus an AWS-managed policy (S3 reads).
	dev := e.newUser("dev", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","ec2:DescribeInstances"],"Resource":"*"}]}`)
	must[*iam.AttachUserPolicyOutput](t)(e.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dev"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}))
	ops := e.newUser("ops", "")
	// The group's managed policy allows iam:ListRoles and dynamodb:GetItem (never used); it is attached to the
	// group (members dev and ops) and to the role.
	must[*iam.CreateGroupOutput](t)(e.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("team")}))
	must[*iam.CreatePolicyOutput](t)(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("TeamPolicy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","dynamodb:GetItem"],"Resource":"*"}]}`)}))
	must[*iam.AttachGroupPolicyOutput](t)(e.iam.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("team"), PolicyArn: aws.String(f.policyARN)}))
	must[*iam.AttachRolePolicyOutput](t)(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("worker"), PolicyArn: aws.String(f.policyARN)}))
	for _, u := range []string{"dev", "ops"} {
		must[*iam.AddUserToGroupOutput](t)(e.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("team"), UserName: aws.String(u)}))
	}

	// Activity: the role's session lists users, tries CreateUser (denied: attempts count) and asks who it is.
	assumer := e.newUser("assumer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	ar := must[*sts.AssumeRoleOutput](t)(e.stsAs(assumer).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(f.roleARN), RoleSessionName: aws.String("job-1")}))
	sess := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	must[*iam.ListUsersOutput](t)(e.iamAs(sess).ListUsers(ctx, &iam.ListUsersInput{}))
	_, err := e.iamAs(sess).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nope")})
	apiError(t, err, "AccessDenied")
	must[*sts.GetCallerIdentityOutput](t)(e.stsAs(sess).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	// The users: dev reads itself, ops lists roles (through the group's policy).
	must[*iam.GetUserOutput](t)(e.iamAs(dev).GetUser(ctx, &iam.GetUserInput{}))
	must[*iam.ListRolesOutput](t)(e.iamAs(ops).ListRoles(ctx, &iam.ListRolesInput{}))
	e.flushAudit()
	return f
}

// report generates the report of entityARN and reads all its pages.
func (e *env) report(c *iam.Client, entityARN string, g iamtypes.AccessAdvisorUsageGranularityType) (string, map[string]iamtypes.ServiceLastAccessed) {
	e.t.Helper()
	ctx := context.Background()
	job := must[*iam.GenerateServiceLastAccessedDetailsOutput](e.t)(c.GenerateServiceLastAccessedDetails(ctx,
		&iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(entityARN), Granularity: g}))
	out := map[string]iamtypes.ServiceLastAccessed{}
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId}
	for {
		page := must[*iam.GetServiceLastAccessedDetailsOutput](e.t)(c.GetServiceLastAccessedDetails(ctx, in))
		if page.JobStatus != iamtypes.JobStatusTypeCompleted || page.JobCreationDate == nil || page.JobCompletionDate == nil {
			e.t.Fatalf("job %s: status %s, created %v, completed %v", aws.ToString(job.JobId), page.JobStatus, page.JobCreationDate, page.JobCompletionDate)
		}
		want := g
		if want == "" {
			want = iamtypes.AccessAdvisorUsageGranularityTypeServiceLevel
		}
		if page.JobType != want {
			e.t.Fatalf("JobType = %s, want %s", page.JobType, want)
		}
		for _, s := range page.ServicesLastAccessed {
			if _, dup := out[aws.ToString(s.ServiceNamespace)]; dup {
				e.t.Fatalf("service %s listed twice", aws.ToString(s.ServiceNamespace))
			}
			out[aws.ToString(s.ServiceNamespace)] = s
		}
		if !page.IsTruncated {
			return aws.ToString(job.JobId), out
		}
		in.Marker = page.Marker
	}
}

func namespaces(m map[string]iamtypes.ServiceLastAccessed) []string {
	var out []string
	for ns := range m {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// used checks that service ns was last used by entity, by totalEntities entities.
func used(t *testing.T, what string, m map[string]iamtypes.ServiceLastAccessed, ns, entity string, totalEntities int32) {
	t.Helper()
	s, ok := m[ns]
	if !ok {
		t.Fatalf("%s: service %s not listed (%v)", what, ns, namespaces(m))
	}
	if s.LastAuthenticated == nil || aws.ToString(s.LastAuthenticatedEntity) != entity || aws.ToString(s.LastAuthenticatedRegion) != "us-east-1" ||
		aws.ToInt32(s.TotalAuthenticatedEntities) != totalEntities {
		t.Errorf("%s: %s last authenticated %v by %q in %q, %d entities; want by %s in us-east-1, %d entities", what, ns,
			s.LastAuthenticated, aws.ToString(s.LastAuthenticatedEntity), aws.ToString(s.LastAuthenticatedRegion), aws.ToInt32(s.TotalAuthenticatedEntities), entity, totalEntities)
	}
}

// unused checks that service ns is listed (allowed) and was never used.
func unused(t *testing.T, what string, m map[string]iamtypes.ServiceLastAccessed, ns string) {
	t.Helper()
	s, ok := m[ns]
	if !ok {
		t.Fatalf("%s: service %s not listed (%v)", what, ns, namespaces(m))
	}
	if s.LastAuthenticated != nil || s.LastAuthenticatedEntity != nil || aws.ToInt32(s.TotalAuthenticatedEntities) != 0 {
		t.Errorf("%s: unused %s shows last use %v by %q (%d entities)", what, ns, s.LastAuthenticated, aws.ToString(s.LastAuthenticatedEntity), aws.ToInt32(s.TotalAuthenticatedEntities))
	}
	if aws.ToString(s.ServiceName) == "" {
		t.Errorf("%s: %s has no ServiceName", what, ns)
	}
}

// TestServiceLastAccessedFromTrail: reports of a role (its sessions' calls), a user, a group (its members) and a
// managed policy (the entities it is attached to) list the services the policies allow, with the last attempt
// from the trail; an allowed service never used has no LastAuthenticated.
func TestServiceLastAccessedFromTrail(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			f := e.lastAccessedFixture()

			_, role := e.report(e.iam, f.roleARN, "")
			if got, want := namespaces(role), []string{"dynamodb", "iam", "s3", "sts"}; !slices.Equal(got, want) {
				t.Errorf("role report services = %v, want %v", got, want)
			}
			used(t, "role", role, "iam", f.roleARN, 1)
			used(t, "role", role, "sts", f.roleARN, 1)
			unused(t, "role", role, "s3")
			unused(t, "role", role, "dynamodb")
			if n := aws.ToString(role["iam"].ServiceName); n != "AWS Identity and Access Management" {
				t.Errorf("iam ServiceName = %q", n)
			}
			if role["iam"].TrackedActionsLastAccessed != nil {
				t.Error("a SERVICE_LEVEL report lists tracked actions")
			}

			// ACTION_LEVEL: the IAM actions the role's sessions tried, the denied one included.
			_, roleActions := e.report(e.iam, f.roleARN, iamtypes.AccessAdvisorUsageGranularityTypeActionLevel)
			var acts []string
			for _, a := range roleActions["iam"].TrackedActionsLastAccessed {
				acts = append(acts, aws.ToString(a.ActionName))
				if a.LastAccessedTime == nil || aws.ToString(a.LastAccessedEntity) != f.roleARN || aws.ToString(a.LastAccessedRegion) != "us-east-1" {
					t.Errorf("tracked action %+v", a)
				}
			}
			if want := []string{"CreateUser", "ListUsers"}; !slices.Equal(acts, want) {
				t.Errorf("iam tracked actions = %v, want %v", acts, want)
			}
			if roleActions["sts"].TrackedActionsLastAccessed != nil {
				t.Error("sts actions are not tracked, yet listed")
			}

			_, user := e.report(e.iam, f.userARN, "")
			used(t, "user", user, "iam", f.userARN, 1)
			unused(t, "user", user, "ec2")
			unused(t, "user", user, "s3")       // from the AWS-managed AmazonS3ReadOnlyAccess
			unused(t, "user", user, "dynamodb") // from the group's policy
			if _, ok := user["sts"]; ok {
				t.Error("user report lists sts, which no policy of the user allows")
			}

			groupJob, group := e.report(e.iam, f.groupARN, "")
			if got, want := namespaces(group), []string{"dynamodb", "iam"}; !slices.Equal(got, want) {
				t.Errorf("group report services = %v, want %v", got, want)
			}
			if s := group["iam"]; aws.ToInt32(s.TotalAuthenticatedEntities) != 2 || s.LastAuthenticated == nil {
				t.Errorf("group iam: %d entities, last %v; want 2 (dev and ops)", aws.ToInt32(s.TotalAuthenticatedEntities), s.LastAuthenticated)
			}
			unused(t, "group", group, "dynamodb")
			ents := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(e.iam.GetServiceLastAccessedDetailsWithEntities(ctx,
				&iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: aws.String(groupJob), ServiceNamespace: aws.String("iam")}))
			var names []string
			for _, d := range ents.EntityDetailsList {
				names = append(names, aws.ToString(d.EntityInfo.Name))
				if d.EntityInfo.Type != iamtypes.PolicyOwnerEntityTypeUser || d.LastAuthenticated == nil || aws.ToString(d.EntityInfo.Id) == "" {
					t.Errorf("entity %+v", d.EntityInfo)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"dev", "ops"}) || ents.JobStatus != iamtypes.JobStatusTypeCompleted {
				t.Errorf("group iam entities = %v (%s), want dev and ops", names, ents.JobStatus)
			}
			// One per page.
			p1 := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(e.iam.GetServiceLastAccessedDetailsWithEntities(ctx,
				&iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: aws.String(groupJob), ServiceNamespace: aws.String("iam"), MaxItems: aws.Int32(1)}))
			if len(p1.EntityDetailsList) != 1 || !p1.IsTruncated || p1.Marker == nil {
				t.Fatalf("first page: %d entities, truncated %v", len(p1.EntityDetailsList), p1.IsTruncated)
			}

			_, pol := e.report(e.iam, f.policyARN, "")
			if got, want := namespaces(pol), []string{"dynamodb", "iam"}; !slices.Equal(got, want) {
				t.Errorf("policy report services = %v, want %v", got, want)
			}
			// dev and ops through the group, the worker role directly; ops's ListRoles was the last IAM call.
			used(t, "policy", pol, "iam", f.opsARN, 3)
			unused(t, "policy", pol, "dynamodb")
		})
	}
}

// TestServiceLastAccessedPagination: MaxItems and Marker page through the services.
func TestServiceLastAccessedPagination(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	f := e.lastAccessedFixture()
	job := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(e.iam.GenerateServiceLastAccessedDetails(ctx,
		&iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(f.roleARN)}))
	var seen []string
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId, MaxItems: aws.Int32(1)}
	for range 10 {
		page := must[*iam.GetServiceLastAccessedDetailsOutput](t)(e.iam.GetServiceLastAccessedDetails(ctx, in))
		if len(page.ServicesLastAccessed) != 1 {
			t.Fatalf("page of %d services, want 1", len(page.ServicesLastAccessed))
		}
		seen = append(seen, aws.ToString(page.ServicesLastAccessed[0].ServiceNamespace))
		if !page.IsTruncated {
			break
		}
		in.Marker = page.Marker
	}
	if len(seen) != 4 {
		t.Fatalf("paged through %v, want 4 services", seen)
	}
	_, err := e.iam.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId, Marker: aws.String("x")})
	apiError(t, err, "InvalidInput")
}

// TestServiceLastAccessedAuthorizationAndErrors: GenerateServiceLastAccessedDetails is authorized on the entity's
// ARN and GetServiceLastAccessedDetails on "*"; missing entities, bad ARNs and unknown or foreign jobs are refused.
func TestServiceLastAccessedAuthorizationAndErrors(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	f := e.lastAccessedFixture()
	// May report on users only, and read reports.
	auditor := e.iamAs(e.newUser("auditor", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iam:GenerateServiceLastAccessedDetails","Resource":"arn:aws:iam::`+testAccount+`:user/*"},
	 {"Effect":"Allow","Action":"iam:GetServiceLastAccessedDetails","Resource":"*"}]}`))
	job := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(auditor.GenerateServiceLastAccessedDetails(ctx,
		&iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(f.userARN)}))
	must[*iam.GetServiceLastAccessedDetailsOutput](t)(auditor.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId}))
	_, err := auditor.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(f.roleARN)})
	apiError(t, err, "AccessDenied")
	// Without iam:GetServiceLastAccessedDetailsWithEntities.
	_, err = auditor.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: job.JobId, ServiceNamespace: aws.String("iam")})
	apiError(t, err, "AccessDenied")

	_, err = e.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::" + testAccount + ":role/missing")})
	apiError(t, err, "NoSuchEntity")
	// The path is part of the ARN.
	_, err = e.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::" + testAccount + ":role/worker")})
	apiError(t, err, "NoSuchEntity")
	_, err = e.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::" + testAccount + ":policy/Missing")})
	apiError(t, err, "NoSuchEntity")
	_, err = e.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:s3:::bucket-name-here")})
	apiError(t, err, "InvalidInput")
	_, err = e.iam.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(f.userARN), Granularity: "EVERYTHING"})
	apiError(t, err, "ValidationError")
	_, err = e.iam.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")})
	apiError(t, err, "NoSuchEntity")
	// Entities are listed for groups' and policies' reports only.
	_, err = e.iam.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: job.JobId, ServiceNamespace: aws.String("iam")})
	apiError(t, err, "InvalidInput")

	// Another account's root sees neither the job nor the entity (IAM grants nothing across accounts).
	other := e.iamAs(e.addAccount("444455556666", "AKIAOTHERACCOUNT0001", "other-secret-other-secret-other-secret00"))
	_, err = other.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId})
	apiError(t, err, "NoSuchEntity")
	_, err = other.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(f.userARN)})
	apiError(t, err, "AccessDenied")
}

// TestServiceLastAccessedCLI runs `aws iam generate-service-last-accessed-details` and
// `aws iam get-service-last-accessed-details`.
func TestServiceLastAccessedCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test (.ci/run installs it)")
	}
	e := newEnv(t, sqliteStore)
	f := e.lastAccessedFixture()
	gen, err := e.awsCLIJSON(t, e.root, "iam", "generate-service-last-accessed-details", "--arn", f.roleARN, "--granularity", "ACTION_LEVEL")
	if err != nil {
		t.Fatal(err)
	}
	jobID, _ := gen["JobId"].(string)
	if len(jobID) != 36 {
		t.Fatalf("JobId = %q", jobID)
	}
	out, err := e.awsCLIJSON(t, e.root, "iam", "get-service-last-accessed-details", "--job-id", jobID)
	if err != nil {
		t.Fatal(err)
	}
	if out["JobStatus"] != "COMPLETED" || out["JobType"] != "ACTION_LEVEL" || out["IsTruncated"] != false {
		t.Fatalf("job: %v", out)
	}
	services, _ := out["ServicesLastAccessed"].([]any)
	byNS := map[string]map[string]any{}
	for _, s := range services {
		m := s.(map[string]any)
		byNS[fmt.Sprint(m["ServiceNamespace"])] = m
	}
	if s := byNS["iam"]; s == nil || s["LastAuthenticatedEntity"] != f.roleARN || s["LastAuthenticated"] == nil || s["TrackedActionsLastAccessed"] == nil {
		b, _ := json.Marshal(byNS["iam"])
		t.Errorf("iam: %s", b)
	}
	if s := byNS["s3"]; s == nil || s["LastAuthenticated"] != nil || s["TotalAuthenticatedEntities"] != float64(0) {
		t.Errorf("s3: %v", s)
	}

	gen, err = e.awsCLIJSON(t, e.root, "iam", "generate-service-last-accessed-details", "--arn", f.groupARN)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := e.awsCLIJSON(t, e.root, "iam", "get-service-last-accessed-details-with-entities",
		"--job-id", fmt.Sprint(gen["JobId"]), "--service-namespace", "iam")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := ents["EntityDetailsList"].([]any)
	if len(list) != 2 || ents["JobStatus"] != "COMPLETED" {
		t.Fatalf("group entities: %v", ents)
	}
	for _, d := range list {
		info, _ := d.(map[string]any)["EntityInfo"].(map[string]any)
		if info["Type"] != "USER" || (info["Name"] != "dev" && info["Name"] != "ops") {
			t.Errorf("entity %v", info)
		}
	}
}

// TestServiceLastAccessedRecreatedUser: a user deleted and created again under the same name does not inherit the
// activity of the one before (entities are matched by unique id, not only by ARN).
func TestServiceLastAccessedRecreatedUser(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`
	ghost := e.newUser("ghost", doc)
	must[*iam.GetUserOutput](t)(e.iamAs(ghost).GetUser(ctx, &iam.GetUserInput{}))
	e.flushAudit()
	userARN := "arn:aws:iam::" + testAccount + ":user/ghost"
	_, before := e.report(e.iam, userARN, "")
	used(t, "first ghost", before, "iam", userARN, 1)

	must[*iam.DeleteAccessKeyOutput](t)(e.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("ghost"), AccessKeyId: aws.String(ghost.AccessKeyID)}))
	must[*iam.DeleteUserPolicyOutput](t)(e.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("ghost"), PolicyName: aws.String("p")}))
	must[*iam.DeleteUserOutput](t)(e.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("ghost")}))
	must[*iam.CreateUserOutput](t)(e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ghost")}))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ghost"),
		PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}))
	_, after := e.report(e.iam, userARN, "")
	unused(t, "second ghost", after, "iam")
}
