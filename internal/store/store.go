// Package store is Persona's storage contract: a transactional store of keyed records that every backend
// (sqlite, postgres) implements and that the storetest suite checks.
//
// Why records and not one method per entity: IAM has dozens of entity kinds (users, roles, policies and their
// versions, attachments, access keys, instance profiles, providers, MFA devices, tags...). A small record
// interface keeps every backend a few hundred lines, lets one conformance suite cover all kinds, and adds a kind
// without a migration. Entity structs (entities.go) are what services put in a record's Data.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped or bare); callers test them with errors.Is.
var (
	// ErrNotFound means no record has the kind, account and key (or id) asked for.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists means a record with the same kind, account and key (ignoring case), or the same kind and
	// id, already exists.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict means a concurrent transaction changed what this one read and it could not be retried.
	ErrConflict = errors.New("store: conflict")
)

// Kind names a kind of record, such as "user" or "role".
type Kind string

// Record is one stored entity.
type Record struct {
	// Kind is the kind of entity.
	Kind Kind
	// Account is the 12-digit account the record belongs to ("" for records global to the store).
	Account string
	// Key identifies the record within (Kind, Account). Keys are unique without regard to case (as IAM names are)
	// and are returned with the case they were created with.
	Key string
	// ID is an optional identifier unique within Kind across all accounts (an IAM unique id, an access key id).
	ID string
	// Data is the entity, usually JSON of a struct in entities.go. The store does not interpret it.
	Data []byte
	// Version is set by the store: 1 on create, incremented on each update.
	Version int64
	// Created and Updated are set by the store from the transaction's clock.
	Created, Updated time.Time
}

// Page is one page of a listing.
type Page struct {
	// Records are in ascending order of their lowercased Key (byte order).
	Records []Record
	// Next is the marker for the following page, "" when this page is the last. It is the lowercased Key of the
	// last record in Records, so a caller that stops part-way through a page may pass any record's lowercased key
	// as a marker.
	Next string
}

// Reader reads records.
type Reader interface {
	// Get returns the record of kind and account whose key equals key without regard to case, or ErrNotFound.
	Get(ctx context.Context, kind Kind, account, key string) (Record, error)
	// GetByID returns the record of kind with the given non-empty id, or ErrNotFound.
	GetByID(ctx context.Context, kind Kind, id string) (Record, error)
	// List returns up to max records (max MUST be >= 1) of kind and account whose lowercased key starts with the
	// lowercased prefix, in ascending order of lowercased key, beginning after marker: only records whose lowercased key
	// sorts after marker (byte order) are returned, so markers are stable and records created or deleted between
	// pages MUST NOT make a listing repeat or skip a record that existed throughout.
	List(ctx context.Context, kind Kind, account, prefix, marker string, max int) (Page, error)
	// Count returns how many records of kind and account have a lowercased key starting with the lowercased prefix.
	Count(ctx context.Context, kind Kind, account, prefix string) (int, error)
}

// Tx is a read-write transaction. Reads in a transaction see its own writes. A Tx MUST NOT be used after the
// function it was passed to returns.
type Tx interface {
	Reader
	// Create stores a new record. It returns ErrAlreadyExists if (Kind, Account, lowercased Key) or a non-empty
	// (Kind, ID) is taken. Version, Created and Updated are set by the store. It returns an error (not a sentinel)
	// if Key is empty, is not valid UTF-8 or contains NUL: such keys cannot be stored alike by every backend.
	Create(ctx context.Context, r Record) error
	// Update replaces the Data (and ID) of the existing record with r's kind, account and key, or returns
	// ErrNotFound. The stored Key keeps its original case.
	Update(ctx context.Context, r Record) error
	// Delete removes the record, or returns ErrNotFound.
	Delete(ctx context.Context, kind Kind, account, key string) error
	// Now is the transaction's clock, the time written into Created and Updated.
	Now() time.Time
}

// Store is a transactional record store. Every method is safe for concurrent use by many goroutines and, for
// shared backends, by many Persona processes.
type Store interface {
	Reader
	// Tx runs fn in a serializable transaction: it commits when fn returns nil and rolls back when fn returns an
	// error, which Tx returns. fn MAY BE CALLED MORE THAN ONCE (a backend retries on serialization failures), so
	// it MUST NOT have effects outside tx other than on variables it resets. A transaction that committed writes
	// MUST be durable when Tx returns (it survives kill -9), and MUST advance the change sequence.
	Tx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// ChangeSeq returns the store-wide change sequence: a number that strictly increases with every committed
	// transaction that wrote, and never decreases. Caches use it to notice writes by other processes.
	ChangeSeq(ctx context.Context) (int64, error)
	// Close releases the store's resources.
	Close() error
}
