package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
	"github.com/persona-iam/persona/internal/store/storetest"
)

func open(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.FreshSchema(t), Options{}) })
}

// raiseSerializationFailure makes the transaction's next statement fail as a serialization failure would.
func raiseSerializationFailure(ctx context.Context, stx store.Tx) error {
	_, err := stx.(*tx).q.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = 'serialization_failure'; END $$`)
	return stx.(*tx).note(err)
}

func TestRetryRunsClosureAgain(t *testing.T) {
	s := open(t, pgtest.FreshSchema(t), Options{})
	seq0, err := s.ChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// swallow makes fn ignore the failure and return nil: Tx must retry anyway.
		swallow bool
	}{
		{"error returned", false},
		{"error swallowed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			key := "r-" + tc.name
			err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
				calls++
				if err := tx.Create(ctx, store.Record{Kind: "k", Key: key}); err != nil {
					return err
				}
				if calls == 1 {
					if err := raiseSerializationFailure(ctx, tx); err != nil && !tc.swallow {
						return err
					}
				}
				return nil
			})
			if err != nil || calls != 2 {
				t.Fatalf("Tx = %v after %d calls, want nil after 2", err, calls)
			}
			// The first attempt's Create was rolled back; the second's committed once.
			if n, err := s.Count(t.Context(), "k", "", key); err != nil || n != 1 {
				t.Errorf("Count = %d, %v; want 1", n, err)
			}
		})
	}
	if seq, err := s.ChangeSeq(t.Context()); err != nil || seq != seq0+2 {
		t.Errorf("ChangeSeq = %d, %v; want %d (one per committed attempt)", seq, err, seq0+2)
	}
}

func TestRetryGivesUpWithConflict(t *testing.T) {
	s := open(t, pgtest.FreshSchema(t), Options{MaxAttempts: 3})
	calls := 0
	err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
		calls++
		return raiseSerializationFailure(ctx, tx)
	})
	if !errors.Is(err, store.ErrConflict) || calls != 3 {
		t.Errorf("Tx = %v after %d calls, want ErrConflict after 3", err, calls)
	}
}

func TestNoRetryOnOtherErrors(t *testing.T) {
	s := open(t, pgtest.FreshSchema(t), Options{})
	calls := 0
	boom := errors.New("boom")
	err := s.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Tx = %v after %d calls, want boom after 1", err, calls)
	}
}

// TestTwoNodes opens two Stores on one schema, as two Persona processes on one database, at the same time
// (racing to migrate it), then writes from both concurrently.
func TestTwoNodes(t *testing.T) {
	dsn := pgtest.FreshSchema(t)
	nodes := make([]*Store, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range nodes {
		wg.Go(func() { nodes[i], errs[i] = Open(context.Background(), dsn, Options{MaxConns: 4}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open node %d: %v", i, err)
		}
		t.Cleanup(func() { nodes[i].Close() })
	}
	a, b := nodes[0], nodes[1]
	const counter = "counter"
	if err := a.Tx(t.Context(), func(ctx context.Context, tx store.Tx) error {
		return tx.Create(ctx, store.Record{Kind: "k", Key: counter, Data: []byte("0")})
	}); err != nil {
		t.Fatal(err)
	}
	// Writes by one node are visible to the other at once, with the change sequence.
	seqA, _ := a.ChangeSeq(t.Context())
	if seqB, err := b.ChangeSeq(t.Context()); err != nil || seqB != seqA {
		t.Errorf("node b ChangeSeq = %d, %v; want node a's %d", seqB, err, seqA)
	}
	if _, err := b.Get(t.Context(), "k", "", counter); err != nil {
		t.Errorf("node b Get: %v", err)
	}

	const goroutines, increments = 4, 25
	failures := make(chan error, 2*goroutines)
	for _, node := range nodes {
		for range goroutines {
			wg.Go(func() {
				for range increments {
					err := node.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
						r, err := tx.Get(ctx, "k", "", counter)
						if err != nil {
							return err
						}
						var n int
						fmt.Sscan(string(r.Data), &n)
						r.Data = fmt.Appendf(nil, "%d", n+1)
						return tx.Update(ctx, r)
					})
					if err != nil {
						failures <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatalf("increment: %v", err)
	}
	r, err := b.Get(t.Context(), "k", "", counter)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(2 * goroutines * increments); string(r.Data) != want {
		t.Errorf("counter = %s, want %s", r.Data, want)
	}
	seqEnd, err := a.ChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := seqA + 2*goroutines*increments; seqEnd != want {
		t.Errorf("ChangeSeq = %d, want %d (one per committed write)", seqEnd, want)
	}
}

func TestOpenMissingDatabaseFails(t *testing.T) {
	// Regression: the password must not appear in Open's error.
	_, err := Open(t.Context(), "postgres://u:hunter2@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", Options{})
	if err == nil {
		t.Fatal("Open succeeded, want an error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open error leaks the password: %v", err)
	}
}

func benchStore(b *testing.B, n int) *Store {
	s := open(b, pgtest.FreshSchema(b), Options{})
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
