package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// HTTPOptions tune the client every request to one target goes through.
type HTTPOptions struct {
	// Target names the target, for request events.
	Target    string
	RateLimit RateLimit
	// MaxAttempts bounds the tries of one request (default 4).
	MaxAttempts int
	// MaxRetryWait is the longest Retry-After the client waits out itself
	// (default 30 s); a longer one is answered to the target, which reports
	// the item for a later retry, so that a worker never hangs for an hour.
	MaxRetryWait time.Duration
	// BaseBackoff is the first back-off without Retry-After (default 500 ms);
	// it doubles with every attempt, with full jitter.
	BaseBackoff time.Duration
	// Timeout bounds one attempt, reading the answer included (default 30 s).
	Timeout time.Duration
	// MaxBody caps an answer's body (default 8 MiB); reading beyond fails.
	MaxBody int64
	// Seed makes the jitter reproducible.
	Seed uint64
	Now  func() time.Time
	// Sleep waits d or until ctx ends (default: a timer). Tests pass one
	// that advances a fake clock.
	Sleep     func(ctx context.Context, d time.Duration) error
	Transport http.RoundTripper
	// OnRequest observes every attempt (metrics: request latency).
	OnRequest func(RequestEvent)
}

// RequestEvent describes one attempt of one request.
type RequestEvent struct {
	Target   string
	Method   string
	Status   int // 0 when no answer came
	Duration time.Duration
	Attempt  int
	Err      error
}

// ErrAnswerTooLarge is returned when reading an answer beyond MaxBody.
var ErrAnswerTooLarge = errors.New("answer larger than the configured limit")

// NewHTTPClient builds the client Env.HTTPClient promises: a rate limiter
// for the target, retries of throttling (429, 503) and transient errors
// honouring Retry-After with exponential, jittered back-off, bounded
// attempts, a timeout per attempt, capped answers and no redirects to
// another host.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 30 * time.Second
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepContext
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	t := &retryTransport{opts: o, rng: rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))}
	if o.RateLimit.Rate > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(o.RateLimit.Rate), max(1, o.RateLimit.Burst))
	}
	return &http.Client{Transport: t, CheckRedirect: sameHostRedirects}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// sameHostRedirects refuses a redirect to another host: a credential sent
// to the target must never follow it somewhere else.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("refused a redirect from %s to another host (%s)", via[0].URL.Host, req.URL.Host)
	}
	return nil
}

type retryTransport struct {
	opts    HTTPOptions
	limiter *rate.Limiter
	mu      sync.Mutex // guards rng
	rng     *rand.Rand
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := t.attempt(ctx, req, attempt)
		wait, retry := t.retryable(req, resp, err, attempt)
		if !retry {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := t.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: gave up waiting to retry: %w", req.Method, req.URL.Redacted(), err)
		}
	}
}

func (t *retryTransport) attempt(ctx context.Context, req *http.Request, attempt int) (*http.Response, error) {
	if t.limiter != nil {
		if err := t.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: rate limit wait: %w", req.Method, req.URL.Redacted(), err)
		}
	}
	try := req
	if attempt > 1 {
		var err error
		if try, err = rewind(req); err != nil {
			return nil, err
		}
	}
	actx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	start := t.opts.Now()
	resp, err := t.opts.Transport.RoundTrip(try.WithContext(actx))
	ev := RequestEvent{Target: t.opts.Target, Method: req.Method, Duration: t.opts.Now().Sub(start), Attempt: attempt, Err: err}
	if resp != nil {
		ev.Status = resp.StatusCode
	}
	if t.opts.OnRequest != nil {
		t.opts.OnRequest(ev)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cappedBody{r: resp.Body, left: t.opts.MaxBody, cancel: cancel}
	return resp, nil
}

func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, fmt.Errorf("%s %s: cannot resend a request whose body cannot be read twice", req.Method, req.URL.Redacted())
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("%s %s: rewind body: %w", req.Method, req.URL.Redacted(), err)
	}
	clone := req.Clone(req.Context())
	clone.Body = body
	return clone, nil
}

// retryable decides whether to try again and after how long. Throttling
// (429) and 503 mean the request was not processed, so every method is
// retried; other 5xx and network errors only for methods that are safe to
// repeat.
func (t *retryTransport) retryable(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt >= t.opts.MaxAttempts || req.Context().Err() != nil {
		return 0, false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return 0, false
	}
	idempotent := req.Method != http.MethodPost && req.Method != http.MethodPatch
	switch {
	case err != nil:
		if !idempotent {
			return 0, false
		}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
	case resp.StatusCode >= 500 && idempotent:
	default:
		return 0, false
	}
	if resp != nil {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), t.opts.Now()); ok {
			if d > t.opts.MaxRetryWait {
				return 0, false // the target reports it; the worker waits
			}
			return d, true
		}
	}
	return t.backoff(attempt), true
}

func (t *retryTransport) backoff(attempt int) time.Duration {
	ceiling := t.opts.BaseBackoff << min(attempt-1, 10)
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Duration(t.rng.Int64N(int64(ceiling)) + 1)
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return min(time.Duration(min(s, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter), true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(0, at.Sub(now)), maxRetryAfter), true
}

// maxRetryAfter caps a target's Retry-After: a day is long enough to wait
// for any throttle, and an absurd value must not overflow into a negative
// wait or park a record for years.
const maxRetryAfter = 24 * time.Hour

// cappedBody fails a read beyond the limit instead of truncating silently:
// a cut JSON answer must not be mistaken for a short one.
type cappedBody struct {
	r      io.ReadCloser
	left   int64
	cancel context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, ErrAnswerTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	err := b.r.Close()
	b.cancel()
	return err
}
