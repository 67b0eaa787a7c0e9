package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadSpec checks the --cli-input-json reader: any text either fails with an InputError that names the flag,
// or gives a Spec that, written back as JSON, reads again to the same Spec; a member the API does not have is
// refused.
func FuzzReadSpec(f *testing.F) {
	for _, s := range []string{
		`{"PolicyInputList":["{\"Version\":\"2012-10-17\",\"Statement\":[]}"],"ActionNames":["s3:GetObject"],` +
			`"ResourceArns":["arn:aws:s3:::b/k"],"ContextEntries":[{"ContextKeyName":"aws:SourceIp","ContextKeyValues":["10.0.0.1"],"ContextKeyType":"ip"}],"MaxItems":5}`,
		`{"CallerArn":"arn:aws:iam::111122223333:user/bob","ResourceOwner":"111122223333","ResourceHandlingOption":"EC2-VPC-InstanceStore"}`,
		`{"Unknown":1}`, `{}`, `null`, `[]`, `{"MaxItems":1.5}`, `{"ActionNames":null} trailing`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ReadSpec(strings.NewReader(s))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Msg, "--cli-input-json: ") {
				t.Fatalf("ReadSpec(%q) error %#v is not an InputError naming the flag", s, err)
			}
			return
		}
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("accepted spec does not encode: %v", err)
		}
		again, err := ReadSpec(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("ReadSpec(%s), the encoding of an accepted spec: %v", b, err)
		}
		if diff := cmp.Diff(spec, again); diff != "" {
			t.Fatalf("spec of %q does not round-trip (-first +second):\n%s", s, diff)
		}
		var generic map[string]any
		if json.Unmarshal([]byte(s), &generic) == nil {
			known, _ := json.Marshal(Spec{})
			var members map[string]any
			_ = json.Unmarshal(known, &members)
			for k := range generic {
				known := false
				for m := range members {
					known = known || strings.EqualFold(k, m) // encoding/json matches names without regard to case
				}
				if !known {
					t.Fatalf("ReadSpec(%q) accepted unknown member %q", s, k)
				}
			}
		}
	})
}
