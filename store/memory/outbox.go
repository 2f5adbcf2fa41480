package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// outboxState is the notification outbox. Guarded by the store's mutex.
type outboxState struct {
	cursors  map[string]int64
	messages []store.OutboxMessage // in ID order
	keys     map[string]bool       // every DedupeKey ever enqueued
	lastID   int64
	// firstOpen is the index of the oldest message that is not final
	// (sent, failed, digested); claims start there.
	firstOpen int
}

func newOutboxState() outboxState {
	return outboxState{cursors: map[string]int64{}, keys: map[string]bool{}}
}

func (s *Store) OutboxCursor(ctx context.Context, name string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return s.db.outbox.cursors[name], nil
}

// EnqueueOutbox checks everything before it changes anything, so a failed
// call leaves the outbox as it was.
func (s *Store) EnqueueOutbox(ctx context.Context, e store.OutboxEnqueue) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if e.From < 0 || e.To < 0 {
		return 0, fmt.Errorf("%w: outbox cursor %d → %d is negative", store.ErrInvalid, e.From, e.To)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	now := s.db.now()
	prepared := make([]store.OutboxMessage, 0, len(e.Messages))
	for _, m := range e.Messages {
		p, err := store.PrepareOutboxMessage(m, now)
		if err != nil {
			return 0, err
		}
		prepared = append(prepared, p)
	}
	ob := &s.db.outbox
	if e.Cursor != "" {
		if cur := ob.cursors[e.Cursor]; cur != e.From {
			return 0, fmt.Errorf("outbox cursor %q is %d, not %d: %w", e.Cursor, cur, e.From, store.ErrConflict)
		}
		ob.cursors[e.Cursor] = e.To
	}
	added := 0
	for _, m := range prepared {
		if ob.keys[m.DedupeKey] {
			continue
		}
		ob.keys[m.DedupeKey] = true
		ob.lastID++
		m.ID = ob.lastID
		m.Payload = slices.Clone(m.Payload)
		ob.messages = append(ob.messages, m)
		added++
	}
	return added, nil
}

func (s *Store) ClaimOutbox(ctx context.Context, c store.OutboxClaim) ([]store.OutboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Owner == "" || c.Lease <= 0 {
		return nil, fmt.Errorf("%w: an outbox claim needs an owner and a lease", store.ErrInvalid)
	}
	now := store.OutboxTime(c.Now)
	until := store.OutboxTime(c.Now.Add(c.Lease))
	limit := store.OutboxLimit(c.Limit)
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	var out []store.OutboxMessage
	ob := &s.db.outbox
	for ob.firstOpen < len(ob.messages) && outboxFinal(ob.messages[ob.firstOpen].Status) {
		ob.firstOpen++
	}
	for n := ob.firstOpen; n < len(ob.messages); n++ {
		m := &ob.messages[n]
		if len(out) == limit {
			break
		}
		if !outboxDue(m, now) || (c.DigestKey != "" && m.DigestKey != c.DigestKey) {
			continue
		}
		m.Status, m.LeaseOwner, m.LeaseUntil = store.OutboxSending, c.Owner, until
		out = append(out, cloneMessage(*m))
	}
	return out, nil
}

func outboxFinal(st store.OutboxStatus) bool {
	return st == store.OutboxSent || st == store.OutboxFailed || st == store.OutboxDigested
}

func outboxDue(m *store.OutboxMessage, now time.Time) bool {
	switch m.Status {
	case store.OutboxPending:
		return !m.NextAttempt.After(now)
	case store.OutboxSending:
		return m.LeaseUntil.Before(now)
	}
	return false
}

func (s *Store) MarkOutbox(ctx context.Context, owner string, marks []store.OutboxMark) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckOutboxMarks(owner, marks); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	idx := make([]int, len(marks))
	for n, mk := range marks {
		i, ok := slices.BinarySearchFunc(s.db.outbox.messages, mk.ID, func(m store.OutboxMessage, id int64) int {
			return int(m.ID - id)
		})
		if !ok || s.db.outbox.messages[i].Status != store.OutboxSending || s.db.outbox.messages[i].LeaseOwner != owner {
			return fmt.Errorf("outbox message %d is no longer leased to this sender: %w", mk.ID, store.ErrConflict)
		}
		idx[n] = i
	}
	for n, mk := range marks {
		m := &s.db.outbox.messages[idx[n]]
		applyMark(m, mk)
	}
	return nil
}

func applyMark(m *store.OutboxMessage, mk store.OutboxMark) {
	m.Status, m.Attempts, m.LastError, m.Digest = mk.Status, mk.Attempts, mk.LastError, mk.Digest
	m.NextAttempt = store.OutboxTime(mk.NextAttempt)
	m.LeaseOwner, m.LeaseUntil = "", time.Time{}
	if mk.Status == store.OutboxSent || mk.Status == store.OutboxDigested {
		m.SentAt = store.OutboxTime(mk.At)
	}
}

func (s *Store) ListOutbox(ctx context.Context, q store.OutboxQuery) ([]store.OutboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := store.OutboxLimit(q.Limit)
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	out := []store.OutboxMessage{}
	msgs := s.db.outbox.messages
	for n := len(msgs) - 1; n >= 0 && len(out) < limit; n-- {
		m := msgs[n]
		switch {
		case q.BeforeID != 0 && m.ID >= q.BeforeID,
			q.Status != "" && m.Status != q.Status,
			q.Event != "" && m.Event != q.Event:
			continue
		}
		out = append(out, cloneMessage(m))
	}
	return out, nil
}

func cloneMessage(m store.OutboxMessage) store.OutboxMessage {
	m.Payload = slices.Clone(m.Payload)
	return m
}

func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	before = store.OutboxTime(before)
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	ob := &s.db.outbox
	kept := ob.messages[:0]
	pruned := 0
	for _, m := range ob.messages {
		if outboxFinal(m.Status) && m.CreatedAt.Before(before) {
			delete(ob.keys, m.DedupeKey)
			pruned++
			continue
		}
		kept = append(kept, m)
	}
	clear(ob.messages[len(kept):])
	ob.messages, ob.firstOpen = kept, 0
	return pruned, nil
}
