package condition

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/persona-iam/persona/policy/wildcard"
)

// FuzzCompile compiles arbitrary conditions, seeded from testdata. Properties:
// Compile either succeeds or returns a well-formed *OperatorError naming the
// operator; a compiled condition evaluates without panicking against contexts
// where the key is absent, empty and set to the fuzzed value; the documented
// absent-key rules hold (IfExists and ForAllValues true, ForAnyValue false);
// and a negated operator is the complement of its positive form on a
// single-valued key.
func FuzzCompile(f *testing.F) {
	for _, cf := range loadCases(f) {
		for _, tc := range cf.Cases {
			v0, ctxVal := "", ""
			if len(tc.Values) > 0 {
				v0 = tc.Values[0]
			}
			if vals := tc.Context[tc.Key]; len(vals) > 0 {
				ctxVal = vals[0]
			}
			f.Add(tc.Operator, tc.Key, v0, ctxVal, !tc.NoVars)
		}
	}
	f.Fuzz(func(t *testing.T, op, key, val, ctxVal string, vars bool) {
		c, err := Compile(op, key, []string{val}, vars)
		if err != nil {
			var oe *OperatorError
			if !errors.As(err, &oe) {
				t.Fatalf("Compile error %T is not *OperatorError", err)
			}
			if oe.Operator != op || oe.Reason == "" || err.Error() == "" {
				t.Fatalf("malformed OperatorError %+v", oe)
			}
			if oe.Value != "" && oe.Value != val {
				t.Fatalf("OperatorError.Value = %q, not the given value %q", oe.Value, val)
			}
			return
		}
		if !IsKnownOperator(op) {
			t.Fatalf("Compile accepted %q but IsKnownOperator rejects it", op)
		}
		absent := NewMapContext(nil)
		var missing []string
		got := c.Evaluate(absent, &missing)
		switch {
		case c.op.def.fam == famNull:
		case c.op.ifExists || c.op.qual == qualForAll:
			if !got {
				t.Fatalf("%s with absent key = false, want true", op)
			}
		case c.op.qual == qualForAny:
			if got {
				t.Fatalf("%s with absent key = true, want false", op)
			}
		default:
			if got != c.op.def.negated {
				t.Fatalf("%s with absent key = %v, want %v", op, got, c.op.def.negated)
			}
		}
		if c.op.def.fam != famNull && (len(missing) != 1 || missing[0] != key) {
			t.Fatalf("missing = %q, want [%q]", missing, key)
		}
		c.Evaluate(NewMapContext(map[string][]string{key: {}}), nil)
		present := NewMapContext(map[string][]string{key: {ctxVal}})
		got = c.Evaluate(present, nil)

		// Negation: the Not form is the complement on a single value.
		if c.op.def.negated || c.op.qual != qualNone || c.op.ifExists || c.op.def.fam == famNull {
			return
		}
		negOp := negations[op]
		if negOp == "" {
			return
		}
		nc, err := Compile(negOp, key, []string{val}, vars)
		if err != nil {
			t.Fatalf("%s compiled but %s did not: %v", op, negOp, err)
		}
		if ng := nc.Evaluate(present, nil); ng == got {
			t.Fatalf("%s = %v and %s = %v on %q; want complements", op, got, negOp, ng, ctxVal)
		}
	})
}

// negations maps each positive operator to its documented negated form.
var negations = map[string]string{
	"StringEquals":           "StringNotEquals",
	"StringEqualsIgnoreCase": "StringNotEqualsIgnoreCase",
	"StringLike":             "StringNotLike",
	"NumericEquals":          "NumericNotEquals",
	"DateEquals":             "DateNotEquals",
	"IpAddress":              "NotIpAddress",
	"ArnEquals":              "ArnNotEquals",
	"ArnLike":                "ArnNotLike",
}

// FuzzGlobMasked checks the variable-aware matcher against the wildcard
// package: with no literal bytes it must agree with wildcard.Match, and with
// every byte literal it must be plain equality (a substituted "*" never
// globs). Seeds are the StringLike values of testdata.
func FuzzGlobMasked(f *testing.F) {
	for _, cf := range loadCases(f) {
		for _, tc := range cf.Cases {
			if len(tc.Values) > 0 && len(tc.Context[tc.Key]) > 0 {
				f.Add(tc.Values[0], tc.Context[tc.Key][0])
			}
		}
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) {
			t.Skip() // policy text is JSON, hence valid UTF-8
		}
		mask := make([]bool, len(p))
		if got, want := globMasked([]byte(p), mask, s), wildcard.Match(p, s); got != want {
			t.Fatalf("globMasked(%q, none literal, %q) = %v, wildcard.Match = %v", p, s, got, want)
		}
		for i := range mask {
			mask[i] = true
		}
		if got := globMasked([]byte(p), mask, s); got != (p == s) {
			t.Fatalf("globMasked(%q, all literal, %q) = %v, want %v", p, s, got, p == s)
		}
	})
}
