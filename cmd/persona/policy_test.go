package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persona-iam/persona/policy"
)

// TestValidateSeedMistakes pins the two broken examples from the learners' notes: a trust policy missing a comma
// and an S3 ARN with one colon too many each get a precise finding with its place.
func TestValidateSeedMistakes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		kind      policy.PolicyKind
		body      string
		wantErr   bool
		wantParts []string
	}{
		{
			name:      "missing comma in trust policy",
			kind:      policy.KindTrust,
			body:      "{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": \"Allow\"\n    \"Principal\": { \"Service\": \"ec2.amazonaws.com\" }, \"Action\": \"sts:AssumeRole\" } ] }",
			wantErr:   true,
			wantParts: []string{"line 2", "column 5"},
		},
		{
			name:      "s3 ARN with an extra colon",
			kind:      policy.KindIdentity,
			body:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3::::my-bucket/*"}]}`,
			wantParts: []string{"arn:aws:s3:::my-bucket/*", "1:"},
		},
		{
			// Seed 002 shows trust statements without the policy around them.
			name:      "bare trust statement",
			kind:      policy.KindTrust,
			body:      "{\n  \"Effect\": \"Allow\",\n  \"Principal\": {\n    \"Service\": \"lambda.amazonaws.com\"\n  },\n  \"Action\": \"sts:AssumeRole\"\n}",
			wantErr:   true,
			wantParts: []string{"line 2, column 3", `unknown top-level element "Effect"`, "single statement", `"Version": "2012-10-17", "Statement": [`},
		},
		{
			// Seeds 002 and 004 keep placeholders for the other account.
			name:      "placeholder account in a cross-account trust policy",
			kind:      policy.KindTrust,
			body:      "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"AWS\": \"arn:aws:iam::ACCOUNT-B-ID:root\"\n      },\n      \"Action\": \"sts:AssumeRole\"\n    }\n  ]\n}",
			wantErr:   true,
			wantParts: []string{":7:16: ERROR INVALID_PRINCIPAL", `the account "ACCOUNT-B-ID" must be a 12-digit account id`},
		},
		{
			// Seed 004's Google trust policy is valid, but admits any token Google issues.
			name:      "web identity trust without an audience condition",
			kind:      policy.KindTrust,
			body:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`,
			wantParts: []string{"SECURITY_WARNING MISSING_WEB_IDENTITY_CONDITION", "accounts.google.com:aud"},
		},
		{
			// Seed 002's MFA policy is a clean identity policy.
			name:      "require MFA to assume Admin",
			kind:      policy.KindIdentity,
			body:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/Admin","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`,
			wantParts: []string{"no findings"},
		},
		{
			// One learner's notes carry their policies with non-breaking spaces, as pasted from a blog.
			name:      "non-breaking spaces from a web page",
			kind:      policy.KindTrust,
			body:      "{\n\u00a0 \"Version\": \"2012-10-17\",\n\u00a0 \"Statement\": []\n}",
			wantErr:   true,
			wantParts: []string{"line 2, column 1", "non-breaking space"},
		},
		{
			name:      "a good trust policy",
			kind:      policy.KindTrust,
			body:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			wantParts: []string{"no findings"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := validateFiles(&out, []string{write(strings.ReplaceAll(tt.name, " ", "-")+".json", tt.body)}, tt.kind)
			if tt.wantErr != errors.Is(err, errFindings) {
				t.Errorf("err = %v, want errors: %v\n%s", err, tt.wantErr, out.String())
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(out.String(), part) {
					t.Errorf("output lacks %q:\n%s", part, out.String())
				}
			}
		})
	}
}
