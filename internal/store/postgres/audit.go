package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/internal/auditrow"
)

var _ store.AuditLog = (*Store)(nil)

const (
	// One statement per record: insert the event and, only if it was new, its attribute rows. Every record of a
	// batch is sent in one pgx.Batch, so a batch costs one round trip and one commit.
	insertAuditSQL = `WITH e AS (
		INSERT INTO audit_events (account, event_id, time, event_name, event_source, username, access_key_id,
			principal_arn, read_only, error_code, resources, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (account, event_id) DO NOTHING RETURNING seq)
		INSERT INTO audit_attrs (account, attr, value, time, seq)
		SELECT $1, x.attr, x.value, $3, e.seq FROM e, unnest($13::text[], $14::text[]) AS x(attr, value)
		ON CONFLICT DO NOTHING`

	auditColumns = `e.seq, e.account, e.event_id, e.time, e.event_name, e.event_source, e.username, e.access_key_id,
		e.principal_arn, e.read_only, e.error_code, e.resources, e.data`
	// Keyset pagination newest first: the marker is the (time, seq) of the last record returned.
	lookupAllSQL = `SELECT ` + auditColumns + ` FROM audit_events e
		WHERE e.account = $1 AND e.time >= $2 AND e.time <= $3 AND (e.time, e.seq) < ($4, $5)
		ORDER BY e.time DESC, e.seq DESC LIMIT $6`
	// EventId is looked up in the events' unique (account, event_id) index: it has no attribute rows.
	lookupEventIDSQL = `SELECT ` + auditColumns + ` FROM audit_events e
		WHERE e.account = $1 AND e.time >= $2 AND e.time <= $3 AND (e.time, e.seq) < ($4, $5) AND e.event_id = $6
		ORDER BY e.time DESC, e.seq DESC LIMIT $7`
	lookupAttrSQL = `SELECT ` + auditColumns + ` FROM audit_attrs a JOIN audit_events e ON e.seq = a.seq
		WHERE a.account = $1 AND a.attr = $6 AND a.value = $7 AND a.time >= $2 AND a.time <= $3
		AND (a.time, a.seq) < ($4, $5)
		ORDER BY a.time DESC, a.seq DESC LIMIT $8`
)

// AppendAudit implements store.AuditLog. Unlike Tx it does not lock change_seq: audit batches do not read
// records, so they need not queue behind record writers, and nodes append concurrently.
func (s *Store) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := s.appendOnce(ctx, recs)
		if err == nil || !retryable(err) {
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

func (s *Store) appendOnce(ctx context.Context, recs []store.AuditRecord) error {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	if err := appendAudit(ctx, pgTx, recs); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit audit: %w", err)
	}
	return nil
}

// AppendAudit implements store.Tx.
func (t *tx) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if t.done {
		return errTxDone
	}
	return t.note(appendAudit(ctx, t.q, recs))
}

func appendAudit(ctx context.Context, q pgx.Tx, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range recs {
		if err := auditrow.Check(r); err != nil {
			return fmt.Errorf("postgres: append audit: %w", err)
		}
		attrs := auditrow.Attrs(r)
		names, values := make([]string, len(attrs)), make([]string, len(attrs))
		for i, a := range attrs {
			names[i], values[i] = string(a.Attr), a.Value
		}
		b.Queue(insertAuditSQL, auditrow.Clean(r.Account), auditrow.Clean(r.EventID), r.Time.UnixMicro(),
			auditrow.Clean(r.EventName), auditrow.Clean(r.EventSource), auditrow.Clean(r.Username),
			auditrow.Clean(r.AccessKeyID), auditrow.Clean(r.PrincipalARN), r.ReadOnly, auditrow.Clean(r.ErrorCode),
			auditrow.Resources(r.Resources), data(r.Data), names, values)
	}
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// LookupAudit implements store.AuditLog.
func (s *Store) LookupAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	if q.Max < 1 {
		return nil, "", fmt.Errorf("postgres: lookup audit: max %d < 1", q.Max)
	}
	if q.Attribute != "" && !auditrow.Known(q.Attribute) {
		return nil, "", fmt.Errorf("postgres: lookup audit: unknown attribute %q", q.Attribute)
	}
	curT, curS := int64(1<<63-1), int64(1<<63-1)
	if q.Marker != "" {
		var err error
		if curT, curS, err = auditrow.ParseMarker(q.Marker); err != nil {
			return nil, "", err
		}
	}
	start, end := auditrow.Bounds(q)
	var rows pgx.Rows
	var err error
	column, value, match, filtered := auditrow.FilterColumn(q.Attribute, q.Value)
	if filtered && !match {
		return nil, "", nil
	}
	switch {
	case filtered:
		// The column is one of FilterColumn's fixed names, never the caller's text.
		rows, err = s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_events e
			WHERE e.account = $1 AND e.time >= $2 AND e.time <= $3 AND (e.time, e.seq) < ($4, $5) AND e.`+column+` = $6
			ORDER BY e.time DESC, e.seq DESC LIMIT $7`, auditrow.Clean(q.Account), start, end, curT, curS, value, q.Max+1)
	case q.Attribute == "":
		rows, err = s.pool.Query(ctx, lookupAllSQL, auditrow.Clean(q.Account), start, end, curT, curS, q.Max+1)
	case q.Attribute == store.AuditEventID:
		rows, err = s.pool.Query(ctx, lookupEventIDSQL, auditrow.Clean(q.Account), start, end, curT, curS,
			auditrow.Clean(q.Value), q.Max+1)
	default:
		rows, err = s.pool.Query(ctx, lookupAttrSQL, auditrow.Clean(q.Account), start, end, curT, curS,
			string(q.Attribute), auditrow.Value(q.Value), q.Max+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("postgres: lookup audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	var next string
	var lastT, lastS int64
	for rows.Next() {
		if len(out) == q.Max {
			next = auditrow.Marker(lastT, lastS)
			break
		}
		var r store.AuditRecord
		var resources string
		if err := rows.Scan(&lastS, &r.Account, &r.EventID, &lastT, &r.EventName, &r.EventSource, &r.Username,
			&r.AccessKeyID, &r.PrincipalARN, &r.ReadOnly, &r.ErrorCode, &resources, &r.Data); err != nil {
			return nil, "", fmt.Errorf("postgres: lookup audit: %w", err)
		}
		r.Time = time.UnixMicro(lastT).UTC()
		if r.Resources, err = auditrow.ParseResources(resources); err != nil {
			return nil, "", fmt.Errorf("postgres: lookup audit: resources: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: lookup audit: %w", err)
	}
	return out, next, nil
}

// PruneAudit implements store.AuditLog.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("postgres: begin: %w", err)
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))
	b := before.UnixMicro()
	if _, err := pgTx.Exec(ctx, `DELETE FROM audit_attrs WHERE time < $1`, b); err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	tag, err := pgTx.Exec(ctx, `DELETE FROM audit_events WHERE time < $1`, b)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	if err := pgTx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: commit prune: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
