package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/policy/condition"
)

// TestSimulatorPositions pins the matched-statement positions to the ones AWS's documentation prints.
func TestSimulatorPositions(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		start, end [2]int
	}{
		{
			// https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html (example 1):
			// StartPosition {Line 1, Column 38}, EndPosition {Line 1, Column 167}.
			name:  "aws cli example, single statement object",
			doc:   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}`,
			start: [2]int{1, 38}, end: [2]int{1, 167},
		},
		{
			// A statement in an array is reported from its own '{' (AWS returns Column 41 for a policy written by
			// Python's json.dumps, whose statement '{' is character 41).
			name:  "statement array, json.dumps spacing",
			doc:   `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`,
			start: [2]int{1, 41}, end: [2]int{1, 102},
		},
		{
			name:  "pretty printed",
			doc:   "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}",
			start: [2]int{4, 5}, end: [2]int{8, 5},
		},
		{
			name:  "single statement over several lines",
			doc:   "{\"Version\": \"2012-10-17\", \"Statement\": {\n  \"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"\n}}",
			start: [2]int{1, 41}, end: [2]int{3, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := MustCompile([]byte(tt.doc), KindIdentity, "p")
			res := Evaluate(&Set{Identity: []*Policy{p}}, &Request{Principal: Caller{Type: CallerUser, Account: "111122223333"}, Action: "s3:GetObject"})
			if tt.name == "aws cli example, single statement object" {
				res = Evaluate(&Set{Identity: []*Policy{p}}, &Request{Principal: Caller{Type: CallerUser, Account: "111122223333"}, Action: "dynamodb:CreateBackup",
					Context: condition.NewMapContext(map[string][]string{"aws:CurrentTime": {"2019-04-25T11:00:00Z"}})})
			}
			if len(res.Matched) != 1 {
				t.Fatalf("matched = %v, decision %v", res.Matched, res.Decision)
			}
			start, end := SimulatorPositions(res.Matched[0], p.SingleStatement())
			got := [2][2]int{{start.Line, start.Column}, {end.Line, end.Column}}
			if diff := cmp.Diff([2][2]int{tt.start, tt.end}, got); diff != "" {
				t.Errorf("positions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestContextKeys pins GetContextKeysForCustomPolicy's answer for AWS's documented example and the variable rules.
func TestContextKeys(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			// https://docs.aws.amazon.com/cli/latest/reference/iam/get-context-keys-for-custom-policy.html
			name: "aws cli example",
			doc:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}`,
			want: []string{"aws:username", "aws:CurrentTime"},
		},
		{
			name: "2008 version: variables are literal text",
			doc:  `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`,
		},
		{
			name: "keys once, ignoring case; variables in condition values; escapes are not keys",
			doc: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::b/${*}/${aws:PrincipalTag/team, 'none'}",
				 "Condition":{"StringLike":{"s3:prefix":"home/${aws:userid}/*"},"Bool":{"aws:SecureTransport":"true"}}},
				{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"AWS:securetransport":"false"}}}]}`,
			want: []string{"aws:PrincipalTag/team", "s3:prefix", "aws:userid", "aws:SecureTransport"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, d.ContextKeys()); diff != "" {
				t.Errorf("keys mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzSimulatorOutputs checks, for any document that parses, that ContextKeys names only keys written in the
// document, each once ignoring case, and that every statement's simulator positions lie inside the document with
// the start before the end.
func FuzzSimulatorOutputs(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}`)
	f.Add("{\"Version\":\"2012-10-17\",\"Statement\":[\n{\"Effect\":\"Deny\",\"NotAction\":\"iam:*\",\"NotResource\":\"${aws:PrincipalTag/x, 'd'}\"}]}")
	f.Add(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"${aws:userid}/*"}}}]}`)
	f.Fuzz(func(t *testing.T, src string) {
		d, err := Parse([]byte(src))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range d.ContextKeys() {
			if !strings.Contains(src, k) && !strings.Contains(unescaped(src), k) {
				t.Errorf("key %q is not in the document", k)
			}
			if seen[strings.ToLower(k)] {
				t.Errorf("key %q listed twice", k)
			}
			seen[strings.ToLower(k)] = true
		}
		lines := strings.Count(src, "\n") + 1
		for i := range d.Statements {
			ref := StatementRef{Start: d.Statements[i].Pos, End: d.Statements[i].End}
			start, end := SimulatorPositions(ref, d.SingleStatement)
			if start.Line < 1 || end.Line > lines || start.Line > end.Line || (start.Line == end.Line && start.Column >= end.Column) {
				t.Errorf("statement %d: positions %v to %v outside %d lines or reversed", i, start, end, lines)
			}
		}
	})
}

// unescaped decodes JSON string escapes loosely, so that a key written with \u escapes is still found.
func unescaped(src string) string {
	var v any
	if err := json.Unmarshal([]byte(src), &v); err != nil {
		return src
	}
	b, _ := json.Marshal(v)
	var sb strings.Builder
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			sb.WriteString(x + "\n")
		case map[string]any:
			for k, v := range x {
				sb.WriteString(k + "\n")
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	return string(b) + sb.String()
}
