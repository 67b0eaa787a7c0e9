package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/sqlite"
	"github.com/persona-iam/persona/internal/store/storetest"
)

func open(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "persona.db"), sqlite.Options{})
	})
}

func TestInjectedClock(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600))
	s := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Now: func() time.Time { return at }})
	var now time.Time
	err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
		now = tx.Now()
		return tx.Create(ctx, store.Record{Kind: "k", Key: "a"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Stored times keep microseconds, so Now is the clock's time at that precision.
	want := time.Date(2026, 1, 2, 2, 4, 5, 678901000, time.UTC)
	r, err := s.Get(t.Context(), "k", "", "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Time{want, want, want}, []time.Time{now, r.Created, r.Updated}); diff != "" {
		t.Errorf("times mismatch (-want +got):\n%s", diff)
	}
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Record{Kind: "k", Account: "111122223333", Key: "Kept", ID: "ID", Data: []byte{0, 1, 2}}
	if err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.Create(ctx, want) }); err != nil {
		t.Fatal(err)
	}
	seq, err := s.ChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening runs the migrations again: they must find the schema current and leave the data alone.
	s2 := open(t, path, sqlite.Options{})
	got, err := s2.GetByID(t.Context(), "k", "ID")
	if err != nil {
		t.Fatal(err)
	}
	got.Created, got.Updated, got.Version = time.Time{}, time.Time{}, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after reopen mismatch (-want +got):\n%s", diff)
	}
	if seq2, err := s2.ChangeSeq(t.Context()); err != nil || seq2 != seq {
		t.Errorf("ChangeSeq after reopen = %d, %v; want %d", seq2, err, seq)
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", "a?mode=ro", "a#b"} {
		if s, err := sqlite.Open(t.Context(), path, sqlite.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// crashEnv names the database the crash child writes to; set only in the child.
const crashEnv = "PERSONA_SQLITE_CRASH_CHILD_DB"

// TestCrashKeepsAcknowledgedWrites runs a child process (this test binary again) that creates records and prints
// "ack N" after each Tx returns, kills it with SIGKILL mid-way, and checks that every acknowledged record is
// there on reopen: an acknowledged write survives kill -9.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		n, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("bad ack line %q", lines.Text())
		}
		acked[i] = true
		// Kill mid-way, then keep reading: acks written before the kill are still in the pipe.
		if len(acked) == 300 && !killed {
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
	s := open(t, path, sqlite.Options{})
	var missing []int
	for i := range acked {
		if _, err := s.Get(t.Context(), "crash", "", fmt.Sprintf("r%06d", i)); err != nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged records lost after kill -9, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	n, err := s.Count(t.Context(), "crash", "", "r")
	if err != nil || n < len(acked) {
		t.Errorf("Count = %d, %v; want >= %d", n, err, len(acked))
	}
}

func crashChild(path string) {
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	for i := 0; i < 1_000_000; i++ {
		err := s.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.Create(ctx, store.Record{Kind: "crash", Key: fmt.Sprintf("r%06d", i), Data: []byte("x")})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the ack leaves the process only after the commit returned.
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
	}
	os.Exit(3) // never killed: the parent reports it
}

func benchStore(b *testing.B, n int) *sqlite.Store {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	err := s.Tx(b.Context(), func(ctx context.Context, tx store.Tx) error {
		for i := range n {
			r := store.Record{Kind: "role", Account: "111122223333", Key: fmt.Sprintf("Role%05d", i),
				ID: fmt.Sprintf("AROA%05d", i), Data: []byte(`{"name":"role","path":"/","trust":"{}"}`)}
			if err := tx.Create(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b, 1000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(b.Context(), "role", "111122223333", fmt.Sprintf("role%05d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList100(b *testing.B) {
	s := benchStore(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.List(b.Context(), "role", "111122223333", "", "role00400", 100)
		if err != nil || len(p.Records) != 100 {
			b.Fatal(len(p.Records), err)
		}
	}
}

func BenchmarkTxUpdate(b *testing.B) {
	s := benchStore(b, 10)
	b.ReportAllocs()
	for b.Loop() {
		err := s.Tx(b.Context(), func(ctx context.Context, tx store.Tx) error {
			r, err := tx.Get(ctx, "role", "111122223333", "Role00001")
			if err != nil {
				return err
			}
			return tx.Update(ctx, r)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzList checks List's properties for any prefix, marker and page size: no error, at most max records, each
// matching the prefix and after the marker, in strictly ascending lowercased order, and a Next only when more
// records follow.
func FuzzList(f *testing.F) {
	for _, seed := range []struct {
		prefix, marker string
		max            int
	}{
		{"", "", 1}, {"a", "", 2}, {"A_", "a", 3}, {"a/", "a/", 100}, {"é", "", 1}, {"", "\xff", 1},
		{"\x00", "", 1}, {"", "a\x00", 2}, {"%", "_", 5}, {"ZED", "zec", 1},
	} {
		f.Add(seed.prefix, seed.marker, seed.max)
	}
	s := open(f, filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	keysIn := []string{"a", "A/x", "a_y", "AA", "Ab", "abc", "b", "Zed", "é", "É2", "100%", "_"}
	err := s.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		for _, k := range keysIn {
			if err := tx.Create(ctx, store.Record{Kind: "k", Account: "1", Key: k}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix, marker string, max int) {
		max = 1 + int(uint(max)%20)
		p, err := s.List(context.Background(), "k", "1", prefix, marker, max)
		if err != nil {
			t.Fatalf("List(%q, %q, %d): %v", prefix, marker, max, err)
		}
		if len(p.Records) > max {
			t.Fatalf("%d records, max %d", len(p.Records), max)
		}
		prev := ""
		for i, r := range p.Records {
			k := strings.ToLower(r.Key)
			if !strings.HasPrefix(k, strings.ToLower(prefix)) {
				t.Errorf("key %q does not start with prefix %q", r.Key, prefix)
			}
			if marker != "" && k <= marker {
				t.Errorf("key %q not after marker %q", r.Key, marker)
			}
			if i > 0 && k <= prev {
				t.Errorf("key %q not after previous %q", k, prev)
			}
			prev = k
		}
		// Next is set exactly when the full listing from the same marker has more than max records.
		all, err := s.List(context.Background(), "k", "1", prefix, marker, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if more := len(all.Records) > max; more != (p.Next != "") {
			t.Errorf("Next = %q with %d records in all, max %d", p.Next, len(all.Records), max)
		}
	})
}
