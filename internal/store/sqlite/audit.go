package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/internal/auditrow"
)

var _ store.AuditLog = (*Store)(nil)

const (
	insertAuditSQL = `INSERT INTO audit_events (account, event_id, time, event_name, event_source, username,
		access_key_id, principal_arn, read_only, error_code, resources, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, event_id) DO NOTHING RETURNING seq`
	insertAttrSQL = `INSERT INTO audit_attrs (account, attr, value, time, seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

	auditColumns = `e.seq, e.account, e.event_id, e.time, e.event_name, e.event_source, e.username, e.access_key_id,
		e.principal_arn, e.read_only, e.error_code, e.resources, e.data`
	// Keyset pagination newest first: the marker is the (time, seq) of the last record returned.
	lookupAllSQL = `SELECT ` + auditColumns + ` FROM audit_events e
		WHERE e.account = ? AND e.time >= ? AND e.time <= ? AND (e.time, e.seq) < (?, ?)
		ORDER BY e.time DESC, e.seq DESC LIMIT ?`
	// EventId is looked up in the events' unique (account, event_id) index: it has no attribute rows.
	lookupEventIDSQL = `SELECT ` + auditColumns + ` FROM audit_events e
		WHERE e.account = ? AND e.event_id = ? AND e.time >= ? AND e.time <= ? AND (e.time, e.seq) < (?, ?)
		ORDER BY e.time DESC, e.seq DESC LIMIT ?`
	lookupAttrSQL = `SELECT ` + auditColumns + ` FROM audit_attrs a JOIN audit_events e ON e.seq = a.seq
		WHERE a.account = ? AND a.attr = ? AND a.value = ? AND a.time >= ? AND a.time <= ? AND (a.time, a.seq) < (?, ?)
		ORDER BY a.time DESC, a.seq DESC LIMIT ?`
)

// AppendAudit implements store.AuditLog. The batch is one transaction on the write connection, so it queues
// behind record transactions like any writer and its commit syncs the WAL (synchronous=FULL): one fsync for the
// whole batch, which is what makes group commit pay.
func (s *Store) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer sqlTx.Rollback() // no-op after Commit
	if err := appendAudit(ctx, sqlTx, recs); err != nil {
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
	return appendAudit(ctx, t.q, recs)
}

func appendAudit(ctx context.Context, q *sql.Tx, recs []store.AuditRecord) error {
	for _, r := range recs {
		if err := auditrow.Check(r); err != nil {
			return fmt.Errorf("sqlite: append audit: %w", err)
		}
	}
	ins, err := q.PrepareContext(ctx, insertAuditSQL)
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	defer ins.Close()
	attr, err := q.PrepareContext(ctx, insertAttrSQL)
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	defer attr.Close()
	for _, r := range recs {
		account, t := auditrow.Clean(r.Account), r.Time.UnixMicro()
		var seq int64
		err := ins.QueryRowContext(ctx, account, auditrow.Clean(r.EventID), t, auditrow.Clean(r.EventName),
			auditrow.Clean(r.EventSource), auditrow.Clean(r.Username), auditrow.Clean(r.AccessKeyID),
			auditrow.Clean(r.PrincipalARN), r.ReadOnly, auditrow.Clean(r.ErrorCode), auditrow.Resources(r.Resources),
			data(r.Data)).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			continue // already stored: appending is idempotent per (account, event id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: append audit: %w", err)
		}
		for _, a := range auditrow.Attrs(r) {
			if _, err := attr.ExecContext(ctx, account, string(a.Attr), a.Value, t, seq); err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
		}
	}
	return nil
}

// LookupAudit implements store.AuditLog.
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
	var rows *sql.Rows
	var err error
	column, value, match, filtered := auditrow.FilterColumn(q.Attribute, q.Value)
	if filtered && !match {
		return nil, "", nil
	}
	switch {
	case filtered:
		// The column is one of FilterColumn's fixed names, never the caller's text.
		rows, err = s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events e
			WHERE e.account = ? AND e.time >= ? AND e.time <= ? AND (e.time, e.seq) < (?, ?) AND e.`+column+` = ?
			ORDER BY e.time DESC, e.seq DESC LIMIT ?`, auditrow.Clean(q.Account), start, end, curT, curS, value, q.Max+1)
	case q.Attribute == "":
		rows, err = s.r.QueryContext(ctx, lookupAllSQL, auditrow.Clean(q.Account), start, end, curT, curS, q.Max+1)
	case q.Attribute == store.AuditEventID:
		rows, err = s.r.QueryContext(ctx, lookupEventIDSQL, auditrow.Clean(q.Account), auditrow.Clean(q.Value),
			start, end, curT, curS, q.Max+1)
	default:
		rows, err = s.r.QueryContext(ctx, lookupAttrSQL, auditrow.Clean(q.Account), string(q.Attribute),
			auditrow.Value(q.Value), start, end, curT, curS, q.Max+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
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
			return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
		}
		r.Time = time.UnixMicro(lastT).UTC()
		if r.Resources, err = auditrow.ParseResources(resources); err != nil {
			return nil, "", fmt.Errorf("sqlite: lookup audit: resources: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: lookup audit: %w", err)
	}
	return out, next, nil
}

// PruneAudit implements store.AuditLog.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: begin: %w", err)
	}
	defer sqlTx.Rollback()
	b := before.UnixMicro()
	if _, err := sqlTx.ExecContext(ctx, `DELETE FROM audit_attrs WHERE time < ?`, b); err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	res, err := sqlTx.ExecContext(ctx, `DELETE FROM audit_events WHERE time < ?`, b)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: commit prune: %w", err)
	}
	return int(n), nil
}
