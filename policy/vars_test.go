package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/persona-iam/persona/policy/condition"
)

func TestParseVariables(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []vpart // nil: no variables, the text is literal
	}{
		{"no variable", "arn:aws:s3:::b/*", nil},
		{"simple", "a/${aws:username}/*", []vpart{{text: "a/"}, {isVar: true, name: "aws:username", key: "aws:username"}, {text: "/*"}}},
		{"key is lower-cased for lookup", "${aws:PrincipalTag/Team}", []vpart{{isVar: true, name: "aws:PrincipalTag/Team", key: "aws:principaltag/team"}}},
		{"spaces around the key", "${ aws:userid }", []vpart{{isVar: true, name: "aws:userid", key: "aws:userid"}}},
		{"default", "${aws:username, 'guest'}", []vpart{{isVar: true, name: "aws:username", key: "aws:username", def: "guest", hasDef: true}}},
		{"default with doubled quote and brace", "${k,'it''s}'}x", []vpart{{isVar: true, name: "k", key: "k", def: "it's}", hasDef: true}, {text: "x"}}},
		{"escapes", "${*}${?}${$}", []vpart{{text: "*", literal: true}, {text: "?", literal: true}, {text: "$", literal: true}}},
		{"unterminated stays literal", "a/${aws:username", nil},
		{"empty stays literal", "a/${}", nil},
		{"unquoted default stays literal", "${k, guest}", nil},
		{"dollar without brace", "a$b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseVariables(tt.in), cmp.AllowUnexported(vpart{})); diff != "" {
				t.Errorf("parts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type fixedContext map[string][]string

func (c fixedContext) Values(k string) ([]string, bool) { v, ok := c[k]; return v, ok }

// FuzzVariables checks parseVariables and matchVariables together: for any
// pattern without wildcards, substituting every variable by a known value
// (or its default) and every escape by its character gives a string the
// pattern matches, and a multi-valued variable matches nothing.
func FuzzVariables(f *testing.F) {
	for _, s := range []string{"a/${aws:username}/b", "${k, 'd'}", "${*}${?}${$}", "x${", "${a}${b, 'it''s'}", "plain"} {
		f.Add(s)
	}
	// Every string with a variable in the corpus's policies.
	files, _ := filepath.Glob("testdata/corpus/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"([^"]*\$\{[^"]*)"`).FindAllSubmatch(data, -1) {
			f.Add(string(m[1]))
		}
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		parts := parseVariables(pattern)
		if !strings.Contains(pattern, "${") && parts != nil {
			t.Fatalf("parts %v for a pattern without ${", parts)
		}
		var want strings.Builder
		ctx := fixedContext{}
		for i, p := range parts {
			switch {
			case p.isVar:
				if p.name == "" || strings.ContainsAny(p.name, " '${") {
					t.Fatalf("bad variable name %q", p.name)
				}
				if p.hasDef && i%2 == 0 {
					want.WriteString(p.def) // leave the key absent: the default applies
					continue
				}
				if v, ok := ctx[p.key]; ok {
					want.WriteString(v[0])
					continue
				}
				ctx[p.key] = []string{"v" + p.key}
				want.WriteString("v" + p.key)
			case p.literal:
				want.WriteString(p.text)
			default:
				if strings.ContainsAny(p.text, "*?") {
					return // wildcards: the expected string is not unique
				}
				want.WriteString(p.text)
			}
		}
		if parts == nil {
			return
		}
		// A key used with a default somewhere and without elsewhere makes
		// the expectation ambiguous; skip those.
		for _, p := range parts {
			if _, ok := ctx[p.key]; p.isVar && p.hasDef && ok {
				return
			}
		}
		var missing []string
		if !matchVariables(parts, ctx, want.String(), &missing) {
			t.Fatalf("pattern %q does not match its substitution %q", pattern, want.String())
		}
		for k := range ctx {
			ctx[k] = []string{"a", "b"}
		}
		if len(ctx) > 0 && matchVariables(parts, ctx, want.String(), nil) {
			t.Fatalf("pattern %q matched with multi-valued variables", pattern)
		}
	})
}

var _ condition.Context = fixedContext{}
