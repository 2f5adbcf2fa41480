package personio_test

import (
	"bytes"
	"context"
	"fmt"
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
func BenchmarkDecodeVsRaw(b *testing.B) { benchDecodeVsRaw(b, personio.APIv1) }

// BenchmarkDecodeVsRawV2 is BenchmarkDecodeVsRaw for v2: the persons
// pages, every person's employments and the org lookups, all of which the
// raw side reads again.
func BenchmarkDecodeVsRawV2(b *testing.B) { benchDecodeVsRaw(b, personio.APIv2) }

func benchDecodeVsRaw(b *testing.B, v personio.APIVersion) {
	const n = 10_000
	srv := startSim(b, personiotest.Options{Employees: n})
	rec := &pageRecorder{next: http.DefaultTransport}
	c, _ := newClient(b, srv, v, func(c *personio.Config) {
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

// BenchmarkFetchReplay fetches 10,000 people from answers recorded once
// and replayed from memory, so that it measures the client alone: no
// simulator, no sockets. It is the figure to read under callgrind or in
// CPU and allocation profiles, which the simulator would otherwise share.
//
//	go test -run '^$' -bench BenchmarkFetchReplay -benchmem ./personio/
func BenchmarkFetchReplay(b *testing.B) {
	for _, v := range versions() {
		b.Run(string(v), func(b *testing.B) {
			const n = 10_000
			srv := startSim(b, personiotest.Options{Employees: n})
			rec := &answerRecorder{next: http.DefaultTransport, answers: map[string]recordedAnswer{}}
			c, _ := newClient(b, srv, v, func(c *personio.Config) {
				c.Attributes = nil
				c.HTTPClient = &http.Client{Transport: rec}
			})
			if records, _, err := c.FetchAll(context.Background()); err != nil || len(records) != n {
				b.Fatalf("%d records, %v", len(records), err)
			}
			replayed, _ := newClient(b, srv, v, func(c *personio.Config) {
				c.Attributes = nil
				c.HTTPClient = &http.Client{Transport: rec.replay()}
			})
			for b.Loop() {
				records, _, err := replayed.FetchAll(context.Background())
				if err != nil || len(records) != n {
					b.Fatalf("%d records, %v", len(records), err)
				}
			}
		})
	}
}

// answerRecorder keeps every answer a client received, by method and
// request URI, so that replay can give them again.
type answerRecorder struct {
	next    http.RoundTripper
	answers map[string]recordedAnswer
}

type recordedAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	answer := recordedAnswer{status: resp.StatusCode, header: resp.Header, body: body}
	a.answers[r.Method+" "+r.URL.RequestURI()] = answer
	return answer.response(r), nil
}

func (a recordedAnswer) response(r *http.Request) *http.Response {
	return &http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: r}
}

// replay answers from what was recorded, and fails what was not.
func (a *answerRecorder) replay() http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		answer, ok := a.answers[r.Method+" "+r.URL.RequestURI()]
		if !ok {
			return nil, fmt.Errorf("replay: nothing recorded for %s %s", r.Method, r.URL.RequestURI())
		}
		return answer.response(r), nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// pageRecorder remembers the list requests a client sent, headers included,
// so that a bare client can replay them.
type pageRecorder struct {
	next  http.RoundTripper
	pages []*http.Request
}

func (p *pageRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	// Every GET but the v1 attribute listing is a page of the listing
	// (v1 employees; v2 persons, employments and org lookups).
	if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/attributes") {
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
