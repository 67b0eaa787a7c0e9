package simulator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseContextFlag(t *testing.T) {
	tests := []struct {
		name, in string
		want     ContextEntry
		wantErr  bool
	}{
		{name: "typed", in: "aws:SourceIp=ip:10.0.0.1", want: ContextEntry{"aws:SourceIp", []string{"10.0.0.1"}, "ip"}},
		{name: "untyped is a string", in: "aws:username=bob", want: ContextEntry{"aws:username", []string{"bob"}, "string"}},
		{name: "an ARN is not a type", in: "aws:PrincipalArn=arn:aws:iam::123456789012:user/bob", want: ContextEntry{"aws:PrincipalArn", []string{"arn:aws:iam::123456789012:user/bob"}, "string"}},
		{name: "a date keeps its colons", in: "aws:CurrentTime=date:2019-04-25T11:00:00Z", want: ContextEntry{"aws:CurrentTime", []string{"2019-04-25T11:00:00Z"}, "date"}},
		{name: "list", in: "aws:TagKeys=stringList:a,b", want: ContextEntry{"aws:TagKeys", []string{"a", "b"}, "stringList"}},
		{name: "no key", in: "=x", wantErr: true},
		{name: "no equals", in: "aws:username", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContextFlag(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseContextFlag: a flag that parses names the key before '=' and keeps the values' text; Context accepts
// or rejects the entry with an InputError, never a panic.
func FuzzParseContextFlag(f *testing.F) {
	for _, s := range []string{"aws:SourceIp=ip:10.0.0.1", "k=numericList:1,2.5", "k=boolean:TRUE", "k=binary:AAE=", "k=date:1700000000", "k=dateList:2020-01-01,x", "=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseContextFlag(s)
		if err != nil {
			return
		}
		key, val, _ := strings.Cut(s, "=")
		if e.ContextKeyName != key || key == "" {
			t.Fatalf("key %q from %q", e.ContextKeyName, s)
		}
		if joined := strings.Join(e.ContextKeyValues, ","); !strings.HasSuffix(val, joined) {
			t.Fatalf("values %q lost text of %q", e.ContextKeyValues, val)
		}
		if _, err := Context([]ContextEntry{e}); err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %T is not an InputError", err)
			}
		}
	})
}
