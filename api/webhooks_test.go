package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

const webhookToken = "whk-0123456789abcdef0123456789abcdef"

// recordingSyncer records what it is asked to sync. When gate is set each
// call waits for it, standing in for a slow store or a slow Personio.
type recordingSyncer struct {
	mu    sync.Mutex
	calls [][]string
	fail  int // calls left to fail
	gate  chan struct{}
}

func (s *recordingSyncer) SyncPeople(ctx context.Context, ids []string, cause string) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("store unavailable")
	}
	s.calls = append(s.calls, slices.Clone(ids))
	return nil
}

func (s *recordingSyncer) recorded() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func webhookServer(t *testing.T, syncer api.PeopleSyncer, mod func(*api.WebhookOptions)) (string, *api.Webhooks) {
	t.Helper()
	o := api.WebhookOptions{Token: webhookToken, Syncer: syncer}
	if mod != nil {
		mod(&o)
	}
	hooks, err := api.NewWebhooks(o)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(memory.Options{})
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, Webhooks: hooks, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + api.WebhookPath, hooks
}

func envelope(event, id string, second int) string {
	return fmt.Sprintf(`{"company_id":"12345","event_name":%q,"occurred_at":"2026-12-01T10:00:%02dZ","payload":{"id":%q},"meta":{}}`, event, second%60, id)
}

func deliver(t testing.TB, url, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestWebhookAuthentication(t *testing.T) {
	syncer := &recordingSyncer{}
	url, hooks := webhookServer(t, syncer, nil)
	cases := []struct {
		name, auth string
		want       int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "whk-wrong", http.StatusUnauthorized},
		{"token as a prefix", webhookToken + "x", http.StatusUnauthorized},
		{"shorter token", webhookToken[:10], http.StatusUnauthorized},
		{"admin token", "Bearer " + adminToken, http.StatusUnauthorized},
		{"token verbatim", webhookToken, http.StatusAccepted},
		{"token with Bearer", "Bearer " + webhookToken, http.StatusAccepted},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := deliver(t, url, tc.auth, envelope("person.updated", fmt.Sprint(100+i), i)); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := syncer.recorded(); len(got) != 1 || !slices.Equal(got[0], []string{"105", "106"}) {
		t.Errorf("synced %v, want only the two authenticated events' people", got)
	}
	if st := hooks.Stats(); st.Unauthorized != 5 {
		t.Errorf("stats %+v, want 5 unauthorized", st)
	}
	if _, err := api.NewWebhooks(api.WebhookOptions{Syncer: syncer}); err == nil {
		t.Error("a receiver without a token was built")
	}
}

func TestWebhookBodies(t *testing.T) {
	syncer := &recordingSyncer{}
	url, hooks := webhookServer(t, syncer, nil)
	cases := []struct {
		name, body string
		want       int
	}{
		{"ping", `{"company_id":"1","event_name":"ping","occurred_at":"2026-12-01T10:00:00Z","payload":{}}`, http.StatusOK},
		{"not an envelope", `{"hello":"world"}`, http.StatusBadRequest},
		{"not json", `person.updated 7`, http.StatusBadRequest},
		{"too large", `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-12-01T10:00:00Z","payload":{"id":"1"},"meta":{"x":"` + strings.Repeat("a", 70_000) + `"}}`, http.StatusRequestEntityTooLarge},
		{"employment event without person", `{"company_id":"1","event_name":"employment.updated","occurred_at":"2026-12-01T10:00:00Z","payload":{"id":"77"}}`, http.StatusAccepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := deliver(t, url, webhookToken, tc.body); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := syncer.recorded(); len(got) != 1 || got[0] != nil {
		t.Errorf("synced %v, want one incremental sync (no ids) for the event that names no person", got)
	}
}

func TestWebhookDeduplication(t *testing.T) {
	syncer := &recordingSyncer{}
	url, hooks := webhookServer(t, syncer, nil)
	statuses := []int{
		deliver(t, url, webhookToken, envelope("person.updated", "7", 1)),
		deliver(t, url, webhookToken, envelope("person.updated", "7", 1)), // Personio's retry
		deliver(t, url, webhookToken, envelope("person.updated", "7", 2)), // a later change
		deliver(t, url, webhookToken, `{"company_id":"12345","event_name":"employment.updated","occurred_at":"2026-12-01T10:00:03Z","payload":{"id":"900","person_id":"7"}}`),
	}
	if !slices.Equal(statuses, []int{202, 200, 202, 202}) {
		t.Errorf("statuses %v, want the repeat acknowledged with 200 and the others queued with 202", statuses)
	}
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := syncer.recorded(); len(got) != 1 || !slices.Equal(got[0], []string{"7"}) {
		t.Errorf("synced %v, want one fetch of person 7", got)
	}
	if st := hooks.Stats(); st.Accepted != 3 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestWebhookStorm: 1,000 events about 250 people, sent concurrently,
// become at most two targeted syncs.
func TestWebhookStorm(t *testing.T) {
	syncer := &recordingSyncer{}
	windowClosed := make(chan struct{})
	url, hooks := webhookServer(t, syncer, func(o *api.WebhookOptions) {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-windowClosed:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hooks.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	events := []string{"person.updated", "employment.updated", "person.updated", "employment.started"}
	var wg sync.WaitGroup
	statuses := make([]int, 1000)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 1000; i += 8 {
				person := fmt.Sprint(1000 + i%250)
				body := envelope(events[i/250], person, 0) // the second round repeats the first
				if events[i/250] != "person.updated" {
					body = fmt.Sprintf(`{"company_id":"1","event_name":%q,"occurred_at":"2026-12-01T10:00:00Z","payload":{"id":"e%d","person_id":%q}}`, events[i/250], i, person)
				}
				statuses[i] = deliver(t, url, webhookToken, body)
			}
		})
	}
	wg.Wait()
	close(windowClosed)
	people := map[string]bool{}
	var calls [][]string
	for len(people) < 250 {
		time.Sleep(5 * time.Millisecond) // waits for the worker; decides nothing
		calls = syncer.recorded()
		for _, c := range calls {
			for _, id := range c {
				people[id] = true
			}
		}
	}
	// The first event finds the receiver idle and is synced at once; the
	// rest arrive while it rests and go out in one more sync.
	if len(calls) > 2 {
		t.Fatalf("%d syncs for one burst, want at most two", len(calls))
	}
	st := hooks.Stats()
	if st.Accepted+st.Duplicates != 1000 || st.Duplicates != 250 {
		t.Errorf("stats %+v: want 1,000 events of which 250 repeats", st)
	}
	for i, s := range statuses {
		if s != http.StatusAccepted && s != http.StatusOK {
			t.Fatalf("event %d answered %d", i, s)
		}
	}
}

// TestWebhookAcknowledgesWhileSyncIsSlow: deliveries are answered while a
// sync is stuck; they wait in the queue and nothing is lost.
func TestWebhookAcknowledgesWhileSyncIsSlow(t *testing.T) {
	syncer := &recordingSyncer{gate: make(chan struct{})}
	url, hooks := webhookServer(t, syncer, nil)
	deliver(t, url, webhookToken, envelope("person.updated", "1", 0))
	flushed := make(chan error, 1)
	go func() { flushed <- hooks.Flush(context.Background()) }()
	for i := range 20 {
		if got := deliver(t, url, webhookToken, envelope("person.updated", fmt.Sprint(2+i), 0)); got != http.StatusAccepted {
			t.Fatalf("delivery during a stuck sync: %d", got)
		}
	}
	close(syncer.gate)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var people []string
	for _, c := range syncer.recorded() {
		people = append(people, c...)
	}
	if len(people) != 21 {
		t.Errorf("synced %d people, want all 21", len(people))
	}
}

func TestWebhookFailedBatchIsRequeued(t *testing.T) {
	syncer := &recordingSyncer{fail: 1}
	url, hooks := webhookServer(t, syncer, func(o *api.WebhookOptions) { o.MaxBatch = 2 })
	for i := range 3 {
		deliver(t, url, webhookToken, envelope("person.created", fmt.Sprint(i+1), 0))
	}
	if err := hooks.Flush(context.Background()); err == nil {
		t.Fatal("a failed sync was not reported")
	}
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := syncer.recorded()
	if len(got) != 2 || !slices.Equal(got[0], []string{"1", "2"}) || !slices.Equal(got[1], []string{"3"}) {
		t.Errorf("synced %v, want the requeued people in batches of two", got)
	}
}
