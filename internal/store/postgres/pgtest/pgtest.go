// Package pgtest gives tests a fresh PostgreSQL schema in the test database. A missing database fails the test:
// CI must not pass without PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BaseDSN is the test database: PERSONA_TEST_POSTGRES, or the local PostgreSQL's database "test".
func BaseDSN() string {
	if dsn := os.Getenv("PERSONA_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// FreshSchema creates an empty schema, dropped when the test ends, and returns a DSN that uses it.
func FreshSchema(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base := BaseDSN()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database (set PERSONA_TEST_POSTGRES): %v", err)
	}
	defer conn.Close(ctx)
	schema := "persona_test_" + strings.ToLower(rand.Text()[:16])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	// pgx sends unknown connection parameters to the server as run-time parameters.
	switch {
	case !strings.Contains(base, "://"):
		return base + " search_path=" + schema
	case strings.Contains(base, "?"):
		return base + "&search_path=" + schema
	default:
		return base + "?search_path=" + schema
	}
}
