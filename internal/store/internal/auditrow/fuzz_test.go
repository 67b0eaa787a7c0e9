package auditrow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/persona-iam/persona/internal/store"
)

// FuzzParseResources checks the resources column codec: any column text either fails or yields resources that
// Resources encodes back to text ParseResources reads to the same resources (after cleaning); and resources of
// any strings survive Resources then ParseResources as their cleaned forms.
func FuzzParseResources(f *testing.F) {
	for _, s := range []string{`[["AWS::IAM::Role","arn:aws:iam::111122223333:role/web"]]`, `[]`, `null`, `[["a"]]`,
		`[["a","b","c"]]`, `[[1,2]]`, `{}`, `[["\u0000","\ud800"]]`, ""} {
		f.Add(s, "AWS::IAM::User", "bob")
	}
	f.Fuzz(func(t *testing.T, col, typ, name string) {
		if rs, err := ParseResources(col); err == nil {
			again, err := ParseResources(Resources(rs))
			if err != nil {
				t.Fatalf("ParseResources(Resources(%q)): %v", rs, err)
			}
			want := make([]store.AuditResource, len(rs))
			for i, r := range rs {
				want[i] = store.AuditResource{Type: Clean(r.Type), Name: Clean(r.Name)}
			}
			if diff := cmp.Diff(want, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("resources of %q do not round-trip (-want +got):\n%s", col, diff)
			}
		}
		in := []store.AuditResource{{Type: typ, Name: name}}
		got, err := ParseResources(Resources(in))
		if err != nil {
			t.Fatalf("ParseResources(Resources(%q)): %v", in, err)
		}
		if want := []store.AuditResource{{Type: Clean(typ), Name: Clean(name)}}; !cmp.Equal(got, want) {
			t.Fatalf("round trip of %q = %q, want %q", in, got, want)
		}
	})
}
