// Package storetest is the conformance suite every store.Store backend runs: storetest.Run(t, open).
//
// The suite checks the contract written on the interfaces in package store, and nothing a backend happens to do
// beyond it. Each sub-test opens a fresh, empty store, so sub-tests are independent and may be run alone with
// -run 'TestXxx/Records/CreateGet'.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/persona-iam/persona/internal/store"
)

// Run runs the conformance suite against the backend that open returns. open MUST return a fresh, empty store
// each time it is called, and arrange (with t.Cleanup) for it to be closed and removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Records", recordTests},
		{"List", listTests},
		{"Pagination", paginationTests},
		{"Count", countTests},
		{"Tx", txTests},
		{"ChangeSeq", changeSeqTests},
		{"Timestamps", timestampTests},
		{"Data", dataTests},
		{"Audit", auditTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

const (
	acct  = "111122223333"
	other = "444455556666"
	kind  = store.Kind("widget")
)

// ignoreStoreSet compares records without the fields the store sets; tests that care check them on their own.
var ignoreStoreSet = cmpopts.IgnoreFields(store.Record{}, "Version", "Created", "Updated")

// equateEmpty lets a backend return nil or an empty slice for empty Data: the contract does not distinguish them.
var equateEmpty = cmpopts.EquateEmpty()

func rec(key, id, data string) store.Record {
	return store.Record{Kind: kind, Account: acct, Key: key, ID: id, Data: []byte(data)}
}

// write runs fn in a transaction and fails the test on error.
func write(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := s.Tx(t.Context(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

// create stores recs in one transaction.
func create(t *testing.T, s store.Store, recs ...store.Record) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r); err != nil {
				return fmt.Errorf("Create(%q): %w", r.Key, err)
			}
		}
		return nil
	})
}

// txErr runs fn in a transaction and returns Tx's error.
func txErr(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) error {
	t.Helper()
	return s.Tx(t.Context(), fn)
}

func mustGet(t *testing.T, r store.Reader, k store.Kind, account, key string) store.Record {
	t.Helper()
	got, err := r.Get(t.Context(), k, account, key)
	if err != nil {
		t.Fatalf("Get(%q, %q, %q): %v", k, account, key, err)
	}
	return got
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("%s: error = %v, want %v", what, got, want)
	}
}

func keys(p store.Page) []string {
	out := make([]string, 0, len(p.Records))
	for _, r := range p.Records {
		out = append(out, r.Key)
	}
	return out
}

// listAll pages through a listing with max records per page.
func listAll(t *testing.T, s store.Reader, account, prefix string, max int) []string {
	t.Helper()
	var all []string
	marker := ""
	for range 1000 {
		p, err := s.List(t.Context(), kind, account, prefix, marker, max)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(p.Records) > max {
			t.Fatalf("List returned %d records, max %d", len(p.Records), max)
		}
		all = append(all, keys(p)...)
		if p.Next == "" {
			return all
		}
		marker = p.Next
	}
	t.Fatalf("listing did not end after 1000 pages")
	return nil
}

var recordTests = []test{
	{"CreateGet", func(t *testing.T, s store.Store) {
		want := rec("Alice", "AIDAALICE", `{"name":"Alice"}`)
		create(t, s, want)
		for _, key := range []string{"Alice", "alice", "ALICE"} {
			got := mustGet(t, s, kind, acct, key)
			if diff := cmp.Diff(want, got, ignoreStoreSet); diff != "" {
				t.Errorf("Get(%q) mismatch (-want +got):\n%s", key, diff)
			}
			if got.Version != 1 {
				t.Errorf("Get(%q).Version = %d, want 1", key, got.Version)
			}
		}
		_, err := s.Get(t.Context(), kind, acct, "Bob")
		wantErr(t, "Get(missing)", err, store.ErrNotFound)
		_, err = s.Get(t.Context(), "other-kind", acct, "Alice")
		wantErr(t, "Get(other kind)", err, store.ErrNotFound)
	}},
	{"CreateDuplicateIgnoresCase", func(t *testing.T, s store.Store) {
		create(t, s, rec("MyRole", "", "first"))
		for _, key := range []string{"MyRole", "myrole", "MYROLE"} {
			err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
				return tx.Create(ctx, rec(key, "", "second"))
			})
			wantErr(t, "Create("+key+")", err, store.ErrAlreadyExists)
		}
		// The failed creates changed nothing.
		if got := mustGet(t, s, kind, acct, "myrole"); got.Key != "MyRole" || string(got.Data) != "first" {
			t.Errorf("after duplicate creates Get = %q %q, want MyRole first", got.Key, got.Data)
		}
	}},
	{"DuplicateID", func(t *testing.T, s store.Store) {
		create(t, s, rec("a", "ID1", ""))
		// Ids are unique within a kind across all accounts (IAM unique ids, access key ids).
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
			r := rec("b", "ID1", "")
			r.Account = other
			return tx.Create(ctx, r)
		})
		wantErr(t, "Create(same id, other account)", err, store.ErrAlreadyExists)
		// Another kind may reuse the id, and records without an id never collide.
		create(t, s,
			store.Record{Kind: "other-kind", Account: acct, Key: "a", ID: "ID1"},
			rec("c", "", ""), rec("d", "", ""))
	}},
	{"DuplicateIDIgnoredAfterDuplicateKey", func(t *testing.T, s store.Store) {
		// A Create that fails leaves the transaction usable: IAM handlers probe and fall back in one Tx.
		create(t, s, rec("a", "ID1", ""))
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.Create(ctx, rec("A", "ID2", "")); !errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("Create(dup key) = %v, want ErrAlreadyExists", err)
			}
			if err := tx.Create(ctx, rec("b", "ID1", "")); !errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("Create(dup id) = %v, want ErrAlreadyExists", err)
			}
			return tx.Create(ctx, rec("b", "ID2", "ok"))
		})
		if got := mustGet(t, s, kind, acct, "b"); string(got.Data) != "ok" {
			t.Errorf("Get(b).Data = %q, want ok", got.Data)
		}
	}},
	{"InvalidKeyRejected", func(t *testing.T, s store.Store) {
		for _, tc := range []struct{ name, key string }{
			{"empty", ""},
			{"invalid UTF-8", "a\xffb"},
			{"NUL", "a\x00b"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
					return tx.Create(ctx, rec(tc.key, "", ""))
				})
				if err == nil || errors.Is(err, store.ErrAlreadyExists) {
					t.Errorf("Create(%q) error = %v, want a non-sentinel error", tc.key, err)
				}
				_, err = s.Get(t.Context(), kind, acct, tc.key)
				wantErr(t, "Get", err, store.ErrNotFound)
			})
		}
	}},
	{"OddInputsAreNotErrors", func(t *testing.T, s store.Store) {
		// Names, markers and prefixes come from clients; ones no record can have find nothing rather than fail
		// (a backend whose text type rejects NUL or invalid UTF-8 must not turn them into server errors).
		create(t, s, rec("a", "", ""))
		for _, odd := range []string{"a\x00", "\xff", "\x00"} {
			_, err := s.Get(t.Context(), kind, acct, odd)
			wantErr(t, fmt.Sprintf("Get(key %q)", odd), err, store.ErrNotFound)
			_, err = s.Get(t.Context(), kind, odd, "a")
			wantErr(t, fmt.Sprintf("Get(account %q)", odd), err, store.ErrNotFound)
			_, err = s.GetByID(t.Context(), kind, odd)
			wantErr(t, fmt.Sprintf("GetByID(%q)", odd), err, store.ErrNotFound)
			if p, err := s.List(t.Context(), kind, acct, odd, "", 10); err != nil || len(p.Records) != 0 {
				t.Errorf("List(prefix %q) = %d records, %v; want none", odd, len(p.Records), err)
			}
			if _, err := s.List(t.Context(), kind, acct, "", odd, 10); err != nil {
				t.Errorf("List(marker %q): %v", odd, err)
			}
			if n, err := s.Count(t.Context(), kind, odd, ""); err != nil || n != 0 {
				t.Errorf("Count(account %q) = %d, %v; want 0", odd, n, err)
			}
			err = txErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, kind, acct, odd) })
			wantErr(t, fmt.Sprintf("Delete(%q)", odd), err, store.ErrNotFound)
		}
	}},
	{"UpdateKeepsKeyCase", func(t *testing.T, s store.Store) {
		create(t, s, rec("Bob", "ID1", "v1"))
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.Update(ctx, rec("BOB", "ID2", "v2"))
		})
		got := mustGet(t, s, kind, acct, "bob")
		if diff := cmp.Diff(rec("Bob", "ID2", "v2"), got, ignoreStoreSet); diff != "" {
			t.Errorf("Get after Update mismatch (-want +got):\n%s", diff)
		}
		if got.Version != 2 {
			t.Errorf("Version = %d, want 2", got.Version)
		}
		// Update replaced the id: the old one is free, the new one found.
		_, err := s.GetByID(t.Context(), kind, "ID1")
		wantErr(t, "GetByID(old id)", err, store.ErrNotFound)
		if byID, err := s.GetByID(t.Context(), kind, "ID2"); err != nil || byID.Key != "Bob" {
			t.Errorf("GetByID(new id) = %q, %v; want Bob", byID.Key, err)
		}
	}},
	{"UpdateIDConflict", func(t *testing.T, s store.Store) {
		create(t, s, rec("a", "ID1", ""), rec("b", "ID2", ""))
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.Update(ctx, rec("b", "ID1", ""))
		})
		wantErr(t, "Update(taken id)", err, store.ErrAlreadyExists)
		// Keeping one's own id is not a conflict.
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, rec("a", "ID1", "x")) })
	}},
	{"UpdateMissing", func(t *testing.T, s store.Store) {
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, rec("nobody", "", "")) })
		wantErr(t, "Update(missing)", err, store.ErrNotFound)
	}},
	{"DeleteMissing", func(t *testing.T, s store.Store) {
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, kind, acct, "nobody") })
		wantErr(t, "Delete(missing)", err, store.ErrNotFound)
	}},
	{"DeleteIgnoresCase", func(t *testing.T, s store.Store) {
		create(t, s, rec("Carol", "ID1", ""))
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, kind, acct, "CAROL") })
		_, err := s.Get(t.Context(), kind, acct, "Carol")
		wantErr(t, "Get(deleted)", err, store.ErrNotFound)
		_, err = s.GetByID(t.Context(), kind, "ID1")
		wantErr(t, "GetByID(deleted)", err, store.ErrNotFound)
		// The name and the id are free again.
		create(t, s, rec("carol", "ID1", ""))
	}},
	{"GetByID", func(t *testing.T, s store.Store) {
		want := rec("Dave", "AIDADAVE", "d")
		create(t, s, want, rec("Erin", "", "e"))
		got, err := s.GetByID(t.Context(), kind, "AIDADAVE")
		if err != nil {
			t.Fatalf("GetByID: %v", err)
		}
		if diff := cmp.Diff(want, got, ignoreStoreSet); diff != "" {
			t.Errorf("GetByID mismatch (-want +got):\n%s", diff)
		}
		for _, id := range []string{"aidadave", "", "nope"} {
			_, err := s.GetByID(t.Context(), kind, id)
			wantErr(t, fmt.Sprintf("GetByID(%q)", id), err, store.ErrNotFound)
		}
		_, err = s.GetByID(t.Context(), "other-kind", "AIDADAVE")
		wantErr(t, "GetByID(other kind)", err, store.ErrNotFound)
	}},
	{"AccountsIsolated", func(t *testing.T, s store.Store) {
		mine := rec("Shared", "", "mine")
		theirs := mine
		theirs.Account, theirs.Data = other, []byte("theirs")
		global := mine
		global.Account, global.Data = "", []byte("global")
		create(t, s, mine, theirs, global)
		for _, want := range []store.Record{mine, theirs, global} {
			if diff := cmp.Diff(want, mustGet(t, s, kind, want.Account, "shared"), ignoreStoreSet); diff != "" {
				t.Errorf("Get in account %q mismatch (-want +got):\n%s", want.Account, diff)
			}
		}
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, kind, other, "Shared") })
		mustGet(t, s, kind, acct, "Shared")
		if n, err := s.Count(t.Context(), kind, acct, ""); err != nil || n != 1 {
			t.Errorf("Count(mine) = %d, %v; want 1", n, err)
		}
		if got := listAll(t, s, other, "", 10); len(got) != 0 {
			t.Errorf("List(other) = %q, want empty", got)
		}
	}},
}

var listTests = []test{
	{"OrderAndPrefix", func(t *testing.T, s store.Store) {
		// Order is by lowercased key in byte order, whatever the case the keys were created with.
		create(t, s,
			rec("b", "", ""), rec("Ab", "", ""), rec("a", "", ""), rec("AA", "", ""),
			rec("a/x", "", ""), rec("a_y", "", ""), rec("Zed", "", ""), rec("é", "", ""), rec("abc", "", ""))
		other := rec("aaa", "", "")
		other.Account = "444455556666"
		create(t, s, other)
		for _, tc := range []struct {
			name, prefix string
			want         []string
		}{
			{"all", "", []string{"a", "a/x", "a_y", "AA", "Ab", "abc", "b", "Zed", "é"}},
			{"prefix a", "a", []string{"a", "a/x", "a_y", "AA", "Ab", "abc"}},
			{"prefix ignores case", "AB", []string{"Ab", "abc"}},
			{"prefix is not a pattern", "a_", []string{"a_y"}},
			{"prefix with slash", "a/", []string{"a/x"}},
			{"whole key", "zed", []string{"Zed"}},
			{"non-ASCII", "É", []string{"é"}},
			{"none", "c", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, max := range []int{1, 2, 100} {
					got := listAll(t, s, acct, tc.prefix, max)
					if diff := cmp.Diff(tc.want, got, equateEmpty); diff != "" {
						t.Errorf("max %d mismatch (-want +got):\n%s", max, diff)
					}
				}
			})
		}
	}},
	{"FullRecords", func(t *testing.T, s store.Store) {
		want := []store.Record{rec("k1", "I1", "one"), rec("k2", "", "two")}
		create(t, s, want...)
		p, err := s.List(t.Context(), kind, acct, "", "", 10)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if diff := cmp.Diff(store.Page{Records: want}, p, ignoreStoreSet); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}
		for _, r := range p.Records {
			if r.Version != 1 || r.Created.IsZero() {
				t.Errorf("List record %q: Version %d Created %v, want 1 and set", r.Key, r.Version, r.Created)
			}
		}
	}},
	{"InvalidMax", func(t *testing.T, s store.Store) {
		if _, err := s.List(t.Context(), kind, acct, "", "", 0); err == nil {
			t.Errorf("List(max 0) succeeded, want an error")
		}
	}},
}

var paginationTests = []test{
	{"MarkerStable", func(t *testing.T, s store.Store) {
		var recs []store.Record
		for i := range 10 {
			recs = append(recs, rec(fmt.Sprintf("K%02d", i*2), "", ""))
		}
		create(t, s, recs...)
		p1, err := s.List(t.Context(), kind, acct, "", "", 3)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if diff := cmp.Diff([]string{"K00", "K02", "K04"}, keys(p1)); diff != "" {
			t.Fatalf("page 1 mismatch (-want +got):\n%s", diff)
		}
		// Between pages: delete the last record returned and the next one, create one before the marker and
		// ones after it (with other case).
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, k := range []string{"k04", "K06"} {
				if err := tx.Delete(ctx, kind, acct, k); err != nil {
					return err
				}
			}
			for _, k := range []string{"K01", "k05", "K07"} {
				if err := tx.Create(ctx, rec(k, "", "")); err != nil {
					return err
				}
			}
			return nil
		})
		rest := []string{}
		marker := p1.Next
		for marker != "" {
			p, err := s.List(t.Context(), kind, acct, "", marker, 3)
			if err != nil {
				t.Fatalf("List(marker %q): %v", marker, err)
			}
			rest = append(rest, keys(p)...)
			marker = p.Next
		}
		// Every survivor after the first page appears once; records created after the marker appear too.
		want := []string{"k05", "K07", "K08", "K10", "K12", "K14", "K16", "K18"}
		if diff := cmp.Diff(want, rest); diff != "" {
			t.Errorf("later pages mismatch (-want +got):\n%s", diff)
		}
	}},
	{"MaxOne", func(t *testing.T, s store.Store) {
		create(t, s, rec("x", "", ""), rec("Y", "", ""), rec("z", "", ""))
		var got []string
		marker := ""
		for page := 0; ; page++ {
			p, err := s.List(t.Context(), kind, acct, "", marker, 1)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(p.Records) != 1 {
				t.Fatalf("page %d has %d records, want 1", page, len(p.Records))
			}
			got = append(got, p.Records[0].Key)
			if p.Next == "" {
				break
			}
			marker = p.Next
		}
		if diff := cmp.Diff([]string{"x", "Y", "z"}, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	}},
	{"LastPageHasNoNext", func(t *testing.T, s store.Store) {
		create(t, s, rec("a", "", ""), rec("b", "", ""))
		for _, max := range []int{2, 3} {
			p, err := s.List(t.Context(), kind, acct, "", "", max)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if p.Next != "" || len(p.Records) != 2 {
				t.Errorf("List(max %d) = %d records, Next %q; want 2 and no Next", max, len(p.Records), p.Next)
			}
		}
		p, err := s.List(t.Context(), kind, acct, "", "", 1)
		if err != nil || p.Next == "" {
			t.Errorf("List(max 1) Next = %q, %v; want a marker", p.Next, err)
		}
	}},
}

var countTests = []test{
	{"Prefix", func(t *testing.T, s store.Store) {
		create(t, s, rec("user/Ann/p1", "", ""), rec("USER/ann/P2", "", ""), rec("user/annie/p", "", ""),
			rec("role/Ann/p", "", ""))
		for _, tc := range []struct {
			name, prefix string
			want         int
		}{
			{"all", "", 4},
			{"exact name", "user/ann/", 2},
			{"ignores case", "User/ANN", 3},
			{"none", "group/", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Count(t.Context(), kind, acct, tc.prefix)
				if err != nil {
					t.Fatalf("Count: %v", err)
				}
				if got != tc.want {
					t.Errorf("Count(%q) = %d, want %d", tc.prefix, got, tc.want)
				}
			})
		}
	}},
}

var errBoom = errors.New("boom")

var txTests = []test{
	{"RollbackOnError", func(t *testing.T, s store.Store) {
		create(t, s, rec("keep", "", "v1"), rec("drop", "", ""))
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.Create(ctx, rec("new", "ID", "")); err != nil {
				return err
			}
			if err := tx.Update(ctx, rec("keep", "", "v2")); err != nil {
				return err
			}
			if err := tx.Delete(ctx, kind, acct, "drop"); err != nil {
				return err
			}
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		// Tx returns fn's error, so callers can test for their own errors (and store sentinels).
		wantErr(t, "Tx", err, errBoom)
		_, err = s.Get(t.Context(), kind, acct, "new")
		wantErr(t, "Get(created in rolled back tx)", err, store.ErrNotFound)
		_, err = s.GetByID(t.Context(), kind, "ID")
		wantErr(t, "GetByID(created in rolled back tx)", err, store.ErrNotFound)
		if got := mustGet(t, s, kind, acct, "keep"); string(got.Data) != "v1" || got.Version != 1 {
			t.Errorf("updated in rolled back tx: Data %q Version %d, want v1 1", got.Data, got.Version)
		}
		mustGet(t, s, kind, acct, "drop")
	}},
	{"SentinelReturnedAsIs", func(t *testing.T, s store.Store) {
		err := txErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.Get(ctx, kind, acct, "missing")
			return err
		})
		wantErr(t, "Tx", err, store.ErrNotFound)
	}},
	{"ReadsOwnWrites", func(t *testing.T, s store.Store) {
		create(t, s, rec("old", "", ""), rec("gone", "", ""))
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.Create(ctx, rec("New", "NEWID", "n")); err != nil {
				return err
			}
			if err := tx.Update(ctx, rec("old", "", "changed")); err != nil {
				return err
			}
			if err := tx.Delete(ctx, kind, acct, "gone"); err != nil {
				return err
			}
			if r, err := tx.Get(ctx, kind, acct, "new"); err != nil || string(r.Data) != "n" {
				return fmt.Errorf("Get(new) = %q, %v", r.Data, err)
			}
			if r, err := tx.GetByID(ctx, kind, "NEWID"); err != nil || r.Key != "New" {
				return fmt.Errorf("GetByID(new) = %q, %v", r.Key, err)
			}
			if r, err := tx.Get(ctx, kind, acct, "old"); err != nil || string(r.Data) != "changed" || r.Version != 2 {
				return fmt.Errorf("Get(old) = %q v%d, %v", r.Data, r.Version, err)
			}
			if _, err := tx.Get(ctx, kind, acct, "gone"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("Get(gone) = %v, want ErrNotFound", err)
			}
			p, err := tx.List(ctx, kind, acct, "", "", 10)
			if err != nil {
				return err
			}
			if diff := cmp.Diff([]string{"New", "old"}, keys(p)); diff != "" {
				return fmt.Errorf("List in tx mismatch (-want +got):\n%s", diff)
			}
			if n, err := tx.Count(ctx, kind, acct, ""); err != nil || n != 2 {
				return fmt.Errorf("Count in tx = %d, %v; want 2", n, err)
			}
			return nil
		})
	}},
	{"ConcurrentWriters", func(t *testing.T, s store.Store) {
		// Read-modify-write of one record from many goroutines: a serializable store loses no increment.
		const goroutines, increments = 8, 25
		create(t, s, rec("counter", "", "0"))
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for range goroutines {
			wg.Go(func() {
				for range increments {
					err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
						r, err := tx.Get(ctx, kind, acct, "counter")
						if err != nil {
							return err
						}
						var n int
						if _, err := fmt.Sscan(string(r.Data), &n); err != nil {
							return err
						}
						r.Data = fmt.Appendf(nil, "%d", n+1)
						return tx.Update(ctx, r)
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("increment: %v", err)
		}
		got := mustGet(t, s, kind, acct, "counter")
		if want := fmt.Sprint(goroutines * increments); string(got.Data) != want {
			t.Errorf("counter = %s, want %s", got.Data, want)
		}
		if got.Version != goroutines*increments+1 {
			t.Errorf("Version = %d, want %d", got.Version, goroutines*increments+1)
		}
	}},
	{"QuotaRace", func(t *testing.T, s store.Store) {
		// Count-then-create, as IAM enforces quotas (two access keys per user): racing creators never exceed it.
		const goroutines, limit = 8, 3
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for i := range goroutines {
			wg.Go(func() {
				err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
					n, err := tx.Count(ctx, kind, acct, "bob/")
					if err != nil {
						return err
					}
					if n >= limit {
						return nil
					}
					return tx.Create(ctx, rec(fmt.Sprintf("bob/key%d", i), "", ""))
				})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("create: %v", err)
		}
		if n, err := s.Count(t.Context(), kind, acct, "bob/"); err != nil || n != limit {
			t.Errorf("Count = %d, %v; want exactly %d", n, err, limit)
		}
	}},
	// Tx/RetryRunsClosureAgain is not here: the suite cannot make every backend fail a transaction on demand.
	// Backends that retry test it themselves (postgres: TestRetryRunsClosureAgain).
}

var changeSeqTests = []test{
	{"Monotonic", func(t *testing.T, s store.Store) {
		seq := func() int64 {
			t.Helper()
			n, err := s.ChangeSeq(t.Context())
			if err != nil {
				t.Fatalf("ChangeSeq: %v", err)
			}
			return n
		}
		prev := seq()
		steps := []struct {
			name    string
			fn      func(ctx context.Context, tx store.Tx) error
			advance bool
		}{
			{"create", func(ctx context.Context, tx store.Tx) error { return tx.Create(ctx, rec("a", "", "")) }, true},
			{"update", func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, rec("a", "", "2")) }, true},
			{"read only", func(ctx context.Context, tx store.Tx) error {
				_, err := tx.Get(ctx, kind, acct, "a")
				return err
			}, false},
			{"empty", func(ctx context.Context, tx store.Tx) error { return nil }, false},
			{"rolled back", func(ctx context.Context, tx store.Tx) error {
				if err := tx.Create(ctx, rec("b", "", "")); err != nil {
					return err
				}
				return errBoom
			}, false},
			{"failed write only", func(ctx context.Context, tx store.Tx) error {
				// A write that failed wrote nothing; the contract counts transactions that wrote.
				if err := tx.Delete(ctx, kind, acct, "missing"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("Delete(missing) = %v", err)
				}
				return nil
			}, false},
			{"delete", func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, kind, acct, "a") }, true},
		}
		for _, st := range steps {
			_ = s.Tx(t.Context(), st.fn)
			got := seq()
			switch {
			case st.advance && got <= prev:
				t.Errorf("after %s: ChangeSeq %d, want > %d", st.name, got, prev)
			case !st.advance && got != prev:
				t.Errorf("after %s: ChangeSeq %d, want unchanged %d", st.name, got, prev)
			}
			prev = got
		}
	}},
}

var timestampTests = []test{
	{"SetByStore", func(t *testing.T, s store.Store) {
		in := rec("t", "", "")
		in.Version, in.Created, in.Updated = 42, in.Created.AddDate(1, 0, 0), in.Updated.AddDate(2, 0, 0)
		var created store.Record
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			created.Created = tx.Now()
			return tx.Create(ctx, in)
		})
		got := mustGet(t, s, kind, acct, "t")
		if !got.Created.Equal(created.Created) || !got.Updated.Equal(created.Created) || got.Version != 1 {
			t.Errorf("after Create: Created %v Updated %v Version %d; want %v, %v, 1 (the tx clock, not the caller's)",
				got.Created, got.Updated, got.Version, created.Created, created.Created)
		}
		var updated store.Record
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			updated.Updated = tx.Now()
			return tx.Update(ctx, in)
		})
		got = mustGet(t, s, kind, acct, "t")
		if !got.Created.Equal(created.Created) || !got.Updated.Equal(updated.Updated) || got.Version != 2 {
			t.Errorf("after Update: Created %v Updated %v Version %d; want %v, %v, 2",
				got.Created, got.Updated, got.Version, created.Created, updated.Updated)
		}
	}},
}

var dataTests = []test{
	{"BinarySafe", func(t *testing.T, s store.Store) {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		cases := []struct{ key, data string }{
			{"all bytes", string(all)},
			{"nul only", "\x00"},
			{"invalid UTF-8", "\xff\xfe\xc3("},
			{"empty", ""},
			{"large", string(bytes.Repeat(all, 256))},
		}
		var recs []store.Record
		for _, c := range cases {
			recs = append(recs, rec(c.key, "", c.data))
		}
		create(t, s, recs...)
		for _, c := range cases {
			got := mustGet(t, s, kind, acct, c.key)
			if diff := cmp.Diff([]byte(c.data), got.Data, equateEmpty); diff != "" {
				t.Errorf("%s: Data mismatch (-want +got):\n%s", c.key, diff)
			}
		}
	}},
}
