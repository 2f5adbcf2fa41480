package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/ledger"
)

func (s *Store) PushCursor(ctx context.Context, target string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM push_cursors WHERE target = $1`, target).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read push cursor: %w", err)
	}
	return seq, nil
}

const pushRecordSelect = `SELECT target, resource_id, kind, target_id, fingerprint, state, status, attempts, last_error,
	last_attempt, last_success, pending_since, detail FROM push_records `

func (s *Store) PushRecords(ctx context.Context, target string, ids []string) ([]store.PushRecord, error) {
	if len(ids) == 0 {
		return []store.PushRecord{}, nil
	}
	return queryPushRecords(ctx, s.pool, pushRecordSelect+`WHERE target = $1 AND resource_id = ANY($2) ORDER BY resource_id`, target, ids)
}

func (s *Store) ListPushRecords(ctx context.Context, target string, q store.PushQuery) ([]store.PushRecord, error) {
	return queryPushRecords(ctx, s.pool, pushRecordSelect+`WHERE target = $1
		AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3) AND resource_id > $4
		ORDER BY resource_id LIMIT $5`,
		target, string(q.Status), string(q.Kind), q.AfterID, ledger.Limit(q))
}

func queryPushRecords(ctx context.Context, q querier, sql string, args ...any) ([]store.PushRecord, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query push records: %w", err)
	}
	defer rows.Close()
	out := []store.PushRecord{}
	for rows.Next() {
		var r store.PushRecord
		var kind, status string
		var attempt, success, pending *time.Time
		if err := rows.Scan(&r.Target, &r.ResourceID, &kind, &r.TargetID, &r.Fingerprint, &r.State, &status, &r.Attempts,
			&r.LastError, &attempt, &success, &pending, &r.Detail); err != nil {
			return nil, fmt.Errorf("scan push record: %w", err)
		}
		r.Kind, r.Status = store.ResourceKind(kind), store.PushStatus(status)
		r.LastAttempt, r.LastSuccess, r.PendingSince = timeOrZero(attempt), timeOrZero(success), timeOrZero(pending)
		out = append(out, ledger.Normalize(r))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read push records: %w", err)
	}
	return out, nil
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// SavePush moves the cursor first: the conditional write locks the cursor
// row, so a second replica saving from the same cursor waits for this
// transaction and then finds the cursor moved.
func (s *Store) SavePush(ctx context.Context, target string, from, to int64, records []store.PushRecord) error {
	prepared, err := ledger.Prepare(target, from, to, records)
	if err != nil {
		return err
	}
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := moveCursor(ctx, tx, target, from, to); err != nil {
			return err
		}
		return upsertPushRecords(ctx, tx, prepared)
	})
}

// moveCursor sets the cursor to `to` if it is `from`; a target without a row
// is at 0. from == to still writes, to hold the row for the transaction.
func moveCursor(ctx context.Context, tx pgx.Tx, target string, from, to int64) error {
	tag, err := tx.Exec(ctx, `UPDATE push_cursors SET seq = $3 WHERE target = $1 AND seq = $2`, target, from, to)
	if err != nil {
		return fmt.Errorf("move push cursor: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if from == 0 {
		// A racing first save inserts too; ON CONFLICT makes the loser wait
		// for the winner's commit and then insert nothing.
		tag, err = tx.Exec(ctx, `INSERT INTO push_cursors (target, seq) VALUES ($1, $2) ON CONFLICT (target) DO NOTHING`, target, to)
		if err != nil {
			return fmt.Errorf("create push cursor: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
	}
	return fmt.Errorf("push cursor of %q is not %d: %w", target, from, store.ErrConflict)
}

// pushColumns holds records column by column, for one unnest insert.
type pushColumns struct {
	targets, ids, kinds, targetIDs, prints, statuses, lastErrors []string
	states, details                                              [][]byte
	attempts                                                     []int64
	attempted, succeeded, pending                                []*time.Time
}

func (c *pushColumns) add(r *store.PushRecord) {
	c.targets, c.ids, c.kinds = append(c.targets, r.Target), append(c.ids, r.ResourceID), append(c.kinds, string(r.Kind))
	c.targetIDs, c.prints = append(c.targetIDs, r.TargetID), append(c.prints, r.Fingerprint)
	c.statuses, c.lastErrors = append(c.statuses, string(r.Status)), append(c.lastErrors, r.LastError)
	c.states, c.details = append(c.states, r.State), append(c.details, r.Detail)
	c.attempts = append(c.attempts, int64(r.Attempts))
	c.attempted = append(c.attempted, timeOrNull(r.LastAttempt))
	c.succeeded = append(c.succeeded, timeOrNull(r.LastSuccess))
	c.pending = append(c.pending, timeOrNull(r.PendingSince))
}

// upsertPushRecords writes every record in one statement, so that a batch of
// thousands costs one round trip.
func upsertPushRecords(ctx context.Context, tx pgx.Tx, rs []store.PushRecord) error {
	if len(rs) == 0 {
		return nil
	}
	var c pushColumns
	for k := range rs {
		c.add(&rs[k])
	}
	_, err := tx.Exec(ctx, `INSERT INTO push_records (target, resource_id, kind, target_id, fingerprint, state, status, attempts,
			last_error, last_attempt, last_success, pending_since, detail)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::bigint[],
			$9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::bytea[])
		ON CONFLICT (target, resource_id) DO UPDATE SET kind = EXCLUDED.kind, target_id = EXCLUDED.target_id,
			fingerprint = EXCLUDED.fingerprint, state = EXCLUDED.state, status = EXCLUDED.status, attempts = EXCLUDED.attempts,
			last_error = EXCLUDED.last_error, last_attempt = EXCLUDED.last_attempt, last_success = EXCLUDED.last_success,
			pending_since = EXCLUDED.pending_since, detail = EXCLUDED.detail`,
		c.targets, c.ids, c.kinds, c.targetIDs, c.prints, c.states, c.statuses, c.attempts, c.lastErrors,
		c.attempted, c.succeeded, c.pending, c.details)
	if err != nil {
		return fmt.Errorf("save %d push records: %w", len(rs), err)
	}
	return nil
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
