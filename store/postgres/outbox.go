package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
)

func (s *Store) OutboxCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM outbox_cursors WHERE name = $1`, name).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read outbox cursor: %w", err)
	}
	return seq, nil
}

// EnqueueOutbox moves the cursor first: its conditional write locks the
// cursor row, so a second follower enqueueing from the same cursor waits
// and then finds it moved.
func (s *Store) EnqueueOutbox(ctx context.Context, e store.OutboxEnqueue) (int, error) {
	if e.From < 0 || e.To < 0 {
		return 0, fmt.Errorf("%w: outbox cursor %d → %d is negative", store.ErrInvalid, e.From, e.To)
	}
	now := s.clock()
	var c outboxColumns
	for _, m := range e.Messages {
		p, err := store.PrepareOutboxMessage(m, now)
		if err != nil {
			return 0, err
		}
		c.add(&p)
	}
	added := 0
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if e.Cursor != "" {
			if err := moveOutboxCursor(ctx, tx, e.Cursor, e.From, e.To); err != nil {
				return err
			}
		}
		if len(c.keys) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `INSERT INTO outbox_messages (dedupe_key, event, channel, recipient, digest_key, digest, payload,
				status, next_attempt, created_at)
			SELECT k, ev, ch, rc, dk, dg, pl, 'pending', na, $9 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
				$5::text[], $6::boolean[], $7::bytea[], $8::timestamptz[]) WITH ORDINALITY AS u(k, ev, ch, rc, dk, dg, pl, na, ord)
			ORDER BY ord
			ON CONFLICT (dedupe_key) DO NOTHING`,
			c.keys, c.events, c.channels, c.recipients, c.digestKeys, c.digests, c.payloads, c.next, now)
		if err != nil {
			return fmt.Errorf("enqueue %d outbox messages: %w", len(c.keys), err)
		}
		added = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

type outboxColumns struct {
	keys, events, channels, recipients, digestKeys []string
	digests                                        []bool
	payloads                                       [][]byte
	next                                           []*time.Time
}

func (c *outboxColumns) add(m *store.OutboxMessage) {
	c.keys, c.events, c.channels = append(c.keys, m.DedupeKey), append(c.events, m.Event), append(c.channels, m.Channel)
	c.recipients, c.digestKeys = append(c.recipients, m.Recipient), append(c.digestKeys, m.DigestKey)
	c.digests, c.payloads = append(c.digests, m.Digest), append(c.payloads, m.Payload)
	c.next = append(c.next, timeOrNull(m.NextAttempt))
}

func moveOutboxCursor(ctx context.Context, tx pgx.Tx, name string, from, to int64) error {
	tag, err := tx.Exec(ctx, `UPDATE outbox_cursors SET seq = $3 WHERE name = $1 AND seq = $2`, name, from, to)
	if err != nil {
		return fmt.Errorf("move outbox cursor: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if from == 0 {
		tag, err = tx.Exec(ctx, `INSERT INTO outbox_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, to)
		if err != nil {
			return fmt.Errorf("create outbox cursor: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
	}
	return fmt.Errorf("outbox cursor %q is not %d: %w", name, from, store.ErrConflict)
}

const outboxColumnsSelect = `id, dedupe_key, event, channel, recipient, digest_key, digest, payload, status, attempts,
	next_attempt, lease_owner, lease_until, last_error, created_at, sent_at`

// ClaimOutbox skips rows another sender is claiming at this moment, so two
// replicas never lease the same message.
func (s *Store) ClaimOutbox(ctx context.Context, c store.OutboxClaim) ([]store.OutboxMessage, error) {
	if c.Owner == "" || c.Lease <= 0 {
		return nil, fmt.Errorf("%w: an outbox claim needs an owner and a lease", store.ErrInvalid)
	}
	now := store.OutboxTime(c.Now)
	out, err := queryOutbox(ctx, s.pool, `UPDATE outbox_messages SET status = 'sending', lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM outbox_messages
			WHERE ((status = 'pending' AND (next_attempt IS NULL OR next_attempt <= $3)) OR (status = 'sending' AND lease_until < $3))
			AND ($4 = '' OR digest_key = $4)
			ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumnsSelect,
		c.Owner, store.OutboxTime(c.Now.Add(c.Lease)), now, c.DigestKey, store.OutboxLimit(c.Limit))
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	slices.SortFunc(out, func(a, b store.OutboxMessage) int { return int(a.ID - b.ID) })
	return out, nil
}

func (s *Store) MarkOutbox(ctx context.Context, owner string, marks []store.OutboxMark) error {
	if err := store.CheckOutboxMarks(owner, marks); err != nil {
		return err
	}
	if len(marks) == 0 {
		return nil
	}
	var (
		ids, attempts  []int64
		statuses, errs []string
		digests        []bool
		next, sent     []*time.Time
	)
	for _, m := range marks {
		ids, attempts = append(ids, m.ID), append(attempts, int64(m.Attempts))
		statuses, errs, digests = append(statuses, string(m.Status)), append(errs, m.LastError), append(digests, m.Digest)
		next = append(next, timeOrNull(store.OutboxTime(m.NextAttempt)))
		var at *time.Time
		if m.Status == store.OutboxSent || m.Status == store.OutboxDigested {
			at = timeOrNull(store.OutboxTime(m.At))
		}
		sent = append(sent, at)
	}
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbox_messages o SET status = u.st, attempts = u.at, next_attempt = u.na,
				last_error = u.le, digest = u.dg, sent_at = COALESCE(u.sa, o.sent_at), lease_owner = '', lease_until = NULL
			FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[], $7::boolean[], $8::timestamptz[])
				AS u(id, st, at, na, le, dg, sa)
			WHERE o.id = u.id AND o.status = 'sending' AND o.lease_owner = $1`,
			owner, ids, statuses, attempts, next, errs, digests, sent)
		if err != nil {
			return fmt.Errorf("mark %d outbox messages: %w", len(marks), err)
		}
		if int(tag.RowsAffected()) != len(marks) {
			return fmt.Errorf("%d of %d outbox messages are no longer leased to this sender: %w",
				len(marks)-int(tag.RowsAffected()), len(marks), store.ErrConflict)
		}
		return nil
	})
}

func (s *Store) ListOutbox(ctx context.Context, q store.OutboxQuery) ([]store.OutboxMessage, error) {
	return queryOutbox(ctx, s.pool, `SELECT `+outboxColumnsSelect+` FROM outbox_messages
		WHERE ($1 = 0 OR id < $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR event = $3)
		ORDER BY id DESC LIMIT $4`, q.BeforeID, string(q.Status), q.Event, store.OutboxLimit(q.Limit))
}

func queryOutbox(ctx context.Context, q querier, sql string, args ...any) ([]store.OutboxMessage, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query outbox: %w", err)
	}
	defer rows.Close()
	out := []store.OutboxMessage{}
	for rows.Next() {
		var m store.OutboxMessage
		var status string
		var next, lease, sent *time.Time
		if err := rows.Scan(&m.ID, &m.DedupeKey, &m.Event, &m.Channel, &m.Recipient, &m.DigestKey, &m.Digest, &m.Payload,
			&status, &m.Attempts, &next, &m.LeaseOwner, &lease, &m.LastError, &m.CreatedAt, &sent); err != nil {
			return nil, fmt.Errorf("scan outbox message: %w", err)
		}
		m.Status = store.OutboxStatus(status)
		m.NextAttempt, m.LeaseUntil, m.SentAt = timeOrZero(next), timeOrZero(lease), timeOrZero(sent)
		m.CreatedAt = store.OutboxTime(m.CreatedAt)
		m.NextAttempt, m.LeaseUntil, m.SentAt = store.OutboxTime(m.NextAttempt), store.OutboxTime(m.LeaseUntil), store.OutboxTime(m.SentAt)
		if len(m.Payload) == 0 {
			m.Payload = nil
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox_messages WHERE status IN ('sent', 'failed', 'digested') AND created_at < $1`,
		store.OutboxTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
