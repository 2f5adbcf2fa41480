package memory

import (
	"context"
	"sync"

	"github.com/personio-scim/personio-scim/store"
)

type leadership struct {
	store *Store
	name  string
	lost  chan struct{}
	once  sync.Once
}

func (l *leadership) Lost() <-chan struct{} { return l.lost }

func (l *leadership) lose() { l.once.Do(func() { close(l.lost) }) }

func (l *leadership) Release(ctx context.Context) error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	if l.store.leaders[l.name] == l {
		delete(l.store.leaders, l.name)
	}
	l.lose()
	return nil
}

// TryLead grants leadership to one caller per name within this store; two
// handles on one memory store therefore exclude each other like two replicas
// on one database.
func (s *Store) TryLead(ctx context.Context, name string) (store.Leadership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.leaders[name]; held || s.closed {
		return nil, nil
	}
	l := &leadership{store: s, name: name, lost: make(chan struct{})}
	s.leaders[name] = l
	return l, nil
}
