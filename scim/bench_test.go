package scim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// The benchmarks serve a directory of 10,000 identities through the
// service's router, as a deployment does (request log, metrics,
// authentication, SCIM).
// The loopback ones run a real HTTP server and client on this machine and
// report throughput and latency percentiles; the baseline is a bare
// net/http handler writing a fixed SCIM body of the same size through the
// same harness, so that the ratio of the two shows what the service costs
// on top of net/http itself.
//
//	go test ./scim/ -run '^$' -bench . -benchtime 5s

const benchPeople = 10000

func benchServer(b *testing.B) (http.Handler, []string) {
	b.Helper()
	people := append(scim.CompanyPeople(), scim.SyntheticPeople(benchPeople-len(scim.CompanyPeople()))...)
	st, dir := scim.NewFixtureStore(b, people)
	r := routed(b, st, dir)
	var targets []string
	for i, p := range dir.View().Identities() {
		if i%10 == 0 {
			targets = append(targets, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+p.UserName+`"`))
		}
	}
	return r, targets
}

// routed is the service's router (api.NewRouter) on the directory: the
// request log and metrics, chi's routing, authentication with the SCIM
// bootstrap token, then the SCIM handler.
func routed(b *testing.B, st *memory.Store, dir *store.Directory) http.Handler {
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, SCIMToken: readToken})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// loopback runs the targets round-robin against handler from parallel
// clients over keep-alive connections and reports req/s, p50 and p99.
func loopback(b *testing.B, handler http.Handler, targets []string) {
	srv := httptest.NewServer(handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      int
	)
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		offset := next
		next += 7919
		mu.Unlock()
		local := make([]time.Duration, 0, 4096)
		for i := offset; pb.Next(); i++ {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+targets[i%len(targets)], nil)
			req.Header.Set("Authorization", "Bearer "+readToken)
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkLookupUserName is Okta's existence check, GET /Users?filter=
// userName eq "…", for rotating users of a 10,000-person directory.
func BenchmarkLookupUserName(b *testing.B) {
	h, targets := benchServer(b)
	loopback(b, h, targets)
}

// BenchmarkStaticBaseline serves the answer to one such lookup as fixed
// bytes from a bare handler, through the same loopback harness.
func BenchmarkStaticBaseline(b *testing.B) {
	h, targets := benchServer(b)
	req := httptest.NewRequest(http.MethodGet, targets[0], nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	static := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	})
	loopback(b, static, targets)
}

// BenchmarkLookupUserNameInProcess is the same lookup without the network,
// for allocation counts, in the steady state of a view: every target is
// looked up once before the timer starts, so each lookup is answered from
// the User rendered for the view.
func BenchmarkLookupUserNameInProcess(b *testing.B) {
	h, targets := benchServer(b)
	for _, target := range targets {
		warmLookup(b, h, target)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			countedLookup(b, h, targets[i%len(targets)])
		}
	})
}

// BenchmarkLookupUserNameColdInProcess is the first lookup of each User in
// a view, as after a start or for the people a sync changed: every lookup
// asks for someone not looked up before, so the User is rendered and kept.
// A fresh handler (with the timer stopped) starts over after every user.
func BenchmarkLookupUserNameColdInProcess(b *testing.B) {
	people := append(scim.CompanyPeople(), scim.SyntheticPeople(benchPeople-len(scim.CompanyPeople()))...)
	st, dir := scim.NewFixtureStore(b, people)
	var targets []string
	for _, p := range dir.View().Identities() {
		targets = append(targets, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+p.UserName+`"`))
	}
	var h http.Handler
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(targets) == 0 {
			b.StopTimer()
			h = routed(b, st, dir)
			b.StartTimer()
		}
		countedLookup(b, h, targets[i%len(targets)])
	}
}

// countedLookup is one lookup of the benchmarks' timed part, with
// httptest building the request and the recorder; countedServe is the
// service's part of it, the handler serving that request. make
// bench-instructions reads the instructions spent inside each (and nothing
// outside them, such as the setup), so both must stay functions of their
// own.
//
//go:noinline
func countedLookup(b *testing.B, h http.Handler, target string) {
	lookupThrough(b, countedServe, h, target)
}

// warmLookup is a lookup outside the counted functions, for warming up.
func warmLookup(b *testing.B, h http.Handler, target string) {
	lookupThrough(b, func(h http.Handler, w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }, h, target)
}

// lookupThrough makes one lookup request and has serve answer it.
func lookupThrough(b *testing.B, serve func(http.Handler, http.ResponseWriter, *http.Request), h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	rec := httptest.NewRecorder()
	serve(h, rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d", rec.Code)
	}
}

//go:noinline
func countedServe(h http.Handler, w http.ResponseWriter, r *http.Request) {
	h.ServeHTTP(w, r)
}

// BenchmarkPageAllUsers is one full Okta import of the 10,000 users, 100
// per page, over loopback; one op is the whole import.
func BenchmarkPageAllUsers(b *testing.B) {
	h, _ := benchServer(b)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		for start := 1; start <= benchPeople; start += 100 {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/scim/v2/Users?startIndex=%d&count=100", srv.URL, start), nil)
			req.Header.Set("Authorization", "Bearer "+readToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
			bytes += n
		}
	}
	b.ReportMetric(float64(benchPeople/100*b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB/import")
}

// BenchmarkScanFilter evaluates a filter no index answers over all 10,000
// users in process; its allocations must not grow with the directory.
func BenchmarkScanFilter(b *testing.B) {
	h, _ := benchServer(b)
	target := "/scim/v2/Users?count=10&filter=" + url.QueryEscape(`name.familyName co "SCH" and emails[type eq "work" and value ew "9@example.de"]`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+readToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
