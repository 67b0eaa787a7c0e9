package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
)

// TestMigrateAuditToBlocks: a database at migration 2 (a row per record and per attribute value) keeps its
// whole trail through migration 3: every record, in the same order, found by the same lookups, the old tables
// gone.
func TestMigrateAuditToBlocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, 2); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	var want []store.AuditRecord
	// 1500 records (more than a migration page) of two interleaved accounts, appended out of time order, with
	// equal times, resources and odd bytes in data.
	for i := range 1500 {
		r := store.AuditRecord{
			EventID: fmt.Sprintf("e%04d", i), Account: []string{"111122223333", "444455556666"}[i%3/2],
			Time: t0.Add(time.Duration(i%700) * time.Second), EventName: []string{"GetRole", "CreateRole"}[i%2],
			EventSource: "iam.amazonaws.com", Username: "alice", AccessKeyID: "AKIAALICE",
			PrincipalARN: "arn:aws:iam::111122223333:user/alice", ReadOnly: i%2 == 0, ErrorCode: "",
			Data: []byte{byte(i), 0, 0xff},
		}
		if i%5 == 0 {
			r.Resources = []store.AuditResource{{Type: "AWS::IAM::Role", Name: fmt.Sprintf("role%d", i)}}
		}
		resources := `[]`
		if r.Resources != nil {
			resources = fmt.Sprintf(`[["AWS::IAM::Role","role%d"]]`, i)
		}
		var seq int64
		if err := db.QueryRowContext(ctx, `INSERT INTO audit_events (account, event_id, time, event_name, event_source,
			username, access_key_id, principal_arn, read_only, error_code, resources, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, r.Account, r.EventID, r.Time.UnixMicro(),
			r.EventName, r.EventSource, r.Username, r.AccessKeyID, r.PrincipalARN, r.ReadOnly, r.ErrorCode, resources,
			r.Data).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_attrs (account, attr, value, time, seq) VALUES (?, 'EventName', ?, ?, ?)`,
			r.Account, r.EventName, r.Time.UnixMicro(), seq); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	var old int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name IN ('audit_events', 'audit_attrs')`).Scan(&old); err != nil || old != 0 {
		t.Errorf("old audit tables left: %d, %v", old, err)
	}
	for _, tc := range []struct {
		name  string
		q     store.AuditQuery
		match func(store.AuditRecord) bool
	}{
		{"All", store.AuditQuery{Account: "111122223333"}, func(r store.AuditRecord) bool { return r.Account == "111122223333" }},
		{"Other", store.AuditQuery{Account: "444455556666"}, func(r store.AuditRecord) bool { return r.Account == "444455556666" }},
		{"EventName", store.AuditQuery{Account: "111122223333", Attribute: store.AuditEventName, Value: "CreateRole"},
			func(r store.AuditRecord) bool { return r.Account == "111122223333" && r.EventName == "CreateRole" }},
		{"ResourceName", store.AuditQuery{Account: "111122223333", Attribute: store.AuditResourceName, Value: "role10"},
			func(r store.AuditRecord) bool { return r.Account == "111122223333" && r.EventID == "e0010" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Expected: newest first, equal times in reverse order of appending.
			var exp []store.AuditRecord
			for i := len(want) - 1; i >= 0; i-- {
				if tc.match(want[i]) {
					exp = append(exp, want[i])
				}
			}
			sortNewestFirst(exp)
			var got []store.AuditRecord
			q := tc.q
			q.Max = 50
			for {
				page, next, err := s.LookupAudit(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				q.Marker = next
			}
			if diff := cmp.Diff(exp, got); diff != "" {
				t.Errorf("records mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// sortNewestFirst orders records (given in reverse order of appending) by time, newest first, keeping the given
// order among equal times.
func sortNewestFirst(rs []store.AuditRecord) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Time.After(rs[j-1].Time); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
