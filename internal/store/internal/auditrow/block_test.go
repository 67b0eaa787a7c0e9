package auditrow

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
)

func decodeAll(t *testing.T, data []byte) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	if err := DecodeBlock(data, "a", func(_ int, r store.AuditRecord) bool {
		out = append(out, r)
		return true
	}); err != nil {
		t.Fatalf("DecodeBlock: %v", err)
	}
	return out
}

// FuzzDecodeBlock: any bytes decode to records or errBlock without panicking, and records made of any text
// round-trip (cleaned), with terms that find every attribute value they hold.
func FuzzDecodeBlock(f *testing.F) {
	f.Add([]byte{}, "e1", "GetRole", "alice", "r1", int64(0), true)
	f.Add([]byte{0x02, 0x02, 'e', '1'}, "e\x00", "\xff", "", "arn:aws:iam::1:role/x", int64(-1), false)
	f.Fuzz(func(t *testing.T, raw []byte, id, name, user, res string, micros int64, ro bool) {
		n := 0
		err := DecodeBlock(raw, "a", func(i int, r store.AuditRecord) bool {
			if i != n {
				t.Fatalf("index %d, want %d", i, n)
			}
			n++
			return true
		})
		if err != nil && err != errBlock {
			t.Fatalf("DecodeBlock error %v, want errBlock", err)
		}
		if id == "" {
			id = "x" // every stored record has an id
		}
		in := []store.AuditRecord{
			{EventID: id, Account: "a", Time: time.UnixMicro(micros).UTC(), EventName: name, Username: user,
				ReadOnly: ro, Resources: []store.AuditResource{{Type: "T", Name: res}}, Data: raw},
			Tombstone,
			{EventID: id + "2", Account: "a", Time: time.UnixMicro(micros / 2).UTC(), Data: []byte{1}},
		}
		data, terms, minT, maxT := EncodeBlock(nil, in)
		got := decodeAll(t, data)
		want := []store.AuditRecord{in[0], {Account: "a", Time: time.UnixMicro(0).UTC()}, in[2]}
		want[0].EventID, want[0].EventName, want[0].Username = Clean(id), Clean(name), Clean(user)
		want[0].Resources = []store.AuditResource{{Type: "T", Name: Clean(res)}}
		want[2].EventID = Clean(id + "2")
		if len(raw) == 0 {
			want[0].Data = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
		if minT != min(micros, micros/2) || maxT != max(micros, micros/2) {
			t.Errorf("time range %d..%d, want that of the two records (tombstone excluded)", minT, maxT)
		}
		for _, c := range []struct {
			a store.AuditAttribute
			v string
		}{{store.AuditEventID, id}, {store.AuditEventName, name}, {store.AuditUsername, user},
			{store.AuditResourceName, res}, {store.AuditReadOnly, strconv.FormatBool(ro)}} {
			if Value(c.v) == "" {
				continue
			}
			if !HasTerm(terms, Term(c.a, c.v)) {
				t.Errorf("terms lack %s=%q", c.a, c.v)
			}
			if !Matches(&got[0], c.a, c.v) {
				t.Errorf("decoded record does not match %s=%q", c.a, c.v)
			}
		}
	})
}

func TestHasTerm(t *testing.T) {
	_, terms, _, _ := EncodeBlock(nil, []store.AuditRecord{{EventID: "e1", EventName: "GetRole", Username: "bob"}})
	for _, tc := range []struct {
		name string
		a    store.AuditAttribute
		v    string
		want bool
	}{
		{"EventName", store.AuditEventName, "GetRole", true},
		{"OtherAttributeSameValue", store.AuditUsername, "GetRole", false},
		{"OtherValue", store.AuditEventName, "GetUser", false},
		{"EmptyNotIndexed", store.AuditAccessKeyID, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasTerm(terms, Term(tc.a, tc.v)); got != tc.want {
				t.Errorf("HasTerm(%s=%q) = %v, want %v", tc.a, tc.v, got, tc.want)
			}
		})
	}
}
