package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

func (s *Store) SaveRun(ctx context.Context, r store.Run) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.ID == "" {
		return fmt.Errorf("%w: run id is empty", store.ErrInvalid)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.db.runs[r.ID] = cloneRun(r)
	return nil
}

func (s *Store) TransitionRun(ctx context.Context, id string, from, to store.RunStatus, by string, at time.Time) (store.Run, error) {
	if err := ctx.Err(); err != nil {
		return store.Run{}, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r, ok := s.db.runs[id]
	if !ok {
		return store.Run{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if r.Status != from {
		return store.Run{}, fmt.Errorf("run %s is %s, not %s: %w", id, r.Status, from, store.ErrConflict)
	}
	r.Status, r.ApprovedBy, r.ApprovedAt = to, by, at.UTC().Truncate(time.Microsecond)
	s.db.runs[id] = r
	return cloneRun(r), nil
}

func (s *Store) Run(ctx context.Context, id string) (store.Run, error) {
	if err := ctx.Err(); err != nil {
		return store.Run{}, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	r, ok := s.db.runs[id]
	if !ok {
		return store.Run{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return cloneRun(r), nil
}

func (s *Store) Runs(ctx context.Context, limit int) ([]store.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	runs := slices.Collect(maps.Values(s.db.runs))
	slices.SortFunc(runs, func(a, b store.Run) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	for n := range runs {
		runs[n] = cloneRun(runs[n])
	}
	return runs, nil
}

// cloneRun also normalizes times the way Postgres stores them, so that both
// backends give identical answers.
func cloneRun(r store.Run) store.Run {
	r.Counts = maps.Clone(r.Counts)
	r.Report = slices.Clone(r.Report)
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Microsecond)
	r.FinishedAt = r.FinishedAt.UTC().Truncate(time.Microsecond)
	r.ApprovedAt = r.ApprovedAt.UTC().Truncate(time.Microsecond)
	return r
}

func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.ID == "" || len(t.Hash) == 0 || t.Name == "" {
		return fmt.Errorf("%w: token needs an id, a name and a hash", store.ErrInvalid)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	for _, other := range s.db.tokens {
		if other.ID == t.ID || (other.Name == t.Name && other.RevokedAt.IsZero() && other.ReplacedAt.IsZero()) {
			return fmt.Errorf("token %q: %w", t.Name, store.ErrDuplicate)
		}
	}
	s.db.tokens[t.ID] = cloneToken(t)
	return nil
}

func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	for _, t := range s.db.tokens {
		if t.RevokedAt.IsZero() && slices.Equal(t.Hash, hash) {
			return cloneToken(t), nil
		}
	}
	return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
}

func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	out := make([]store.Token, 0, len(s.db.tokens))
	for _, t := range s.db.tokens {
		out = append(out, cloneToken(t))
	}
	slices.SortFunc(out, func(a, b store.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	t, ok := s.db.tokens[id]
	if !ok || !t.RevokedAt.IsZero() {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	t.RevokedAt = at.UTC().Truncate(time.Microsecond)
	s.db.tokens[id] = t
	return nil
}

func (s *Store) RotateToken(ctx context.Context, next store.Token, oldExpiresAt, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if next.ID == "" || len(next.Hash) == 0 || next.Name == "" {
		return fmt.Errorf("%w: token needs an id, a name and a hash", store.ErrInvalid)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	var current []string
	for id, t := range s.db.tokens {
		if t.ID == next.ID || slices.Equal(t.Hash, next.Hash) {
			return fmt.Errorf("token %q: %w", next.Name, store.ErrDuplicate)
		}
		if t.Name == next.Name && t.RevokedAt.IsZero() && t.ReplacedAt.IsZero() {
			current = append(current, id)
		}
	}
	if len(current) == 0 {
		return fmt.Errorf("token %q: %w", next.Name, store.ErrNotFound)
	}
	for _, id := range current {
		t := s.db.tokens[id]
		t.ReplacedAt = at
		if t.ExpiresAt.IsZero() || t.ExpiresAt.After(oldExpiresAt) {
			t.ExpiresAt = oldExpiresAt
		}
		s.db.tokens[id] = cloneToken(t)
	}
	s.db.tokens[next.ID] = cloneToken(next)
	return nil
}

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if t, ok := s.db.tokens[id]; ok && t.LastUsedAt.Before(at) {
		t.LastUsedAt = at
		s.db.tokens[id] = cloneToken(t)
	}
	return nil
}

func cloneToken(t store.Token) store.Token {
	t.Scopes = slices.Clone(t.Scopes)
	t.Hash = slices.Clone(t.Hash)
	t.CreatedAt = t.CreatedAt.UTC().Truncate(time.Microsecond)
	t.RevokedAt = t.RevokedAt.UTC().Truncate(time.Microsecond)
	t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	t.LastUsedAt = t.LastUsedAt.UTC().Truncate(time.Microsecond)
	t.ReplacedAt = t.ReplacedAt.UTC().Truncate(time.Microsecond)
	return t
}
