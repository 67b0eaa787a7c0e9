package server

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/awsjson"
)

// FuzzDecodeLookupInput checks LookupEvents' body parser: it never panics, rejects with a SerializationException
// or InvalidEventCategoryException only, and what it accepts survives a round trip through the wire form the SDK
// sends (epoch seconds, microsecond precision).
func FuzzDecodeLookupInput(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"MaxResults":5}`, `{"StartTime":1700000000.5,"EndTime":1700003600}`,
		`{"StartTime":"2026-01-01T00:00:00Z"}`, `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateRole"}]}`,
		`{"NextToken":"abc","EventCategory":"insight"}`, `{"StartTime":1e300}`, `{"StartTime":"x"}`, `[]`, `{} {}`,
		`{"MaxResults":"5"}`, `{"StartTime":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, insight, err := decodeLookupInput(body)
		if err != nil {
			var je *awsjson.Error
			if !errors.As(err, &je) || (je.Code != "SerializationException" && je.Code != "InvalidEventCategoryException") || je.HTTPStatus != 400 {
				t.Fatalf("error %v is not a 400 SerializationException", err)
			}
			return
		}
		wire := map[string]any{"LookupAttributes": in.LookupAttributes, "MaxResults": in.MaxResults, "NextToken": in.NextToken}
		if in.StartTime != nil {
			wire["StartTime"] = float64(in.StartTime.UnixMicro()) / 1e6
		}
		if in.EndTime != nil {
			wire["EndTime"] = float64(in.EndTime.UnixMicro()) / 1e6
		}
		if insight {
			wire["EventCategory"] = "insight"
		}
		again, err := json.Marshal(wire)
		if err != nil {
			t.Fatal(err)
		}
		in2, insight2, err := decodeLookupInput(again)
		if err != nil || insight2 != insight {
			t.Fatalf("re-encoded input %s rejected: %v", again, err)
		}
		micro := cmp.Comparer(func(a, b time.Time) bool {
			d := a.Sub(b)
			return d < 2*time.Microsecond && d > -2*time.Microsecond
		})
		if diff := cmp.Diff(in, in2, micro); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
