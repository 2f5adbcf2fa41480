package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
)

// memoryURL is the DATABASE_URL that asks for the in-memory store.
const memoryURL = "memory:"

// openStore opens the backend DATABASE_URL names, migrating Postgres first
// when asked to.
func openStore(ctx context.Context, e env, migrate bool, logger *slog.Logger) (store.Store, error) {
	if e.DatabaseURL == "" || e.DatabaseURL == memoryURL {
		logger.Info("using the in-memory store; data is lost on exit")
		return memory.New(memory.Options{}), nil
	}
	pg, err := postgres.Open(ctx, e.DatabaseURL, postgres.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if migrate {
		if err := migrateUp(pg, logger); err != nil {
			pg.Close()
			return nil, err
		}
	}
	return pg, nil
}

func migrateUp(pg *postgres.Store, logger *slog.Logger) error {
	m, err := pg.NewMigrator()
	if err != nil {
		return err
	}
	defer m.Close()
	before, err := m.Status()
	if err != nil {
		return err
	}
	if err := m.Up(); err != nil {
		return err
	}
	if before.Version != before.Latest {
		logger.Info("database schema migrated", "from", before.Version, "to", before.Latest)
	}
	return nil
}

// openPostgres is for commands that only make sense on a lasting store.
func openPostgres(ctx context.Context, e env, what string) (*postgres.Store, error) {
	if e.DatabaseURL == "" || e.DatabaseURL == memoryURL {
		return nil, errors.New(what + " needs DATABASE_URL: the in-memory store keeps nothing between runs")
	}
	pg, err := postgres.Open(ctx, e.DatabaseURL, postgres.Options{})
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return pg, nil
}

// requireCurrentSchema refuses a store whose schema is behind this binary,
// for commands that must change nothing, the schema included.
func requireCurrentSchema(st store.Store, what string) error {
	pg, ok := st.(*postgres.Store)
	if !ok {
		return nil
	}
	m, err := pg.NewMigrator()
	if err != nil {
		return err
	}
	defer m.Close()
	s, err := m.Status()
	if err != nil {
		return err
	}
	if s.Dirty {
		return fmt.Errorf("%s: the schema is dirty (a migration failed half-way); repair it, then run \"personio-scim migrate force VERSION\"", what)
	}
	if s.Version != s.Latest {
		return fmt.Errorf("%s changes nothing, the schema included, but the schema is at version %d of %d: run \"personio-scim migrate up\" first", what, s.Version, s.Latest)
	}
	return nil
}

var _ store.Store = (*postgres.Store)(nil)
