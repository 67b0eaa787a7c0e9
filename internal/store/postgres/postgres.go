package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/persona-iam/persona/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock written into records' Created and Updated; time.Now when nil.
	Now func() time.Time
	// MaxAttempts bounds how many times Tx runs its function when the database reports a serialization failure
	// or a deadlock; 10 when 0. After the last attempt Tx returns an error wrapping store.ErrConflict.
	MaxAttempts int
	// MaxConns caps the connection pool; pgxpool's default (or the DSN's pool_max_conns) when 0.
	MaxConns int32
}

// Store is a store.Store in a PostgreSQL database, shared by every Persona node that opens the same database
// (and schema: set search_path in the DSN to use another than the default).
type Store struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	attempts int
}

var _ store.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at dsn (a URL or key=value string, as pgx parses it) and applies
// pending schema migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included; say only what failed.
		return nil, errors.New("postgres: invalid connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, now: opts.Now, attempts: opts.MaxAttempts}
	if s.now == nil {
		s.now = time.Now
	}
	if s.attempts <= 0 {
		s.attempts = 10
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations. Several nodes starting at once on a new database may race to apply
// the same migration: the losers' transactions fail (DDL is transactional in PostgreSQL), and a later attempt
// finds it applied. Retrying avoids advisory locks, which PostgreSQL-compatible distributed engines may lack.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	var last error
	for attempt := range 5 {
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return err
			}
		}
		if last = migrateOnce(ctx, db, fsys); last == nil {
			return nil
		}
	}
	return last
}

func migrateOnce(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	return get(ctx, s.pool, kind, account, key)
}

// GetByID implements store.Reader.
func (s *Store) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	return getByID(ctx, s.pool, kind, id)
}

// List implements store.Reader.
func (s *Store) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	return list(ctx, s.pool, kind, account, prefix, marker, max)
}

// Count implements store.Reader.
func (s *Store) Count(ctx context.Context, kind store.Kind, account, prefix string) (int, error) {
	return count(ctx, s.pool, kind, account, prefix)
}

// ChangeSeq implements store.Store.
func (s *Store) ChangeSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT n FROM change_seq WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: change sequence: %w", err)
	}
	return n, nil
}

// Tx implements store.Store.
//
// How writers are serialized, across every node on the database: each transaction first locks the one row of
// change_seq (SELECT ... FOR UPDATE) and runs at READ COMMITTED. Transactions therefore run one after another,
// and each statement, taking a fresh snapshot after the lock was granted, sees everything the previous holder
// committed: the read-modify-write and count-then-create patterns of IAM handlers are safe with no further
// locking, and PostgreSQL never reports a serialization failure. We chose this over SERIALIZABLE with retries
// because every writing transaction must bump the same change_seq row anyway, so under SERIALIZABLE all
// concurrent writers would conflict on it and most attempts would be thrown away. Write throughput is bounded
// by one transaction at a time per database, which IAM's write rates are far below.
//
// Retries remain for engines and settings where the lock is not enough (a PostgreSQL-compatible distributed
// engine that runs SERIALIZABLE, a deadlock with an operator's session): on SQLSTATE 40001 or 40P01 fn runs
// again, up to Options.MaxAttempts times with jittered exponential backoff, then Tx returns store.ErrConflict.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err, retry := s.try(ctx, fn)
		if !retry {
			return err
		}
		if attempt >= s.attempts {
			return fmt.Errorf("postgres: %w after %d attempts: %v", store.ErrConflict, attempt, err)
		}
		if err := sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

// try runs fn once. It reports whether the attempt failed in a way that running it again may fix.
func (s *Store) try(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) (err error, retry bool) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err), false
	}
	committed := false
	t := &tx{q: pgTx, now: micro(s.now())}
	defer func() {
		t.done = true
		if !committed {
			// Also on panic. The context may be canceled already; rolling back must still happen.
			_ = pgTx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := pgTx.Exec(ctx, `SELECT n FROM change_seq WHERE id = 1 FOR UPDATE`); err != nil {
		return fmt.Errorf("postgres: lock: %w", err), retryable(err)
	}
	ferr := fn(ctx, t)
	t.done = true
	if t.retryErr != nil {
		// A statement failed with a serialization failure: the transaction is aborted, and whatever fn made of
		// that error (returned, wrapped, ignored) may be wrong. Run it again.
		return t.retryErr, true
	}
	if ferr != nil {
		return ferr, false
	}
	if t.wrote {
		if _, err := pgTx.Exec(ctx, `UPDATE change_seq SET n = n + 1 WHERE id = 1`); err != nil {
			return fmt.Errorf("postgres: bump change sequence: %w", err), retryable(err)
		}
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err), retryable(err)
	}
	committed = true
	return nil, false
}

// retryable reports whether err is a serialization failure or a deadlock, which running the transaction again
// may avoid. https://www.postgresql.org/docs/current/mvcc-serialization-failure-handling.html
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// sleep waits before attempt+1: full jitter over an exponential ceiling (5ms, 10ms, … capped at 500ms), so
// transactions that collided do not collide again in lockstep.
func sleep(ctx context.Context, attempt int) error {
	ceiling := min(5*time.Millisecond<<min(attempt-1, 10), 500*time.Millisecond)
	timer := time.NewTimer(rand.N(ceiling) + time.Millisecond)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// micro drops what a stored time cannot keep (sub-microsecond precision, the monotonic reading, the zone), so
// tx.Now() equals the Created and Updated read back.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// queryer is what reads need: the pool outside a transaction, the transaction inside one.
type queryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx is a store.Tx.
type tx struct {
	q        pgx.Tx
	now      time.Time
	wrote    bool  // a statement changed a row: the change sequence must advance
	done     bool  // fn returned; using tx now is a caller bug
	retryErr error // the first serialization failure or deadlock a statement met
}

var errTxDone = errors.New("postgres: transaction used after its function returned")

// note remembers a retryable error and returns err.
func (t *tx) note(err error) error {
	if t.retryErr == nil && retryable(err) {
		t.retryErr = err
	}
	return err
}

func (t *tx) Now() time.Time { return t.now }

func (t *tx) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	if t.done {
		return store.Record{}, errTxDone
	}
	r, err := get(ctx, t.q, kind, account, key)
	return r, t.note(err)
}

func (t *tx) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	if t.done {
		return store.Record{}, errTxDone
	}
	r, err := getByID(ctx, t.q, kind, id)
	return r, t.note(err)
}

func (t *tx) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	if t.done {
		return store.Page{}, errTxDone
	}
	p, err := list(ctx, t.q, kind, account, prefix, marker, max)
	return p, t.note(err)
}

func (t *tx) Count(ctx context.Context, kind store.Kind, account, prefix string) (int, error) {
	if t.done {
		return 0, errTxDone
	}
	n, err := count(ctx, t.q, kind, account, prefix)
	return n, t.note(err)
}

func (t *tx) Create(ctx context.Context, r store.Record) error {
	if t.done {
		return errTxDone
	}
	if !validKey(r.Key) || !validPrefix(r.Account) || !validPrefix(r.ID) {
		return fmt.Errorf("postgres: invalid key %q (or account, id): keys are non-empty UTF-8 without NUL", r.Key)
	}
	now := t.now.UnixMicro()
	// ON CONFLICT DO NOTHING covers both unique constraints (key and id) without an error, which in PostgreSQL
	// would abort the whole transaction; a handler that meets ErrAlreadyExists can go on using tx.
	tag, err := t.q.Exec(ctx, `INSERT INTO records (kind, account, key_fold, key, id, data, version, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) ON CONFLICT DO NOTHING`,
		string(r.Kind), r.Account, fold(r.Key), r.Key, nullID(r.ID), data(r.Data), now)
	if err != nil {
		return t.note(fmt.Errorf("postgres: create: %w", err))
	}
	return t.changed(tag, store.ErrAlreadyExists)
}

func (t *tx) Update(ctx context.Context, r store.Record) error {
	if t.done {
		return errTxDone
	}
	if !validKey(r.Key) || !validPrefix(r.Account) {
		return store.ErrNotFound
	}
	if !validPrefix(r.ID) {
		return fmt.Errorf("postgres: invalid id %q: ids are UTF-8 without NUL", r.ID)
	}
	if r.ID != "" {
		// The id may be taken by another record. Writers hold the change_seq lock, so this check cannot race,
		// and checking first keeps the unique index from aborting the transaction.
		var taken int
		err := t.q.QueryRow(ctx, `SELECT 1 FROM records WHERE kind = $1 AND id = $2 AND NOT (account = $3 AND key_fold = $4)`,
			string(r.Kind), r.ID, r.Account, fold(r.Key)).Scan(&taken)
		switch {
		case err == nil:
			return store.ErrAlreadyExists
		case !errors.Is(err, pgx.ErrNoRows):
			return t.note(fmt.Errorf("postgres: update: %w", err))
		}
	}
	tag, err := t.q.Exec(ctx, `UPDATE records SET id = $1, data = $2, version = version + 1, updated = $3
		WHERE kind = $4 AND account = $5 AND key_fold = $6`,
		nullID(r.ID), data(r.Data), t.now.UnixMicro(), string(r.Kind), r.Account, fold(r.Key))
	if err != nil {
		return t.note(fmt.Errorf("postgres: update: %w", mapErr(err)))
	}
	return t.changed(tag, store.ErrNotFound)
}

func (t *tx) Delete(ctx context.Context, kind store.Kind, account, key string) error {
	if t.done {
		return errTxDone
	}
	if !validKey(key) || !validPrefix(account) {
		return store.ErrNotFound
	}
	tag, err := t.q.Exec(ctx, `DELETE FROM records WHERE kind = $1 AND account = $2 AND key_fold = $3`,
		string(kind), account, fold(key))
	if err != nil {
		return t.note(fmt.Errorf("postgres: delete: %w", err))
	}
	return t.changed(tag, store.ErrNotFound)
}

// changed records that a statement wrote, or returns none when it changed no row.
func (t *tx) changed(tag pgconn.CommandTag, none error) error {
	if tag.RowsAffected() == 0 {
		return none
	}
	t.wrote = true
	return nil
}

const columns = `kind, account, key, id, data, version, created, updated`

func get(ctx context.Context, q queryer, kind store.Kind, account, key string) (store.Record, error) {
	if !validKey(key) || !validPrefix(account) {
		return store.Record{}, store.ErrNotFound // PostgreSQL text cannot hold it, so no record has it
	}
	row := q.QueryRow(ctx, `SELECT `+columns+` FROM records WHERE kind = $1 AND account = $2 AND key_fold = $3`,
		string(kind), account, fold(key))
	return scanOne(row)
}

func getByID(ctx context.Context, q queryer, kind store.Kind, id string) (store.Record, error) {
	if !validKey(id) {
		return store.Record{}, store.ErrNotFound
	}
	row := q.QueryRow(ctx, `SELECT `+columns+` FROM records WHERE kind = $1 AND id = $2`, string(kind), id)
	return scanOne(row)
}

// The prefix test is a range start (which the primary key index serves) plus an exact comparison of the first
// characters; LIKE would treat '_' and '%' in IAM paths and names as patterns.
const prefixWhere = `kind = $1 AND account = $2 AND key_fold >= $3 AND substr(key_fold, 1, $4) = $3`

func list(ctx context.Context, q queryer, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	if max < 1 {
		return store.Page{}, fmt.Errorf("postgres: list: max %d < 1", max)
	}
	if !validPrefix(prefix) || !validPrefix(account) {
		return store.Page{}, nil // no key can start with it, no record has that account
	}
	p := fold(prefix)
	// Keyset pagination: the marker is the last key_fold returned, so records created or deleted between pages
	// cannot shift the listing (an offset would repeat or skip survivors). The first page's marker is "", before
	// every key, since keys are never empty. A marker that is not one we returned may hold NUL or invalid UTF-8,
	// which text cannot: clean it so it is an odd position, not an error. One more than max tells whether there
	// is a next page.
	marker = strings.ReplaceAll(strings.ToValidUTF8(marker, "\uFFFD"), "\x00", "")
	query := `SELECT ` + columns + `, key_fold FROM records WHERE ` + prefixWhere + ` AND key_fold > $5 ORDER BY key_fold LIMIT $6`
	rows, err := q.Query(ctx, query, string(kind), account, p, utf8.RuneCountInString(p), marker, max+1)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: list: %w", err)
	}
	defer rows.Close()
	var page store.Page
	var lastFold string
	for rows.Next() {
		if len(page.Records) == max {
			page.Next = lastFold
			break
		}
		var r store.Record
		if err := scan(rows, &r, &lastFold); err != nil {
			return store.Page{}, fmt.Errorf("postgres: list: %w", err)
		}
		page.Records = append(page.Records, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("postgres: list: %w", err)
	}
	return page, nil
}

func count(ctx context.Context, q queryer, kind store.Kind, account, prefix string) (int, error) {
	if !validPrefix(prefix) || !validPrefix(account) {
		return 0, nil
	}
	p := fold(prefix)
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM records WHERE `+prefixWhere,
		string(kind), account, p, utf8.RuneCountInString(p)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count: %w", err)
	}
	return n, nil
}

func scanOne(row pgx.Row) (store.Record, error) {
	var r store.Record
	err := scan(row, &r)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("postgres: get: %w", err)
	}
	return r, nil
}

func scan(row pgx.Row, r *store.Record, extra ...any) error {
	var kind string
	var id *string
	var created, updated int64
	dest := append([]any{&kind, &r.Account, &r.Key, &id, &r.Data, &r.Version, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	r.Kind = store.Kind(kind)
	if id != nil {
		r.ID = *id
	}
	r.Created, r.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if len(r.Data) == 0 {
		r.Data = nil
	}
	return nil
}

// mapErr turns a unique violation into store.ErrAlreadyExists. Statements avoid them (ON CONFLICT, checks under
// the lock); this is the backstop for engines where the lock does not serialize.
func mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return store.ErrAlreadyExists
	}
	return err
}

// fold is the case folding behind uniqueness, lookups and order. It is done here, not with SQL's lower(), so
// every backend folds alike (lower() depends on the database's locale).
func fold(key string) string { return strings.ToLower(key) }

// validKey reports whether key can be stored: non-empty valid UTF-8 without NUL (PostgreSQL text rejects NUL
// and invalid UTF-8, and every backend must accept the same keys).
func validKey(key string) bool { return key != "" && validPrefix(key) }

func validPrefix(p string) bool { return utf8.ValidString(p) && !strings.ContainsRune(p, 0) }

func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// data keeps empty Data out of NULL (the column is NOT NULL).
func data(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
