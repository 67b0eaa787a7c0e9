-- +goose Up
-- audit_events is the append-only audit trail (see store.AuditLog). seq orders records appended at the same
-- microsecond and is the row's key; (account, event_id) is unique so a batch appended twice is stored once.
-- Times are Unix microseconds. resources is JSON: [[type, name], ...].
CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    account       TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    time          INTEGER NOT NULL,
    event_name    TEXT    NOT NULL,
    event_source  TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    access_key_id TEXT    NOT NULL,
    principal_arn TEXT    NOT NULL,
    read_only     INTEGER NOT NULL,
    error_code    TEXT    NOT NULL,
    resources     TEXT    NOT NULL,
    data          BLOB    NOT NULL
);
CREATE UNIQUE INDEX audit_events_event_id ON audit_events (account, event_id);
-- Newest-first listing of one account (no attribute), and pruning by time.
CREATE INDEX audit_events_account_time ON audit_events (account, time, seq);
CREATE INDEX audit_events_time ON audit_events (time);

-- audit_attrs indexes every lookup attribute of every event (one row per attribute value, one per distinct
-- resource name and type), so each LookupEvents attribute is one range scan of one index, newest first.
CREATE TABLE audit_attrs (
    account TEXT    NOT NULL,
    attr    TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    time    INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (account, attr, value, time, seq)
) WITHOUT ROWID;
CREATE INDEX audit_attrs_time ON audit_attrs (time);

-- +goose Down
DROP TABLE audit_attrs;
DROP TABLE audit_events;
