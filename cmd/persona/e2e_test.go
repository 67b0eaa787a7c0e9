package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// persona builds the persona binary once per test run.
func persona(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "persona")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `persona serve` with a fresh data directory and returns the environment lines it printed.
func startServe(t *testing.T, bin string, extraEnv ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// Port 0: the kernel picks a free port and serve prints it in AWS_ENDPOINT_URL, so no other process on the
	// machine can take the port between choosing and listening.
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	vars := map[string]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for len(vars) < 5 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("persona serve exited; got %v", vars)
			}
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(k, "AWS_") {
				vars[k] = v
			}
		case <-deadline:
			t.Fatalf("persona serve printed no credentials; got %v", vars)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return vars
}

func awsCLI(t *testing.T, vars map[string]string, args ...string) (map[string]any, error) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--output", "json")...)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return nil, err
	}
	var v map[string]any
	if len(strings.TrimSpace(string(out))) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v, nil
}

// TestReadmeQuickstartWithAWSCLI runs the README's quickstart with the real aws CLI against `persona serve`.
func TestReadmeQuickstartWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test (.ci/run installs it)")
	}
	vars := startServe(t, persona(t))
	trust := "file://" + mustAbs(t, "testdata/trust-policy.json")

	created, err := awsCLI(t, vars, "iam", "create-role", "--role-name", "MyEC2Role", "--assume-role-policy-document", trust)
	if err != nil {
		t.Fatal(err)
	}
	role := created["Role"].(map[string]any)
	if got := role["Arn"]; !strings.HasSuffix(fmt.Sprint(got), ":role/MyEC2Role") {
		t.Errorf("Arn = %v", got)
	}
	if _, err := awsCLI(t, vars, "iam", "attach-role-policy", "--role-name", "MyEC2Role", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	got, err := awsCLI(t, vars, "iam", "get-role", "--role-name", "MyEC2Role")
	if err != nil {
		t.Fatal(err)
	}
	doc := got["Role"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any)
	stmt := doc["Statement"].([]any)[0].(map[string]any)
	if stmt["Principal"].(map[string]any)["Service"] != "ec2.amazonaws.com" {
		t.Errorf("trust policy came back as %v", doc)
	}
	attached, err := awsCLI(t, vars, "iam", "list-attached-role-policies", "--role-name", "MyEC2Role")
	if err != nil {
		t.Fatal(err)
	}
	list := attached["AttachedPolicies"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["PolicyName"] != "AmazonS3ReadOnlyAccess" {
		t.Errorf("AttachedPolicies = %v", list)
	}

	// A second create is EntityAlreadyExists, as on AWS.
	_, err = awsCLI(t, vars, "iam", "create-role", "--role-name", "myec2role", "--assume-role-policy-document", trust)
	if err == nil || !strings.Contains(err.Error(), "EntityAlreadyExists") {
		t.Errorf("duplicate create-role: err = %v, want EntityAlreadyExists", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
