package postgres

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
)

// Watch listens for the nudge every Apply sends with NOTIFY, on a connection
// of its own so that it never holds one of the pool's. A dropped connection
// is re-established with back-off; a nudge is sent after each reconnect
// because notifications sent in between are lost.
func (s *Store) Watch(ctx context.Context) <-chan struct{} {
	nudges := make(chan struct{}, 1)
	go s.listen(ctx, nudges)
	return nudges
}

func (s *Store) listen(ctx context.Context, nudges chan struct{}) {
	defer close(nudges) // only this goroutine sends, so closing here is safe
	nudge := func() {
		select {
		case nudges <- struct{}{}:
		default:
		}
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, nudge)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("change-log listener lost its connection; polling until it is back", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
		nudge()
	}
}

func (s *Store) listenOnce(ctx context.Context, nudge func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		nudge()
	}
}

// TryLead takes a session-level advisory lock on a connection of its own.
// Postgres releases it when that connection ends, so a crashed leader's lock
// frees itself; a health check on the connection reports the loss.
func (s *Store) TryLead(ctx context.Context, name string) (store.Leadership, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	key := leaderKey(name)
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	l := &leadership{conn: conn, key: key, lost: make(chan struct{}), stop: make(chan struct{}), held: s.leases}
	s.leases.add(l)
	go l.watch(s.logger)
	return l, nil
}

// leases are the leaderships a store granted and not yet released, so that
// Close can end them: a closed store must not go on leading.
type leases struct {
	mu   sync.Mutex
	open map[*leadership]struct{}
}

func (ls *leases) add(l *leadership) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.open == nil {
		ls.open = map[*leadership]struct{}{}
	}
	ls.open[l] = struct{}{}
}

func (ls *leases) remove(l *leadership) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(ls.open, l)
}

// releaseAll releases every open leadership; each one's Lost closes.
func (ls *leases) releaseAll(ctx context.Context) {
	ls.mu.Lock()
	open := make([]*leadership, 0, len(ls.open))
	for l := range ls.open {
		open = append(open, l)
	}
	ls.mu.Unlock()
	for _, l := range open {
		l.Release(ctx)
	}
}

func leaderKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("personio-scim leader " + name))
	return int64(h.Sum64())
}

type leadership struct {
	conn     *pgx.Conn
	key      int64
	lost     chan struct{}
	stop     chan struct{}
	mu       sync.Mutex // guards conn between the health check and Release
	lostOnce sync.Once
	stopOnce sync.Once
	held     *leases // the granting store's, to be struck off on Release
}

func (l *leadership) Lost() <-chan struct{} { return l.lost }

func (l *leadership) watch(logger interface{ Warn(string, ...any) }) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			logger.Warn("leader connection lost; giving up leadership", "error", err)
			l.lostOnce.Do(func() { close(l.lost) })
			return
		}
	}
}

func (l *leadership) Release(ctx context.Context) error {
	l.held.remove(l)
	l.stopOnce.Do(func() { close(l.stop) })
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.lostOnce.Do(func() { close(l.lost) })
	if l.conn.IsClosed() {
		return nil
	}
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	l.conn.Close(ctx)
	return err
}
