package main

import (
	"time"
)

// latencySummary is the distribution of one set of round trips.
type latencySummary struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// summarize reads percentiles off sorted latencies by nearest rank: the
// p-th percentile is the smallest value at or below which p % of the
// values lie.
func summarize(sorted []time.Duration) latencySummary {
	n := len(sorted)
	if n == 0 {
		return latencySummary{}
	}
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return latencySummary{
		Count: n,
		Mean:  sum / time.Duration(n),
		P50:   nearestRank(sorted, 50),
		P90:   nearestRank(sorted, 90),
		P99:   nearestRank(sorted, 99),
		Max:   sorted[n-1],
	}
}

func nearestRank(sorted []time.Duration, percent int) time.Duration {
	rank := (percent*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}
