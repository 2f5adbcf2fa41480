package personio_test

import (
	"context"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// benchFetchAll reads a simulated company of n people with rate limits off
// on both sides, so that it measures the client and the wire: paging,
// decoding, normalization.
func benchFetchAll(b *testing.B, v personio.APIVersion, n int) {
	srv := startSim(b, personiotest.Options{Employees: n})
	c, _ := newClient(b, srv, v, func(c *personio.Config) { c.Attributes = nil })
	var calls int
	for b.Loop() {
		records, stats, err := c.FetchAll(context.Background())
		if err != nil || len(records) != n {
			b.Fatalf("%d records, %v", len(records), err)
		}
		calls = stats.Calls
	}
	b.ReportMetric(float64(calls), "calls/op")
}

func BenchmarkFetchAllV1_10k(b *testing.B) { benchFetchAll(b, personio.APIv1, 10_000) }
func BenchmarkFetchAllV2_10k(b *testing.B) { benchFetchAll(b, personio.APIv2, 10_000) }
