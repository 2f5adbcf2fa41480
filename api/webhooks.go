package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// WebhookPath is where Personio delivers webhooks.
const WebhookPath = "/webhooks/personio"

// PeopleSyncer brings the directory up to date for the named Personio
// people: a targeted fetch and an incremental apply through the normal
// engine, guard included. An empty list asks for an incremental sync of
// whatever changed, for events that name no person.
type PeopleSyncer interface {
	SyncPeople(ctx context.Context, personioIDs []string, cause string) error
}

// WebhookOptions configure the receiver.
type WebhookOptions struct {
	// Token is PERSONIO_WEBHOOK_TOKEN: Personio sends it verbatim in the
	// Authorization header. Required.
	Token  string
	Syncer PeopleSyncer
	// Window is how long the receiver rests after a sync, gathering what
	// arrives meanwhile into the next one. Default 500 ms.
	Window time.Duration
	// MaxBatch caps the people of one SyncPeople call; default 500.
	MaxBatch int
	// MaxPending caps the people waiting; beyond it the receiver asks for
	// one incremental sync instead of remembering more ids. Default 100,000.
	MaxPending int
	// Sleep waits between batches and after failures; default real time.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// WebhookStats count what the receiver saw.
type WebhookStats struct {
	Accepted     int // events queued
	Duplicates   int // events seen before
	Unauthorized int
	Malformed    int
	Batches      int // SyncPeople calls that succeeded
	Failures     int // SyncPeople calls that failed (their people were queued again)
}

// Webhooks receives Personio's webhooks. ServeHTTP only checks, parses and
// queues, so that it answers within Personio's 3 seconds however slow the
// store is; Run hands the queued people to the syncer.
type Webhooks struct {
	opts   WebhookOptions
	digest [sha256.Size]byte
	bearer [sha256.Size]byte
	wake   chan struct{}

	mu       sync.Mutex
	pending  map[string]bool // Personio person ids
	anything bool            // an event named no person: sync what changed
	causes   map[string]int  // event name → count, for the run's cause
	seen     *recentKeys
	stats    WebhookStats
}

// NewWebhooks builds a receiver; it refuses to run without a token.
func NewWebhooks(o WebhookOptions) (*Webhooks, error) {
	if o.Token == "" {
		return nil, errors.New("webhooks: PERSONIO_WEBHOOK_TOKEN is empty; an unauthenticated receiver would let anyone trigger syncs")
	}
	if o.Syncer == nil {
		return nil, errors.New("webhooks: no syncer (Personio credentials are needed to act on webhooks)")
	}
	if o.Window <= 0 {
		o.Window = 500 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 500
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100_000
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Webhooks{
		opts: o, digest: sha256.Sum256([]byte(o.Token)), bearer: sha256.Sum256([]byte("Bearer " + o.Token)),
		wake: make(chan struct{}, 1), pending: map[string]bool{}, causes: map[string]int{}, seen: newRecentKeys(20_000),
	}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// authorized compares digests in constant time, so neither the token's
// content nor its length leaks. Personio sends the token verbatim; a
// "Bearer " prefix is accepted too, for tokens registered without one.
func (h *Webhooks) authorized(r *http.Request) bool {
	got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	plain := subtle.ConstantTimeCompare(got[:], h.digest[:])
	prefixed := subtle.ConstantTimeCompare(got[:], h.bearer[:])
	return plain|prefixed == 1
}

// ServeHTTP is POST /webhooks/personio.
func (h *Webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(w, r, http.StatusMethodNotAllowed, "webhooks are delivered with POST")
		return
	}
	if !h.authorized(r) {
		h.count(func(s *WebhookStats) { s.Unauthorized++ })
		writeProblem(w, r, http.StatusUnauthorized, "the Authorization header does not carry the webhook token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, personio.MaxWebhookBody))
	if err != nil {
		h.count(func(s *WebhookStats) { s.Malformed++ })
		writeProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("a webhook body is at most %d bytes", personio.MaxWebhookBody))
		return
	}
	ev, err := personio.ParseWebhookEvent(body)
	if err != nil {
		h.count(func(s *WebhookStats) { s.Malformed++ })
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if ev.Name == personio.EventPing {
		w.WriteHeader(http.StatusOK)
		return
	}
	if h.enqueue(ev) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.WriteHeader(http.StatusOK) // a duplicate: acknowledged, nothing to do
}

func (h *Webhooks) count(f func(*WebhookStats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

// enqueue remembers who to sync and reports whether the event was new.
func (h *Webhooks) enqueue(ev personio.WebhookEvent) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.seen.add(ev.Key()) {
		h.stats.Duplicates++
		return false
	}
	h.stats.Accepted++
	h.causes[ev.Name]++
	switch {
	case ev.PersonID == "" || len(h.pending) >= h.opts.MaxPending:
		h.anything = true
	default:
		h.pending[ev.PersonID] = true
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return true
}

// Stats returns the counters so far.
func (h *Webhooks) Stats() WebhookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Run hands queued people to the syncer until ctx ends. An event that
// finds the receiver idle is synced at once; after each sync the receiver
// rests for Window, and whatever arrived meanwhile goes out together, so a
// burst costs two syncs, not one per event. A failed batch goes back into
// the queue and is tried again after a longer pause; the periodic sync
// stays the safety net either way.
func (h *Webhooks) Run(ctx context.Context) {
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		pause := h.opts.Window
		if err := h.Flush(ctx); err != nil {
			failures++
			h.opts.Logger.Warn("webhook-triggered sync failed; the people stay queued", "error", err, "failures", failures)
			h.signal()
			pause = min(h.opts.Window<<min(failures, 8), time.Minute)
		} else {
			failures = 0
		}
		if h.opts.Sleep(ctx, pause) != nil {
			return
		}
	}
}

func (h *Webhooks) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Flush hands everything queued to the syncer now, in batches of at most
// MaxBatch people. People of a failed batch are queued again.
func (h *Webhooks) Flush(ctx context.Context) error {
	ids, anything, cause := h.take()
	if len(ids) == 0 && !anything {
		return nil
	}
	if anything {
		// An incremental sync reads whoever changed, the named people too.
		if err := h.opts.Syncer.SyncPeople(ctx, nil, cause); err != nil {
			h.requeue(ids, true)
			return h.failed(err)
		}
		h.count(func(s *WebhookStats) { s.Batches++ })
		return nil
	}
	for start := 0; start < len(ids); start += h.opts.MaxBatch {
		batch := ids[start:min(start+h.opts.MaxBatch, len(ids))]
		if err := h.opts.Syncer.SyncPeople(ctx, batch, cause); err != nil {
			h.requeue(ids[start:], false)
			return h.failed(err)
		}
		h.count(func(s *WebhookStats) { s.Batches++ })
	}
	return nil
}

func (h *Webhooks) failed(err error) error {
	h.count(func(s *WebhookStats) { s.Failures++ })
	return fmt.Errorf("sync people named by webhooks: %w", err)
}

func (h *Webhooks) take() ([]string, bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := slices.Sorted(maps.Keys(h.pending))
	anything := h.anything
	cause := "webhook"
	for _, name := range slices.Sorted(maps.Keys(h.causes)) {
		cause += fmt.Sprintf(" %s×%d", name, h.causes[name])
	}
	h.pending, h.anything, h.causes = map[string]bool{}, false, map[string]int{}
	return ids, anything, cause
}

func (h *Webhooks) requeue(ids []string, anything bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		if len(h.pending) >= h.opts.MaxPending {
			h.anything = true
			break
		}
		h.pending[id] = true
	}
	h.anything = h.anything || anything
	h.causes["retry"]++
}

// recentKeys remembers the last n event keys: Personio repeats deliveries
// it thinks failed, and a repeat must not cost another fetch.
type recentKeys struct {
	n     int
	order []string
	set   map[string]bool
}

func newRecentKeys(n int) *recentKeys { return &recentKeys{n: n, set: make(map[string]bool, n)} }

// add reports whether key is new, remembering it.
func (k *recentKeys) add(key string) bool {
	if k.set[key] {
		return false
	}
	if len(k.order) >= k.n {
		delete(k.set, k.order[0])
		k.order = k.order[1:]
	}
	k.order = append(k.order, key)
	k.set[key] = true
	return true
}
