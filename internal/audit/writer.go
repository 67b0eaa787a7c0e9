package audit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/persona-iam/persona/internal/store"
)

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("audit: writer closed")

// WriterOptions configures a Writer. The zero value is usable.
type WriterOptions struct {
	// MaxBatch is the most records one AppendAudit writes; 256 when 0.
	MaxBatch int
	// MaxDelay is how long a batch that is not full may wait for more records. When 0 a batch is written as
	// soon as no record is waiting: records that arrive while a batch is being committed form the next batch,
	// which is what group commit needs and adds no latency to a lone caller.
	MaxDelay time.Duration
	// QueueSize bounds the records waiting to be written; 4096 when 0. When it is full, Record and RecordAsync
	// wait for room (back-pressure) rather than drop records or grow without bound.
	QueueSize int
	// AsyncDelay is how long a batch holding only RecordAsync records may wait for more (no caller waits on
	// them), when MaxDelay is shorter; 2ms when 0, no wait when negative. Under load it makes the batches of
	// reads larger, so one commit (and its WAL writes and fsync) serves more records; a Record or Flush that
	// arrives ends the wait at once.
	AsyncDelay time.Duration
	// SyncDelay is how long a batch that Record callers wait on may wait for more records while the writer is
	// busy (two or more callers wait on this batch or waited on the previous one); 1ms when 0, no wait when
	// negative. Several waiting callers mean a busy server, where more records arrive within a fraction of a
	// commit's time: gathering them saves whole commits (a WAL write and an fsync each, which cost far more CPU
	// than the records), while a lone caller on a quiet server is never delayed. This is PostgreSQL's
	// commit_delay with commit_siblings.
	SyncDelay time.Duration
	// Attempts is how many times a failed batch is written before its callers get the error; 3 when 0.
	// Retrying is safe because appending a record twice stores it once (same account and event id).
	Attempts int
	// OnAsyncError is told about records of RecordAsync that could not be written; nil ignores them. It runs on
	// the writer's goroutine and must not block.
	OnAsyncError func(err error, lost []store.AuditRecord)
}

// Writer writes audit records with group commit: concurrent callers' records go to the store in one
// AppendAudit (one transaction, one fsync), so recording does not cost a sync per request. One goroutine
// writes; batches are written one after another, in arrival order.
type Writer struct {
	log  store.AuditLog
	opts WriterOptions

	queue chan item
	done  chan struct{} // closed when the writing goroutine has returned

	mu     sync.RWMutex // held for reading while sending to queue, for writing to close it
	closed bool

	lastWaited int // callers that waited on the last batch written (the writing goroutine's own)
}

type item struct {
	rec     store.AuditRecord
	ack     chan error // nil for RecordAsync
	barrier bool       // Flush's marker: no record, acknowledged with its batch
}

// NewWriter starts a Writer appending to log. Close it to write what is queued and stop.
func NewWriter(log store.AuditLog, opts WriterOptions) *Writer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.AsyncDelay == 0 {
		opts.AsyncDelay = 2 * time.Millisecond
	}
	if opts.SyncDelay == 0 {
		opts.SyncDelay = time.Millisecond
	}
	w := &Writer{log: log, opts: opts, queue: make(chan item, opts.QueueSize), done: make(chan struct{})}
	go w.run()
	return w
}

var ackPool = sync.Pool{New: func() any { return make(chan error, 1) }}

// Record queues rec and returns once it is durable in the store, or with the error that kept it from being
// written. If ctx ends first Record returns ctx's error, and rec may or may not be written.
func (w *Writer) Record(ctx context.Context, rec store.AuditRecord) error {
	ack := ackPool.Get().(chan error)
	if err := w.enqueue(ctx, item{rec: rec, ack: ack}); err != nil {
		ackPool.Put(ack)
		return err
	}
	select {
	case err := <-ack:
		ackPool.Put(ack) // drained: safe to reuse
		return err
	case <-ctx.Done():
		// The writer will still send on ack (buffered), so it is not reused.
		return ctx.Err()
	}
}

// Flush returns once every record queued before it was called has been written (or failed), or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan error, 1)
	if err := w.enqueue(ctx, item{ack: ack, barrier: true}); err != nil {
		return err
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RecordAsync queues rec and returns without waiting for it to be written. It waits only while the queue is
// full (back-pressure), and fails only if ctx ends first or the writer is closed. Use it for reads, whose
// response need not wait for their record; failures go to WriterOptions.OnAsyncError.
func (w *Writer) RecordAsync(ctx context.Context, rec store.AuditRecord) error {
	return w.enqueue(ctx, item{rec: rec})
}

func (w *Writer) enqueue(ctx context.Context, it item) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- it:
		return nil
	default:
	}
	select {
	case w.queue <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, writes every record already queued, and returns when they are written or ctx
// ends (the writing then goes on in the background).
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]item, 0, w.opts.MaxBatch)
	recs := make([]store.AuditRecord, 0, w.opts.MaxBatch)
	var timer *time.Timer
	for {
		it, ok := <-w.queue
		if !ok {
			return
		}
		batch = append(batch[:0], it)
		open := w.fill(&batch, &timer)
		recs = recs[:0]
		for _, it := range batch {
			if !it.barrier {
				recs = append(recs, it.rec)
			}
		}
		w.flush(batch, recs)
		w.lastWaited = 0
		for _, it := range batch {
			if it.ack != nil {
				w.lastWaited++
			}
		}
		clear(recs) // drop references to records' data until the next batch
		if !open {
			// The queue was closed while filling; anything left was taken by fill.
			return
		}
	}
}

// fill adds waiting records to batch until it is full or the queue has been idle for as long as the batch may
// wait (see wait). It reports whether the queue is still open.
func (w *Writer) fill(batch *[]item, timer **time.Timer) bool {
	begun := time.Now()
	async := (*batch)[0].ack == nil // no caller waits on the batch yet
	for len(*batch) < w.opts.MaxBatch {
		select {
		case it, ok := <-w.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, it)
			async = async && it.ack == nil
			continue
		default:
		}
		d := w.wait(async, len(*batch), time.Since(begun))
		if d <= 0 {
			return true
		}
		if *timer == nil {
			*timer = time.NewTimer(d)
		} else {
			(*timer).Reset(d)
		}
		select {
		case it, ok := <-w.queue:
			(*timer).Stop() // since Go 1.23 no stale tick survives Stop or Reset
			if !ok {
				return false
			}
			*batch = append(*batch, it)
			async = async && it.ack == nil
		case <-(*timer).C:
			return true
		}
	}
	return true
}

// wait is how long a batch of n records, gathered for elapsed so far, may still wait for the next record once
// the queue is idle: what is left of MaxDelay; for a batch nobody waits on, of AsyncDelay; while the writer is
// busy with waited-on batches, of SyncDelay.
func (w *Writer) wait(async bool, n int, elapsed time.Duration) time.Duration {
	d := w.opts.MaxDelay - elapsed
	switch {
	case async:
		d = max(d, w.opts.AsyncDelay-elapsed)
	case n >= 2 || w.lastWaited >= 2:
		d = max(d, w.opts.SyncDelay-elapsed)
	}
	return d
}

// flush writes one batch and tells its callers.
func (w *Writer) flush(batch []item, recs []store.AuditRecord) {
	var err error
	for attempt := 1; attempt <= w.opts.Attempts && len(recs) > 0; attempt++ {
		// Not a caller's context: the batch belongs to many callers, and a record must be written even if the
		// request that made it has gone.
		if err = w.log.AppendAudit(context.Background(), recs); err == nil {
			break
		}
		if attempt < w.opts.Attempts {
			time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
		}
	}
	var lost []store.AuditRecord
	for _, it := range batch {
		if it.ack != nil {
			it.ack <- err
		} else if err != nil {
			lost = append(lost, it.rec)
		}
	}
	if len(lost) > 0 && w.opts.OnAsyncError != nil {
		w.opts.OnAsyncError(err, lost)
	}
}
