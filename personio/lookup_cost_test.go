package personio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// lookupCost confirms n people one by one against a simulator at
// Personio's published limits, on a fake clock, with a fresh client (so
// one authentication is included). With fetchOne it reads each person in
// full (v2: the person, its employments and the org lookups), otherwise it
// asks only whether the person exists.
func lookupCost(t testing.TB, v personio.APIVersion, n int, fetchOne bool) personio.FetchStats {
	return lookupCostVs(t, v, n, fetchOne, false)
}

// lookupCostVs is lookupCost, or with listing the baseline: one full
// listing of the same company.
func lookupCostVs(t testing.TB, v personio.APIVersion, n int, fetchOne, listing bool) personio.FetchStats {
	t.Helper()
	clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	srv := personiotest.Start(t, personiotest.Options{Employees: n, Now: clock.Now})
	c, err := personio.NewClient(personio.Config{
		BaseURL: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), APIVersion: v,
		Now: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	if listing {
		_, stats, err := c.FetchAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}
	var ids []string
	for _, r := range srv.Records() {
		ids = append(ids, r.ID)
	}
	if !fetchOne {
		_, found, stats, err := c.ConfirmGone(context.Background(), ids, n)
		if err != nil || len(found) != n {
			t.Fatalf("confirm %d: %d found, %v", n, len(found), err)
		}
		return stats
	}
	var total personio.FetchStats
	for _, id := range ids {
		_, stats, err := c.FetchOneWithStats(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		total.Calls += stats.Calls
		total.RateLimited += stats.RateLimited
		total.Duration += stats.Duration
	}
	return total
}

// TestLookupCost reports what confirming vanished people costs at
// Personio's limits: calls and simulated time for 10, 100 and 1,000
// lookups. Exists makes one call per person (plus one authentication);
// FetchOne on v2 also reads the employments and every org lookup.
func TestLookupCost(t *testing.T) {
	for _, v := range versions() {
		for _, n := range []int{10, 100, 1000} {
			list := lookupCostVs(t, v, n, false, true)
			t.Logf("%s FetchAll of %-4d: %5d calls, %8.1f s simulated (baseline)", v, n, list.Calls, list.Duration.Seconds())
			exists := lookupCost(t, v, n, false)
			if exists.Calls != n+1 || exists.RateLimited != 0 {
				t.Errorf("%s Exists x%d: %d calls, %d 429s; want %d calls and none", v, n, exists.Calls, exists.RateLimited, n+1)
			}
			t.Logf("%s Exists   x%-4d: %5d calls, %8.1f s simulated (%.1fx the listing's calls)", v, n, exists.Calls, exists.Duration.Seconds(), ratio(exists, list))
			full := lookupCost(t, v, n, true)
			if full.RateLimited != 0 {
				t.Errorf("%s FetchOne x%d: %d 429s", v, n, full.RateLimited)
			}
			t.Logf("%s FetchOne x%-4d: %5d calls, %8.1f s simulated (%.1fx the listing's calls)", v, n, full.Calls, full.Duration.Seconds(), ratio(full, list))
		}
	}
}

// BenchmarkLookupCost measures the same on every run: calls and simulated
// seconds per batch of lookups.
func BenchmarkLookupCost(b *testing.B) {
	for _, v := range versions() {
		for _, n := range []int{10, 100, 1000} {
			for _, mode := range []struct {
				name     string
				fetchOne bool
			}{{"Exists", false}, {"FetchOne", true}} {
				b.Run(fmt.Sprintf("%s/%s/%d", v, mode.name, n), func(b *testing.B) {
					var stats personio.FetchStats
					for b.Loop() {
						stats = lookupCost(b, v, n, mode.fetchOne)
					}
					b.ReportMetric(float64(stats.Calls), "calls/op")
					b.ReportMetric(stats.Duration.Seconds(), "simulated-s/op")
				})
			}
		}
	}
}

func ratio(a, b personio.FetchStats) float64 { return float64(a.Calls) / float64(b.Calls) }
