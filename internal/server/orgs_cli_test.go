package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// awsCLIJSON runs the aws CLI (e.awsCLI, sts_cli_test.go) with the access key and returns its JSON output.
func (e *env) awsCLIJSON(t *testing.T, c aws.Credentials, args ...string) (map[string]any, error) {
	t.Helper()
	env := []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_MAX_ATTEMPTS=1"}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	stdout, stderr, err := e.awsCLI(t, env, append(args, "--output", "json")...)
	if err != nil {
		return nil, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if strings.TrimSpace(stdout) == "" {
		return v, nil
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		return nil, fmt.Errorf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
	return v, nil
}

// TestOrganizationsWithAWSCLI runs the scenario with the real aws CLI: create an organization, create an
// account, poll its status, and find it listed.
func TestOrganizationsWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test (.ci/run installs it)")
	}
	e := newEnv(t, sqliteStore)
	cli := func(args ...string) map[string]any {
		t.Helper()
		v, err := e.awsCLIJSON(t, e.root, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	org := cli("organizations", "create-organization", "--feature-set", "ALL")["Organization"].(map[string]any)
	if org["MasterAccountId"] != testAccount || !orgIDRE.MatchString(fmt.Sprint(org["Id"])) {
		t.Fatalf("create-organization = %v", org)
	}
	st := cli("organizations", "create-account", "--email", "cli@example.com", "--account-name", "From CLI")["CreateAccountStatus"].(map[string]any)
	if st["State"] != "IN_PROGRESS" || !requestIDRE.MatchString(fmt.Sprint(st["Id"])) {
		t.Fatalf("create-account = %v", st)
	}
	done := cli("organizations", "describe-create-account-status", "--create-account-request-id", fmt.Sprint(st["Id"]))["CreateAccountStatus"].(map[string]any)
	account := fmt.Sprint(done["AccountId"])
	if done["State"] != "SUCCEEDED" || !accountIDRE.MatchString(account) {
		t.Fatalf("describe-create-account-status = %v", done)
	}
	// aws CLI v1 prints timestamps as they came on the wire (cli_timestamp_format none): epoch seconds.
	if ts, ok := done["CompletedTimestamp"].(float64); !ok || math.Abs(ts-float64(time.Now().Unix())) > 3600 {
		t.Errorf("CompletedTimestamp = %v, want epoch seconds of about now", done["CompletedTimestamp"])
	}
	// list-accounts paginates by itself (NextToken) when asked for pages of one.
	listed := cli("organizations", "list-accounts", "--page-size", "1")["Accounts"].([]any)
	names := map[string]string{}
	for _, a := range listed {
		m := a.(map[string]any)
		names[fmt.Sprint(m["Id"])] = fmt.Sprint(m["Name"])
	}
	if len(listed) != 2 || names[account] != "From CLI" {
		t.Errorf("list-accounts = %v, want the management account and %s named From CLI", listed, account)
	}
	described := cli("organizations", "describe-account", "--account-id", account)["Account"].(map[string]any)
	if described["Email"] != "cli@example.com" || described["JoinedMethod"] != "CREATED" {
		t.Errorf("describe-account = %v", described)
	}
	// Errors reach the CLI with their code.
	_, err := e.awsCLIJSON(t, e.root, "organizations", "create-organization")
	if err == nil || !strings.Contains(err.Error(), "AlreadyInOrganizationException") {
		t.Errorf("second create-organization: %v, want AlreadyInOrganizationException", err)
	}

	// An administrator of the management account steps into the new account with `aws sts assume-role` and
	// works there.
	admin := e.userWithKey("cli-admin")
	ctx := context.Background()
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("cli-admin"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "arn:aws:iam::*:role/OrganizationAccountAccessRole"))}))
	var assumed map[string]any
	waitAllowedCode(t, "AccessDenied", func() error {
		assumed, err = e.awsCLIJSON(t, admin, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+account+":role/OrganizationAccountAccessRole", "--role-session-name", "cli")
		if err != nil && strings.Contains(err.Error(), "(AccessDenied)") {
			return &smithy.GenericAPIError{Code: "AccessDenied", Message: err.Error()}
		}
		return err
	})
	c := assumed["Credentials"].(map[string]any)
	session := aws.Credentials{AccessKeyID: fmt.Sprint(c["AccessKeyId"]), SecretAccessKey: fmt.Sprint(c["SecretAccessKey"]), SessionToken: fmt.Sprint(c["SessionToken"])}
	roles, err := e.awsCLIJSON(t, session, "iam", "list-roles")
	if err != nil {
		t.Fatal(err)
	}
	if rs := roles["Roles"].([]any); len(rs) != 1 || rs[0].(map[string]any)["Arn"] != "arn:aws:iam::"+account+":role/OrganizationAccountAccessRole" {
		t.Errorf("list-roles in the new account = %v", rs)
	}
	member, err := e.awsCLIJSON(t, session, "organizations", "describe-organization")
	if err != nil {
		t.Fatal(err)
	}
	if got := member["Organization"].(map[string]any)["MasterAccountId"]; got != testAccount {
		t.Errorf("describe-organization from the member: management account %v", got)
	}
}
