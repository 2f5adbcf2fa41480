package api

import (
	"context"
	"sync"
	"time"
)

// tokenToucher is the part of the store that records when a token was last
// used; a TokenSource without it records nothing.
type tokenToucher interface {
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// tokenUseInterval is how stale `token list`'s last-used time may be: each
// token is written at most once per interval, not once per request.
const tokenUseInterval = time.Minute

// tokenUses remembers when each stored token's use was last written.
type tokenUses struct {
	touch   tokenToucher
	mu      sync.Mutex
	written map[string]time.Time
}

func newTokenUses(src TokenSource) *tokenUses {
	t, _ := src.(tokenToucher)
	return &tokenUses{touch: t, written: map[string]time.Time{}}
}

// record writes a token's use when the last write is older than the
// interval. A failed write only delays the next one: it never refuses the
// request.
func (u *tokenUses) record(ctx context.Context, id string, now time.Time) {
	if u.touch == nil || id == "" {
		return
	}
	u.mu.Lock()
	if last, ok := u.written[id]; ok && now.Sub(last) < tokenUseInterval {
		u.mu.Unlock()
		return
	}
	u.written[id] = now
	u.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = u.touch.TouchToken(ctx, id, now.Truncate(time.Second))
}
