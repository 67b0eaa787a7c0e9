package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/persona-iam/persona/internal/store"
)

// t0 is a fixed base time for audit records, at microsecond precision so it survives storage unchanged.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// auditLog returns s's audit log. Every backend MUST implement store.AuditLog beside store.Store.
func auditLog(t *testing.T, s store.Store) store.AuditLog {
	t.Helper()
	l, ok := s.(store.AuditLog)
	if !ok {
		t.Fatalf("%T does not implement store.AuditLog", s)
	}
	return l
}

// arec builds an audit record of account acct at t0 + minutes.
func arec(id string, minutes int, mut ...func(*store.AuditRecord)) store.AuditRecord {
	r := store.AuditRecord{
		EventID: id, Account: acct, Time: t0.Add(time.Duration(minutes) * time.Minute),
		EventName: "GetUser", EventSource: "iam.amazonaws.com", Username: "alice", AccessKeyID: "AKIAALICE",
		PrincipalARN: "arn:aws:iam::111122223333:user/alice", ReadOnly: true,
		Data: []byte(`{"eventID":"` + id + `"}`),
	}
	for _, m := range mut {
		m(&r)
	}
	return r
}

func appendAudit(t *testing.T, l store.AuditLog, recs ...store.AuditRecord) {
	t.Helper()
	if err := l.AppendAudit(t.Context(), recs); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

// lookupIDs pages through q with page size max and returns the event ids in the order returned.
func lookupIDs(t *testing.T, l store.AuditLog, q store.AuditQuery) []string {
	t.Helper()
	var ids []string
	for range 1000 {
		recs, next, err := l.LookupAudit(t.Context(), q)
		if err != nil {
			t.Fatalf("LookupAudit(%+v): %v", q, err)
		}
		if len(recs) > q.Max {
			t.Fatalf("LookupAudit returned %d records, max %d", len(recs), q.Max)
		}
		for _, r := range recs {
			ids = append(ids, r.EventID)
		}
		if next == "" {
			return ids
		}
		q.Marker = next
	}
	t.Fatal("lookup did not end after 1000 pages")
	return nil
}

var auditTests = []test{
	{"AppendLookupRoundTrip", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		want := arec("e1", 0, func(r *store.AuditRecord) {
			r.ReadOnly = false
			r.EventName, r.ErrorCode = "CreateRole", "EntityAlreadyExists"
			r.Resources = []store.AuditResource{{Type: "AWS::IAM::Role", Name: "admin"},
				{Type: "AWS::IAM::Role", Name: "arn:aws:iam::111122223333:role/admin"}}
			r.Data = []byte{0, 1, 2, 0xff}
		})
		// A time in another zone with nanoseconds comes back in UTC at microsecond precision.
		in := want
		in.Time = want.Time.Add(789 * time.Nanosecond).In(time.FixedZone("X", 7200))
		appendAudit(t, l, in)
		got, next, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Max: 10})
		if err != nil || next != "" {
			t.Fatalf("LookupAudit = next %q, %v", next, err)
		}
		if diff := cmp.Diff([]store.AuditRecord{want}, got); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}},
	{"LookupByAttribute", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		appendAudit(t, l,
			arec("e1", 1),
			arec("e2", 2, func(r *store.AuditRecord) {
				r.EventName, r.ReadOnly = "CreateRole", false
				r.Resources = []store.AuditResource{{Type: "AWS::IAM::Role", Name: "admin"}}
			}),
			arec("e3", 3, func(r *store.AuditRecord) {
				r.EventName, r.EventSource, r.Username, r.AccessKeyID = "AssumeRole", "sts.amazonaws.com", "bob", "ASIABOB"
				r.PrincipalARN = "arn:aws:iam::111122223333:user/bob"
				r.Resources = []store.AuditResource{{Type: "AWS::IAM::Role", Name: "arn:aws:iam::111122223333:role/admin"},
					{Type: "AWS::STS::AssumedRole", Name: "s1"}}
			}),
			arec("e4", 4, func(r *store.AuditRecord) { r.Username, r.AccessKeyID, r.PrincipalARN = "", "", "" }),
		)
		for _, tc := range []struct {
			name  string
			attr  store.AuditAttribute
			value string
			want  []string
		}{
			{"EventId", store.AuditEventID, "e2", []string{"e2"}},
			{"EventName", store.AuditEventName, "GetUser", []string{"e4", "e1"}},
			{"EventNameIsCaseSensitive", store.AuditEventName, "getuser", nil},
			{"EventSource", store.AuditEventSource, "sts.amazonaws.com", []string{"e3"}},
			{"Username", store.AuditUsername, "alice", []string{"e2", "e1"}},
			{"AccessKeyId", store.AuditAccessKeyID, "ASIABOB", []string{"e3"}},
			{"ReadOnlyTrue", store.AuditReadOnly, "true", []string{"e4", "e3", "e1"}},
			{"ReadOnlyFalse", store.AuditReadOnly, "false", []string{"e2"}},
			{"ResourceName", store.AuditResourceName, "admin", []string{"e2"}},
			{"ResourceNameARN", store.AuditResourceName, "arn:aws:iam::111122223333:role/admin", []string{"e3"}},
			{"ResourceTypeOnceEvenIfTwoResources", store.AuditResourceType, "AWS::IAM::Role", []string{"e3", "e2"}},
			{"PrincipalArn", store.AuditPrincipalARN, "arn:aws:iam::111122223333:user/bob", []string{"e3"}},
			{"EmptyValueMatchesNothing", store.AuditUsername, "", nil},
			{"NoMatch", store.AuditEventName, "DeleteRole", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := lookupIDs(t, l, store.AuditQuery{Account: acct, Attribute: tc.attr, Value: tc.value, Max: 50})
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ids mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}},
	{"TimeRangeInclusive", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		for i := range 5 {
			appendAudit(t, l, arec(fmt.Sprintf("e%d", i), i))
		}
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		for _, tc := range []struct {
			name       string
			start, end time.Time
			attr       store.AuditAttribute
			want       []string
		}{
			{"Open", time.Time{}, time.Time{}, "", []string{"e4", "e3", "e2", "e1", "e0"}},
			{"Both", at(1), at(3), "", []string{"e3", "e2", "e1"}},
			{"StartOnly", at(3), time.Time{}, "", []string{"e4", "e3"}},
			{"EndOnly", time.Time{}, at(0), "", []string{"e0"}},
			{"WithAttribute", at(1), at(2), store.AuditEventName, []string{"e2", "e1"}},
			{"Empty", at(2).Add(time.Second), at(3).Add(-time.Second), "", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := store.AuditQuery{Account: acct, Start: tc.start, End: tc.end, Max: 2}
				if tc.attr != "" {
					q.Attribute, q.Value = tc.attr, "GetUser"
				}
				if diff := cmp.Diff(tc.want, lookupIDs(t, l, q)); diff != "" {
					t.Errorf("ids mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}},
	{"PaginationNewestFirstStable", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		// Appended out of time order, and three at the same instant: equal times list in reverse append order.
		minutes := []int{5, 1, 3, 3, 3, 9, 0, 7}
		var recs []store.AuditRecord
		for i, m := range minutes {
			recs = append(recs, arec(fmt.Sprintf("e%d", i), m))
		}
		appendAudit(t, l, recs[:4]...)
		appendAudit(t, l, recs[4:]...)
		want := []string{"e5", "e7", "e0", "e4", "e3", "e2", "e1", "e6"}
		for _, attr := range []store.AuditAttribute{"", store.AuditUsername} {
			for _, max := range []int{1, 2, 3, 8, 50} {
				label := "All"
				if attr != "" {
					label = string(attr)
				}
				t.Run(fmt.Sprintf("%s/max%d", label, max), func(t *testing.T) {
					q := store.AuditQuery{Account: acct, Attribute: attr, Max: max}
					if attr != "" {
						q.Value = "alice"
					}
					if diff := cmp.Diff(want, lookupIDs(t, l, q)); diff != "" {
						t.Errorf("ids mismatch (-want +got):\n%s", diff)
					}
				})
			}
		}
		// Records appended between pages (newer, and one older than the marker) neither repeat nor hide the
		// records that existed throughout.
		page, next, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Max: 3})
		if err != nil || len(page) != 3 || next == "" {
			t.Fatalf("first page: %d records, next %q, %v", len(page), next, err)
		}
		appendAudit(t, l, arec("new-newest", 20), arec("new-oldest", -5))
		rest := lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 2, Marker: next})
		if diff := cmp.Diff(append(want[3:], "new-oldest"), rest); diff != "" {
			t.Errorf("later pages mismatch (-want +got):\n%s", diff)
		}
	}},
	{"AccountIsolation", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		appendAudit(t, l, arec("mine", 0), arec("theirs", 1, func(r *store.AuditRecord) { r.Account = other }))
		// The same event id in two accounts is two records (a cross-account call is in both trails).
		appendAudit(t, l, arec("shared", 2), arec("shared", 2, func(r *store.AuditRecord) { r.Account = other }))
		for _, tc := range []struct {
			name    string
			account string
			attr    store.AuditAttribute
			want    []string
		}{
			{"Mine", acct, "", []string{"shared", "mine"}},
			{"Theirs", other, "", []string{"shared", "theirs"}},
			{"ByAttribute", acct, store.AuditEventID, []string{}},
			{"Unknown", "999999999999", "", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := store.AuditQuery{Account: tc.account, Max: 50}
				if tc.attr != "" {
					q.Attribute, q.Value = tc.attr, "theirs"
				}
				got, _, err := l.LookupAudit(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range got {
					if r.Account != tc.account {
						t.Errorf("record %s of account %s returned for %s", r.EventID, r.Account, tc.account)
					}
					ids = append(ids, r.EventID)
				}
				if diff := cmp.Diff(tc.want, ids, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ids mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}},
	{"AppendIsIdempotent", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		batch := []store.AuditRecord{arec("e1", 0), arec("e2", 1)}
		appendAudit(t, l, batch...)
		// A retried batch (after an ambiguous failure) and a duplicate within one batch are stored once.
		appendAudit(t, l, append(batch, arec("e3", 2), arec("e3", 2))...)
		if diff := cmp.Diff([]string{"e3", "e2", "e1"}, lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 50})); diff != "" {
			t.Errorf("ids mismatch (-want +got):\n%s", diff)
		}
		got := lookupIDs(t, l, store.AuditQuery{Account: acct, Attribute: store.AuditUsername, Value: "alice", Max: 50})
		if diff := cmp.Diff([]string{"e3", "e2", "e1"}, got); diff != "" {
			t.Errorf("attribute ids mismatch (-want +got):\n%s", diff)
		}
	}},
	{"RejectsRecordWithoutIDOrAccount", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		for _, r := range []store.AuditRecord{arec("", 0), arec("e1", 0, func(r *store.AuditRecord) { r.Account = "" })} {
			if err := l.AppendAudit(t.Context(), []store.AuditRecord{arec("ok", 0), r}); err == nil {
				t.Errorf("AppendAudit(%+v) succeeded, want an error", r)
			}
		}
		// The failed batches stored nothing, not even their valid records.
		if ids := lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 50}); len(ids) != 0 {
			t.Errorf("after failed batches: %v stored", ids)
		}
	}},
	{"HostileTextIsStored", func(t *testing.T, s store.Store) {
		// Resource names come from requests. NUL, invalid UTF-8 or a huge name must not fail the batch, or one
		// request could make other requests' records fail.
		l := auditLog(t, s)
		long := strings.Repeat("é", 3000)
		appendAudit(t, l, arec("e1", 0, func(r *store.AuditRecord) {
			r.Username = "a\x00b\xffc"
			r.Resources = []store.AuditResource{{Type: "AWS::IAM::Role", Name: long}, {Type: "T", Name: "x\x00y"}}
		}), arec("e2", 1))
		got, _, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Attribute: store.AuditEventID, Value: "e1", Max: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("LookupAudit = %d records, %v", len(got), err)
		}
		want := []store.AuditResource{{Type: "AWS::IAM::Role", Name: long}, {Type: "T", Name: "xy"}}
		if diff := cmp.Diff(want, got[0].Resources); diff != "" {
			t.Errorf("resources mismatch (-want +got):\n%s", diff)
		}
		if got[0].Username != "ab\uFFFDc" {
			t.Errorf("Username = %q, want NUL removed and invalid UTF-8 replaced", got[0].Username)
		}
		for _, tc := range []struct {
			name  string
			attr  store.AuditAttribute
			value string
		}{
			{"LongName", store.AuditResourceName, long},
			{"NULName", store.AuditResourceName, "x\x00y"},
			{"InvalidUTF8", store.AuditUsername, "a\x00b\xffc"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ids := lookupIDs(t, l, store.AuditQuery{Account: acct, Attribute: tc.attr, Value: tc.value, Max: 5})
				if diff := cmp.Diff([]string{"e1"}, ids); diff != "" {
					t.Errorf("ids mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}},
	{"InvalidMarker", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		appendAudit(t, l, arec("e1", 0))
		for _, m := range []string{"x", "1", "1.", ".1", "1.-1", "01.1", "1.1.1", "1.1\x00", "99999999999999999999.1"} {
			_, _, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Marker: m, Max: 5})
			if !errors.Is(err, store.ErrInvalidMarker) {
				t.Errorf("LookupAudit(marker %q) error = %v, want ErrInvalidMarker", m, err)
			}
		}
		if _, _, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Max: 0}); err == nil {
			t.Error("LookupAudit(max 0) succeeded, want an error")
		}
		if _, _, err := l.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Attribute: "Bogus", Max: 1}); err == nil {
			t.Error("LookupAudit(attribute Bogus) succeeded, want an error")
		}
	}},
	{"Prune", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		appendAudit(t, l, arec("old1", 0), arec("old2", 1, func(r *store.AuditRecord) { r.Account = other }),
			arec("edge", 2), arec("new", 3))
		n, err := l.PruneAudit(t.Context(), t0.Add(2*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("PruneAudit = %d, %v; want 2 (every account, strictly before)", n, err)
		}
		if diff := cmp.Diff([]string{"new", "edge"}, lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 50})); diff != "" {
			t.Errorf("after prune mismatch (-want +got):\n%s", diff)
		}
		// The attribute index was pruned too.
		got := lookupIDs(t, l, store.AuditQuery{Account: acct, Attribute: store.AuditUsername, Value: "alice", Max: 50})
		if diff := cmp.Diff([]string{"new", "edge"}, got); diff != "" {
			t.Errorf("attribute lookup after prune mismatch (-want +got):\n%s", diff)
		}
		if n, err := l.PruneAudit(t.Context(), t0); err != nil || n != 0 {
			t.Errorf("second PruneAudit = %d, %v; want 0", n, err)
		}
	}},
	{"InTxCommitsWithMutation", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		seq0, err := s.ChangeSeq(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.Create(ctx, rec("role", "", "")); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, arec("committed", 0))
		})
		boom := errors.New("boom")
		err = txErr(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.Create(ctx, rec("other", "", "")); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, arec("rolled-back", 1)); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, "Tx", err, boom)
		if diff := cmp.Diff([]string{"committed"}, lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 50})); diff != "" {
			t.Errorf("ids mismatch (-want +got):\n%s", diff)
		}
		// A transaction that only appended audit records changed no record: caches need not notice.
		seq1, _ := s.ChangeSeq(t.Context())
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AppendAudit(ctx, arec("alone", 2)) })
		seq2, _ := s.ChangeSeq(t.Context())
		if seq1 != seq0+1 || seq2 != seq1 {
			t.Errorf("ChangeSeq %d -> %d -> %d, want +1 for the mutation and +0 for the audit-only Tx", seq0, seq1, seq2)
		}
		if got := lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 50}); len(got) != 2 {
			t.Errorf("after audit-only Tx: %v, want 2 records", got)
		}
	}},
	{"ConcurrentAppends", func(t *testing.T, s store.Store) {
		l := auditLog(t, s)
		const goroutines, batches = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for b := range batches {
					recs := []store.AuditRecord{arec(fmt.Sprintf("g%d-b%d-0", g, b), b), arec(fmt.Sprintf("g%d-b%d-1", g, b), b)}
					if err := l.AppendAudit(context.Background(), recs); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		// A record transaction runs alongside.
		wg.Go(func() {
			if err := s.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				return tx.Create(ctx, rec("during", "", ""))
			}); err != nil {
				errs <- err
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := lookupIDs(t, l, store.AuditQuery{Account: acct, Max: 7}); len(got) != goroutines*batches*2 {
			t.Errorf("%d records stored, want %d", len(got), goroutines*batches*2)
		}
	}},
}
