package personio_test

import (
	"context"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// TestV1TenThousandWithLimits reads 10,000 people through v1 with the
// simulator enforcing Personio's limits and the client keeping under them,
// on a shared fake clock: 100 list calls, one auth call, no 429, and the
// simulated time Personio's 300/min with bursts of 15 implies.
func TestV1TenThousandWithLimits(t *testing.T) {
	clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	srv := personiotest.Start(t, personiotest.Options{Employees: 10_000, Now: clock.Now})
	c, err := personio.NewClient(personio.Config{
		BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), APIVersion: personio.APIv1,
		Now: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, stats, err := c.FetchAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10_000 {
		t.Fatalf("got %d records", len(got))
	}
	// 100 full pages, then the empty page that proves the end: the total
	// alone proves nothing.
	if n := srv.Calls("GET /v1/company/employees"); n != 101 {
		t.Errorf("list calls = %d, want 101", n)
	}
	if n := srv.Calls("POST /v1/auth"); n != 1 {
		t.Errorf("auth calls = %d, want 1", n)
	}
	if stats.RateLimited != 0 || stats.Calls != 102 {
		t.Errorf("stats %+v: want 102 calls and no 429", stats)
	}
	// 15 calls at once, then 86 at (300-15)/60 per second.
	want := 86 * time.Minute / 285
	if stats.Duration < want-time.Second || stats.Duration > want+time.Second {
		t.Errorf("simulated duration %s, want about %s", stats.Duration, want)
	}
}

// TestClientLimitsAvoid429: without the client's limiter the simulator
// answers 429 and the client backs off; with it there is none.
func TestClientLimitsAvoid429(t *testing.T) {
	for _, v := range versions() {
		for _, limited := range []bool{true, false} {
			clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			srv := personiotest.Start(t, personiotest.Options{Employees: 300, Now: clock.Now,
				V2Limits: map[string]personiotest.Bucket{"GET /v2/persons/{id}/employments": {Rate: 20, Burst: 20}}})
			c, err := personio.NewClient(personio.Config{
				BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), APIVersion: v,
				Now: clock.Now, Sleep: clock.Sleep, NoRateLimit: !limited, MaxAttempts: 20, V1PageSize: 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, stats, err := c.FetchAll(context.Background())
			if err != nil || len(got) != 300 {
				t.Fatalf("%s limited=%v: %d records, %v", v, limited, len(got), err)
			}
			if limited && stats.RateLimited != 0 {
				t.Errorf("%s with the client limiter: %d answers were 429", v, stats.RateLimited)
			}
			if !limited && stats.RateLimited == 0 {
				t.Errorf("%s without the client limiter: no 429, so the test proves nothing", v)
			}
		}
	}
}
