package main

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is one closed-loop run: Concurrency clients each send the next
// request as soon as the previous answer is read, cycling through Paths
// from different starting points, for Duration or until Requests have been
// sent in total.
type loadSpec struct {
	BaseURL     string // SCIM base, e.g. http://127.0.0.1:PORT/scim/v2
	Token       string
	Paths       []string
	Concurrency int
	Duration    time.Duration // used when Requests is 0
	Requests    int
	// During, if set, says whether something else is going on (a sync);
	// requests that start or end while it is are also summarized apart.
	During func() bool
}

// loadResult is what a run measured. Latencies are of completed round
// trips (any status, body read); transport errors have none.
type loadResult struct {
	Requests        int
	OK              int
	HTTPErrors      int // completed with a status other than 2xx
	TransportErrors int // no complete answer: connection, timeout, body
	Elapsed         time.Duration
	Latencies       []time.Duration // sorted
	During          []time.Duration // sorted; those that overlapped During
	FirstError      string          // the first error of each kind, for the report
}

// budget decides whether a worker starts another request.
type budget struct {
	deadline time.Time // zero when counting
	left     atomic.Int64
}

func newBudget(start time.Time, spec loadSpec) *budget {
	b := &budget{}
	if spec.Requests > 0 {
		b.left.Store(int64(spec.Requests))
	} else {
		b.deadline = start.Add(spec.Duration)
	}
	return b
}

func (b *budget) take() bool {
	if b.deadline.IsZero() {
		return b.left.Add(-1) >= 0
	}
	return time.Now().Before(b.deadline)
}

// workerResult is one client's share, merged at the end so that clients
// share nothing while they run.
type workerResult struct {
	latencies, during           []time.Duration
	ok, httpErrs, transErrs     int
	firstHTTPErr, firstTransErr string
}

// runLoad runs spec with client. Requests are prepared before the clock
// starts; per request a worker only copies a prepared request.
func runLoad(ctx context.Context, client *http.Client, spec loadSpec) (loadResult, error) {
	templates, err := prepareRequests(spec)
	if err != nil {
		return loadResult{}, err
	}
	planned := spec.Duration
	if spec.Requests > 0 {
		planned = requestCountBound
	}
	ctx, cancel := boundedContext(ctx, planned)
	defer cancel()
	results := make([]workerResult, spec.Concurrency)
	start := time.Now()
	b := newBudget(start, spec)
	var wg sync.WaitGroup
	for w := range spec.Concurrency {
		offset := w * len(templates) / spec.Concurrency
		wg.Go(func() { results[w] = runWorker(ctx, client, templates, offset, b, spec) })
	}
	wg.Wait()
	return mergeResults(results, time.Since(start)), nil
}

func prepareRequests(spec loadSpec) ([]*http.Request, error) {
	templates := make([]*http.Request, len(spec.Paths))
	for i, p := range spec.Paths {
		req, err := http.NewRequest(http.MethodGet, spec.BaseURL+p, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+spec.Token)
		req.Header.Set("Accept", "application/scim+json")
		templates[i] = req
	}
	return templates, nil
}

func runWorker(ctx context.Context, client *http.Client, templates []*http.Request, offset int, b *budget, spec loadSpec) workerResult {
	capacity := 8192
	if spec.Requests > 0 {
		capacity = spec.Requests/spec.Concurrency + 1
	}
	r := workerResult{latencies: make([]time.Duration, 0, capacity)}
	for i := offset; b.take(); i++ {
		if ctx.Err() != nil {
			r.transErrs++
			continue // count what the budget still promised, send nothing
		}
		req := templates[i%len(templates)].WithContext(ctx)
		during := spec.During != nil && spec.During()
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			r.transportError(err)
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			r.transportError(err)
			continue
		}
		r.latencies = append(r.latencies, took)
		if during || (spec.During != nil && spec.During()) {
			r.during = append(r.during, took)
		}
		if resp.StatusCode/100 == 2 {
			r.ok++
			continue
		}
		r.httpErrs++
		if r.firstHTTPErr == "" {
			r.firstHTTPErr = (&statusError{URL: req.URL.Path, Status: resp.StatusCode}).Error()
		}
	}
	return r
}

func (r *workerResult) transportError(err error) {
	r.transErrs++
	if r.firstTransErr == "" {
		r.firstTransErr = err.Error()
	}
}

func mergeResults(results []workerResult, elapsed time.Duration) loadResult {
	out := loadResult{Elapsed: elapsed}
	var firstHTTP, firstTrans string
	for _, r := range results {
		out.OK += r.ok
		out.HTTPErrors += r.httpErrs
		out.TransportErrors += r.transErrs
		out.Latencies = append(out.Latencies, r.latencies...)
		out.During = append(out.During, r.during...)
		firstHTTP = cmp.Or(firstHTTP, r.firstHTTPErr)
		firstTrans = cmp.Or(firstTrans, r.firstTransErr)
	}
	out.Requests = out.OK + out.HTTPErrors + out.TransportErrors
	out.FirstError = strings.Join(slices.DeleteFunc([]string{firstHTTP, firstTrans}, func(s string) bool { return s == "" }), "; ")
	slices.Sort(out.Latencies)
	slices.Sort(out.During)
	return out
}
