package personio

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := newBackoff(time.Minute, rand.NewPCG(1, 2))
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, time.Second, 1500 * time.Millisecond},
		{2, 2 * time.Second, 3 * time.Second},
		{3, 4 * time.Second, 6 * time.Second},
		{6, 32 * time.Second, 48 * time.Second},
		{7, time.Minute, 90 * time.Second}, // capped, jitter on top
		{40, time.Minute, 90 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := b.delay(tt.attempt, 0, false); d < tt.min || d > tt.max {
				t.Fatalf("delay(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.min, tt.max)
			}
		}
	}
}

func TestBackoffJitterIsSeeded(t *testing.T) {
	a := newBackoff(time.Minute, rand.NewPCG(7, 7))
	b := newBackoff(time.Minute, rand.NewPCG(7, 7))
	c := newBackoff(time.Minute, rand.NewPCG(8, 8))
	same, differs := true, false
	for i := 1; i <= 5; i++ {
		da, db, dc := a.delay(i, 0, false), b.delay(i, 0, false), c.delay(i, 0, false)
		same = same && da == db
		differs = differs || da != dc
	}
	if !same || !differs {
		t.Errorf("jitter: same seed equal = %v, other seed differs = %v; want true, true", same, differs)
	}
}

func TestBackoffRetryAfterWins(t *testing.T) {
	b := newBackoff(time.Minute, rand.NewPCG(1, 2))
	tests := []struct{ retryAfter, want time.Duration }{
		{7 * time.Second, 7 * time.Second},
		{0, time.Second}, // never faster than Personio's one second
		{time.Hour, maxRetryAfter},
	}
	for _, tt := range tests {
		if got := b.delay(3, tt.retryAfter, true); got != tt.want {
			t.Errorf("delay with Retry-After %s = %s, want %s", tt.retryAfter, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		got, ok := parseRetryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSleepContextStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepContext on a cancelled context = %v, want context.Canceled", err)
	}
	if err := sleepContext(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleepContext(1ms) = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no credentials", func(c *Config) { c.ClientSecret = "" }},
		{"bad version", func(c *Config) { c.APIVersion = "v3" }},
		{"v1 page too big", func(c *Config) { c.V1PageSize = 101 }},
		{"v2 page too big", func(c *Config) { c.V2PageSize = 51 }},
		{"bad offset mode", func(c *Config) { c.V1OffsetMode = "pages" }},
		{"bad total policy", func(c *Config) { c.TotalChange = "ignore" }},
		{"bad missing policy", func(c *Config) { c.Missing = "skip" }},
		{"bad changed mode", func(c *Config) { c.V2Changed = "webhooks" }},
		{"bad unresolved policy", func(c *Config) { c.V2Unresolved = "drop" }},
		{"salary attribute", func(c *Config) { c.Attributes = []string{"fix_salary"} }},
		{"plain http remote", func(c *Config) { c.BaseURL = "http://api.personio.de" }},
		{"no host", func(c *Config) { c.BaseURL = "api.personio.de" }},
	}
	if _, err := NewClient(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for _, tt := range tests {
		cfg := ok
		tt.mod(&cfg)
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		in, want  string
		allowHTTP bool
	}{
		{"https://api.personio.de", "https://api.personio.de", false},
		{"https://api.personio.de/", "https://api.personio.de", false},
		{"https://api.personio.de/v1", "https://api.personio.de", false},
		{"https://api.personio.de/v2/", "https://api.personio.de", false},
		{"https://proxy.example/personio", "https://proxy.example/personio", false},
		{"http://127.0.0.1:9090", "http://127.0.0.1:9090", false},
		{"http://localhost:9090/v1", "http://localhost:9090", false},
		{"http://simulator:9090", "http://simulator:9090", true},
	}
	for _, tt := range tests {
		u, err := parseBaseURL(tt.in, tt.allowHTTP)
		if err != nil {
			t.Errorf("parseBaseURL(%q): %v", tt.in, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("parseBaseURL(%q) = %s, want %s", tt.in, u, tt.want)
		}
	}
}

func TestLimitsLearnFromHeaders(t *testing.T) {
	l := newLimits(Config{V2Rate: 5, V2Burst: 5})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("X-Ratelimit-Replenish-Rate", "2")
	h.Set("X-Ratelimit-Burst-Capacity", "4")
	h.Set("X-Ratelimit-Remaining", "0")
	l.learn(endpointV2Persons, h, now)
	lim := l.v2Endpoint(endpointV2Persons)
	if lim.Limit() != 2 || lim.Burst() != 4 {
		t.Fatalf("learned limiter = %v/s burst %d, want 2/s burst 4", lim.Limit(), lim.Burst())
	}
	// The server said its bucket is empty: the next request waits half a second.
	if d := lim.ReserveN(now, 1).DelayFrom(now); d != 500*time.Millisecond {
		t.Errorf("delay after an empty bucket = %s, want 500ms", d)
	}
	l.learn(endpointV2Token, h, now)
	l.learn(endpointV1Employees, h, now)
	if got := l.forEndpoint(endpointV1Employees); len(got) != 2 || got[1] != l.v1Employees {
		t.Errorf("v1 limiter replaced by headers")
	}
}

func TestPerMinuteNeverExceedsItsLimit(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lim := perMinute(300, 15)
	admitted := 0
	for ms := 0; ms < 60_000; ms += 10 {
		if lim.AllowN(start.Add(time.Duration(ms)*time.Millisecond), 1) {
			admitted++
		}
	}
	if admitted > 300 {
		t.Errorf("perMinute(300, 15) admitted %d requests in one minute", admitted)
	}
	if admitted < 295 {
		t.Errorf("perMinute(300, 15) admitted only %d requests in one minute", admitted)
	}
}
