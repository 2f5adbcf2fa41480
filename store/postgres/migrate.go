package postgres

import (
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/personio-scim/personio-scim/migrations"
)

// MigrationStatus is where a database's schema stands.
type MigrationStatus struct {
	Version uint // 0 when no migration was applied
	Dirty   bool // a migration failed half-way; see ErrDirty
	Latest  uint // the newest migration this binary knows
}

// ErrDirty reports a migration that failed half-way.
var ErrDirty = errors.New("the database schema is dirty")

// Migrator applies the embedded migrations to the store's database.
type Migrator struct {
	m      *migrate.Migrate
	latest uint
}

// NewMigrator prepares golang-migrate on a connection from the store's pool.
func (s *Store) NewMigrator() (*Migrator, error) {
	src, err := iofs.New(migrations.Files, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	latest, err := latestVersion(src)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{m: m, latest: latest}, nil
}

func latestVersion(src interface {
	First() (uint, error)
	Next(uint) (uint, error)
}) (uint, error) {
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("no embedded migrations: %w", err)
	}
	for {
		next, err := src.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}

// Status reports the applied version.
func (m *Migrator) Status() (MigrationStatus, error) {
	v, dirty, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return MigrationStatus{Latest: m.latest}, nil
	}
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("read schema version: %w", err)
	}
	return MigrationStatus{Version: v, Dirty: dirty, Latest: m.latest}, nil
}

// Up applies every pending migration. A dirty schema is refused with
// instructions, never migrated over.
func (m *Migrator) Up() error {
	if err := m.refuseDirty(); err != nil {
		return err
	}
	if err := m.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return m.explain("apply migrations", err)
	}
	return nil
}

// Down reverts every migration, leaving an empty schema.
func (m *Migrator) Down() error {
	if err := m.refuseDirty(); err != nil {
		return err
	}
	if err := m.m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return m.explain("revert migrations", err)
	}
	return nil
}

// Force records version as applied and clean, after an operator repaired a
// half-applied migration by hand.
func (m *Migrator) Force(version int) error {
	if err := m.m.Force(version); err != nil {
		return fmt.Errorf("force schema version %d: %w", version, err)
	}
	return nil
}

func (m *Migrator) refuseDirty() error {
	st, err := m.Status()
	if err != nil {
		return err
	}
	if st.Dirty {
		return dirtyError(st.Version)
	}
	return nil
}

func (m *Migrator) explain(what string, err error) error {
	if st, serr := m.Status(); serr == nil && st.Dirty {
		return fmt.Errorf("%s: %w; %w", what, err, dirtyError(st.Version))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func dirtyError(version uint) error {
	return fmt.Errorf("%w: migration %d failed half-way. Compare the schema with migrations/%04d_*.up.sql, "+
		"repair it by hand, then run `personio-scim migrate force %d` if it is now complete "+
		"(or `migrate force %d` if you rolled it back) and run `personio-scim migrate up` again",
		ErrDirty, version, version, version, int(version)-1)
}

// Close releases the migrator's database handle.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr)
}
