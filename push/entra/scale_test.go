package entra_test

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/store"
)

// company builds n people: every tenth is a manager of the next nine,
// every twentieth a leaver.
func company(n int) []push.Item {
	items := make([]push.Item, 0, n)
	var mgr push.Item
	for i := 1; i <= n; i++ {
		it := person(i)
		if i%10 == 1 {
			mgr = it
		} else {
			it = withManager(it, mgr)
		}
		if i%20 == 0 {
			it.Identity.Active = false
			it.Identity.Lifecycle.State, it.Identity.Lifecycle.EndDate = store.StateLeaver, "2026-08-31"
		}
		items = append(items, it)
	}
	return items
}

// TestTenThousandAtTheDefaultLimits pushes 10,000 people from empty
// against a simulator enforcing Entra's strictest published limits, on a
// fake clock that only the target's pacing moves. Nothing may be
// throttled, the pushes may take at most 1.1 times what the limit allows,
// and every user must end up matched and enabled or disabled correctly.
func TestTenThousandAtTheDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 people")
	}
	const n = 10000
	f := setup(t, entrasim.Options{}, nil)
	items := company(n)

	start := f.clock.Now()
	res := f.pushAll(items...)
	took := f.clock.Now().Sub(start)

	calls := (n + entra.MaxBatch - 1) / entra.MaxBatch
	limit := entra.DefaultRateLimit()
	allowed := time.Duration(calls) * limit.Per / time.Duration(limit.Requests)
	t.Logf("%d bulkUpload calls took %s on the fake clock; the limit of %d per %s allows them in %s (ratio %.3f)",
		calls, took, limit.Requests, limit.Per, allowed, float64(took)/float64(allowed))
	if f.sim.Throttled() != 0 {
		t.Fatalf("the simulator throttled %d requests", f.sim.Throttled())
	}
	if took > allowed*11/10 {
		t.Fatalf("took %s, more than 1.1 × %s", took, allowed)
	}

	readStart := f.clock.Now()
	got := f.confirm(items, res)
	t.Logf("confirming %d records read the logs in %s of fake time", n, f.clock.Now().Sub(readStart))
	if f.sim.Throttled() != 0 {
		t.Fatalf("the log reads were throttled %d times", f.sim.Throttled())
	}
	if f.sim.Users() != n || len(got) != n {
		t.Fatalf("%d users in the tenant, %d outcomes; want %d", f.sim.Users(), len(got), n)
	}
	for i, it := range items {
		if got[it.ID].Outcome != push.Done {
			t.Fatalf("%s: %s (%s)", it.Identity.PersonioID, got[it.ID].Outcome, got[it.ID].Error)
		}
		u, _ := f.sim.Tenant(it.Identity.PersonioID)
		wantMgr := ""
		if it.Identity.Manager != nil {
			wantMgr = it.Identity.Manager.PersonioID
		}
		if u.AccountEnabled != it.Identity.Active || u.ManagerEmployeeID != wantMgr {
			t.Fatalf("person %d: enabled %v manager %q, want %v %q", i, u.AccountEnabled, u.ManagerEmployeeID, it.Identity.Active, wantMgr)
		}
	}
}

// BenchmarkPushTenThousand measures the target and the simulator alone:
// 10,000 people from empty with every limit lifted, then confirmed.
func BenchmarkPushTenThousand(b *testing.B) {
	items := company(10000)
	for b.Loop() {
		f := setup(b, entrasim.Options{RateLimit: -1, DailyLimit: -1, LogReadLimit: -1, MaxLogPage: 1000},
			func(c *entra.Config) { c.RateLimit = entra.Limit{}; c.LogPageSize = 1000 })
		res := f.pushAll(items...)
		if got := f.confirm(items, res); len(got) != len(items) {
			b.Fatalf("%d outcomes", len(got))
		}
	}
}
