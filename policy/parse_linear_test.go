package policy_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/persona-iam/persona/policy"
)

// singleLinePolicy is a policy of about n bytes on one line, as SDKs and the aws CLI send them: many small
// values, each of which records its position.
func singleLinePolicy(n int, value string) string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"arn:aws:s3:::` + value + strconv.Itoa(i) + `"`)
	}
	b.WriteString(`]}]}`)
	return b.String()
}

// TestParsePositionsOnOneLongLine: positions far into a single line count characters, not bytes, also where
// multibyte characters come before them (the parser must not rescan the line for each position to get this).
func TestParsePositionsOnOneLongLine(t *testing.T) {
	for _, value := range []string{"b", "é€😀"} {
		doc := singleLinePolicy(20000, value)
		d, err := policy.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		res := d.Statements[0].Resource
		for _, s := range res.Values {
			off := strings.Index(doc, `"`+s.Value+`"`)
			want := policy.Pos{Line: 1, Column: len([]rune(doc[:off])) + 1, Offset: off}
			if s.Pos != want {
				t.Fatalf("%s at %+v, want %+v", s.Value, s.Pos, want)
			}
		}
		// An error near the end names the right column too.
		bad := doc[:len(doc)-4] + `,x]}]}`
		_, err = policy.Parse([]byte(bad))
		var se *policy.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a SyntaxError", err)
		}
		if want := len([]rune(bad[:len(bad)-5])) + 1; se.Line != 1 || se.Column != want {
			t.Errorf("error at line %d column %d, want line 1 column %d (%v)", se.Line, se.Column, want, err)
		}
	}
}

// BenchmarkParseOneLine parses the largest policies IAM accepts, on one line: the cost must grow linearly with
// the size (compare the sizes' ns/op), or a caller can make each request cost the server a second of CPU.
func BenchmarkParseOneLine(b *testing.B) {
	for _, n := range []int{16 << 10, 128 << 10} {
		doc := []byte(singleLinePolicy(n, "é"))
		b.Run(strconv.Itoa(n>>10)+"KiB", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := policy.Parse(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
