package main

import (
	"fmt"
	"time"
)

// The targets, held at 10,000 identities, 32 clients, 2 cores.
const (
	targetLookupVsBaseline = 0.70
	targetLookupP99        = 2 * time.Millisecond
	targetPageUsersServer  = 500 * time.Millisecond
)

// checkTargets compares the results with the targets; a target
// whose scenario did not run is left out.
func checkTargets(results []scenarioResult) []targetCheck {
	var checks []targetCheck
	if r, ok := find(results, scenarioLookup); ok {
		if r.BaselineThroughput > 0 {
			checks = append(checks, targetCheck{
				What: fmt.Sprintf("lookup throughput at least %.0f %% of the baseline's", targetLookupVsBaseline*100),
				Got:  fmt.Sprintf("%.0f %% (%.0f of %.0f req/s)", r.VsBaseline*100, r.Throughput, r.BaselineThroughput),
				Met:  r.VsBaseline >= targetLookupVsBaseline,
			})
		}
		checks = append(checks, targetCheck{
			What: "lookup p99 under " + formatDuration(targetLookupP99),
			Got:  formatDuration(r.Latency.P99),
			Met:  r.Latency.Count > 0 && r.Latency.P99 < targetLookupP99,
		})
	}
	if r, ok := find(results, scenarioPage); ok && r.Page != nil && r.Page.ServerClock != "" {
		checks = append(checks, targetCheck{
			What: "page: all users in under " + formatDuration(targetPageUsersServer) + " of server time",
			Got:  fmt.Sprintf("%s for %d users", formatDuration(r.Page.UsersServer), r.Page.Users),
			Met:  r.Page.UsersServer < targetPageUsersServer,
		})
	}
	return checks
}

func find(results []scenarioResult, name string) (scenarioResult, bool) {
	for _, r := range results {
		if r.Scenario == name {
			return r, true
		}
	}
	return scenarioResult{}, false
}
