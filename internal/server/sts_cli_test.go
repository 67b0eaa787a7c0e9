package server

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// awsCLI runs the aws CLI (version 1) against the test server with only the environment given: no user's
// configuration leaks in.
func (e *env) awsCLI(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the aws CLI is needed for this test: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL=" + e.url, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
	}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestAWSCLIAssumeRole: `aws sts assume-role`, and a config-file profile with role_arn, source_profile and
// external_id, as the aws CLI users write them.
func TestAWSCLIAssumeRole(t *testing.T) {
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	alice := e.userWithKey("alice")
	roleARN := e.role(e.iam, "Deployer", trustAWS("arn:aws:iam::"+testAccount+":user/alice"), allow(`"iam:ListRoles"`, "*"))
	keyEnv := []string{"AWS_ACCESS_KEY_ID=" + alice.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + alice.SecretAccessKey}

	stdout, stderr, err := e.awsCLI(t, keyEnv, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "Session1")
	if err != nil {
		t.Fatalf("aws sts assume-role: %v\n%s", err, stderr)
	}
	var out struct {
		Credentials struct {
			AccessKeyId, SecretAccessKey, SessionToken, Expiration string
		}
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if out.AssumedRoleUser.Arn != "arn:aws:sts::"+testAccount+":assumed-role/Deployer/Session1" || !strings.HasSuffix(out.AssumedRoleUser.AssumedRoleId, ":Session1") {
		t.Errorf("AssumedRoleUser = %+v", out.AssumedRoleUser)
	}
	c := out.Credentials
	must[*iam.ListRolesOutput](t)(e.iamAs(aws.Credentials{AccessKeyID: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}).ListRoles(ctx, &iam.ListRolesInput{}))

	// A profile that assumes a cross-account role with an external id.
	const other = "444455556666"
	rootB := e.iamAs(e.secondAccount(other))
	sharedARN := e.role(rootB, "Shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:user/alice"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"deputy-42"}}}]}`, allow(`"iam:ListRoles"`, "*"))
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, sharedARN))}))
	config := "[profile base]\naws_access_key_id = " + alice.AccessKeyID + "\naws_secret_access_key = " + alice.SecretAccessKey + "\n\n" +
		"[profile deployer]\nrole_arn = " + sharedARN + "\nsource_profile = base\nexternal_id = deputy-42\nrole_session_name = cli-session\n\n" +
		"[profile wrong]\nrole_arn = " + sharedARN + "\nsource_profile = base\nexternal_id = deputy-43\n"
	cfgFile := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgEnv := []string{"AWS_CONFIG_FILE=" + cfgFile}
	stdout, stderr, err = e.awsCLI(t, cfgEnv, "sts", "get-caller-identity", "--profile", "deployer")
	if err != nil {
		t.Fatalf("get-caller-identity --profile deployer: %v\n%s", err, stderr)
	}
	var who struct{ UserId, Account, Arn string }
	if err := json.Unmarshal([]byte(stdout), &who); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if who.Account != other || who.Arn != "arn:aws:sts::"+other+":assumed-role/Shared/cli-session" {
		t.Errorf("caller identity = %+v", who)
	}
	stdout, stderr, err = e.awsCLI(t, cfgEnv, "iam", "list-roles", "--profile", "deployer", "--query", "Roles[].RoleName", "--output", "text")
	if err != nil || strings.TrimSpace(stdout) != "Shared" {
		t.Errorf("list-roles as the profile: %v %q\n%s", err, stdout, stderr)
	}
	_, stderr, err = e.awsCLI(t, cfgEnv, "sts", "get-caller-identity", "--profile", "wrong")
	if err == nil || !strings.Contains(stderr, "AccessDenied") {
		t.Errorf("a profile with the wrong external id: %v\n%s", err, stderr)
	}
}
