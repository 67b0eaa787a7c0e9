-- +goose Up
-- records holds every entity (see package store). key_fold is the key lowercased by the store (Go's
-- strings.ToLower), so uniqueness and order ignore case the same way in every backend; BINARY collation
-- orders it by UTF-8 bytes, as the contract says. Times are Unix microseconds, the precision both backends keep.
CREATE TABLE records (
    kind     TEXT    NOT NULL,
    account  TEXT    NOT NULL,
    key_fold TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    id       TEXT,
    data     BLOB    NOT NULL,
    version  INTEGER NOT NULL,
    created  INTEGER NOT NULL,
    updated  INTEGER NOT NULL,
    PRIMARY KEY (kind, account, key_fold)
) WITHOUT ROWID;

-- Ids (IAM unique ids, access key ids) are unique within a kind across accounts; records without one store NULL.
CREATE UNIQUE INDEX records_kind_id ON records (kind, id) WHERE id IS NOT NULL;

-- change_seq is the store-wide change sequence: one row, bumped by every transaction that wrote.
CREATE TABLE change_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO change_seq (id, n) VALUES (1, 0);

-- +goose Down
DROP TABLE change_seq;
DROP TABLE records;
