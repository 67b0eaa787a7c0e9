package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/persona-iam/persona/internal/store"
	"github.com/persona-iam/persona/internal/store/internal/auditrow"
)

// goMigrations are the migrations written in Go, numbered among the SQL files of migrations/.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(3, &goose.GoFunc{RunTx: auditBlocksUp}, nil),
	}
}

// auditBlocksUp (migration 3) moves the audit trail from a row per record plus a row per lookup attribute value
// (migration 2: some 22 B-tree inserts per record, most of a request's CPU under load) to blocks: one row per
// appended batch and account, holding the records encoded together and the hashes of their attribute values
// (see auditrow.EncodeBlock). Existing records are moved in their order of appending, so positions keep their
// order, and the old tables are dropped.
func auditBlocksUp(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `
CREATE TABLE audit_blocks (
    seq      INTEGER PRIMARY KEY, -- record positions are seq * BlockSpan + index in the block
    account  TEXT    NOT NULL,
    min_time INTEGER NOT NULL,                  -- Unix microseconds of the block's oldest and newest record
    max_time INTEGER NOT NULL,
    n        INTEGER NOT NULL,                  -- records in the block, pruned ones not counted
    terms    BLOB    NOT NULL,                  -- sorted 64-bit hashes of the records' attribute values
    data     BLOB    NOT NULL                   -- the records
);
-- Lookups read an account's blocks newest first.
CREATE INDEX audit_blocks_account_time ON audit_blocks (account, max_time);`); err != nil {
		return fmt.Errorf("create audit_blocks: %w", err)
	}
	const page = 1024
	last := int64(0)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT seq, account, event_id, time, event_name, event_source, username,
			access_key_id, principal_arn, read_only, error_code, resources, data FROM audit_events WHERE seq > ?
			ORDER BY seq LIMIT ?`, last, page)
		if err != nil {
			return err
		}
		var recs []store.AuditRecord
		for rows.Next() {
			var r store.AuditRecord
			var t int64
			var resources string
			if err := rows.Scan(&last, &r.Account, &r.EventID, &t, &r.EventName, &r.EventSource, &r.Username,
				&r.AccessKeyID, &r.PrincipalARN, &r.ReadOnly, &r.ErrorCode, &resources, &r.Data); err != nil {
				rows.Close()
				return err
			}
			r.Time = time.UnixMicro(t)
			if r.Resources, err = auditrow.ParseResources(resources); err != nil {
				rows.Close()
				return fmt.Errorf("audit event %d: resources: %w", last, err)
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		ins, err := tx.PrepareContext(ctx, insertBlockSQL)
		if err != nil {
			return err
		}
		err = appendAudit(ctx, ins, recs)
		ins.Close()
		if err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE audit_attrs; DROP TABLE audit_events;`); err != nil {
		return fmt.Errorf("drop old audit tables: %w", err)
	}
	return nil
}
