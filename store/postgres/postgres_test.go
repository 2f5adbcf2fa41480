package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
		a, url := pgtest.Open(t, postgres.Options{Now: now})
		b := pgtest.OpenURL(t, url, postgres.Options{Now: now})
		return a, b
	})
}

func TestMigrateUpDownUp(t *testing.T) {
	s := pgtest.OpenURL(t, pgtest.NewDatabase(t), postgres.Options{})
	m, err := s.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	steps := []struct {
		name        string
		run         func() error
		wantVersion uint
		wantTables  int
	}{
		{"up", m.Up, 5, 9},
		{"up again is a no-op", m.Up, 5, 9},
		{"down", m.Down, 0, 0},
		{"up after down", m.Up, 5, 9},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		st, err := m.Status()
		if err != nil || st.Version != step.wantVersion || st.Dirty || st.Latest != 5 {
			t.Fatalf("%s: status %+v, %v; want version %d clean", step.name, st, err, step.wantVersion)
		}
		var tables int
		err = s.Pool().QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema='public'
			AND table_name IN ('identities','groups','change_log','sync_runs','api_tokens','push_cursors','push_records','outbox_messages','outbox_cursors')`).Scan(&tables)
		if err != nil || tables != step.wantTables {
			t.Fatalf("%s: %d tables, %v; want %d", step.name, tables, err, step.wantTables)
		}
	}
}

func TestDirtySchemaIsReportedWithAFix(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	m, err := s.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Simulate a migration that failed half-way the way golang-migrate records it.
	if _, err := s.Pool().Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	err = m.Up()
	if !errors.Is(err, postgres.ErrDirty) || !strings.Contains(err.Error(), "migrate force") {
		t.Fatalf("Up on a dirty schema = %v; want ErrDirty with instructions", err)
	}
	// The schema is complete (only the mark is dirty), so the fix is to force
	// the newest version.
	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Force(int(st.Latest)); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("Up after force: %v", err)
	}
}

func TestOpenErrorsAreClearAndKeepSecrets(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"malformed", "postgres://user:s3cret@host:notaport/db", "malformed connection string"},
		{"unreachable", "postgres://user:s3cret@127.0.0.1:1/db?connect_timeout=2", "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(context.Background(), tt.url, postgres.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("Open(%q) = %v; want an error naming %q without the password", tt.url, err, tt.want)
			}
		})
	}
}

func TestLeaderLockFreedWhenHolderDies(t *testing.T) {
	a, url := pgtest.Open(t, postgres.Options{})
	b := pgtest.OpenURL(t, url, postgres.Options{})
	ctx := context.Background()
	l, err := a.TryLead(ctx, "sync")
	if err != nil || l == nil {
		t.Fatalf("TryLead = %v, %v", l, err)
	}
	// Kill the leader's session from outside, as a crash or a network cut would.
	if _, err := b.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype='advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(15 * time.Second):
		t.Fatal("leadership not reported lost after its connection died")
	}
	nl, err := b.TryLead(ctx, "sync")
	if err != nil || nl == nil {
		t.Fatalf("TryLead after the holder died = %v, %v", nl, err)
	}
	nl.Release(ctx)
}
