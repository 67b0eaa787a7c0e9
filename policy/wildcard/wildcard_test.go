package wildcard

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// Glob semantics of IAM: '*' any run, '?' exactly one character.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		fold    bool
		s       string
		want    bool
	}{
		{name: "literal equal", pattern: "s3:GetObject", s: "s3:GetObject", want: true},
		{name: "literal differs", pattern: "s3:GetObject", s: "s3:GetObjects", want: false},
		{name: "literal is case-sensitive", pattern: "s3:GetObject", s: "s3:getobject", want: false},
		{name: "literal fold", pattern: "s3:GetObject", fold: true, s: "S3:GETOBJECT", want: true},
		{name: "empty pattern matches empty", pattern: "", s: "", want: true},
		{name: "empty pattern rejects text", pattern: "", s: "a", want: false},
		{name: "star matches all", pattern: "*", s: "anything at all", want: true},
		{name: "star matches empty", pattern: "*", s: "", want: true},
		{name: "double star", pattern: "**", s: "x", want: true},
		{name: "prefix", pattern: "s3:Get*", s: "s3:GetObjectAcl", want: true},
		{name: "prefix exact", pattern: "s3:Get*", s: "s3:Get", want: true},
		{name: "prefix miss", pattern: "s3:Get*", s: "s3:PutObject", want: false},
		{name: "prefix fold", pattern: "iam:*accesskey*", fold: true, s: "iam:CreateAccessKey", want: true},
		{name: "suffix", pattern: "*.txt", s: "home/bob/a.txt", want: true},
		{name: "suffix miss", pattern: "*.txt", s: "home/bob/a.txt2", want: false},
		{name: "contains", pattern: "*AccessKey*", s: "iam:UpdateAccessKey", want: true},
		{name: "contains miss", pattern: "*AccessKey*", s: "iam:UpdateAccesskey", want: false},
		{name: "question one char", pattern: "us-east-?", s: "us-east-1", want: true},
		{name: "question needs a char", pattern: "us-east-?", s: "us-east-", want: false},
		{name: "question exactly one", pattern: "us-east-?", s: "us-east-12", want: false},
		{name: "question is one rune", pattern: "caf?", s: "café", want: true},
		{name: "general", pattern: "arn:aws:s3:::bucket/*/logs/*.gz", s: "arn:aws:s3:::bucket/a/b/logs/x.gz", want: true},
		{name: "general miss", pattern: "arn:aws:s3:::bucket/*/logs/*.gz", s: "arn:aws:s3:::bucket/a/b/logs/x.gzip", want: false},
		{name: "general backtrack", pattern: "*a*b", s: "aaaaaaaab", want: true},
		{name: "general backtrack miss", pattern: "*a*a*a*a*a*b", s: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", want: false},
		{name: "star question", pattern: "*?", s: "", want: false},
		{name: "trailing stars", pattern: "a***", s: "a", want: true},
		{name: "fold general", pattern: "EC2:Describe?nstances", fold: true, s: "ec2:describeinstances", want: true},
		{name: "fold is ASCII only", pattern: "k", fold: true, s: "\u212a", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compile(tt.pattern, tt.fold)
			if got := p.Match(tt.s); got != tt.want {
				t.Errorf("Compile(%q, %v).Match(%q) = %v, want %v", tt.pattern, tt.fold, tt.s, got, tt.want)
			}
			if got := ref(tt.pattern, tt.s, tt.fold); got != tt.want {
				t.Errorf("reference matcher disagrees with the table for %q / %q", tt.pattern, tt.s)
			}
			if !tt.fold {
				if got := Match(tt.pattern, tt.s); got != tt.want {
					t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
				}
			}
			if p.String() != tt.pattern {
				t.Errorf("String() = %q, want %q", p.String(), tt.pattern)
			}
		})
	}
}

// ref is a deliberately naive recursive matcher, the specification the
// compiled matcher is checked against. It memoises on (pattern, string)
// offsets only so that fuzzed patterns like "*0***0?1" cannot make it
// exponential.
func ref(p, s string, fold bool) bool {
	memo := map[[2]int]bool{}
	var rec func(pi, si int) bool
	rec = func(pi, si int) bool {
		k := [2]int{pi, si}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case pi == len(p):
			r = si == len(s)
		case p[pi] == '*':
			// Either '*' matches nothing, or it eats one more character.
			r = rec(pi+1, si)
			if !r && si < len(s) {
				_, n := utf8.DecodeRuneInString(s[si:])
				r = rec(pi, si+n)
			}
		case p[pi] == '?':
			if si < len(s) {
				_, n := utf8.DecodeRuneInString(s[si:])
				r = rec(pi+1, si+n)
			}
		default:
			r = si < len(s) && eqByte(p[pi], s[si], fold) && rec(pi+1, si+1)
		}
		memo[k] = r
		return r
	}
	return rec(0, 0)
}

func TestMatchDoesNotAllocate(t *testing.T) {
	pats := []Pattern{
		Compile("s3:GetObject", true), Compile("*", false), Compile("s3:Get*", true),
		Compile("*.txt", false), Compile("*Key*", true), Compile("arn:aws:s3:::b/*/x?", false),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pats {
			p.Match("arn:aws:s3:::b/some/long/path/x1")
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocated %v times per run, want 0", allocs)
	}
}

func FuzzWildcard(f *testing.F) {
	data, err := os.ReadFile("testdata/seeds.tsv")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		pattern, s, ok := strings.Cut(line, "\t")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		f.Add(pattern, s, false)
		f.Add(pattern, s, true)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		// Patterns come from JSON policy text, which is valid UTF-8. For an
		// invalid pattern the fast paths compare bytes while the reference
		// steps '*' by runes, so "*\xb0" would match inside "Ͱ"; that case
		// cannot arise from a policy and is not specified.
		if !utf8.ValidString(pattern) {
			t.Skip()
		}
		got := Compile(pattern, fold).Match(s)
		// Property 1: the compiled matcher agrees with the naive one.
		if want := ref(pattern, s, fold); got != want {
			t.Fatalf("Compile(%q, %v).Match(%q) = %v, reference says %v", pattern, fold, s, got, want)
		}
		// Property 2: "*" matches everything.
		if !Compile("*", fold).Match(s) {
			t.Fatalf("\"*\" did not match %q", s)
		}
		// Property 3: a pattern without wildcards matches itself and, when
		// case-sensitive, nothing else.
		if !containsWildcard(pattern) {
			if !Compile(pattern, fold).Match(pattern) {
				t.Fatalf("literal %q does not match itself", pattern)
			}
			if !fold && got != (pattern == s) {
				t.Fatalf("literal %q vs %q: got %v", pattern, s, got)
			}
		}
	})
}

func containsWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}

func BenchmarkMatch(b *testing.B) {
	const s = "arn:aws:s3:::example-bucket/home/alice/projects/2026/report.pdf"
	benches := []struct {
		name    string
		pattern string
		fold    bool
	}{
		{"literal", s, false},
		{"any", "*", false},
		{"prefix", "arn:aws:s3:::example-bucket/home/*", false},
		{"suffix", "*.pdf", false},
		{"action_fold", "s3:Get*", true},
		{"general", "arn:aws:s3:::example-*/home/*/projects/*/*.pdf", false},
		{"general_question", "arn:aws:s3:::example-bucket/home/?????/*", false},
	}
	for _, bb := range benches {
		p := Compile(bb.pattern, bb.fold)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Match(s)
			}
		})
	}
}
