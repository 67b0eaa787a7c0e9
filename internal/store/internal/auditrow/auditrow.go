// Package auditrow is what the SQL backends share to store audit records alike: cleaning text, the attribute
// rows behind LookupAudit, resources encoding and markers. Sharing it keeps the backends from drifting apart in
// what a lookup matches.
package auditrow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/persona-iam/persona/internal/store"
)

// MaxValue is the longest indexed attribute value, in bytes. Longer values (attacker-chosen resource names) are
// indexed by their first MaxValue bytes, and a lookup value is cut the same way, so such lookups may also return
// records whose value shares that prefix. Without the cut a long value could exceed PostgreSQL's b-tree row
// limit and fail the whole batch.
const MaxValue = 1024

// Clean makes s storable by every backend: invalid UTF-8 becomes U+FFFD and NUL is removed (PostgreSQL text
// holds neither).
func Clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Value is Clean(s) cut to at most MaxValue bytes on a rune boundary.
func Value(s string) string {
	s = Clean(s)
	if len(s) <= MaxValue {
		return s
	}
	i := MaxValue
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// FilterColumn returns the audit_events column that answers a lookup of attr by filtering the account's events,
// and the value to compare it with; ok is false for attributes answered by attribute rows. A ReadOnly value other
// than "true" or "false" matches nothing (match is false).
func FilterColumn(attr store.AuditAttribute, value string) (column string, v any, match, ok bool) {
	switch attr {
	case store.AuditReadOnly:
		switch value {
		case "true":
			return "read_only", true, true, true
		case "false":
			return "read_only", false, true, true
		}
		return "read_only", nil, false, true
	case store.AuditPrincipalARN:
		return "principal_arn", Clean(value), true, true
	}
	return "", nil, false, false
}

// Attr is one row of the attribute index.
type Attr struct {
	Attr  store.AuditAttribute
	Value string
}

// Attrs returns the attribute rows of r: one per non-empty attribute, one per distinct resource name and type.
func Attrs(r store.AuditRecord) []Attr {
	out := make([]Attr, 0, 7+2*len(r.Resources))
	add := func(a store.AuditAttribute, v string) {
		if v == "" {
			return
		}
		v = Value(v)
		for _, x := range out {
			if x.Attr == a && x.Value == v {
				return
			}
		}
		out = append(out, Attr{a, v})
	}
	// Every row here costs B-tree inserts on the request path (the trail's storage is most of a request's CPU),
	// so some attributes have none: EventId is answered by the events' unique (account, event_id) index, and
	// ReadOnly (half of all events match either value) and PrincipalArn (Persona's own, read by offline tools)
	// by filtering the account's events newest first (see FilterColumn).
	add(store.AuditEventName, r.EventName)
	add(store.AuditEventSource, r.EventSource)
	add(store.AuditUsername, r.Username)
	add(store.AuditAccessKeyID, r.AccessKeyID)
	for _, res := range r.Resources {
		add(store.AuditResourceName, res.Name)
		add(store.AuditResourceType, res.Type)
	}
	return out
}

// Check returns an error if r cannot be stored at all: it lacks an event id or an account.
func Check(r store.AuditRecord) error {
	if r.EventID == "" || r.Account == "" {
		return fmt.Errorf("audit record without event id or account (event id %q, account %q)", r.EventID, r.Account)
	}
	return nil
}

// Resources encodes resources (cleaned) for the resources column.
func Resources(rs []store.AuditResource) string {
	pairs := make([][2]string, 0, len(rs))
	for _, r := range rs {
		pairs = append(pairs, [2]string{Clean(r.Type), Clean(r.Name)})
	}
	b, _ := json.Marshal(pairs) // cannot fail: strings only
	return string(b)
}

// ParseResources decodes the resources column.
func ParseResources(s string) ([]store.AuditResource, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make([]store.AuditResource, len(pairs))
	for i, p := range pairs {
		out[i] = store.AuditResource{Type: p[0], Name: p[1]}
	}
	return out, nil
}

// Marker encodes the keyset position of the last record of a page: its time (Unix microseconds) and sequence.
func Marker(micros, seq int64) string {
	return strconv.FormatInt(micros, 10) + "." + strconv.FormatInt(seq, 10)
}

// ParseMarker decodes a Marker, or returns store.ErrInvalidMarker.
func ParseMarker(m string) (micros, seq int64, err error) {
	t, s, ok := strings.Cut(m, ".")
	if !ok {
		return 0, 0, store.ErrInvalidMarker
	}
	micros, err1 := strconv.ParseInt(t, 10, 64)
	seq, err2 := strconv.ParseInt(s, 10, 64)
	if err1 != nil || err2 != nil || seq < 0 || Marker(micros, seq) != m {
		return 0, 0, store.ErrInvalidMarker
	}
	return micros, seq, nil
}

// Bounds returns the query's time range in Unix microseconds, open ends widened to the extremes.
func Bounds(q store.AuditQuery) (start, end int64) {
	start, end = -1<<63, 1<<63-1
	if !q.Start.IsZero() {
		start = q.Start.UnixMicro()
	}
	if !q.End.IsZero() {
		end = q.End.UnixMicro()
	}
	return start, end
}

// Known reports whether a is an attribute LookupAudit matches on.
func Known(a store.AuditAttribute) bool {
	switch a {
	case store.AuditEventID, store.AuditEventName, store.AuditEventSource, store.AuditUsername,
		store.AuditAccessKeyID, store.AuditReadOnly, store.AuditResourceName, store.AuditResourceType,
		store.AuditPrincipalARN:
		return true
	}
	return false
}

// Micro is t as stored.
func Micro(t time.Time) int64 { return t.UnixMicro() }
