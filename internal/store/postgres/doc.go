// Package postgres is Persona's shared store: a store.Store in a PostgreSQL database, so several stateless
// Persona nodes can serve the same accounts.
//
// Every write transaction locks the one change_seq row first, which serializes writers across all nodes (see
// Store.Tx for why this rather than SERIALIZABLE), and retries on serialization failures and deadlocks for
// engines where that lock is not enough. The SQL is portable (no LISTEN/NOTIFY, no advisory locks), so it also
// runs on PostgreSQL-compatible distributed engines. The schema is migrated on Open with goose from embedded
// SQL files.
package postgres
