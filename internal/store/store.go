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
	// AppendAudit stores audit records as part of this transaction: they commit with its writes or not at all
	// (see AuditLog for why). Appending alone does not make the transaction one that wrote records.
	AppendAudit(ctx context.Context, recs ...AuditRecord) error
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

// ErrInvalidMarker means a LookupAudit marker is not one the store returned.
var ErrInvalidMarker = errors.New("store: invalid marker")

// AuditAttribute names what a LookupAudit query matches on. The names are CloudTrail's LookupEvents
// LookupAttributeKey values (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html),
// plus PrincipalArn for Persona's own use (policy generation, last-used data).
type AuditAttribute string

// The attributes LookupAudit can match on.
const (
	AuditEventID      AuditAttribute = "EventId"
	AuditEventName    AuditAttribute = "EventName"
	AuditEventSource  AuditAttribute = "EventSource"
	AuditUsername     AuditAttribute = "Username"
	AuditAccessKeyID  AuditAttribute = "AccessKeyId"
	AuditReadOnly     AuditAttribute = "ReadOnly"
	AuditResourceName AuditAttribute = "ResourceName"
	AuditResourceType AuditAttribute = "ResourceType"
	AuditPrincipalARN AuditAttribute = "PrincipalArn"
)

// AuditResource is a resource an audited request named, as LookupEvents reports it (ResourceType such as
// "AWS::IAM::Role", ResourceName a name or an ARN).
type AuditResource struct {
	Type string
	Name string
}

// AuditRecord is one audit event: the full CloudTrail record in Data, and the fields LookupAudit matches on.
//
// Every text field may hold any string, attacker-chosen ones included (a resource name from a request): a backend
// MUST accept it, storing it with invalid UTF-8 replaced by U+FFFD and NUL removed, and MUST NOT fail the batch.
// One hostile request must not be able to make other requests' records fail.
type AuditRecord struct {
	// EventID identifies the event (CloudTrail's eventID, a UUID). It MUST NOT be empty. A record appended again
	// (the same Account, EventID and Time, as when a batch is retried after an ambiguous failure) is stored, or at
	// least returned by LookupAudit, once, so a batch may safely be appended again. (The SQLite backend stores
	// blocks without a per-record unique index and drops the later copies when reading.)
	EventID string
	// Account is the account whose trail holds the record (CloudTrail's recipientAccountId). It MUST NOT be empty.
	Account string
	// Time is when the event happened; stored with microsecond precision, returned in UTC.
	Time time.Time
	// EventName is the operation ("CreateRole"), EventSource the service ("iam.amazonaws.com").
	EventName, EventSource string
	// Username is LookupEvents' Username: the user, role session or "root" that called.
	Username string
	// AccessKeyID is the access key that signed the request, "" when none did.
	AccessKeyID string
	// PrincipalARN is the caller's ARN, "" for an unauthenticated request.
	PrincipalARN string
	// ReadOnly reports whether the operation only reads.
	ReadOnly bool
	// Resources are the resources the request named. Duplicates are stored once.
	Resources []AuditResource
	// ErrorCode is the AWS error code the request failed with, "" on success.
	ErrorCode string
	// Data is the CloudTrail record (JSON). The store does not interpret it.
	Data []byte
}

// AuditQuery selects audit records of one account.
type AuditQuery struct {
	// Account is the account whose trail is read. Records of other accounts MUST NOT be returned.
	Account string
	// Start and End bound the events' Time, both inclusive; a zero time leaves that end open.
	Start, End time.Time
	// Attribute and Value, when Attribute is not "", keep only records whose attribute equals Value exactly
	// (ReadOnly matches "true" or "false"; ResourceName and ResourceType match any of the record's resources).
	Attribute AuditAttribute
	Value     string
	// Marker is "" for the first page, else the Next of the previous page of the same query.
	Marker string
	// Max is the page size; it MUST be >= 1.
	Max int
}

// AuditLog is the append-only audit trail beside the records. Every method is safe for concurrent use.
//
// Two ways to append, for two guarantees:
//   - Tx.AppendAudit writes records in the same transaction as a mutation, so a mutation that committed (and was
//     acknowledged) always has its record, even after kill -9, and a rolled-back one has none. Mutations use it.
//   - AuditLog.AppendAudit writes a batch in a transaction of its own. The audit package's group-commit writer
//     uses it for reads and denied or failed requests, where nothing else is committed.
type AuditLog interface {
	// AppendAudit stores recs in one transaction, durable (surviving kill -9) when it returns nil. It does not
	// advance the change sequence: it changes no record, so no cache goes stale.
	AppendAudit(ctx context.Context, recs []AuditRecord) error
	// LookupAudit returns up to q.Max records matching q, newest first (by Time; records with equal Times in
	// reverse order of appending), and the marker of the next page, "" when this page is the last. Markers are
	// keyset positions: records appended between pages MUST NOT make a listing repeat or skip a record that
	// existed throughout. A marker the store did not return yields ErrInvalidMarker.
	LookupAudit(ctx context.Context, q AuditQuery) (recs []AuditRecord, next string, err error)
	// PruneAudit deletes the records of every account whose Time is before before, and returns how many it
	// deleted.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}
