// Package sqlite is Persona's embedded store: a store.Store in one SQLite database file (modernc.org/sqlite, no
// cgo), the default in the data directory.
//
// Durability: WAL journal with synchronous=FULL, so a committed transaction is on disk when Tx returns and
// survives kill -9 (TestCrashKeepsAcknowledgedWrites). Concurrency: one write connection that every Tx queues for
// (BEGIN IMMEDIATE), so writers are serialized without SQLITE_BUSY storms, and a pool of read-only connections
// that read concurrently with the writer. The schema is migrated on Open with goose from embedded SQL files.
package sqlite
