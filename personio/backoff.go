package personio

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Back-off bounds. Personio asks for at least one second before retrying a
// 429; a Retry-After beyond maxRetryAfter is cut so that a confused server
// cannot park a sync for hours.
const (
	backoffBase   = time.Second
	maxRetryAfter = 5 * time.Minute
)

// backoff computes waits between attempts: exponential from one second,
// capped, plus up to half of it in jitter so that replicas do not retry in
// step.
type backoff struct {
	max time.Duration
	mu  sync.Mutex // rand.Rand is not safe for concurrent use
	rng *rand.Rand
}

func newBackoff(max time.Duration, src rand.Source) *backoff {
	return &backoff{max: max, rng: rand.New(src)}
}

// delay is the wait after failed attempt number attempt (1-based). A
// Retry-After the server sent wins over the computed value.
func (b *backoff) delay(attempt int, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	if hasRetryAfter {
		return min(max(retryAfter, backoffBase), maxRetryAfter)
	}
	d := b.max
	if attempt <= 30 { // beyond that the shift overflows; the cap applies anyway
		d = min(backoffBase<<(attempt-1), b.max)
	}
	return d + b.jitter(d/2)
}

func (b *backoff) jitter(upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Duration(b.rng.Int64N(int64(upTo) + 1))
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepContext waits for d or until ctx is done, whichever is first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
