package main

import (
	"testing"
	"time"
)

func TestSummarizeByNearestRank(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	oneToHundred := make([]int, 100)
	for i := range oneToHundred {
		oneToHundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		want   latencySummary
	}{
		{"none", nil, latencySummary{}},
		{"one", ms(7), latencySummary{Count: 1, Mean: 7 * time.Millisecond, P50: 7 * time.Millisecond, P90: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"1 to 100", ms(oneToHundred...), latencySummary{Count: 100, Mean: 50500 * time.Microsecond, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"ten with a slow one", ms(1, 1, 1, 1, 1, 2, 2, 2, 3, 90), latencySummary{Count: 10, Mean: 10400 * time.Microsecond, P50: 1 * time.Millisecond, P90: 3 * time.Millisecond, P99: 90 * time.Millisecond, Max: 90 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.sorted); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBudgetSlices(t *testing.T) {
	tests := []struct {
		name   string
		spec   loadSpec
		rounds int
		want   []int64 // requests per slice, or nanoseconds when counting time
	}{
		{"requests split evenly", loadSpec{Requests: 9}, 3, []int64{3, 3, 3}},
		{"remainder to the first slices", loadSpec{Requests: 11}, 3, []int64{4, 4, 3}},
		{"duration split", loadSpec{Duration: 10 * time.Second}, 4, []int64{int64(2500 * time.Millisecond), int64(2500 * time.Millisecond), int64(2500 * time.Millisecond), int64(2500 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.slices(tt.rounds)
			if len(got) != len(tt.want) {
				t.Fatalf("%d slices, want %d", len(got), len(tt.want))
			}
			for i, s := range got {
				v := int64(s.Requests)
				if tt.spec.Requests == 0 {
					v = int64(s.Duration)
				}
				if v != tt.want[i] {
					t.Errorf("slice %d: %d, want %d", i, v, tt.want[i])
				}
			}
		})
	}
}
