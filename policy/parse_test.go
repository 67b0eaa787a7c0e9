package policy_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/persona-iam/persona/policy"
)

func TestParseErrors(t *testing.T) {
	issue, err := os.ReadFile("testdata/parse/issue_missing_comma.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"issue 2: missing comma after Effect", string(issue),
			`line 1, column 62: expected ',' or '}' after object member "Effect", found '"' at line 2, column 5`},
		{"empty document", "", "line 1, column 1: empty document: expected a JSON object"},
		{"not an object", `["x"]`, "line 1, column 1: a policy document must be a JSON object, found an array"},
		{"trailing comma in object", `{"Version": "2012-10-17",}`, "line 1, column 26: trailing comma before '}' is not allowed"},
		{"trailing comma in array", `{"Statement": [{"Effect":"Allow","Action":"s3:*","Resource":"*"},]}`, "line 1, column 66: trailing comma before ']' is not allowed"},
		{"missing comma in array", `{"Statement": [{"Effect":"Allow","Action":"s3:*","Resource":"*"} {}]}`,
			`line 1, column 65: expected ',' or ']' after array element 0, found '{' at line 1, column 66`},
		{"single quotes", `{'Version': 1}`, `line 1, column 2: expected a member name in double quotes, found '\''`},
		{"non-breaking space from a web page", "{\n\u00a0 \"Version\": \"2012-10-17\"}", `line 2, column 1: expected a member name in double quotes, found '\u00a0' (a non-breaking space, often copied from a web page; JSON allows only plain spaces, tabs and newlines)`},
		{"typographic quotes", "{\u201cVersion\u201d: 1}", `line 1, column 2: expected a member name in double quotes, found '“' (a typographic quote; JSON needs plain double quotes ")`},
		{"unterminated string", "{\"Version\": \"2012-10-17\n}", `line 1, column 13: unterminated string (missing closing '"' before the end of the line)`},
		{"bad escape", `{"Id": "a\qb"}`, `line 1, column 10: invalid escape "\\q" in string`},
		{"bare word", `{"Id": yes}`, `line 1, column 8: expected a value, found 'y'`},
		{"leading zero", `{"Id": 01}`, `line 1, column 8: invalid number: leading zeros are not allowed`},
		{"garbage after the document", `{"Statement": []} x`, `line 1, column 19: unexpected 'x' after the end of the top-level JSON value`},
		{"duplicate key", "{\"Statement\": {\"Effect\": \"Allow\",\n \"Effect\": \"Deny\"}}", `line 2, column 2: duplicate member "Effect" (first defined at line 1, column 16)`},
		{"missing Statement", `{"Version": "2012-10-17"}`, `line 1, column 1: missing required element "Statement"`},
		{"empty Statement", `{"Version": "2012-10-17", "Statement": []}`, `line 1, column 40: Statement: must contain at least one statement`},
		{"bad Version", `{"Version": "2012-10-18", "Statement": {}}`, `line 1, column 13: Version: must be "2012-10-17" or "2008-10-17", found "2012-10-18"`},
		{"Version not a string", `{"Version": 2012, "Statement": {}}`, `line 1, column 13: Version: must be a string, found a number`},
		{"unknown top-level element", `{"Statment": []}`, `line 1, column 2: unknown top-level element "Statment"`},
		{"a lone statement", `{"Effect": "Allow", "Action": "*", "Resource": "*"}`, `line 1, column 2: unknown top-level element "Effect" (it belongs in a statement: this looks like a single statement; wrap it as {"Version": "2012-10-17", "Statement": [ … ]})`},
		{"top-level element in wrong case", `{"statement": []}`, `line 1, column 2: unknown top-level element "statement" (element names are case-sensitive: did you mean "Statement"?)`},
		{"unknown statement element", `{"Statement": {"Effect": "Allow", "Actions": "s3:*"}}`, `line 1, column 35: Statement: unknown statement element "Actions"`},
		{"lower-case effect value", `{"Statement": {"Effect": "allow", "Action": "s3:*"}}`, `line 1, column 26: Statement.Effect: must be "Allow" or "Deny", found "allow"`},
		{"missing Effect", `{"Statement": [{"Action": "s3:*"}]}`, `line 1, column 16: Statement[0]: missing required element "Effect"`},
		{"Action and NotAction", `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*"}]}`, `line 1, column 16: Statement[0]: a statement cannot contain both "Action" and "NotAction"`},
		{"no Action", `{"Statement": [{"Effect": "Allow", "Resource": "*"}]}`, `line 1, column 16: Statement[0]: missing required element "Action" or "NotAction"`},
		{"Resource and NotResource", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "*"}}`, `line 1, column 15: Statement: a statement cannot contain both "Resource" and "NotResource"`},
		{"Action is a number", `{"Statement": {"Effect": "Allow", "Action": 3}}`, `line 1, column 45: Statement.Action: must be a string or an array of strings, found a number`},
		{"Action element not a string", `{"Statement": {"Effect": "Allow", "Action": ["s3:*", true]}}`, `line 1, column 54: Statement.Action[1]: must be a string, found a boolean`},
		{"Principal string other than *", `{"Statement": {"Effect": "Allow", "Principal": "111122223333", "Action": "s3:*"}}`,
			`line 1, column 48: Statement.Principal: a string principal must be "*"; write {"AWS": "111122223333"} or {"Service": ...} for a specific principal`},
		{"unknown principal type", `{"Statement": {"Effect": "Allow", "Principal": {"Aws": "*"}, "Action": "s3:*"}}`,
			`line 1, column 49: Statement.Principal: unknown principal type "Aws" (want AWS, Service, Federated or CanonicalUser) (element names are case-sensitive: did you mean "AWS"?)`},
		{"condition value is an object", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": {"aws:username": {}}}}}`,
			`line 1, column 100: Statement.Condition.StringEquals.aws:username: condition values must be strings, numbers or booleans, found an object`},
		{"condition operator not an object", `{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": "x"}}}`,
			`line 1, column 83: Statement.Condition.StringEquals: must be an object mapping condition keys to values, found a string`},
		{"columns count characters", "{\"Id\": \"\u00e9\u00e9\", \"Statement\": 1}", `line 1, column 27: Statement: must be an object or an array of objects, found a number`},
		{"duplicate key in a large object", `{"Id": {` + manyKeys(20) + `, "k3": 0}}`, `line 1, column 199: duplicate member "k3" (first defined at line 1, column 36)`},
		{"deep nesting", strings.Repeat("[", 100), "line 1, column 65: JSON nested too deeply (more than 64 levels)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var se *policy.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// manyKeys returns `"k0": 0, "k1": 0, ...` with n members.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"k%d": 0`, i)
	}
	return b.String()
}

func TestParsePositions(t *testing.T) {
	doc, err := os.ReadFile("testdata/parse/identity_full.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := d.Statements[0], d.Statements[1]
	got := map[string]string{
		"Version":                     d.Version.Pos.String(),
		"Statement[0]":                s0.Pos.String(),
		"Statement[0].Action[1]":      s0.Action.Values[1].Pos.String(),
		"Statement[0].Resource":       s0.Resource.Pos.String(),
		"Condition[0].Operator":       s0.Condition[0].Operator.Pos.String(),
		"Condition[3].Values[1]":      s0.Condition[3].Values.Values[1].Pos.String(),
		"Statement[1].NotResource[0]": s1.NotResource.Values[0].Pos.String(),
	}
	want := map[string]string{
		"Version":                     "2:14",
		"Statement[0]":                "5:5",
		"Statement[0].Action[1]":      "8:34",
		"Statement[0].Resource":       "9:19",
		"Condition[0].Operator":       "11:9",
		"Condition[3].Values[1]":      "14:63",
		"Statement[1].NotResource[0]": "20:23",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
	if got := s0.Condition[3].Values.Values[1].Value; got != "été" {
		t.Errorf("\\u escapes decoded to %q, want %q", got, "été")
	}
	if !s0.Condition[0].Values.Values[0].Bare || s0.Condition[0].Values.Values[0].Value != "true" {
		t.Errorf("JSON true should be kept as bare text \"true\", got %+v", s0.Condition[0].Values.Values[0])
	}
}

// validSeeds returns the testdata documents that parse.
func validSeeds(t testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/parse/*.json")
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var ignorePos = cmpopts.IgnoreTypes(policy.Pos{})

func TestFormatRoundTrip(t *testing.T) {
	for _, doc := range validSeeds(t) {
		d, err := policy.Parse(doc)
		if err != nil {
			continue
		}
		f1 := d.Format()
		d2, err := policy.Parse(f1)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, f1)
		}
		if diff := cmp.Diff(d, d2, ignorePos); diff != "" {
			t.Errorf("document mismatch after Format (-want +got):\n%s", diff)
		}
		if f2 := d2.Format(); !bytes.Equal(f1, f2) {
			t.Errorf("Format is not stable:\n%s\n---\n%s", f1, f2)
		}
	}
}

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError whose position agrees with its offset, and that
// parse → Format → parse gives the same document and Format is stable.
func FuzzParse(f *testing.F) {
	for _, doc := range validSeeds(f) {
		f.Add(doc)
	}
	f.Add([]byte(`{"Statement": {"Effect": "Allow", "Action": "s3:*", "Condition": {"Bool": {"k": [true, 1.5e3, "x"]}}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := policy.Parse(doc)
		if err != nil {
			var se *policy.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError: %v", err, err)
			}
			if se.Line < 1 || se.Column < 1 || se.Offset < 0 || se.Offset > len(doc) {
				t.Fatalf("bad error position %d:%d offset %d (len %d): %v", se.Line, se.Column, se.Offset, len(doc), err)
			}
			if want := bytes.Count(doc[:se.Offset], []byte("\n")) + 1; se.Line != want {
				t.Fatalf("error line %d, but offset %d is on line %d", se.Line, se.Offset, want)
			}
			return
		}
		// Compile succeeds exactly when Validate reports no ERROR, and every
		// finding has a position inside the document.
		for k := policy.KindIdentity; k <= policy.KindRCP; k++ {
			hasError := false
			for _, fd := range policy.Validate(d, k) {
				hasError = hasError || fd.Type == policy.FindingError
				if fd.Pos.Offset < 0 || fd.Pos.Offset > len(doc) || fd.Code == "" || fd.Message == "" {
					t.Fatalf("bad finding %+v", fd)
				}
			}
			if _, err := policy.Compile(d, k, "p"); (err != nil) != hasError {
				t.Fatalf("kind %v: Compile error %v, but Validate found errors: %v", k, err, hasError)
			}
		}
		f1 := d.Format()
		d2, err := policy.Parse(f1)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, f1)
		}
		if diff := cmp.Diff(d, d2, ignorePos); diff != "" {
			t.Fatalf("document mismatch after Format (-want +got):\n%s", diff)
		}
		if f2 := d2.Format(); !bytes.Equal(f1, f2) {
			t.Fatalf("Format is not stable:\n%s\n---\n%s", f1, f2)
		}
	})
}
