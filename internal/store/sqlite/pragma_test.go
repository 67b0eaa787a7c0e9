package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDurabilityPragmas pins the settings behind "an acknowledged write survives kill -9": WAL journal with
// synchronous=FULL (2) on the write connection, a busy timeout, and read connections that cannot write.
func TestDurabilityPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type pragmas struct {
		JournalMode string
		Synchronous int
		BusyTimeout int
		QueryOnly   int
	}
	read := func(q queryer) pragmas {
		var p pragmas
		for _, x := range []struct {
			name string
			dest any
		}{
			{"journal_mode", &p.JournalMode}, {"synchronous", &p.Synchronous},
			{"busy_timeout", &p.BusyTimeout}, {"query_only", &p.QueryOnly},
		} {
			if err := q.QueryRowContext(t.Context(), "PRAGMA "+x.name).Scan(x.dest); err != nil {
				t.Fatalf("PRAGMA %s: %v", x.name, err)
			}
		}
		return p
	}
	for _, tc := range []struct {
		name string
		db   queryer
		want pragmas
	}{
		{"writer", s.w, pragmas{JournalMode: "wal", Synchronous: 2, BusyTimeout: 10000}},
		{"reader", s.r, pragmas{JournalMode: "wal", Synchronous: 2, BusyTimeout: 10000, QueryOnly: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, read(tc.db)); diff != "" {
				t.Errorf("pragmas mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
