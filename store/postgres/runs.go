package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
)

func (s *Store) SaveRun(ctx context.Context, r store.Run) error {
	if r.ID == "" {
		return fmt.Errorf("%w: run id is empty", store.ErrInvalid)
	}
	counts, err := json.Marshal(r.Counts)
	if err != nil {
		return fmt.Errorf("encode counts of run %s: %w", r.ID, err)
	}
	var report any
	if len(r.Report) > 0 {
		report = string(r.Report)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sync_runs (id, trigger, mode, dry_run, status, started_at, finished_at, counts, error, report, approved_by, approved_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
		ON CONFLICT (id) DO UPDATE SET trigger=$2, mode=$3, dry_run=$4, status=$5, started_at=$6, finished_at=$7, counts=$8,
			error=$9, report=$10, approved_by=$11, approved_at=$12`,
		r.ID, r.Trigger, r.Mode, r.DryRun, string(r.Status), r.StartedAt, nullTime(r.FinishedAt), counts, r.Error, report,
		r.ApprovedBy, nullTime(r.ApprovedAt))
	if err != nil {
		return fmt.Errorf("save run %s: %w", r.ID, err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

const runSelect = `SELECT id, trigger, mode, dry_run, status, started_at, finished_at, counts, error, report::text, approved_by, approved_at FROM sync_runs `

func scanRun(row pgx.Row) (store.Run, error) {
	var r store.Run
	var status string
	var finished, approved *time.Time
	var counts []byte
	var report *string
	if err := row.Scan(&r.ID, &r.Trigger, &r.Mode, &r.DryRun, &status, &r.StartedAt, &finished, &counts, &r.Error, &report, &r.ApprovedBy, &approved); err != nil {
		return r, err
	}
	r.Status, r.StartedAt = store.RunStatus(status), r.StartedAt.UTC()
	if finished != nil {
		r.FinishedAt = finished.UTC()
	}
	if approved != nil {
		r.ApprovedAt = approved.UTC()
	}
	if report != nil {
		r.Report = []byte(*report)
	}
	if counts != nil {
		if err := json.Unmarshal(counts, &r.Counts); err != nil {
			return r, fmt.Errorf("decode counts of run %s: %w", r.ID, err)
		}
	}
	return r, nil
}

func (s *Store) TransitionRun(ctx context.Context, id string, from, to store.RunStatus, by string, at time.Time) (store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `UPDATE sync_runs SET status=$3, approved_by=$4, approved_at=$5 WHERE id=$1 AND status=$2
		RETURNING id, trigger, mode, dry_run, status, started_at, finished_at, counts, error, report::text, approved_by, approved_at`,
		id, string(from), string(to), by, at.UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := s.Run(ctx, id); gerr != nil {
			return store.Run{}, gerr
		}
		return store.Run{}, fmt.Errorf("run %s is not %s: %w", id, from, store.ErrConflict)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("transition run %s: %w", id, err)
	}
	return r, nil
}

func (s *Store) Run(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, runSelect+`WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, nil
}

func (s *Store) Runs(ctx context.Context, limit int) ([]store.Run, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, runSelect+`ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("scan run: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || len(t.Hash) == 0 || t.Name == "" {
		return fmt.Errorf("%w: token needs an id, a name and a hash", store.ErrInvalid)
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, name, scopes, hash, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		t.ID, t.Name, scopes, t.Hash, t.CreatedAt.UTC(), nullTime(t.ExpiresAt))
	if err != nil {
		return mapCommitError(err)
	}
	return nil
}

func (s *Store) RotateToken(ctx context.Context, next store.Token, oldExpiresAt, at time.Time) error {
	if next.ID == "" || len(next.Hash) == 0 || next.Name == "" {
		return fmt.Errorf("%w: token needs an id, a name and a hash", store.ErrInvalid)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("rotate token: %w", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE api_tokens SET replaced_at = $2,
		expires_at = CASE WHEN expires_at IS NULL OR expires_at > $3 THEN $3 ELSE expires_at END
		WHERE name = $1 AND revoked_at IS NULL AND replaced_at IS NULL`, next.Name, at.UTC(), oldExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("rotate token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %q: %w", next.Name, store.ErrNotFound)
	}
	scopes := next.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, name, scopes, hash, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		next.ID, next.Name, scopes, next.Hash, next.CreatedAt.UTC(), nullTime(next.ExpiresAt)); err != nil {
		return mapCommitError(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return mapCommitError(err)
	}
	return nil
}

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, at.UTC())
	if err != nil {
		return fmt.Errorf("record token use: %w", err)
	}
	return nil
}

const tokenSelect = `SELECT id, name, scopes, hash, created_at, revoked_at, expires_at, last_used_at, replaced_at FROM api_tokens `

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var revoked, expires, used, replaced *time.Time
	if err := row.Scan(&t.ID, &t.Name, &t.Scopes, &t.Hash, &t.CreatedAt, &revoked, &expires, &used, &replaced); err != nil {
		return t, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	for _, f := range []struct {
		from *time.Time
		to   *time.Time
	}{{revoked, &t.RevokedAt}, {expires, &t.ExpiresAt}, {used, &t.LastUsedAt}, {replaced, &t.ReplacedAt}} {
		if f.from != nil {
			*f.to = f.from.UTC()
		}
	}
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
	return t, nil
}

func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, tokenSelect+`WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, tokenSelect+`ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, at.UTC())
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	return nil
}
