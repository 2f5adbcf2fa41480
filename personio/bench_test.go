package personio_test

import (
	"context"
	"io"
	"net/http"
	"strings"
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

// BenchmarkDecodeVsRaw fetches 10,000 people through v1 with the client
// ("fetch") and, in the same run, reads the very same pages with a bare HTTP
// client that only drains the bodies ("raw"). fetch's ns/op divided by raw's
// is what paging, decoding and normalizing cost over the wire itself.
//
//	go test -run '^$' -bench BenchmarkDecodeVsRaw -benchmem -count 3 ./personio/
func BenchmarkDecodeVsRaw(b *testing.B) {
	const n = 10_000
	srv := startSim(b, personiotest.Options{Employees: n})
	rec := &pageRecorder{next: http.DefaultTransport}
	c, _ := newClient(b, srv, personio.APIv1, func(c *personio.Config) {
		c.Attributes = nil
		c.HTTPClient = &http.Client{Transport: rec}
	})
	if records, _, err := c.FetchAll(context.Background()); err != nil || len(records) != n {
		b.Fatalf("%d records, %v", len(records), err)
	}
	pages := rec.pages
	b.Run("raw", func(b *testing.B) {
		var bytes int64
		for b.Loop() {
			bytes = 0
			for _, p := range pages {
				bytes += drain(b, p)
			}
		}
		b.SetBytes(bytes)
	})
	b.Run("fetch", func(b *testing.B) {
		for b.Loop() {
			records, _, err := c.FetchAll(context.Background())
			if err != nil || len(records) != n {
				b.Fatalf("%d records, %v", len(records), err)
			}
		}
	})
}

// pageRecorder remembers the list requests a client sent, headers included,
// so that a bare client can replay them.
type pageRecorder struct {
	next  http.RoundTripper
	pages []*http.Request
}

func (p *pageRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/company/employees") {
		p.pages = append(p.pages, r.Clone(context.Background()))
	}
	return p.next.RoundTrip(r)
}

func drain(b *testing.B, r *http.Request) int64 {
	resp, err := http.DefaultClient.Do(r.Clone(context.Background()))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
