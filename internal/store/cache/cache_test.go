package cache_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/cache"
	"github.com/persona-iam/persona/internal/store/postgres"
	"github.com/persona-iam/persona/internal/store/postgres/pgtest"
	"github.com/persona-iam/persona/internal/store/sqlite"
	"github.com/persona-iam/persona/internal/store/storetest"
)

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "persona.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store suite through the cache: caching must not change any behaviour the contract
// states (reads after writes, case-insensitive keys, transactions, the audit log).
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return cache.New(openSQLite(t), nil, 0) })
	})
	t.Run("postgres", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.FreshSchema(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return cache.New(st, nil, 0)
		})
	})
}

// counting counts the reads that reach the underlying store; onGet, when set, runs inside each.
type counting struct {
	store.Store
	gets  atomic.Int64
	onGet func()
}

func (c *counting) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	c.gets.Add(1)
	if c.onGet != nil {
		c.onGet()
	}
	return c.Store.Get(ctx, kind, account, key)
}

func (c *counting) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	c.gets.Add(1)
	return c.Store.List(ctx, kind, account, prefix, marker, max)
}

func (c *counting) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	c.gets.Add(1)
	return c.Store.GetByID(ctx, kind, id)
}

const acct = "111122223333"

func put(t *testing.T, s store.Store, key, data string, create bool) {
	t.Helper()
	err := s.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		r := store.Record{Kind: store.KindRole, Account: acct, Key: key, ID: "AROA" + key, Data: []byte(data)}
		if create {
			return tx.Create(ctx, r)
		}
		return tx.Update(ctx, r)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s store.Reader, key string) string {
	t.Helper()
	r, err := s.Get(context.Background(), store.KindRole, acct, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(r.Data)
}

type fixture struct {
	under *counting
	gen   *atomic.Int64
	c     *cache.Store
}

func newFixture(t *testing.T, max int) fixture {
	under := &counting{Store: openSQLite(t)}
	var gen atomic.Int64
	return fixture{under: under, gen: &gen, c: cache.New(under, gen.Load, max)}
}

func TestRepeatedReadsComeFromMemory(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	for range 3 {
		if got := get(t, f.c, "web"); got != `{"v":1}` {
			t.Fatalf("Get = %s", got)
		}
	}
	if _, err := f.c.GetByID(context.Background(), store.KindRole, "AROAweb"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.GetByID(context.Background(), store.KindRole, "AROAweb"); err != nil {
		t.Fatal(err)
	}
	if n := f.under.gets.Load(); n != 2 {
		t.Errorf("%d reads reached the store, want 2 (one by key, one by id)", n)
	}
}

func TestOwnWriteIsReadBack(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	get(t, f.c, "web")
	put(t, f.c, "web", `{"v":2}`, false)
	if got := get(t, f.c, "web"); got != `{"v":2}` {
		t.Errorf("after an update through the cache, Get = %s, want v2", got)
	}
	r, err := f.c.GetByID(context.Background(), store.KindRole, "AROAweb")
	if err != nil || string(r.Data) != `{"v":2}` {
		t.Errorf("GetByID = %s, %v; want v2", r.Data, err)
	}
	if err := f.c.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.Delete(ctx, store.KindRole, acct, "web")
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Get(context.Background(), store.KindRole, acct, "WEB"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after delete: err = %v, want ErrNotFound", err)
	}
}

// TestOtherNodesWritesAfterGeneration pins down the bounded staleness: a write that bypasses the cache (another
// node) is seen once the generation function moves, not before.
func TestOtherNodesWritesAfterGeneration(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	get(t, f.c, "web")
	put(t, f.under.Store, "web", `{"v":2}`, false)
	if got := get(t, f.c, "web"); got != `{"v":1}` {
		t.Fatalf("Get = %s; the cache should still serve v1 until the generation moves", got)
	}
	f.gen.Add(1)
	if got := get(t, f.c, "web"); got != `{"v":2}` {
		t.Errorf("after the generation moved, Get = %s, want v2", got)
	}
}

func TestAuditOnlyTransactionKeepsEntries(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	get(t, f.c, "web")
	before := f.under.gets.Load()
	err := f.c.Tx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.AppendAudit(ctx, store.AuditRecord{EventID: "e1", Account: acct, Time: time.Now(), EventName: "GetRole",
			EventSource: "iam.amazonaws.com", Data: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	get(t, f.c, "web")
	if n := f.under.gets.Load() - before; n != 0 {
		t.Errorf("an audit-only transaction dropped the cache (%d reads reached the store)", n)
	}
	if _, ok := any(f.c).(store.AuditLog); !ok {
		t.Error("the cache hides the store's audit log")
	}
}

// TestReadRacingAWriteIsNotKept: a record read from the store while a write commits and moves the generation must
// not be stored, or later readers would be served the old record after the writer was answered.
func TestReadRacingAWriteIsNotKept(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	f.under.onGet = func() {
		f.under.onGet = nil
		put(t, f.under.Store, "web", `{"v":2}`, false) // the write lands after the read began…
		f.gen.Add(1)                                   // …and is announced before the read ends
	}
	// This read may return either version (it raced), but must not leave v1 behind.
	get(t, f.c, "web")
	if got := get(t, f.c, "web"); got != `{"v":2}` {
		t.Errorf("Get after the racing write = %s, want v2", got)
	}
}

func TestServedDataIsACopy(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "web", `{"v":1}`, true)
	r, err := f.c.Get(context.Background(), store.KindRole, acct, "web")
	if err != nil {
		t.Fatal(err)
	}
	r.Data[0] = 'X'
	r2, _ := f.c.Get(context.Background(), store.KindRole, acct, "web")
	r2.Data[1] = 'Y'
	if got := get(t, f.c, "web"); got != `{"v":1}` {
		t.Errorf("a caller's change to Data reached the cache: %s", got)
	}
}

func TestBoundedEntries(t *testing.T) {
	f := newFixture(t, 2)
	for _, k := range []string{"a", "b", "c"} {
		put(t, f.c, k, `{"k":"`+k+`"}`, true)
	}
	for range 2 {
		for _, k := range []string{"a", "b", "c"} {
			if got := get(t, f.c, k); got != `{"k":"`+k+`"}` {
				t.Errorf("Get(%s) = %s", k, got)
			}
		}
	}
}

func keys(t *testing.T, s store.Reader, marker string, max int) []string {
	t.Helper()
	p, err := s.List(context.Background(), store.KindRole, acct, "", marker, max)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Key+"="+string(r.Data))
	}
	return append(out, "next:"+p.Next)
}

func TestListIsCachedAndInvalidated(t *testing.T) {
	f := newFixture(t, 0)
	put(t, f.c, "a", `1`, true)
	put(t, f.c, "b", `1`, true)
	want := []string{"a=1", "next:a"}
	for range 2 {
		if diff := cmp.Diff(want, keys(t, f.c, "", 1)); diff != "" {
			t.Fatalf("List mismatch (-want +got):\n%s", diff)
		}
	}
	if n := f.under.gets.Load(); n != 1 {
		t.Errorf("%d lists reached the store, want 1", n)
	}
	// Another page (marker) and another size are other entries.
	if diff := cmp.Diff([]string{"b=1", "next:"}, keys(t, f.c, "a", 1)); diff != "" {
		t.Errorf("second page mismatch (-want +got):\n%s", diff)
	}
	put(t, f.c, "a", `2`, false)
	put(t, f.c, "c", `2`, true)
	if diff := cmp.Diff([]string{"a=2", "b=1", "c=2", "next:"}, keys(t, f.c, "", 10)); diff != "" {
		t.Errorf("after writes, List mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a=2", "next:a"}, keys(t, f.c, "", 1)); diff != "" {
		t.Errorf("after writes, the first page is stale (-want +got):\n%s", diff)
	}
	p, _ := f.c.List(context.Background(), store.KindRole, acct, "", "", 10)
	p.Records[0].Data[0] = 'X'
	p.Records[1].Key = "zzz"
	if diff := cmp.Diff([]string{"a=2", "b=1", "c=2", "next:"}, keys(t, f.c, "", 10)); diff != "" {
		t.Errorf("a caller's change to a page reached the cache (-want +got):\n%s", diff)
	}
}
