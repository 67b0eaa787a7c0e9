package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/internal/auditrow"
)

var _ store.AuditLog = (*Store)(nil)

// The audit trail is stored in blocks (see auditrow.EncodeBlock and migration 3): each append writes one row per
// account of the batch, whatever its number of records, instead of a row and a dozen index rows per record. In
// modernc's pure-Go SQLite each B-tree insert costs microseconds of CPU, and recording is on every request's path.
const (
	insertBlockSQL = `INSERT INTO audit_blocks (account, min_time, max_time, n, terms, data) VALUES (?, ?, ?, ?, ?, ?)`
	// Blocks newest first by their newest record; keyset by (max_time, seq). lookup reads them a chunk at a time.
	blocksSQL = `SELECT seq, max_time, terms FROM audit_blocks
		WHERE account = ? AND max_time >= ? AND min_time <= ? AND max_time <= ? AND (max_time, seq) < (?, ?)
		ORDER BY max_time DESC, seq DESC LIMIT ?`
	blockDataSQL = `SELECT data FROM audit_blocks WHERE seq = ?`
	blockChunk   = 64
)

// AppendAudit implements store.AuditLog. The batch is one transaction on the write connection, so it queues
// behind record transactions like any writer and its commit syncs the WAL (synchronous=FULL): one fsync for the
// whole batch, which is what makes group commit pay.
func (s *Store) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := checkAudit(recs); err != nil {
		return err
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer sqlTx.Rollback() // no-op after Commit
	if err := appendAudit(ctx, sqlTx.StmtContext(ctx, s.insBlock), recs); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit audit: %w", err)
	}
	return nil
}

// AppendAudit implements store.Tx.
func (t *tx) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if t.done {
		return errTxDone
	}
	if len(recs) == 0 {
		return nil
	}
	if err := checkAudit(recs); err != nil {
		return err
	}
	return appendAudit(ctx, t.q.StmtContext(ctx, t.insBlock), recs)
}

func checkAudit(recs []store.AuditRecord) error {
	for _, r := range recs {
		if err := auditrow.Check(r); err != nil {
			return fmt.Errorf("sqlite: append audit: %w", err)
		}
	}
	return nil
}

// appendAudit writes recs as blocks, one per account (in the usual batch all records are of one account).
func appendAudit(ctx context.Context, ins *sql.Stmt, recs []store.AuditRecord) error {
	for len(recs) > 0 {
		// The longest run of one account, at most BlockSpan records; other accounts' records form later blocks.
		n := 1
		for n < len(recs) && n < auditrow.BlockSpan && recs[n].Account == recs[0].Account {
			n++
		}
		if err := insertBlock(ctx, ins, recs[:n]); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

func insertBlock(ctx context.Context, ins *sql.Stmt, recs []store.AuditRecord) error {
	size := 0
	for i := range recs {
		size += 128 + len(recs[i].Data)
	}
	data, terms, minT, maxT := auditrow.EncodeBlock(make([]byte, 0, size), recs)
	if _, err := ins.ExecContext(ctx, auditrow.Clean(recs[0].Account), minT, maxT, len(recs), terms, data); err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// LookupAudit implements store.AuditLog. It reads blocks newest first (by their newest record) and keeps the
// q.Max+1 newest matching records seen; it stops at the first block whose newest record is older than all of
// those, since no later block can hold a newer one.
//
// A record appended twice (a batch retried after an ambiguous failure: same account, event id and time) is
// returned once, at the position of its first copy.
func (s *Store) LookupAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	if q.Max < 1 {
		return nil, "", fmt.Errorf("sqlite: lookup audit: max %d < 1", q.Max)
	}
	if q.Attribute != "" && !auditrow.Known(q.Attribute) {
		return nil, "", fmt.Errorf("sqlite: lookup audit: unknown attribute %q", q.Attribute)
	}
	curT, curS := int64(1<<63-1), int64(1<<63-1)
	if q.Marker != "" {
		var err error
		if curT, curS, err = auditrow.ParseMarker(q.Marker); err != nil {
			return nil, "", err
		}
	}
	start, end := auditrow.Bounds(q)
	hi := min(end, curT)
	if start > hi {
		return nil, "", nil
	}
	account := auditrow.Clean(q.Account)
	var term uint64
	if q.Attribute != "" {
		term = auditrow.Term(q.Attribute, q.Value)
	}
	want := q.Max + 1
	type cand struct {
		r        store.AuditRecord
		t, seq   int64
		dedupKey string
	}
	var cands []cand
	first := map[string]int64{}   // (event id, time) -> lowest position seen
	less := func(a, b cand) int { // newest first
		if a.t != b.t {
			if a.t > b.t {
				return -1
			}
			return 1
		}
		if a.seq > b.seq {
			return -1
		}
		if a.seq < b.seq {
			return 1
		}
		return 0
	}
	// Keyset over blocks: (max_time, seq) below the last block read.
	bT, bS := int64(1<<63-1), int64(1<<63-1)
	for done := false; !done; {
		type block struct {
			seq, maxT int64
			terms     []byte
		}
		var blocks []block
		rows, err := s.r.QueryContext(ctx, blocksSQL, account, start, hi, bT, bT, bS, blockChunk)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
		}
		for rows.Next() {
			var b block
			if err := rows.Scan(&b.seq, &b.maxT, &b.terms); err != nil {
				rows.Close()
				return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
			}
			blocks = append(blocks, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
		}
		if len(blocks) < blockChunk {
			done = true
		}
		for _, b := range blocks {
			bT, bS = b.maxT, b.seq
			if len(cands) >= want && b.maxT < cands[want-1].t {
				done = true
				break
			}
			if q.Attribute != "" && !auditrow.HasTerm(b.terms, term) {
				continue
			}
			var data []byte
			if err := s.r.QueryRowContext(ctx, blockDataSQL, b.seq).Scan(&data); err != nil {
				return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
			}
			err := auditrow.DecodeBlock(data, account, func(i int, r store.AuditRecord) bool {
				t, seq := r.Time.UnixMicro(), b.seq*auditrow.BlockSpan+int64(i)
				if t < start || t > end || t > curT || (t == curT && seq >= curS) {
					return true
				}
				if q.Attribute != "" && !auditrow.Matches(&r, q.Attribute, q.Value) {
					return true
				}
				if r.EventID == "" {
					return true // a pruned record's slot
				}
				key := r.EventID + "\x00" + strconv.FormatInt(t, 10)
				if p, ok := first[key]; ok && p <= seq {
					return true
				}
				first[key] = seq
				cands = append(cands, cand{r: r, t: t, seq: seq, dedupKey: key})
				return true
			})
			if err != nil {
				return nil, "", fmt.Errorf("sqlite: lookup audit: block %d: %w", b.seq, err)
			}
			// Drop later copies of a record whose first copy has been seen, then keep the newest want.
			cands = slices.DeleteFunc(cands, func(c cand) bool { return first[c.dedupKey] != c.seq })
			slices.SortFunc(cands, less)
			if len(cands) > want {
				cands = cands[:want]
			}
		}
	}
	var next string
	if len(cands) > q.Max {
		cands = cands[:q.Max]
		last := cands[q.Max-1]
		next = auditrow.Marker(last.t, last.seq)
	}
	out := make([]store.AuditRecord, len(cands))
	for i, c := range cands {
		out[i] = c.r
	}
	return out, next, nil
}

// PruneAudit implements store.AuditLog. Blocks wholly before before are deleted; a block that straddles it is
// rewritten without its old records (their positions stay those of the block, so markers remain valid).
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: begin: %w", err)
	}
	defer sqlTx.Rollback()
	b := before.UnixMicro()
	var n int
	if err := sqlTx.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM audit_blocks WHERE max_time < ?`, b).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	if _, err := sqlTx.ExecContext(ctx, `DELETE FROM audit_blocks WHERE max_time < ?`, b); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	type straddle struct {
		seq     int64
		account string
		data    []byte
	}
	var part []straddle
	rows, err := sqlTx.QueryContext(ctx, `SELECT seq, account, data FROM audit_blocks WHERE min_time < ?`, b)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	for rows.Next() {
		var p straddle
		if err := rows.Scan(&p.seq, &p.account, &p.data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: prune audit: %w", err)
		}
		part = append(part, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	for _, p := range part {
		n1, err := rewriteBlock(ctx, sqlTx, p.seq, p.account, p.data, b)
		if err != nil {
			return 0, err
		}
		n += n1
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: commit prune: %w", err)
	}
	return n, nil
}

// rewriteBlock rewrites a block without its records before b, and returns how many it dropped. A dropped record
// leaves a tombstone (auditrow.Tombstone) in its slot, so the survivors keep their positions and markers stay valid.
func rewriteBlock(ctx context.Context, q *sql.Tx, seq int64, account string, data []byte, b int64) (int, error) {
	var keep []store.AuditRecord
	dropped := 0
	if err := auditrow.DecodeBlock(data, account, func(_ int, r store.AuditRecord) bool {
		if r.EventID != "" && r.Time.UnixMicro() < b {
			dropped++
			r = auditrow.Tombstone
		}
		keep = append(keep, r)
		return true
	}); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: block %d: %w", seq, err)
	}
	if dropped == 0 {
		return 0, nil
	}
	enc, terms, minT, maxT := auditrow.EncodeBlock(nil, keep)
	if _, err := q.ExecContext(ctx, `UPDATE audit_blocks SET min_time = ?, max_time = ?, n = n - ?, terms = ?, data = ? WHERE seq = ?`,
		minT, maxT, dropped, terms, enc, seq); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	return dropped, nil
}
