package audit_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/audit"
	"github.com/persona-iam/persona/internal/authz"
	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
)

const acct = "123456789012"

func openSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var alice = &authz.Principal{Type: authz.IAMUser, Account: acct, ARN: "arn:aws:iam::123456789012:user/alice",
	UserID: "AIDAALICE", Name: "alice", AccessKeyID: "AKIAALICE"}

func event(id string, at time.Time, action string) audit.Event {
	return audit.Event{Time: at, Principal: alice, Source: audit.SourceIAM, Action: action, EventID: id,
		ReadOnly: audit.ReadOnlyAction(action), Region: "us-east-1", SourceIP: "192.0.2.1", RequestID: "r-" + id,
		Resources: []audit.Resource{{Type: "AWS::IAM::Role", Name: "admin", ARN: "arn:aws:iam::123456789012:role/admin"}}}
}

func build(t testing.TB, ev audit.Event) store.AuditRecord {
	t.Helper()
	row, err := audit.Build(ev)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

func ptr[T any](v T) *T { return &v }

func TestLookup(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "a.db"))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.AuditRecord
	for i := range 7 {
		action := []string{"GetRole", "CreateRole"}[i%2]
		rows = append(rows, build(t, event(fmt.Sprintf("e%d", i), now.Add(-time.Duration(i)*time.Hour), action)))
	}
	// Older than 90 days: outside the default range.
	rows = append(rows, build(t, event("ancient", now.Add(-100*24*time.Hour), "GetRole")))
	other := event("other-account", now, "GetRole")
	other.RecipientAccount = "444455556666"
	rows = append(rows, build(t, other))
	if err := s.AppendAudit(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	ids := func(out *audit.LookupOutput) []string {
		var ids []string
		for _, e := range out.Events {
			ids = append(ids, e.EventID)
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		in   audit.LookupInput
		want []string
	}{
		{"default last 90 days newest first", audit.LookupInput{}, []string{"e0", "e1", "e2", "e3", "e4", "e5", "e6"}},
		{"EventName", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"EventName", "CreateRole"}}},
			[]string{"e1", "e3", "e5"}},
		{"ReadOnly", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"ReadOnly", "true"}}},
			[]string{"e0", "e2", "e4", "e6"}},
		{"ResourceName by name", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"ResourceName", "admin"}},
			MaxResults: ptr(int32(2))}, []string{"e0", "e1", "e2", "e3", "e4", "e5", "e6"}},
		{"Username", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"Username", "alice"}},
			StartTime: ptr(now.Add(-2 * time.Hour)), EndTime: ptr(now.Add(-time.Hour))}, []string{"e1", "e2"}},
		{"explicit old start", audit.LookupInput{StartTime: ptr(now.Add(-200 * 24 * time.Hour)), MaxResults: ptr(int32(3))},
			[]string{"e0", "e1", "e2", "e3", "e4", "e5", "e6", "ancient"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			in := tc.in
			for pages := 0; ; pages++ {
				out, err := audit.Lookup(t.Context(), s, acct, now, in)
				if err != nil {
					t.Fatal(err)
				}
				if in.MaxResults != nil && len(out.Events) > int(*in.MaxResults) {
					t.Fatalf("%d events, MaxResults %d", len(out.Events), *in.MaxResults)
				}
				got = append(got, ids(out)...)
				if out.NextToken == nil || pages > 20 {
					break
				}
				in.NextToken = out.NextToken
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("event fields", func(t *testing.T) {
		out, err := audit.Lookup(t.Context(), s, acct, now, audit.LookupInput{
			LookupAttributes: []audit.LookupAttribute{{"EventId", "e1"}}})
		if err != nil || len(out.Events) != 1 {
			t.Fatalf("Lookup = %v, %v", out, err)
		}
		e := out.Events[0]
		e.CloudTrailEvent = "" // its content is pinned by the golden tests; here: it is the stored record
		want := audit.LookupEvent{EventID: "e1", EventName: "CreateRole", ReadOnly: "false", AccessKeyID: "AKIAALICE",
			EventTime: now.Add(-time.Hour), EventSource: "iam.amazonaws.com", Username: "alice",
			Resources: []audit.LookupResource{{"AWS::IAM::Role", "admin"}, {"AWS::IAM::Role", "arn:aws:iam::123456789012:role/admin"}}}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("event mismatch (-want +got):\n%s", diff)
		}
		if !strings.Contains(out.Events[0].CloudTrailEvent, `"eventID":"e1"`) {
			t.Errorf("CloudTrailEvent = %s, want the record of e1", out.Events[0].CloudTrailEvent)
		}
	})
}

func TestLookupErrors(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "a.db"))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.AuditRecord
	for i := range 3 {
		rows = append(rows, build(t, event(fmt.Sprint(i), now.Add(-time.Duration(i)*time.Minute), "GetRole")))
	}
	if err := s.AppendAudit(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	first, err := audit.Lookup(t.Context(), s, acct, now, audit.LookupInput{MaxResults: ptr(int32(1))})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page = %v, %v; want a NextToken", first, err)
	}
	for _, tc := range []struct {
		name string
		in   audit.LookupInput
		code string
	}{
		{"MaxResults 0", audit.LookupInput{MaxResults: ptr(int32(0))}, "InvalidMaxResultsException"},
		{"MaxResults 51", audit.LookupInput{MaxResults: ptr(int32(51))}, "InvalidMaxResultsException"},
		{"two attributes", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"EventName", "a"}, {"Username", "b"}}},
			"InvalidLookupAttributesException"},
		{"unknown attribute", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"PrincipalArn", "a"}}},
			"InvalidLookupAttributesException"},
		{"empty value", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"EventName", ""}}},
			"InvalidLookupAttributesException"},
		{"value too long", audit.LookupInput{LookupAttributes: []audit.LookupAttribute{{"EventName", strings.Repeat("a", 2001)}}},
			"InvalidLookupAttributesException"},
		{"start after end", audit.LookupInput{StartTime: ptr(now), EndTime: ptr(now.Add(-time.Second))}, "InvalidTimeRangeException"},
		{"garbage token", audit.LookupInput{NextToken: ptr("not-a-token")}, "InvalidNextTokenException"},
		{"token of another query", audit.LookupInput{MaxResults: ptr(int32(2)), NextToken: first.NextToken}, "InvalidNextTokenException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.Lookup(t.Context(), s, acct, now, tc.in)
			var le *audit.LookupError
			if !errors.As(err, &le) || le.Code != tc.code {
				t.Errorf("Lookup error = %v, want %s", err, tc.code)
			}
		})
	}
	t.Run("token used by another account reads only that account", func(t *testing.T) {
		out, err := audit.Lookup(t.Context(), s, "444455556666", now, audit.LookupInput{MaxResults: ptr(int32(1)), NextToken: first.NextToken})
		if err != nil || len(out.Events) != 0 {
			t.Errorf("Lookup = %v, %v; want no events", out, err)
		}
	})
}

// crashEnv names the database the crash child writes to; set only in the child.
const crashEnv = "PERSONA_AUDIT_CRASH_CHILD_DB"

// TestCrashKeepsAcknowledgedRecords runs a child process (this test binary again) that records events with the
// Writer from 8 goroutines, and mutations with their record in the same Tx from another, printing "ack ID"
// after each returns; kills it with SIGKILL mid-way; and checks every acknowledged record (and mutation) is
// there after reopening.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedRecords$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		id, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			continue
		}
		acked = append(acked, id)
		if len(acked) == 2000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acks before it was killed", len(acked))
	}
	s := openSQLite(t, path)
	var missing []string
	mutations := 0
	for _, id := range acked {
		recs, _, err := s.LookupAudit(t.Context(), store.AuditQuery{Account: acct, Attribute: store.AuditEventID, Value: id, Max: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			missing = append(missing, id)
		}
		if name, ok := strings.CutPrefix(id, "mut-"); ok {
			mutations++
			if _, err := s.Get(t.Context(), "role", acct, name); err != nil {
				missing = append(missing, "record "+name)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged records lost after kill -9, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	if mutations == 0 {
		t.Error("no mutation was acknowledged: the test did not exercise records in a Tx")
	}
}

func crashChild(path string) {
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	w := audit.NewWriter(s, audit.WriterOptions{})
	var mu sync.Mutex // one line at a time on stdout
	ack := func(id string) {
		mu.Lock()
		// os.Stdout is unbuffered: the ack leaves the process only after the record was durable.
		fmt.Fprintf(os.Stdout, "ack %s\n", id)
		mu.Unlock()
	}
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := "g" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				row, err := audit.Build(event(id, time.Now(), "GetRole"))
				if err == nil {
					err = w.Record(context.Background(), row)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "child record:", err)
					os.Exit(2)
				}
				ack(id)
			}
		}()
	}
	for i := 0; ; i++ {
		name := "role" + strconv.Itoa(i)
		id := "mut-" + name
		row, err := audit.Build(event(id, time.Now(), "CreateRole"))
		if err == nil {
			err = s.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				if err := tx.Create(ctx, store.Record{Kind: "role", Account: acct, Key: name}); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, row)
			})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child mutation:", err)
			os.Exit(2)
		}
		ack(id)
	}
}

// BenchmarkWriterSQLite measures records made durable per second through the Writer on SQLite (WAL,
// synchronous=FULL), from one producer and from 16 concurrent ones; group commit is what makes the second fast.
func BenchmarkWriterSQLite(b *testing.B) {
	for _, producers := range []int{1, 16} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			s := &countingLog{AuditLog: openSQLite(b, filepath.Join(b.TempDir(), "bench.db"))}
			w := audit.NewWriter(s, audit.WriterOptions{})
			defer w.Close(context.Background())
			row := build(b, event("template", time.Now(), "GetRole"))
			var n sync.WaitGroup
			var next int64
			var mu sync.Mutex
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range producers {
				n.Go(func() {
					for {
						mu.Lock()
						i := next
						next++
						mu.Unlock()
						if i >= int64(b.N) {
							return
						}
						r := row
						r.EventID = "e" + strconv.FormatInt(i, 10)
						if err := w.Record(context.Background(), r); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			n.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			if c := s.appends.Load(); c > 0 {
				b.ReportMetric(float64(b.N)/float64(c), "records/commit")
			}
		})
	}
}

// BenchmarkBuild measures making one record (identity, redaction, JSON).
func BenchmarkBuild(b *testing.B) {
	ev := event("x", time.Now(), "CreateUser")
	ev.Params = map[string]any{"UserName": "bob", "Path": "/", "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}}
	ev.Response = map[string]any{"User": map[string]any{"UserName": "bob", "Arn": "arn:aws:iam::123456789012:user/bob"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := audit.Build(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// countingLog counts the AppendAudit calls (commits) of the log it wraps.
type countingLog struct {
	store.AuditLog
	appends atomic.Int64
}

func (c *countingLog) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	c.appends.Add(1)
	return c.AuditLog.AppendAudit(ctx, recs)
}
