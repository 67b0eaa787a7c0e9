package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPolicySimulateCommand runs `persona policy simulate` as a user would and checks its output and exit status
// (0 allowed, 1 denied, 2 usage error).
func TestPolicySimulateCommand(t *testing.T) {
	bin := persona(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// AWS's own simulate-custom-policy example, as a --cli-input-json file.
	// https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html
	spec, _ := json.Marshal(map[string]any{
		"PolicyInputList": []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}`},
		"ActionNames":     []string{"dynamodb:CreateBackup"},
		"ContextEntries":  []map[string]any{{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": []string{"2019-04-25T11:00:00Z"}, "ContextKeyType": "date"}},
	})
	awsExample := write("spec.json", string(spec))
	identity := write("identity.json", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Home",
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": "arn:aws:s3:::home/${aws:username}/*"
    },
    {
      "Sid": "KeepLogs",
      "Effect": "Deny",
      "Action": "s3:DeleteObject",
      "Resource": "*"
    }
  ]
}`)
	readOnly := write("session.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`)
	scpAll := write("scp-root.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	scpNoS3Put := write("scp-ou.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoPut","Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}`)
	bucket := write("bucket.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`)
	broken := write("broken.json", "{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": \"Allow\"\n    \"Action\": \"s3:*\", \"Resource\": \"*\" } ] }")
	roleReader := write("role-reader.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::111122223333:role/*"}]}`)
	const obj = "arn:aws:s3:::home/bob/notes.txt"

	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   []string // parts of the output, in order
		stderr   string
	}{
		{
			name: "aws example from --cli-input-json, json output", wantCode: 0,
			args:   []string{"--cli-input-json", "file://" + awsExample, "--output", "json"},
			stdout: []string{`"EvalDecision": "allowed"`, `"SourcePolicyId": "PolicyInputList.1"`, `"Line": 1,`, `"Column": 38`, `"Column": 167`},
		},
		{
			name: "allowed and explicitly denied, with file:line:col", wantCode: 1,
			args: []string{"--identity", identity, "--action", "s3:GetObject,s3:DeleteObject", "--resource", obj, "--context", "aws:username=bob"},
			stdout: []string{
				"allowed      s3:GetObject on " + obj, "allowed by statement " + identity + ":4:5 (Sid \"Home\")",
				"explicitDeny s3:DeleteObject on " + obj, "denied by statement " + identity + ":10:5 (Sid \"KeepLogs\")",
			},
		},
		{
			name: "missing context key", wantCode: 1,
			args:   []string{"--identity", identity, "--action", "s3:GetObject", "--resource", obj},
			stdout: []string{"implicitDeny s3:GetObject on " + obj, "missing context keys: aws:username"},
		},
		{
			name: "session policy limits", wantCode: 1,
			args:   []string{"--identity", identity, "--session", readOnly, "--action", "s3:GetObject", "--action", "s3:PutObject", "--resource", obj, "--context", "aws:username=string:bob"},
			stdout: []string{"allowed      s3:GetObject", "implicitDeny s3:PutObject"},
		},
		{
			name: "scp deny decides", wantCode: 1,
			args:   []string{"--identity", identity, "--scp", scpAll, "--scp", scpAll + "," + scpNoS3Put, "--action", "s3:PutObject", "--resource", obj, "--context", "aws:username=bob"},
			stdout: []string{"explicitDeny s3:PutObject", "denied by statement " + scpNoS3Put + ":1:", "(Sid \"NoPut\")", "the service control policies do not allow it"},
		},
		{
			name: "permissions boundary", wantCode: 1,
			args:   []string{"--identity", identity, "--boundary", readOnly, "--action", "s3:PutObject", "--resource", obj, "--context", "aws:username=bob"},
			stdout: []string{"implicitDeny s3:PutObject", "the permissions boundary does not allow it"},
		},
		{
			name: "resource policy names the caller", wantCode: 0,
			args:   []string{"--resource-policy", bucket, "--caller", "arn:aws:iam::123456789012:user/bob", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::shared/x"},
			stdout: []string{"allowed      s3:GetObject on arn:aws:s3:::shared/x", "allowed by statement " + bucket + ":1:38 (Sid \"Bob\")"},
		},
		{
			// Without --caller the caller is taken to be in the resource's account, not in a stranger's.
			name: "own account's resource without --caller", wantCode: 0,
			args:   []string{"--identity", roleReader, "--action", "iam:GetRole", "--resource", "arn:aws:iam::111122223333:role/app"},
			stdout: []string{"allowed      iam:GetRole on arn:aws:iam::111122223333:role/app"},
		},
		{
			name: "resource policy without a caller", wantCode: 2,
			args:   []string{"--resource-policy", bucket, "--action", "s3:GetObject"},
			stderr: "needs a caller",
		},
		{
			name: "broken policy says where", wantCode: 2,
			args:   []string{"--identity", broken, "--action", "s3:GetObject"},
			stderr: broken + `: line 1, column 62: expected ',' or '}' after object member "Effect", found '"' at line 2, column 5`,
		},
		{
			name: "bad context value", wantCode: 2,
			args:   []string{"--identity", identity, "--action", "s3:GetObject", "--context", "aws:SourceIp=ip:not-an-ip"},
			stderr: `"not-an-ip" of context key aws:SourceIp is not a valid ip`,
		},
		{name: "no action", wantCode: 2, args: []string{"--identity", identity}, stderr: "no action"},
		{name: "unknown flag", wantCode: 2, args: []string{"--nope"}, stderr: "unknown flag"},
		{name: "missing file", wantCode: 2, args: []string{"--identity", filepath.Join(dir, "none.json"), "--action", "s3:GetObject"}, stderr: "none.json"},
		{name: "unknown member in --cli-input-json", wantCode: 2, args: []string{"--cli-input-json", "file://" + write("bad-spec.json", `{"PolicyInput":[]}`)}, stderr: "PolicyInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"policy", "simulate"}, tt.args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			rest := stdout.String()
			for _, part := range tt.stdout {
				i := strings.Index(rest, part)
				if i < 0 {
					t.Errorf("stdout lacks %q (in order):\n%s", part, stdout.String())
					break
				}
				rest = rest[i+len(part):]
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
		})
	}

	// The JSON output decodes as SimulateCustomPolicy's response.
	out, err := exec.Command(bin, "policy", "simulate", "--cli-input-json", "file://"+awsExample, "--output", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		EvaluationResults []struct {
			EvalActionName, EvalResourceName, EvalDecision string
			MatchedStatements                              []struct {
				SourcePolicyId             string
				StartPosition, EndPosition struct{ Line, Column int }
			}
			MissingContextValues []string
		}
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	got := resp.EvaluationResults[0]
	want := []any{"dynamodb:CreateBackup", "*", "allowed", "PolicyInputList.1", 1, 38, 1, 167, 0}
	m := got.MatchedStatements[0]
	if diff := cmp.Diff(want, []any{got.EvalActionName, got.EvalResourceName, got.EvalDecision, m.SourcePolicyId,
		m.StartPosition.Line, m.StartPosition.Column, m.EndPosition.Line, m.EndPosition.Column, len(got.MissingContextValues)}); diff != "" {
		t.Errorf("JSON output mismatch (-want +got):\n%s", diff)
	}
}

// TestSimulateSameFileWithAWSCLI gives one --cli-input-json file to `aws iam simulate-custom-policy` against
// `persona serve` and to the offline `persona policy simulate`: both answer the same results.
func TestSimulateSameFileWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the aws CLI is required for this test (.ci/run installs it)")
	}
	bin := persona(t)
	vars := startServe(t, bin)
	spec := filepath.Join(t.TempDir(), "spec.json")
	body, _ := json.Marshal(map[string]any{
		"PolicyInputList": []string{
			"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"Home\", \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::home/${aws:username}/*\"},\n    {\"Sid\": \"Keep\", \"Effect\": \"Deny\", \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\"}\n  ]\n}",
		},
		"PermissionsBoundaryPolicyInputList": []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:PutObject","Resource":"*"}}`},
		"ActionNames":                        []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sqs:SendMessage"},
		"ResourceArns":                       []string{"arn:aws:s3:::home/bob/a.txt", "arn:aws:s3:::home/eve/b.txt"},
		"ContextEntries":                     []map[string]any{{"ContextKeyName": "aws:username", "ContextKeyValues": []string{"bob"}, "ContextKeyType": "string"}},
	})
	if err := os.WriteFile(spec, body, 0o600); err != nil {
		t.Fatal(err)
	}
	online, err := awsCLI(t, vars, "iam", "simulate-custom-policy", "--cli-input-json", "file://"+spec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "policy", "simulate", "--cli-input-json", "file://"+spec, "--output", "json").Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("persona policy simulate: %v", err)
	}
	var offline map[string]any
	if err := json.Unmarshal(out, &offline); err != nil {
		t.Fatal(err)
	}
	if len(online["EvaluationResults"].([]any)) != 8 {
		t.Fatalf("aws CLI got %d results, want 8", len(online["EvaluationResults"].([]any)))
	}
	var decisions []string
	for _, r := range online["EvaluationResults"].([]any) {
		r := r.(map[string]any)
		decisions = append(decisions, r["EvalResourceName"].(string)[len("arn:aws:s3:::home/"):]+" "+r["EvalActionName"].(string)+" "+r["EvalDecision"].(string))
	}
	want := []string{
		"bob/a.txt s3:GetObject allowed", "eve/b.txt s3:GetObject implicitDeny",
		"bob/a.txt s3:PutObject implicitDeny", "eve/b.txt s3:PutObject implicitDeny",
		"bob/a.txt s3:DeleteObject explicitDeny", "eve/b.txt s3:DeleteObject explicitDeny",
		"bob/a.txt sqs:SendMessage implicitDeny", "eve/b.txt sqs:SendMessage implicitDeny",
	}
	if diff := cmp.Diff(want, decisions); diff != "" {
		t.Errorf("aws CLI decisions mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(online["EvaluationResults"], offline["EvaluationResults"]); diff != "" {
		t.Errorf("offline and online results differ (-aws +persona):\n%s", diff)
	}
}
