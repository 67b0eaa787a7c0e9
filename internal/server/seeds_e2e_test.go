package server

// The learners' notes in shared/seeds show how our users think about roles. These tests run their examples as
// they wrote them (the aws CLI command lines through a shell, their policy files byte for byte) against Persona,
// and check what AWS would answer.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// seedShell runs a learner's command line with bash in dir, signed by creds, and returns its standard output.
func (e *env) seedShell(t *testing.T, dir string, creds aws.Credentials, line string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL=" + e.url, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-credentials"),
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey, "AWS_MAX_ATTEMPTS=1",
	}
	if creds.SessionToken != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &seedError{line: line, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type seedError struct {
	line, stderr string
	err          error
}

func (e *seedError) Error() string { return e.line + ": " + e.err.Error() + "\n" + e.stderr }

// seedTrustPolicy is 004's trust-policy.json as the note prints it, indentation included.
const seedTrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Service": "ec2.amazonaws.com"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}
`

// TestSeedCLIMethod runs note 004's "Method 2: Using AWS CLI", steps 1 to 4, then its "Assume a Role" command
// with ACCOUNT-ID filled in and a role MyRole the learner's user may assume.
func TestSeedCLIMethod(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test")
	}
	e := newEnv(t, sqliteStore)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "trust-policy.json"), []byte(seedTrustPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`aws iam create-role --role-name 'MyEC2Role' --assume-role-policy-document 'file://trust-policy.json'`,
		`aws iam attach-role-policy --role-name 'MyEC2Role' --policy-arn 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'`,
	} {
		if _, err := e.seedShell(t, dir, e.root, line); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.seedShell(t, dir, e.root, `aws iam get-role --role-name 'MyEC2Role'`)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Role struct {
			RoleName, Arn            string
			AssumeRolePolicyDocument map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("get-role printed %q: %v", out, err)
	}
	var sent map[string]any
	json.Unmarshal([]byte(seedTrustPolicy), &sent)
	if got.Role.Arn != "arn:aws:iam::"+testAccount+":role/MyEC2Role" || !jsonEqual(sent, got.Role.AssumeRolePolicyDocument) {
		t.Errorf("get-role = %s", out)
	}

	// "Entities such as users … assume a role": a user whose own policy allows sts:AssumeRole on MyRole.
	ctx := context.Background()
	learner := e.userWithKey("learner")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("learner"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, "arn:aws:iam::"+testAccount+":role/MyRole"))}))
	e.role(e.iam, "MyRole", trustAWS("arn:aws:iam::"+testAccount+":root"), "")
	line := strings.ReplaceAll(`aws sts assume-role --role-arn "arn:aws:iam::ACCOUNT-ID:role/MyRole" --role-session-name "Session1"`, "ACCOUNT-ID", testAccount)
	out, err = e.seedShell(t, dir, learner, line)
	if err != nil {
		t.Fatal(err)
	}
	var assumed struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser struct{ Arn string }
	}
	if err := json.Unmarshal([]byte(out), &assumed); err != nil {
		t.Fatal(err)
	}
	c := assumed.Credentials
	if !strings.HasPrefix(c.AccessKeyId, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" ||
		assumed.AssumedRoleUser.Arn != "arn:aws:sts::"+testAccount+":assumed-role/MyRole/Session1" {
		t.Fatalf("assume-role = %s", out)
	}
	// "This returns temporary security credentials": they work, and name the session.
	who, err := e.seedShell(t, dir, aws.Credentials{AccessKeyID: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		`aws sts get-caller-identity --query Arn --output text`)
	if err != nil || strings.TrimSpace(who) != assumed.AssumedRoleUser.Arn {
		t.Errorf("get-caller-identity with the temporary credentials = %q, %v", who, err)
	}
}

// TestSeedCrossAccount follows note 002's cross-account steps: in account B a role trusting account A's root with
// S3 full access; in account A a user allowed sts:AssumeRole assumes it with the note's command. The note's
// placeholder principal, left unfilled, gets AWS's precise error.
func TestSeedCrossAccount(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test")
	}
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	const accountB = "444455556666"
	rootB := e.iamAs(e.secondAccount(accountB))

	placeholder := `{
       "Effect": "Allow",
       "Principal": {
         "AWS": "arn:aws:iam::AccountA-ID:root"
       },
       "Action": "sts:AssumeRole"
     }`
	doc := `{"Version":"2012-10-17","Statement":[` + placeholder + `]}`
	_, err := rootB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("MyCrossAccountRole"), AssumeRolePolicyDocument: aws.String(doc)})
	ae := apiError(t, err, "MalformedPolicyDocument")
	if !strings.Contains(ae.ErrorMessage(), "AccountA-ID") {
		t.Errorf("the error does not name the bad principal: %q", ae.ErrorMessage())
	}

	filled := strings.ReplaceAll(doc, "AccountA-ID", testAccount)
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(rootB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("MyCrossAccountRole"), AssumeRolePolicyDocument: aws.String(filled)})).Role.Arn)
	must[*iam.AttachRolePolicyOutput](t)(rootB.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("MyCrossAccountRole"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3FullAccess")}))

	dir := t.TempDir()
	line := strings.ReplaceAll(`aws sts assume-role \
       --role-arn arn:aws:iam::AccountB-ID:role/MyCrossAccountRole \
       --role-session-name MySession`, "AccountB-ID", accountB)

	// Account A's user without an identity policy: the trust policy names A's root, so A must allow too.
	dev := e.userWithKey("dev")
	if _, err := e.seedShell(t, dir, dev, line); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("assume-role without A's permission: %v", err)
	}
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("cross"),
		PolicyDocument: aws.String(allow(`"sts:AssumeRole"`, roleARN))}))
	out, err := e.seedShell(t, dir, dev, line)
	if err != nil {
		t.Fatal(err)
	}
	var assumed struct {
		AssumedRoleUser struct{ Arn string }
	}
	json.Unmarshal([]byte(out), &assumed)
	if assumed.AssumedRoleUser.Arn != "arn:aws:sts::"+accountB+":assumed-role/MyCrossAccountRole/MySession" {
		t.Errorf("assume-role = %s", out)
	}
}

// TestSeedMFARequiredToAssume uses note 002's policy that allows sts:AssumeRole on Admin only with MFA: without a
// code the learner is denied; with a code from their virtual MFA device, through the CLI's --serial-number and
// --token-code, they get in.
func TestSeedMFARequiredToAssume(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test")
	}
	e := newEnv(t, sqliteStore)
	ctx := context.Background()
	notePolicy := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Resource": "arn:aws:iam::123456789012:role/Admin",
      "Condition": {
        "Bool": {
          "aws:MultiFactorAuthPresent": "true"
        }
      }
    }
  ]
}`
	policyDoc := strings.ReplaceAll(notePolicy, "123456789012", testAccount)
	admin := e.userWithKey("admin")
	must[*iam.PutUserPolicyOutput](t)(e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("mfa"), PolicyDocument: aws.String(policyDoc)}))
	e.role(e.iam, "Admin", trustAWS("arn:aws:iam::"+testAccount+":root"), "")

	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("admin-phone")})).VirtualMFADevice
	seed, serial := string(dev.Base32StringSeed), aws.ToString(dev.SerialNumber)
	now := time.Now()
	must[*iam.EnableMFADeviceOutput](t)(e.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("admin"), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(totpAt(t, seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(t, seed, now))}))

	dir := t.TempDir()
	base := `aws sts assume-role --role-arn arn:aws:iam::` + testAccount + `:role/Admin --role-session-name admin-work`
	if _, err := e.seedShell(t, dir, admin, base); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("assume-role without MFA: %v", err)
	}
	out, err := e.seedShell(t, dir, admin, base+` --serial-number `+serial+` --token-code `+totpAt(t, seed, now.Add(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"AccessKeyId": "ASIA`) {
		t.Errorf("assume-role with MFA = %s", out)
	}
}

// jsonEqual reports whether two decoded JSON values are equal.
func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
