package push_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
)

// fakeSleep records the waits instead of waiting.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func TestHTTPClientRetries(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		method    string
		answers   []int
		header    string
		wantCalls int
		wantCode  int
		wantWaits []time.Duration // nil: any jittered back-off, one per retry
	}{
		{"429 with Retry-After seconds is waited out", "POST", []int{429, 200}, "3", 2, 200, []time.Duration{3 * time.Second}},
		{"429 with an HTTP date", "PATCH", []int{429, 429, 201}, now.Add(7 * time.Second).Format(http.TimeFormat), 3, 201, []time.Duration{7 * time.Second, 7 * time.Second}},
		{"503 is retried for every method", "POST", []int{503, 200}, "", 2, 200, nil},
		{"500 is retried for a safe method", "GET", []int{500, 500, 200}, "", 3, 200, nil},
		{"500 is not retried for POST: it may have been processed", "POST", []int{500, 200}, "", 1, 500, []time.Duration{}},
		{"attempts are bounded", "GET", []int{503, 503, 503, 503, 503, 200}, "", 4, 503, nil},
		{"a Retry-After longer than the client waits goes back to the target", "PUT", []int{429, 200}, "3600", 1, 429, []time.Duration{}},
		{"400 is an answer, not retried", "PUT", []int{400, 200}, "", 1, 400, []time.Duration{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies sync.Map
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				b, _ := io.ReadAll(r.Body)
				bodies.Store(n, string(b))
				code := tc.answers[min(n-1, len(tc.answers)-1)]
				if tc.header != "" && code == 429 {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(code)
			}))
			defer srv.Close()
			sl := &fakeSleep{}
			c := push.NewHTTPClient(push.HTTPOptions{Seed: 1, Now: func() time.Time { return now }, Sleep: sl.sleep})
			req, _ := http.NewRequest(tc.method, srv.URL+"/Users", strings.NewReader(`{"a":1}`))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || int(calls.Load()) != tc.wantCalls {
				t.Fatalf("got %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.wantCode, tc.wantCalls)
			}
			for n := 1; n <= tc.wantCalls; n++ {
				if b, _ := bodies.Load(n); b != `{"a":1}` {
					t.Errorf("attempt %d sent body %q, want the original", n, b)
				}
			}
			if tc.wantWaits != nil {
				if len(sl.waits) != len(tc.wantWaits) {
					t.Fatalf("waits %v, want %v", sl.waits, tc.wantWaits)
				}
				for n := range tc.wantWaits {
					if sl.waits[n] != tc.wantWaits[n] {
						t.Errorf("wait %d = %s, want %s", n, sl.waits[n], tc.wantWaits[n])
					}
				}
			} else if len(sl.waits) != tc.wantCalls-1 {
				t.Errorf("%d waits for %d retries", len(sl.waits), tc.wantCalls-1)
			}
		})
	}
}

func TestHTTPClientBackoffIsExponentialWithJitterAndReproducible(t *testing.T) {
	run := func(seed uint64) []time.Duration {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
		defer srv.Close()
		sl := &fakeSleep{}
		c := push.NewHTTPClient(push.HTTPOptions{Seed: seed, Sleep: sl.sleep, MaxAttempts: 6, BaseBackoff: time.Second})
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return sl.waits
	}
	a, b, other := run(7), run(7), run(8)
	if len(a) != 5 {
		t.Fatalf("%d waits, want 5", len(a))
	}
	for n, d := range a {
		if ceiling := time.Second << n; d <= 0 || d > ceiling {
			t.Errorf("wait %d = %s, want in (0, %s]", n, d, ceiling)
		}
		if d != b[n] {
			t.Errorf("the same seed gave different waits: %v vs %v", a, b)
		}
	}
	same := true
	for n := range a {
		same = same && a[n] == other[n]
	}
	if same {
		t.Errorf("different seeds gave the same waits %v", a)
	}
}

func TestHTTPClientRefusesRedirectToAnotherHost(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the credential followed the redirect")
		}
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/here" {
			return
		}
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/here", http.StatusFound)
			return
		}
		http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/steal", http.StatusFound)
	}))
	defer srv.Close()
	c := push.NewHTTPClient(push.HTTPOptions{})
	req, _ := http.NewRequest("GET", srv.URL+"/away", nil)
	req.Header.Set("Authorization", "Bearer secret")
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("redirect to another host: err = %v, want a refusal", err)
	}
	resp, err := c.Get(srv.URL + "/same")
	if err != nil {
		t.Fatalf("a redirect on the same host was refused: %v", err)
	}
	resp.Body.Close()
}

func TestHTTPClientCapsAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 2048))
	}))
	defer srv.Close()
	c := push.NewHTTPClient(push.HTTPOptions{MaxBody: 1024})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, push.ErrAnswerTooLarge) {
		t.Errorf("read %d bytes with err %v, want ErrAnswerTooLarge", len(b), err)
	}
}

func TestHTTPClientTimesOutAHangingTarget(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	sl := &fakeSleep{}
	c := push.NewHTTPClient(push.HTTPOptions{Timeout: 50 * time.Millisecond, MaxAttempts: 2, Sleep: sl.sleep})
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
	_, err := c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if len(sl.waits) != 0 {
		t.Errorf("a POST that may have been processed was retried")
	}
}

func TestHTTPClientRateLimitAndEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var events []push.RequestEvent
	var mu sync.Mutex
	c := push.NewHTTPClient(push.HTTPOptions{Target: "okta", RateLimit: push.RateLimit{Rate: 1000, Burst: 2}, OnRequest: func(ev push.RequestEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}})
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(events) != 3 || events[0].Target != "okta" || events[0].Status != 200 {
		t.Errorf("events = %+v, want 3 for okta with status 200", events)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := push.NewHTTPClient(push.HTTPOptions{RateLimit: push.RateLimit{Rate: 0.001, Burst: 1}})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if _, err := slow.Do(req); err == nil {
		t.Errorf("a cancelled request passed the limiter")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"0", 0, true}, {"120", 2 * time.Minute, true}, {"-1", 0, false}, {"soon", 0, false},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"9227000000", 24 * time.Hour, true}, {now.Add(1000 * time.Hour).Format(http.TimeFormat), 24 * time.Hour, true},
	} {
		got, ok := push.ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
