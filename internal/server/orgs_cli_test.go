package server

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// awsCLIJSON runs the aws CLI against the test server with the given credentials (token "" for long-term keys)
// and returns its JSON output.
func (e *env) awsCLIJSON(t *testing.T, keyID, secret, token string, args ...string) (map[string]any, error) {
	t.Helper()
	cmd := exec.Command("aws", append(args, "--endpoint-url", e.url, "--output", "json")...)
	// Only our AWS_ variables: a profile or session token in the caller's environment must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_MAX_ATTEMPTS=1")
	if token != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+token)
	}
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return nil, err
	}
	var v map[string]any
	if strings.TrimSpace(string(out)) == "" {
		return v, nil
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
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
		v, err := e.awsCLIJSON(t, testRootKey, testRootSecret, "", args...)
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
	_, err := e.awsCLIJSON(t, testRootKey, testRootSecret, "", "organizations", "create-organization")
	if err == nil || !strings.Contains(err.Error(), "AlreadyInOrganizationException") {
		t.Errorf("second create-organization: %v, want AlreadyInOrganizationException", err)
	}
}
