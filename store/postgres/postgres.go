// Package postgres is the production store backend on Postgres (pgx v5).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/personio-scim/personio-scim/store"
)

// notifyChannel carries a nudge after every committed change set.
const notifyChannel = "personio_scim_changes"

// applyLockKey serializes appliers so that change-log sequence numbers are
// handed out in commit order (see Apply).
const applyLockKey int64 = 0x70736369_6d617070 // "pscimapp"

// Options tunes the backend.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
	// MaxConns caps the pool (default pgxpool's).
	MaxConns int32
}

// Store is the Postgres backend.
type Store struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	logger *slog.Logger
	leases *leases
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url. It does not migrate; see Migrate.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redactURLError(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach database %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, now: opts.Now, logger: opts.Logger, leases: &leases{}}, nil
}

// redactURLError keeps a password in a malformed URL out of error messages:
// pgconn's parse errors, and the url package's beneath them, can quote the
// whole connection string, so none of their text is passed on.
func redactURLError(error) error {
	return errors.New("malformed connection string: want postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=disable")
}

func (s *Store) Backend() string { return "postgres" }

func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close releases the store's leaderships (their Lost channels close) and
// closes the pool.
func (s *Store) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.leases.releaseAll(ctx)
	s.pool.Close()
}

// Pool exposes the pool for the migration command and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a transaction and commits it, rolling back on any error.
func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return mapCommitError(err)
	}
	return nil
}

// mapCommitError turns the deferred unique constraints' violations into the
// store's error.
func mapCommitError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		switch pe.ConstraintName {
		case "identities_user_name_unique":
			return fmt.Errorf("%w: userName taken", store.ErrDuplicate)
		case "groups_display_name_unique":
			return fmt.Errorf("%w: group displayName taken", store.ErrDuplicate)
		case "api_tokens_live_name", "api_tokens_hash_key", "api_tokens_pkey":
			return fmt.Errorf("token: %w", store.ErrDuplicate)
		}
		return fmt.Errorf("%w: %s", store.ErrDuplicate, pe.ConstraintName)
	}
	return fmt.Errorf("commit: %w", err)
}
