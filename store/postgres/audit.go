package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
)

// pruneChanges deletes old rows below the newest one and no further than
// the slowest push target's or event feed's cursor, so that no follower
// loses rows it has not read yet. A target or feed without a cursor row has
// not started and begins with a full read, not with the log.
const pruneChanges = `
DELETE FROM change_log
WHERE at < $1
  AND seq < (SELECT coalesce(max(seq), 0) FROM change_log)
  AND seq <= (SELECT coalesce(min(seq), 9223372036854775807) FROM push_cursors)
  AND seq <= (SELECT coalesce(min(seq), 9223372036854775807) FROM outbox_cursors)`

// pruneRuns keeps the newest run (what readiness and the status page
// show) and every running or held one (a held run waits for approval).
const pruneRuns = `
DELETE FROM sync_runs
WHERE started_at < $1
  AND status NOT IN ('running', 'held')
  AND id <> (SELECT id FROM sync_runs ORDER BY started_at DESC, id DESC LIMIT 1)`

func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, int, error) {
	tag, err := s.pool.Exec(ctx, pruneChanges, before)
	if err != nil {
		return 0, 0, fmt.Errorf("prune change log: %w", err)
	}
	runs, err := s.pool.Exec(ctx, pruneRuns, before)
	if err != nil {
		return int(tag.RowsAffected()), 0, fmt.Errorf("prune sync runs: %w", err)
	}
	return int(tag.RowsAffected()), int(runs.RowsAffected()), nil
}

// eraseChanges keeps each attribute name (what changed) and replaces its
// value.
const eraseChanges = `
UPDATE change_log SET
  before = CASE WHEN before IS NULL THEN NULL ELSE
    (SELECT coalesce(json_object_agg(key, $2::text), '{}'::json) FROM json_each(before)) END,
  after = CASE WHEN after IS NULL THEN NULL ELSE
    (SELECT coalesce(json_object_agg(key, $2::text), '{}'::json) FROM json_each(after)) END
WHERE kind = 'identity' AND resource_id = $1`

func (s *Store) ErasePerson(ctx context.Context, personioID, scimID string) (rows, runs int, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if scimID != "" {
			tag, err := tx.Exec(ctx, eraseChanges, scimID, store.Erased)
			if err != nil {
				return fmt.Errorf("erase change log: %w", err)
			}
			rows = int(tag.RowsAffected())
		}
		runs, err = eraseRunReports(ctx, tx, personioID, scimID)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return rows, runs, nil
}

type runReport struct {
	id     string
	report []byte
}

// eraseRunReports narrows the runs down by text search, then rewrites the
// reports that really name the person.
func eraseRunReports(ctx context.Context, tx pgx.Tx, personioID, scimID string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id, report::text FROM sync_runs
		WHERE report IS NOT NULL AND (($1 <> '' AND strpos(report::text, $1) > 0) OR ($2 <> '' AND strpos(report::text, $2) > 0))
		FOR UPDATE`, personioID, scimID)
	if err != nil {
		return 0, fmt.Errorf("read run reports: %w", err)
	}
	var found []runReport
	for rows.Next() {
		var r runReport
		var text string
		if err := rows.Scan(&r.id, &text); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read run report: %w", err)
		}
		r.report = []byte(text)
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read run reports: %w", err)
	}
	n := 0
	for _, r := range found {
		rep, changed := store.EraseReport(r.report, personioID, scimID)
		if !changed {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET report = $2::json WHERE id = $1`, r.id, string(rep)); err != nil {
			return n, fmt.Errorf("rewrite run report: %w", err)
		}
		n++
	}
	return n, nil
}
