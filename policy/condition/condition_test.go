package condition

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// caseFile is one testdata/*.json file: a family of operators, the AWS page
// that documents it, and its cases.
type caseFile struct {
	Doc   string     `json:"doc"`
	Cases []testCase `json:"cases"`
}

// testCase compiles one condition and evaluates it against a context. Doc
// names the AWS page (with anchor) that states the expected behaviour.
type testCase struct {
	Name     string              `json:"name"`
	Doc      string              `json:"doc"`
	Operator string              `json:"operator"`
	Key      string              `json:"key"`
	Values   []string            `json:"values"`
	NoVars   bool                `json:"noVars"` // Version 2008-10-17: no policy variables
	Context  map[string][]string `json:"context"`
	Want     bool                `json:"want"`
	Missing  []string            `json:"missing"`
	// ErrValue, when set, means Compile must fail with an *OperatorError
	// whose Value is ErrValue ("-" for an error about the operator itself).
	ErrValue string `json:"errValue"`
}

func loadCases(t testing.TB) map[string]caseFile {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	out := map[string]caseFile{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cf caseFile
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.HasPrefix(cf.Doc, "https://docs.aws.amazon.com/") {
			t.Fatalf("%s: doc must cite an AWS page", f)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = cf
	}
	return out
}

func TestTestdata(t *testing.T) {
	for file, cf := range loadCases(t) {
		t.Run(file, func(t *testing.T) {
			seen := map[string]bool{}
			for _, tc := range cf.Cases {
				if seen[tc.Name] {
					t.Fatalf("duplicate case name %q", tc.Name)
				}
				seen[tc.Name] = true
				t.Run(tc.Name, func(t *testing.T) { runCase(t, cf.Doc, tc) })
			}
		})
	}
}

func runCase(t *testing.T, doc string, tc testCase) {
	if tc.Doc == "" {
		tc.Doc = doc
	}
	c, err := Compile(tc.Operator, tc.Key, tc.Values, !tc.NoVars)
	if tc.ErrValue != "" {
		var oe *OperatorError
		if !errors.As(err, &oe) {
			t.Fatalf("Compile(%q, %q, %q) error = %v, want *OperatorError (%s)", tc.Operator, tc.Key, tc.Values, err, tc.Doc)
		}
		wantValue := tc.ErrValue
		if wantValue == "-" {
			wantValue = ""
		}
		if oe.Operator != tc.Operator || oe.Value != wantValue || oe.Reason == "" {
			t.Errorf("OperatorError = %+v, want Operator %q Value %q and a reason", oe, tc.Operator, wantValue)
		}
		return
	}
	if err != nil {
		t.Fatalf("Compile(%q, %q, %q): %v (%s)", tc.Operator, tc.Key, tc.Values, err, tc.Doc)
	}
	var missing []string
	got := c.Evaluate(NewMapContext(tc.Context), &missing)
	if got != tc.Want {
		t.Errorf("%s %s %q with context %v = %v, want %v\nsee %s", tc.Operator, tc.Key, tc.Values, tc.Context, got, tc.Want, tc.Doc)
	}
	if diff := cmp.Diff(tc.Missing, missing); diff != "" {
		t.Errorf("missing keys mismatch (-want +got):\n%s", diff)
	}
	// A nil missing slice must be accepted and give the same answer.
	if again := c.Evaluate(NewMapContext(tc.Context), nil); again != got {
		t.Errorf("Evaluate with nil missing = %v, with a slice = %v", again, got)
	}
}

func TestIsKnownOperator(t *testing.T) {
	tests := []struct {
		name string
		op   string
		want bool
	}{
		{"plain", "StringEquals", true},
		{"if exists", "NumericLessThanIfExists", true},
		{"for all", "ForAllValues:StringLike", true},
		{"for any if exists", "ForAnyValue:ArnNotLikeIfExists", true},
		{"null", "Null", true},
		{"null if exists", "NullIfExists", false},
		{"qualified null", "ForAllValues:Null", false},
		{"wrong case", "stringequals", false},
		{"unknown", "StringStartsWith", false},
		{"double suffix", "StringEqualsIfExistsIfExists", false},
		{"qualifier only", "ForAllValues:", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKnownOperator(tt.op); got != tt.want {
				t.Errorf("IsKnownOperator(%q) = %v, want %v", tt.op, got, tt.want)
			}
		})
	}
}

func TestOperatorErrorMessage(t *testing.T) {
	tests := []struct {
		name     string
		operator string
		values   []string
		want     string
	}{
		{"bad number", "NumericLessThan", []string{"10", "ten"},
			`condition "NumericLessThan" on key "s3:max-keys": value "ten": not a number`},
		{"unknown operator hint", "stringEquals", []string{"x"},
			`condition "stringEquals" on key "s3:max-keys": unknown condition operator (operator names are case-sensitive: did you mean "StringEquals"?)`},
		{"bad cidr", "IpAddress", []string{"10.0.0.0/33"},
			`condition "IpAddress" on key "s3:max-keys": value "10.0.0.0/33": not an IP address or CIDR block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.operator, "s3:max-keys", tt.values, true)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapContext(t *testing.T) {
	ctx := NewMapContext(map[string][]string{"aws:SourceIp": {"1.2.3.4"}, "AWS:sourceip": {"5.6.7.8"}, "aws:username": {"bob"}})
	tests := []struct {
		name string
		key  string
		want []string
		ok   bool
	}{
		{"lower", "aws:username", []string{"bob"}, true},
		{"mixed", "AWS:UserName", []string{"bob"}, true},
		{"long key", "aws:" + strings.Repeat("X", 200), nil, false},
		{"absent", "aws:userid", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ctx.Values(tt.key)
			if ok != tt.ok {
				t.Fatalf("Values(%q) ok = %v, want %v", tt.key, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	merged, _ := ctx.Values("aws:sourceip")
	if len(merged) != 2 {
		t.Errorf("keys differing in case were not merged: %v", merged)
	}
}

// TestEvaluateDoesNotAllocate pins the promise that a condition without
// policy variables evaluates without allocating, for every operator family.
func TestEvaluateDoesNotAllocate(t *testing.T) {
	ctx := NewMapContext(map[string][]string{
		"aws:SourceIp":        {"2001:db8::1"},
		"aws:username":        {"alice"},
		"aws:TagKeys":         {"team", "project", "cost-center"},
		"s3:max-keys":         {"10"},
		"aws:CurrentTime":     {"2026-06-01T12:00:00Z"},
		"aws:SecureTransport": {"true"},
		"aws:SourceArn":       {"arn:aws:sns:us-east-1:123456789012:topic"},
		"k:bin":               {"QmluYXJ5"},
	})
	conds := []struct{ op, key, val string }{
		{"StringEquals", "aws:username", "alice"},
		{"StringEqualsIgnoreCase", "AWS:UserName", "ALICE"},
		{"StringNotLike", "aws:username", "adm*"},
		{"ForAllValues:StringLike", "aws:TagKeys", "*"},
		{"ForAnyValue:StringEquals", "aws:TagKeys", "project"},
		{"NumericLessThanEquals", "s3:max-keys", "10"},
		{"DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"},
		{"Bool", "aws:SecureTransport", "true"},
		{"IpAddress", "aws:SourceIp", "2001:db8::/32"},
		{"ArnLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*"},
		{"BinaryEquals", "k:bin", "QmluYXJ5"},
		{"Null", "aws:MultiFactorAuthAge", "true"},
		{"StringEqualsIfExists", "aws:Absent", "x"},
	}
	for _, cc := range conds {
		c, err := Compile(cc.op, cc.key, []string{cc.val}, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(cc.op, func(t *testing.T) {
			if !c.Evaluate(ctx, nil) {
				t.Fatalf("%s did not hold; the allocation test needs the match path", cc.op)
			}
			missing := make([]string, 0, 4)
			if n := testing.AllocsPerRun(100, func() { c.Evaluate(ctx, &missing) }); n != 0 {
				t.Errorf("%s allocated %v times per Evaluate, want 0", cc.op, n)
			}
		})
	}
}

// TestConcurrentEvaluate evaluates shared compiled conditions from several
// goroutines; run with -race it proves Evaluate does not mutate a Condition.
func TestConcurrentEvaluate(t *testing.T) {
	conds := []*Condition{}
	for _, cc := range []struct {
		op  string
		val string
	}{{"StringLike", "home/${aws:username}/*"}, {"ForAnyValue:StringEquals", "bob"}, {"StringNotEquals", "x"}} {
		c, err := Compile(cc.op, "k:v", []string{cc.val}, true)
		if err != nil {
			t.Fatal(err)
		}
		conds = append(conds, c)
	}
	ctx := NewMapContext(map[string][]string{"k:v": {"home/bob/a"}, "aws:username": {"bob"}})
	want := []bool{true, false, true}
	done := make(chan []bool)
	for range 4 {
		go func() {
			var got []bool
			for range 200 {
				got = got[:0]
				for _, c := range conds {
					got = append(got, c.Evaluate(ctx, nil))
				}
			}
			done <- got
		}()
	}
	for range 4 {
		if diff := cmp.Diff(want, <-done); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	}
}
