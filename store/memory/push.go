package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/ledger"
)

// ledgerState is the push ledger: per target its cursor and its records by
// resource id. Guarded by the store's mutex.
type ledgerState struct {
	cursors map[string]int64
	records map[string]map[string]store.PushRecord
}

func newLedgerState() ledgerState {
	return ledgerState{cursors: map[string]int64{}, records: map[string]map[string]store.PushRecord{}}
}

func (s *Store) PushCursor(ctx context.Context, target string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return s.db.ledger.cursors[target], nil
}

func (s *Store) PushRecords(ctx context.Context, target string, ids []string) ([]store.PushRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	stored := s.db.ledger.records[target]
	out := make([]store.PushRecord, 0, len(ids))
	for _, id := range ids {
		if r, ok := stored[id]; ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, byResourceID)
	out = slices.CompactFunc(out, func(a, b store.PushRecord) bool { return a.ResourceID == b.ResourceID })
	return cloneRecords(out), nil
}

func (s *Store) ListPushRecords(ctx context.Context, target string, q store.PushQuery) ([]store.PushRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := ledger.Limit(q)
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	var out []store.PushRecord
	for _, r := range s.db.ledger.records[target] {
		if pushMatches(r, q) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, byResourceID)
	if len(out) > limit {
		out = out[:limit]
	}
	return cloneRecords(out), nil
}

func pushMatches(r store.PushRecord, q store.PushQuery) bool {
	switch {
	case q.Status != "" && r.Status != q.Status:
		return false
	case q.Kind != "" && r.Kind != q.Kind:
		return false
	case q.AfterID != "" && r.ResourceID <= q.AfterID:
		return false
	}
	return true
}

// SavePush checks everything before it changes anything, so a failed call
// leaves the ledger as it was.
func (s *Store) SavePush(ctx context.Context, target string, from, to int64, records []store.PushRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	prepared, err := ledger.Prepare(target, from, to, records)
	if err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if cur := s.db.ledger.cursors[target]; cur != from {
		return fmt.Errorf("push cursor of %q is %d, not %d: %w", target, cur, from, store.ErrConflict)
	}
	s.db.ledger.cursors[target] = to
	stored := s.db.ledger.records[target]
	if stored == nil {
		stored = make(map[string]store.PushRecord, len(prepared))
		s.db.ledger.records[target] = stored
	}
	for _, r := range prepared {
		stored[r.ResourceID] = r
	}
	return nil
}

func byResourceID(a, b store.PushRecord) int { return strings.Compare(a.ResourceID, b.ResourceID) }

// cloneRecords gives the caller records whose byte slices it may change
// without reaching into the ledger.
func cloneRecords(rs []store.PushRecord) []store.PushRecord {
	for n := range rs {
		rs[n].State, rs[n].Detail = slices.Clone(rs[n].State), slices.Clone(rs[n].Detail)
	}
	return rs
}
