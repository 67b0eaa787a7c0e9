package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/persona-iam/persona/internal/store"
)

// fakeLog is a store.AuditLog that keeps appended records in memory and counts AppendAudit calls. When gate is
// set, every AppendAudit waits for a value from it first (the test decides when a batch may commit).
type fakeLog struct {
	mu      sync.Mutex
	recs    []store.AuditRecord
	batches []int
	calls   int
	fail    error
	gate    chan struct{}
	entered chan int // receives the batch size once per AppendAudit call, before the gate, when set
}

func (f *fakeLog) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if f.entered != nil {
		f.entered <- len(recs)
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail
	}
	f.batches = append(f.batches, len(recs))
	f.recs = append(f.recs, slices.Clone(recs)...)
	return nil
}

func (f *fakeLog) LookupAudit(context.Context, store.AuditQuery) ([]store.AuditRecord, string, error) {
	return nil, "", errors.New("fakeLog: the writer only appends; a test that looks records up uses a real store")
}

func (f *fakeLog) PruneAudit(context.Context, time.Time) (int, error) {
	return 0, errors.New("fakeLog: the writer only appends; a test that prunes uses a real store")
}

func (f *fakeLog) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range f.recs {
		ids = append(ids, r.EventID)
	}
	slices.Sort(ids)
	return ids
}

func row(id string) store.AuditRecord {
	return store.AuditRecord{EventID: id, Account: "123456789012", Time: when, EventName: "GetUser"}
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestWriterGroupCommit: G goroutines each record M records one after another. While the first batch is held
// uncommitted, every other goroutine's record queues; they must then go in one batch. Every record is written
// exactly once, in far fewer AppendAudit calls than records.
func TestWriterGroupCommit(t *testing.T) {
	const G, M = 16, 50
	f := &fakeLog{gate: make(chan struct{}), entered: make(chan int, G*M)}
	// Without SyncDelay, so that the second batch is exactly what queued behind the first.
	w := NewWriter(f, WriterOptions{SyncDelay: -1})
	var wg sync.WaitGroup
	errs := make(chan error, G*M)
	for g := range G {
		wg.Go(func() {
			for m := range M {
				if err := w.Record(context.Background(), row(fmt.Sprintf("g%02d-m%02d", g, m))); err != nil {
					errs <- err
				}
			}
		})
	}
	first := <-f.entered // the first batch is being committed
	// Wait (without a clock) until the other goroutines' first records are queued behind it.
	for len(w.queue) < G-first {
		time.Sleep(time.Millisecond)
	}
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	f.gate <- struct{}{}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Record: %v", err)
	}
	closeWriter(t, w)
	close(f.entered)
	var want []string
	for g := range G {
		for m := range M {
			want = append(want, fmt.Sprintf("g%02d-m%02d", g, m))
		}
	}
	if diff := cmp.Diff(want, f.ids()); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	if f.calls >= G*M {
		t.Errorf("%d AppendAudit calls for %d records: no batching", f.calls, G*M)
	}
	// The records queued while the first batch committed form the second batch (if the first did not already
	// hold one record of every goroutine).
	if first < G && (len(f.batches) < 2 || f.batches[1] != G-first) {
		t.Errorf("batches %v: want the second to hold the %d records queued behind the first", f.batches[:min(3, len(f.batches))], G-first)
	}
}

func TestWriterMaxBatch(t *testing.T) {
	f := &fakeLog{gate: make(chan struct{}), entered: make(chan int, 100)}
	w := NewWriter(f, WriterOptions{MaxBatch: 3})
	for i := range 10 {
		if err := w.RecordAsync(context.Background(), row(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	closeWriter(t, w)
	close(f.entered)
	for _, n := range f.batches {
		if n > 3 {
			t.Errorf("batch of %d records, MaxBatch 3 (batches %v)", n, f.batches)
		}
	}
	if got := len(f.ids()); got != 10 {
		t.Errorf("%d records written, want 10", got)
	}
}

// TestWriterMaxDelayGathersBatch: with MaxDelay, records queued while the writer lingers join one batch.
func TestWriterMaxDelayGathersBatch(t *testing.T) {
	f := &fakeLog{}
	w := NewWriter(f, WriterOptions{MaxDelay: time.Hour, MaxBatch: 5})
	for i := range 5 {
		if err := w.RecordAsync(context.Background(), row(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	closeWriter(t, w)
	if diff := cmp.Diff([]int{5}, f.batches); diff != "" {
		t.Errorf("batches mismatch (-want +got):\n%s", diff)
	}
}

func TestWriterCloseDrains(t *testing.T) {
	f := &fakeLog{gate: make(chan struct{}), entered: make(chan int, 1000)}
	w := NewWriter(f, WriterOptions{MaxBatch: 7})
	for i := range 100 {
		if err := w.RecordAsync(context.Background(), row(fmt.Sprintf("%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	closeWriter(t, w)
	close(f.entered)
	if got := len(f.ids()); got != 100 {
		t.Errorf("after Close %d records written, want all 100", got)
	}
	if err := w.Record(context.Background(), row("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
	if err := w.RecordAsync(context.Background(), row("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("RecordAsync after Close = %v, want ErrClosed", err)
	}
	closeWriter(t, w) // a second Close is harmless
}

func TestWriterErrorsReachCallers(t *testing.T) {
	boom := errors.New("disk full")
	var lost []string
	f := &fakeLog{fail: boom}
	w := NewWriter(f, WriterOptions{Attempts: 2, OnAsyncError: func(err error, recs []store.AuditRecord) {
		if errors.Is(err, boom) {
			for _, r := range recs {
				lost = append(lost, r.EventID)
			}
		}
	}})
	if err := w.Record(context.Background(), row("sync")); !errors.Is(err, boom) {
		t.Errorf("Record = %v, want %v", err, boom)
	}
	if err := w.RecordAsync(context.Background(), row("async")); err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	if diff := cmp.Diff([]string{"async"}, lost); diff != "" {
		t.Errorf("OnAsyncError records mismatch (-want +got):\n%s", diff)
	}
	if f.calls != 4 {
		t.Errorf("%d AppendAudit calls, want 4 (2 attempts for each of 2 batches)", f.calls)
	}
}

// TestWriterBackPressure: with the queue full, producers wait (here, until their context ends) instead of
// dropping records or growing memory.
func TestWriterBackPressure(t *testing.T) {
	f := &fakeLog{gate: make(chan struct{}), entered: make(chan int, 10)}
	w := NewWriter(f, WriterOptions{QueueSize: 2})
	if err := w.RecordAsync(context.Background(), row("in-flight")); err != nil {
		t.Fatal(err)
	}
	<-f.entered // taken off the queue and held in AppendAudit
	for _, id := range []string{"q1", "q2"} {
		if err := w.RecordAsync(context.Background(), row(id)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.RecordAsync(ctx, row("overflow")); !errors.Is(err, context.Canceled) {
		t.Errorf("RecordAsync on a full queue = %v, want context.Canceled", err)
	}
	if err := w.Record(ctx, row("overflow")); !errors.Is(err, context.Canceled) {
		t.Errorf("Record on a full queue = %v, want context.Canceled", err)
	}
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	f.gate <- struct{}{}
	closeWriter(t, w)
	close(f.entered)
	if diff := cmp.Diff([]string{"in-flight", "q1", "q2"}, f.ids()); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
}

// TestWriterAsyncDelayGathersReads: records nobody waits for linger up to AsyncDelay, so reads under load share
// a commit.
func TestWriterAsyncDelayGathersReads(t *testing.T) {
	f := &fakeLog{}
	w := NewWriter(f, WriterOptions{AsyncDelay: time.Hour, MaxBatch: 5})
	for i := range 5 {
		if err := w.RecordAsync(context.Background(), row(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	closeWriter(t, w)
	if diff := cmp.Diff([]int{5}, f.batches); diff != "" {
		t.Errorf("batches mismatch (-want +got):\n%s", diff)
	}
}

// TestWriterRecordEndsAsyncDelay: a caller that waits for its record is not held up by AsyncDelay: the batch
// is written as soon as its record joins it (it would otherwise wait an hour and the test time out).
func TestWriterRecordEndsAsyncDelay(t *testing.T) {
	f := &fakeLog{}
	w := NewWriter(f, WriterOptions{AsyncDelay: time.Hour})
	if err := w.RecordAsync(context.Background(), row("read")); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(t.Context(), row("mutation")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"mutation", "read"}, f.ids()); diff != "" {
		t.Errorf("written ids mismatch (-want +got):\n%s", diff)
	}
	if err := w.Flush(t.Context()); err != nil { // a Flush too ends the wait
		t.Fatal(err)
	}
	closeWriter(t, w)
}

// TestWriterSyncDelayWaitsForSiblings: a batch that several callers wait on waits (SyncDelay) for more records,
// so a busy server commits fewer, larger batches; a lone caller's batch does not wait.
func TestWriterSyncDelayWaitsForSiblings(t *testing.T) {
	f := &fakeLog{gate: make(chan struct{}), entered: make(chan int, 10)}
	w := NewWriter(f, WriterOptions{SyncDelay: time.Hour, MaxBatch: 3})
	var wg sync.WaitGroup
	record := func(id string) {
		wg.Go(func() {
			if err := w.Record(context.Background(), row(id)); err != nil {
				t.Error(err)
			}
		})
	}
	record("a")
	<-f.entered // a lone caller: its batch of one is written at once (else this would wait an hour)
	record("b")
	record("c")
	for len(w.queue) < 2 {
		time.Sleep(time.Millisecond)
	}
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	f.gate <- struct{}{}
	// b and c wait together for a third record, which fills the batch.
	record("d")
	wg.Wait()
	closeWriter(t, w)
	close(f.entered)
	if diff := cmp.Diff([]int{1, 3}, f.batches); diff != "" {
		t.Errorf("batches mismatch (-want +got):\n%s", diff)
	}
}
