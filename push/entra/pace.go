package entra

import (
	"context"
	"sync"
	"time"
)

// pacer spaces requests evenly, one per interval, so that no window of the
// published limit ever holds more than it allows and bursts never happen.
// It reads the clock once per request and never loops on it, so a frozen
// test clock cannot make it spin.
type pacer struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu   sync.Mutex
	next time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.interval <= 0 {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	at := now
	if p.next.After(at) {
		at = p.next
	}
	p.next = at.Add(p.interval)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}

// budget counts calls in a rolling span (the daily cap).
type budget struct {
	limit int
	span  time.Duration
	now   func() time.Time

	mu    sync.Mutex
	times []time.Time
}

// take spends one call, or says how long until one is free again.
func (b *budget) take() (bool, time.Duration) {
	if b.limit <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	cut := now.Add(-b.span)
	i := 0
	for i < len(b.times) && !b.times[i].After(cut) {
		i++
	}
	b.times = b.times[i:]
	if len(b.times) >= b.limit {
		return false, b.times[0].Sub(cut)
	}
	b.times = append(b.times, now)
	return true, 0
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
