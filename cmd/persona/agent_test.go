package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// workloadEnv is the environment of a program on the instance: no AWS key at all, only where Persona is.
func workloadEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitHealthy polls the agent's health endpoint until it answers 200 (the agent fetched credentials).
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("agent at %s never became healthy", url)
}

// TestAgentWalkthrough is the learners' walk-through with the real tools: the aws CLI creates a role for EC2 with a
// read-only policy and an instance profile, `persona instance register` registers the host, `persona agent`
// serves IMDS; then, with no key in the environment, the aws CLI and boto3 are the role (reads allowed, writes
// denied), IMDSv1 curl is refused, and a credential_process profile works too.
func TestAgentWalkthrough(t *testing.T) {
	for _, tool := range []string{"aws", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for this test", tool)
		}
	}
	bin := persona(t)
	vars := startServe(t, bin)
	trust := "file://" + mustAbs(t, "testdata/trust-policy.json")
	for _, args := range [][]string{
		{"iam", "create-role", "--role-name", "MyEC2Role", "--assume-role-policy-document", trust},
		{"iam", "attach-role-policy", "--role-name", "MyEC2Role", "--policy-arn", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"},
		{"iam", "create-instance-profile", "--instance-profile-name", "MyEC2Role"},
		{"iam", "add-role-to-instance-profile", "--instance-profile-name", "MyEC2Role", "--role-name", "MyEC2Role"},
	} {
		if _, err := awsCLI(t, vars, args...); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	identity := filepath.Join(dir, "identity.json")
	var operator []string
	for k, v := range vars {
		operator = append(operator, k+"="+v)
	}
	out, err := run(t, workloadEnv(append(operator, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")...), bin,
		"instance", "register", "--endpoint-url", vars["AWS_ENDPOINT_URL"], "--iam-instance-profile", "MyEC2Role", "--out", identity)
	if err != nil {
		t.Fatalf("persona instance register: %v\n%s", err, out)
	}
	instanceID := strings.TrimSpace(out)
	if st, err := os.Stat(identity); err != nil || st.Mode().Perm() != 0o600 || !strings.HasPrefix(instanceID, "i-") {
		t.Fatalf("identity file %v %v, instance %q", st, err, instanceID)
	}

	// The aws CLI's EC2 commands see the association.
	assoc, err := awsCLI(t, vars, "ec2", "describe-iam-instance-profile-associations", "--filters", "Name=instance-id,Values="+instanceID)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := assoc["IamInstanceProfileAssociations"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["State"] != "associated" ||
		!strings.HasSuffix(list[0].(map[string]any)["IamInstanceProfile"].(map[string]any)["Arn"].(string), ":instance-profile/MyEC2Role") {
		t.Fatalf("aws ec2 describe-iam-instance-profile-associations = %v", assoc)
	}

	imdsAddr, ctrAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	agentCmd := exec.CommandContext(ctx, bin, "agent", "--identity-file", identity, "--imds-listen", imdsAddr,
		"--container-listen", ctrAddr, "--container-token-file", filepath.Join(dir, "container-token"))
	agentCmd.Env = workloadEnv()
	agentCmd.Stderr = os.Stderr
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); agentCmd.Wait() })
	waitHealthy(t, "http://"+ctrAddr+"/healthz")

	workload := workloadEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT=http://"+imdsAddr, "AWS_ENDPOINT_URL="+vars["AWS_ENDPOINT_URL"],
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err = run(t, workload, "aws", "sts", "get-caller-identity", "--output", "text", "--query", "Arn")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), ":assumed-role/MyEC2Role/"+instanceID) {
		t.Fatalf("aws sts get-caller-identity through the agent: %v\n%s", err, out)
	}
	wantARN := strings.TrimSpace(out)
	if out, err := run(t, workload, "aws", "iam", "list-roles", "--output", "json"); err != nil || !strings.Contains(out, "MyEC2Role") {
		t.Fatalf("aws iam list-roles (allowed by IAMReadOnlyAccess): %v\n%s", err, out)
	}
	if out, err := run(t, workload, "aws", "iam", "create-user", "--user-name", "intruder"); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Fatalf("aws iam create-user (not allowed): %v\n%s", err, out)
	}
	py := `import boto3; print(boto3.client("sts", endpoint_url="` + vars["AWS_ENDPOINT_URL"] + `").get_caller_identity()["Arn"])`
	if out, err := run(t, workload, "python3", "-c", py); err != nil || strings.TrimSpace(out) != wantARN {
		t.Fatalf("boto3 through the agent: %v\n%s", err, out)
	}

	// curl, as the notes and AWS's documentation use it. IMDSv2:
	base := "http://" + imdsAddr
	tok, err := run(t, workloadEnv(), "curl", "-s", "-X", "PUT", base+"/latest/api/token", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600")
	if err != nil || tok == "" {
		t.Fatalf("curl token: %v %q", err, tok)
	}
	if out, err := run(t, workloadEnv(), "curl", "-s", "-H", "X-aws-ec2-metadata-token: "+tok, base+"/latest/meta-data/iam/security-credentials/"); err != nil || out != "MyEC2Role" {
		t.Fatalf("curl security-credentials/: %v %q", err, out)
	}
	out, err = run(t, workloadEnv(), "curl", "-s", "-H", "X-aws-ec2-metadata-token: "+tok, base+"/latest/meta-data/iam/security-credentials/MyEC2Role")
	if err != nil || !strings.Contains(out, `"Code" : "Success"`) || !strings.Contains(out, `"AccessKeyId" : "ASIA`) {
		t.Fatalf("curl security-credentials/MyEC2Role: %v %q", err, out)
	}
	// The seed's IMDSv1 curl is refused, as on an instance with HttpTokens=required (the default).
	out, err = run(t, workloadEnv(), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base+"/latest/meta-data/iam/security-credentials/MyEC2Role")
	if err != nil || out != "401" {
		t.Fatalf("IMDSv1 curl = %v %q, want 401", err, out)
	}

	// credential_process, for a host without the agent.
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(cfgFile, []byte("[profile persona]\ncredential_process = "+bin+" credential-process --identity-file "+identity+"\n"), 0o600)
	procEnv := workloadEnv("AWS_CONFIG_FILE="+cfgFile, "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL="+vars["AWS_ENDPOINT_URL"], "AWS_DEFAULT_REGION=us-east-1")
	if out, err := run(t, procEnv, "aws", "sts", "get-caller-identity", "--profile", "persona", "--output", "text", "--query", "Arn"); err != nil || strings.TrimSpace(out) != wantARN {
		t.Fatalf("credential_process profile: %v\n%s", err, out)
	}
}
