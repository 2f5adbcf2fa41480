package memory

import (
	"context"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

func (db *Shared) lastSeq() int64 { return db.pruned + int64(len(db.changes)) }

// pruneLimit is the newest sequence number pruning may reach: below the
// newest row, and no further than the slowest push target's or event feed's
// cursor, so that no follower loses rows it has not read yet.
func (db *Shared) pruneLimit() int64 {
	limit := db.lastSeq() - 1
	for _, c := range db.ledger.cursors {
		limit = min(limit, c)
	}
	for _, c := range db.outbox.cursors {
		limit = min(limit, c)
	}
	return limit
}

func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	limit := s.db.pruneLimit()
	n := 0
	// The log is in time order, so the old rows are a prefix of it.
	for n < len(s.db.changes) && s.db.pruned+int64(n)+1 <= limit && s.db.changes[n].time.Before(before) {
		n++
	}
	s.db.changes = slices.Clone(s.db.changes[n:])
	s.db.pruned += int64(n)
	return n, s.db.pruneRuns(before), nil
}

func (db *Shared) pruneRuns(before time.Time) int {
	newest := ""
	var newestRun store.Run
	for id, r := range db.runs {
		if newest == "" || r.StartedAt.After(newestRun.StartedAt) || (r.StartedAt.Equal(newestRun.StartedAt) && id > newest) {
			newest, newestRun = id, r
		}
	}
	n := 0
	for id, r := range db.runs {
		if id != newest && runPrunable(r, before) {
			delete(db.runs, id)
			n++
		}
	}
	return n
}

func runPrunable(r store.Run, before time.Time) bool {
	return r.Status != store.RunRunning && r.Status != store.RunHeld && r.StartedAt.Before(before)
}

func (s *Store) ErasePerson(ctx context.Context, personioID, scimID string) (int, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	rows := 0
	for i := range s.db.changes {
		if r := &s.db.changes[i]; scimID != "" && r.kind == store.KindIdentity && r.resourceID == scimID {
			r.erase()
			rows++
		}
	}
	runs := 0
	for id, r := range s.db.runs {
		if rep, changed := store.EraseReport(r.Report, personioID, scimID); changed {
			r.Report = rep
			s.db.runs[id] = r
			runs++
		}
	}
	return rows, runs, nil
}
