package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/persona-iam/persona/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock written into records' Created and Updated; time.Now when nil.
	Now func() time.Time
	// BusyTimeout is how long a connection waits for a lock held by another process before failing; 10s when 0.
	BusyTimeout time.Duration
	// ReadConns is the number of connections serving reads outside transactions; GOMAXPROCS (at least 2) when 0.
	ReadConns int
}

// Store is a store.Store in one SQLite database file.
type Store struct {
	// w is the one connection that writes. Every Tx queues for it in database/sql's pool instead of racing for
	// SQLite's write lock, which would end in SQLITE_BUSY storms; BEGIN IMMEDIATE (the _txlock DSN option) still
	// takes the lock up front, so a second process on the same file waits (busy_timeout) instead of failing
	// mid-transaction on a read-to-write lock upgrade.
	w *sql.DB
	// r serves reads outside transactions. In WAL mode they run concurrently with each other and with the writer.
	r *sql.DB
	// rq is r with the read queries prepared.
	rq *prepared
	// insBlock is the audit block insert, prepared once on the write connection (see audit.go).
	insBlock *sql.Stmt
	now      func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path and applies pending schema migrations.
// path is a file name; it MUST NOT contain '?' (the start of the DSN's options).
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = max(runtime.GOMAXPROCS(0), 2)
	}
	s := &Store{now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	// https://www.sqlite.org/pragma.html#pragma_synchronous: in WAL mode, synchronous=FULL syncs the WAL on every
	// commit, so a transaction acknowledged to a client survives kill -9 and power loss (NORMAL would not
	// survive power loss).
	common := fmt.Sprintf("_pragma=busy_timeout(%d)", busy.Milliseconds())
	w, err := sql.Open("sqlite", "file:"+path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s.w = w
	if err := migrate(ctx, w, -1); err != nil {
		w.Close()
		return nil, err
	}
	if s.insBlock, err = w.PrepareContext(ctx, insertBlockSQL); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// query_only: a read connection can never write, so every write goes through Tx and bumps the sequence.
	r, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.r = r
	if s.rq, err = prepare(ctx, r, getSQL, getByIDSQL, listSQL, countSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// migrate applies the migrations up to version, or all of them when version < 0.
func migrate(ctx context.Context, db *sql.DB, version int64) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations()...))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if version < 0 {
		_, err = p.Up(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	return get(ctx, s.rq, kind, account, key)
}

// GetByID implements store.Reader.
func (s *Store) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	return getByID(ctx, s.rq, kind, id)
}

// List implements store.Reader.
func (s *Store) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	return list(ctx, s.rq, kind, account, prefix, marker, max)
}

// Count implements store.Reader.
func (s *Store) Count(ctx context.Context, kind store.Kind, account, prefix string) (int, error) {
	return count(ctx, s.rq, kind, account, prefix)
}

// ChangeSeq implements store.Store.
func (s *Store) ChangeSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT n FROM change_seq WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: change sequence: %w", err)
	}
	return n, nil
}

// Tx implements store.Store. Writers are serialized (one write connection, BEGIN IMMEDIATE), so a transaction
// never meets a serialization failure and fn runs exactly once. fn MUST NOT call s.Tx: it would wait forever
// for the write connection it holds.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) (err error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &tx{q: sqlTx, now: micro(s.now()), insBlock: s.insBlock}
	committed := false
	defer func() {
		t.done = true
		if !committed {
			// Also on panic: the write connection returns to the pool clean.
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(ctx, t); err != nil {
		return err
	}
	t.done = true
	if t.wrote {
		if _, err := sqlTx.ExecContext(ctx, `UPDATE change_seq SET n = n + 1 WHERE id = 1`); err != nil {
			return fmt.Errorf("sqlite: bump change sequence: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	committed = true
	return nil
}

// micro drops what a stored time cannot keep (sub-microsecond precision, the monotonic reading, the zone), so
// tx.Now() equals the Created and Updated read back.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// prepared is a read pool whose known queries run as prepared statements: parsing and planning SQL was most
// of a Get's cost. database/sql prepares each statement on each connection the first time it is used there.
type prepared struct {
	*sql.DB
	stmts map[string]*sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB, queries ...string) (*prepared, error) {
	p := &prepared{DB: db, stmts: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		p.stmts[q] = st
	}
	return p, nil
}

func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := p.stmts[query]; ok {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := p.stmts[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// queryer is what reads need: the read pool outside a transaction, the transaction inside one.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// tx is a store.Tx on the write connection.
type tx struct {
	q        *sql.Tx
	insBlock *sql.Stmt
	now      time.Time
	wrote    bool // a statement changed a row: the change sequence must advance
	done     bool // fn returned; using tx now is a caller bug
}

var errTxDone = errors.New("sqlite: transaction used after its function returned")

func (t *tx) Now() time.Time { return t.now }

func (t *tx) Get(ctx context.Context, kind store.Kind, account, key string) (store.Record, error) {
	if t.done {
		return store.Record{}, errTxDone
	}
	return get(ctx, t.q, kind, account, key)
}

func (t *tx) GetByID(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	if t.done {
		return store.Record{}, errTxDone
	}
	return getByID(ctx, t.q, kind, id)
}

func (t *tx) List(ctx context.Context, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	if t.done {
		return store.Page{}, errTxDone
	}
	return list(ctx, t.q, kind, account, prefix, marker, max)
}

func (t *tx) Count(ctx context.Context, kind store.Kind, account, prefix string) (int, error) {
	if t.done {
		return 0, errTxDone
	}
	return count(ctx, t.q, kind, account, prefix)
}

func (t *tx) Create(ctx context.Context, r store.Record) error {
	if t.done {
		return errTxDone
	}
	if !validKey(r.Key) || !validPrefix(r.Account) || !validPrefix(r.ID) {
		return fmt.Errorf("sqlite: invalid key %q (or account, id): keys are non-empty UTF-8 without NUL", r.Key)
	}
	now := t.now.UnixMicro()
	// ON CONFLICT DO NOTHING covers both unique constraints (key and id) without failing the statement.
	res, err := t.q.ExecContext(ctx, `INSERT INTO records (kind, account, key_fold, key, id, data, version, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`,
		string(r.Kind), r.Account, fold(r.Key), r.Key, nullID(r.ID), data(r.Data), now, now)
	if err != nil {
		return fmt.Errorf("sqlite: create: %w", mapErr(err))
	}
	return t.changed(res, store.ErrAlreadyExists)
}

func (t *tx) Update(ctx context.Context, r store.Record) error {
	if t.done {
		return errTxDone
	}
	if !validKey(r.Key) || !validPrefix(r.Account) {
		return store.ErrNotFound
	}
	if !validPrefix(r.ID) {
		return fmt.Errorf("sqlite: invalid id %q: ids are UTF-8 without NUL", r.ID)
	}
	if r.ID != "" {
		// The id may be taken by another record. Writers are serialized, so this check cannot race.
		var taken int
		err := t.q.QueryRowContext(ctx, `SELECT 1 FROM records WHERE kind = ? AND id = ? AND NOT (account = ? AND key_fold = ?)`,
			string(r.Kind), r.ID, r.Account, fold(r.Key)).Scan(&taken)
		switch {
		case err == nil:
			return store.ErrAlreadyExists
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: update: %w", err)
		}
	}
	res, err := t.q.ExecContext(ctx, `UPDATE records SET id = ?, data = ?, version = version + 1, updated = ?
		WHERE kind = ? AND account = ? AND key_fold = ?`,
		nullID(r.ID), data(r.Data), t.now.UnixMicro(), string(r.Kind), r.Account, fold(r.Key))
	if err != nil {
		return fmt.Errorf("sqlite: update: %w", mapErr(err))
	}
	return t.changed(res, store.ErrNotFound)
}

func (t *tx) Delete(ctx context.Context, kind store.Kind, account, key string) error {
	if t.done {
		return errTxDone
	}
	if !validKey(key) {
		return store.ErrNotFound
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND account = ? AND key_fold = ?`,
		string(kind), account, fold(key))
	if err != nil {
		return fmt.Errorf("sqlite: delete: %w", err)
	}
	return t.changed(res, store.ErrNotFound)
}

// changed records that a statement wrote, or returns none when it changed no row.
func (t *tx) changed(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n == 0 {
		return none
	}
	t.wrote = true
	return nil
}

// The read queries, also prepared once on the read pool (see prepared).
const (
	columns    = `kind, account, key, id, data, version, created, updated`
	getSQL     = `SELECT ` + columns + ` FROM records WHERE kind = ? AND account = ? AND key_fold = ?`
	getByIDSQL = `SELECT ` + columns + ` FROM records WHERE kind = ? AND id = ?`
	// The prefix test is a range start (which the primary key index serves) plus an exact comparison of the
	// first characters; LIKE would treat '_' and '%' in IAM paths and names as patterns.
	prefixWhere = `kind = ? AND account = ? AND key_fold >= ? AND substr(key_fold, 1, ?) = ?`
	// Keyset pagination: the marker is the last key_fold returned, so records created or deleted between pages
	// cannot shift the listing (an offset would repeat or skip survivors). The first page's marker is "", before
	// every key, since keys are never empty.
	listSQL  = `SELECT ` + columns + `, key_fold FROM records WHERE ` + prefixWhere + ` AND key_fold > ? ORDER BY key_fold LIMIT ?`
	countSQL = `SELECT count(*) FROM records WHERE ` + prefixWhere
)

func get(ctx context.Context, q queryer, kind store.Kind, account, key string) (store.Record, error) {
	if !validKey(key) {
		return store.Record{}, store.ErrNotFound
	}
	row := q.QueryRowContext(ctx, getSQL, string(kind), account, fold(key))
	return scanOne(row)
}

func getByID(ctx context.Context, q queryer, kind store.Kind, id string) (store.Record, error) {
	if id == "" {
		return store.Record{}, store.ErrNotFound
	}
	row := q.QueryRowContext(ctx, getByIDSQL, string(kind), id)
	return scanOne(row)
}

func list(ctx context.Context, q queryer, kind store.Kind, account, prefix, marker string, max int) (store.Page, error) {
	if max < 1 {
		return store.Page{}, fmt.Errorf("sqlite: list: max %d < 1", max)
	}
	if !validPrefix(prefix) {
		return store.Page{}, nil // no key can start with it
	}
	p := fold(prefix)
	// One more than max tells whether there is a next page.
	rows, err := q.QueryContext(ctx, listSQL, string(kind), account, p, utf8.RuneCountInString(p), p, marker, max+1)
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
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
			return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
		}
		page.Records = append(page.Records, r)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	return page, nil
}

func count(ctx context.Context, q queryer, kind store.Kind, account, prefix string) (int, error) {
	if !validPrefix(prefix) {
		return 0, nil
	}
	p := fold(prefix)
	var n int
	err := q.QueryRowContext(ctx, countSQL, string(kind), account, p, utf8.RuneCountInString(p), p).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return n, nil
}

func scanOne(row *sql.Row) (store.Record, error) {
	var r store.Record
	err := scan(row, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("sqlite: get: %w", err)
	}
	return r, nil
}

func scan(row interface{ Scan(...any) error }, r *store.Record, extra ...any) error {
	var kind string
	var id sql.NullString
	var created, updated int64
	dest := append([]any{&kind, &r.Account, &r.Key, &id, &r.Data, &r.Version, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	r.Kind, r.ID = store.Kind(kind), id.String
	r.Created, r.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if len(r.Data) == 0 {
		r.Data = nil
	}
	return nil
}

// mapErr turns a unique-constraint failure into store.ErrAlreadyExists. Statements avoid them (ON CONFLICT,
// checks under the write lock); this is the backstop.
func mapErr(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return store.ErrAlreadyExists
	}
	return err
}

// fold is the case folding behind uniqueness, lookups and order. It is done here, not with SQL's lower(), so
// every backend folds alike (SQLite's lower() folds ASCII only).
func fold(key string) string { return strings.ToLower(key) }

// validKey reports whether key can be stored: non-empty valid UTF-8 without NUL (PostgreSQL text rejects NUL
// and invalid UTF-8, and every backend must accept the same keys).
func validKey(key string) bool {
	return key != "" && validPrefix(key)
}

func validPrefix(p string) bool {
	return utf8.ValidString(p) && !strings.ContainsRune(p, 0)
}

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
