// Package cache keeps the records a store.Store returns by key or id in memory, so that a read-mostly request
// (GetRole, GetUser, …) costs no database round trip while nothing changes.
//
// Why it stays correct: an entry is served only under the generation it was loaded in, and the generation moves
// (1) after every transaction through this cache that wrote a record, before Tx returns to the writer, so a node
// reads its own acknowledged writes; and (2) whenever the generation function given to New moves: the
// authorizer's, which follows the store's change sequence and so other nodes' writes within its polling interval
// (bounded staleness, as IAM's own eventual consistency:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
// A reader that loaded a record under an older generation cannot store it under a newer one, so a record read
// before a write commits is never served after the writer was answered.
package cache

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/persona-iam/persona/internal/store"
)

// DefaultMaxEntries bounds the cache when New is given no bound; past it, the cache starts again empty.
const DefaultMaxEntries = 100_000

// Store is a store.Store whose Get, GetByID and List answers are cached. Count and everything inside a transaction
// go to the underlying store. It is safe for concurrent use.
type Store struct {
	store.Store
	gen   func() int64
	local atomic.Int64
	max   int

	mu      sync.RWMutex
	at      generation
	entries int // records held, pages counting each of their records
	byKey   map[keyOf]store.Record
	byID    map[idOf]store.Record
	pages   map[listOf]store.Page
}

type generation struct{ ext, local int64 }

// keyOf is the key exactly as asked: keys match without regard to case in the store, and folding case here in a
// way that differs from the backend's could serve one record for another's key; asking with two spellings only
// costs two entries.
type keyOf struct {
	kind         store.Kind
	account, key string
}

type idOf struct {
	kind store.Kind
	id   string
}

type listOf struct {
	kind                    store.Kind
	account, prefix, marker string
	max                     int
}

// New returns a cache in front of st. gen reports a number that moves whenever st may have been changed by
// someone else (nil: only this cache's own transactions invalidate). maxEntries bounds the entries (0:
// DefaultMaxEntries).
func New(st store.Store, gen func() int64, maxEntries int) *Store {
	if gen == nil {
		gen = func() int64 { return 0 }
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Store{Store: st, gen: gen, max: maxEntries,
		byKey: map[keyOf]store.Record{}, byID: map[idOf]store.Record{}, pages: map[listOf]store.Page{}}
}

func (s *Store) generation() generation { return generation{ext: s.gen(), local: s.local.Load()} }

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	k := keyOf{kind, account, key}
	g := s.generation()
	s.mu.RLock()
	rec, ok := s.byKey[k]
	ok = ok && s.at == g
	s.mu.RUnlock()
	if ok {
		return clone(rec), nil
	}
	rec, err := s.Store.Get(ctx, kind, account, key)
	if err != nil {
		return rec, err
	}
	s.put(g, 1, func() { s.byKey[k] = clone(rec) })
	return rec, nil
}

// GetByID implements store.Reader.
func (s *Store) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	k := idOf{kind, id}
	g := s.generation()
	s.mu.RLock()
	rec, ok := s.byID[k]
	ok = ok && s.at == g
	s.mu.RUnlock()
	if ok {
		return clone(rec), nil
	}
	rec, err := s.Store.GetByID(ctx, kind, id)
	if err != nil {
		return rec, err
	}
	s.put(g, 1, func() { s.byID[k] = clone(rec) })
	return rec, nil
}

// List implements store.Reader.
func (s *Store) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	k := listOf{kind, account, prefix, marker, max}
	g := s.generation()
	s.mu.RLock()
	page, ok := s.pages[k]
	ok = ok && s.at == g
	s.mu.RUnlock()
	if ok {
		return clonePage(page), nil
	}
	page, err := s.Store.List(ctx, kind, account, prefix, marker, max)
	if err != nil {
		return page, err
	}
	s.put(g, len(page.Records)+1, func() { s.pages[k] = clonePage(page) })
	return page, nil
}

// put stores an entry of n records loaded under generation g, unless the cache has moved on since.
func (s *Store) put(g generation, n int, add func()) {
	if n > s.max {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at != g || s.entries+n > s.max {
		if g != s.generation() {
			return // loaded under a generation that is already gone
		}
		s.at, s.entries = g, 0
		clear(s.byKey)
		clear(s.byID)
		clear(s.pages)
	}
	s.entries += n
	add()
}

// Tx implements store.Store. When the transaction wrote a record (whether or not it reports success: a failed
// commit may still have committed), the cache's generation moves before Tx returns.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	var wrote atomic.Bool
	err := s.Store.Tx(ctx, func(ctx context.Context, tx store.Tx) error {
		return fn(ctx, &writeTx{Tx: tx, wrote: &wrote})
	})
	if wrote.Load() {
		s.local.Add(1)
	}
	return err
}

// writeTx notes whether a transaction attempted a write. Appending audit records is not one: it changes no record
// (store.Tx.AppendAudit), so busy read traffic with its audit trail keeps the cache warm.
type writeTx struct {
	store.Tx
	wrote *atomic.Bool
}

func (t *writeTx) Create(ctx context.Context, r store.Record) error {
	t.wrote.Store(true)
	return t.Tx.Create(ctx, r)
}

func (t *writeTx) Update(ctx context.Context, r store.Record) error {
	t.wrote.Store(true)
	return t.Tx.Update(ctx, r)
}

func (t *writeTx) Delete(ctx context.Context, kind store.Kind, account, key string) error {
	t.wrote.Store(true)
	return t.Tx.Delete(ctx, kind, account, key)
}

// ErrNoAuditLog is returned by the AuditLog methods when the underlying store has no audit log.
var ErrNoAuditLog = errors.New("cache: the underlying store does not implement store.AuditLog")

// AppendAudit implements store.AuditLog by passing through (it changes no record).
func (s *Store) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	l, ok := s.Store.(store.AuditLog)
	if !ok {
		return ErrNoAuditLog
	}
	return l.AppendAudit(ctx, recs)
}

// LookupAudit implements store.AuditLog by passing through.
func (s *Store) LookupAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	l, ok := s.Store.(store.AuditLog)
	if !ok {
		return nil, "", ErrNoAuditLog
	}
	return l.LookupAudit(ctx, q)
}

// PruneAudit implements store.AuditLog by passing through.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	l, ok := s.Store.(store.AuditLog)
	if !ok {
		return 0, ErrNoAuditLog
	}
	return l.PruneAudit(ctx, before)
}

// Unwrap returns the underlying store.
func (s *Store) Unwrap() store.Store { return s.Store }

// clonePage copies the page's records and their data, the data of all records in one allocation.
func clonePage(p store.Page) store.Page {
	n := 0
	for _, r := range p.Records {
		n += len(r.Data)
	}
	buf := make([]byte, 0, n)
	recs := make([]store.Record, len(p.Records))
	for i, r := range p.Records {
		start := len(buf)
		buf = append(buf, r.Data...)
		r.Data = buf[start:len(buf):len(buf)] // capacity clipped: an append by the caller cannot reach the next record
		recs[i] = r
	}
	p.Records = recs
	return p
}

// clone copies the record's data, so that no caller can change what the cache serves to others.
func clone(r store.Record) store.Record {
	r.Data = bytes.Clone(r.Data)
	return r
}
