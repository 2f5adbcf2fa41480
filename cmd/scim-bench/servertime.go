package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// serverTimer adds up how long the handler spent on each request: from the
// moment net/http hands the parsed request to the router until the handler
// returns. It leaves out reading the request and the final flush of the
// response buffer (at most 4 KiB), which net/http does around the handler.
type serverTimer struct {
	total atomic.Int64 // nanoseconds
	count atomic.Int64
}

func (t *serverTimer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		t.total.Add(int64(time.Since(start)))
		t.count.Add(1)
	})
}

// serverClock reads a server's accumulated request time, so that the time
// of a sequential stretch of requests is the difference of two readings.
type serverClock struct {
	// How says where the time comes from, for the report.
	How  string
	read func(ctx context.Context) (time.Duration, error)
}

func timerClock(t *serverTimer) serverClock {
	return serverClock{
		How: "server time: the sum of handler durations measured by a middleware around api.NewRouter " +
			"(routing, authentication, SCIM, JSON encoding; without reading the request and the last flush of the response)",
		read: func(context.Context) (time.Duration, error) { return time.Duration(t.total.Load()), nil },
	}
}

// metricsClock reads a remote server's /metrics: the sum of its SCIM
// request-duration histogram, which its metrics middleware measures the
// same way as the self-hosted timer (its buckets do not matter for a sum).
func metricsClock(client *http.Client, baseURL string) serverClock {
	return serverClock{
		How: "server time: the increase of personio_scim_http_request_duration_seconds_sum for /scim/v2 routes on the server's /metrics",
		read: func(ctx context.Context) (time.Duration, error) {
			return scrapeSCIMSeconds(ctx, client, baseURL+"/metrics")
		},
	}
}

const durationSumMetric = "personio_scim_http_request_duration_seconds_sum{"

// maxScrapedSeconds keeps sums well within what a time.Duration holds
// (about 292 years).
const maxScrapedSeconds = 1e9

func scrapeSCIMSeconds(ctx context.Context, client *http.Client, metricsURL string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read %s: status %d", metricsURL, resp.StatusCode)
	}
	return sumSCIMSeconds(resp.Body)
}

// sumSCIMSeconds adds the request-duration sums of every /scim/v2 route in
// a Prometheus text exposition.
func sumSCIMSeconds(r io.Reader) (time.Duration, error) {
	var seconds float64
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, durationSumMetric) || !strings.Contains(line, `route="/scim/v2`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxScrapedSeconds {
			return 0, fmt.Errorf("metrics line %q: not a plausible sum of seconds", line)
		}
		seconds += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	if seconds > maxScrapedSeconds {
		return 0, fmt.Errorf("metrics: %g seconds in all is not a plausible sum", seconds)
	}
	if !found {
		return 0, fmt.Errorf("metrics: no %s…route=\"/scim/v2…\"} series", strings.TrimSuffix(durationSumMetric, "{"))
	}
	return time.Duration(seconds * float64(time.Second)), nil
}
