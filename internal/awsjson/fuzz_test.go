package awsjson_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/persona-iam/persona/internal/awsjson"
	"github.com/persona-iam/persona/internal/awsjson/orgsapi"
)

// FuzzDecodeInput feeds request bodies to every operation's decoder and checks its contract: it never panics;
// it fails only with a 400 SerializationException or a ValidationError whose violations name a member; and an
// input it accepts encodes to JSON that decodes to the same input, which is accepted again.
func FuzzDecodeInput(f *testing.F) {
	ops := make([]string, 0, len(orgsapi.Operations))
	for name := range orgsapi.Operations {
		ops = append(ops, name)
	}
	index := map[string]uint8{}
	for i, op := range sortedOps(ops) {
		index[op] = uint8(i)
	}
	ops = sortedOps(ops)
	for _, c := range readBodies(f) {
		f.Add(index[c.op], []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := ops[int(opIndex)%len(ops)]
		in, err := orgsapi.DecodeInput(op, body)
		if err != nil {
			var ae *awsjson.Error
			var ve *awsjson.ValidationError
			switch {
			case errors.As(err, &ae):
				if ae.Code != "SerializationException" || ae.HTTPStatus != 400 || ae.Message == "" {
					t.Fatalf("%s: unexpected error %#v", op, ae)
				}
			case errors.As(err, &ve):
				if len(ve.Violations) == 0 || len(ve.Violations) > 10 {
					t.Fatalf("%s: %d violations", op, len(ve.Violations))
				}
				for _, v := range ve.Violations {
					if v.Path == "" || v.Detail == "" {
						t.Fatalf("%s: violation without a member or constraint: %+v", op, v)
					}
				}
			default:
				t.Fatalf("%s: error of type %T: %v", op, err, err)
			}
			return
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("%s: accepted input does not encode: %v", op, err)
		}
		back, err := orgsapi.DecodeInput(op, again)
		if err != nil {
			t.Fatalf("%s: re-encoded input %s rejected: %v", op, again, err)
		}
		// An empty optional list or map is sent as absent, as AWS's SDKs treat them alike.
		if diff := cmp.Diff(in, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s: round trip changed the input (-first +second):\n%s", op, diff)
		}
	})
}

func sortedOps(ops []string) []string {
	out := append([]string(nil), ops...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// FuzzTime checks the timestamp codec: whatever it accepts re-encodes to a number that decodes to the same
// instant, and it accepts every time it encodes.
func FuzzTime(f *testing.F) {
	for _, s := range []string{"0", "1700000000", "1700000000.123", "-4.75", "1e9", "null", `"x"`, "99999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v awsjson.Time
		if err := json.Unmarshal(b, &v); err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", v.Time, err)
		}
		var back awsjson.Time
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s (from %q) does not decode: %v", out, b, err)
		}
		if !back.Equal(v.Time.Truncate(time.Millisecond)) && !back.Equal(awsjson.At(v.Time).Time) {
			t.Fatalf("%q → %s → %v, want %v", b, out, back.Time, v.Time)
		}
	})
}
