package memory

import (
	"context"
	"sync"

	"github.com/personio-scim/personio-scim/store"
)

type leadership struct {
	handle *Store // the handle that holds it; closing that handle loses it
	name   string
	lost   chan struct{}
	once   sync.Once
}

func (l *leadership) Lost() <-chan struct{} { return l.lost }

func (l *leadership) lose() { l.once.Do(func() { close(l.lost) }) }

func (l *leadership) Release(ctx context.Context) error {
	db := l.handle.db
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.leaders[l.name] == l {
		delete(db.leaders, l.name)
	}
	l.lose()
	return nil
}

// TryLead grants leadership to one holder per name across every handle on
// the database, so two handles exclude each other like two replicas on one
// Postgres. A closed handle gets none.
func (s *Store) TryLead(ctx context.Context, name string) (store.Leadership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if _, held := s.db.leaders[name]; held || s.closed {
		return nil, nil
	}
	l := &leadership{handle: s, name: name, lost: make(chan struct{})}
	s.db.leaders[name] = l
	return l, nil
}
