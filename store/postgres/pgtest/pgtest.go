// Package pgtest gives tests a throwaway Postgres database of their own.
// It reads TEST_DATABASE_URL (default: the local server as user postgres).
// When Postgres is unreachable the test is skipped on a developer machine,
// but fails when CI=true, so that CI never passes by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store/postgres"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func serverURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database, drops it when the test ends, and
// returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, serverURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres is unreachable in CI (TEST_DATABASE_URL=%q): %v", serverURL(), err)
		}
		t.Skipf("Postgres is unreachable (set TEST_DATABASE_URL): %v", err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "pscim_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL())
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(serverURL())
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open creates a database, migrates it and opens a store on it.
func Open(t testing.TB, opts postgres.Options) (*postgres.Store, string) {
	t.Helper()
	dbURL := NewDatabase(t)
	s := OpenURL(t, dbURL, opts)
	m, err := s.NewMigrator()
	if err != nil {
		t.Fatalf("migrator: %v", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	return s, dbURL
}

// OpenURL opens another store on an existing database, closed when the test ends.
func OpenURL(t testing.TB, dbURL string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
