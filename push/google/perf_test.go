package google_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/google"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/store"
)

// pacer is a token bucket on the manual clock, standing in for the shared
// client's rate limit: when it must wait, it moves the clock instead of
// sleeping, so a run at the quota takes no wall time.
type pacer struct {
	base     http.RoundTripper
	clock    *clock
	rate     float64
	burst    float64
	mu       sync.Mutex
	tokens   float64
	last     time.Time
	requests int
}

func newPacer(c *clock, rate float64, burst int) *pacer {
	return &pacer{base: http.DefaultTransport, clock: c, rate: rate, burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	now := p.clock.Now()
	p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	p.last = now
	if p.tokens < 1 {
		wait := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
		p.clock.Advance(wait)
		p.last = p.clock.Now()
		p.tokens = 1
	}
	p.tokens--
	p.requests++
	p.mu.Unlock()
	return p.base.RoundTrip(req)
}

// company builds n joiners in five OUs; everyone after the first ten
// reports to one of the first ten.
func company(n int) []person {
	out := make([]person, n)
	for i := range out {
		out[i] = person{
			pid: strconv.Itoa(10000 + i), given: "Given", family: "Family" + strconv.Itoa(i),
			email: "person" + strconv.Itoa(i) + "@example.com", title: "Engineer",
			department: "Dept" + strconv.Itoa(i%5), cost: "CC-1", active: true,
			mapped: map[string]string{"orgUnitPath": "/Office" + strconv.Itoa(i%5)},
		}
	}
	return out
}

type quotaRun struct {
	elapsed, allowed time.Duration
	requests, failed int
	users            int
}

// pushAtQuota pushes n joiners into an empty tenant whose quota is
// Google's default (2,400 a minute), through a client paced at the
// target's default rate limit, in batches of the target's MaxBatch.
func pushAtQuota(tb testing.TB, n int) quotaRun {
	c := newClock()
	sim := googlesim.New(googlesim.Options{Now: c.Now, Key: testKey(), PerMinute: 2400})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	pace := newPacer(c, google.DefaultRateLimit().Rate, google.DefaultRateLimit().Burst)
	client := &http.Client{Timeout: 30 * time.Second, Transport: pace}
	target, err := openTarget(tb, srv.URL, "create_org_units: true\n", client, sim.KeyJSON(srv.URL), c.Now)
	if err != nil {
		tb.Fatal(err)
	}
	people := company(n)
	ids := map[string]string{}
	begin := c.Now()
	run := quotaRun{}
	batch := target.Info().MaxBatch
	for lo := 0; lo < n; lo += batch {
		var items []push.Item
		for _, p := range people[lo:min(lo+batch, n)] {
			if i, _ := strconv.Atoi(p.pid); i >= 10010 {
				m := people[(i-10000)%10]
				p.manager = &push.Ref{ID: "id-" + m.pid, PersonioID: m.pid, Email: m.email, TargetID: ids[m.pid]}
			}
			items = append(items, p.item(store.PushRecord{}))
		}
		res, err := target.Push(context.Background(), items, false)
		if err != nil {
			tb.Fatalf("batch at %d: %v", lo, err)
		}
		for i, r := range res {
			if r.Outcome != push.Done {
				run.failed++
				continue
			}
			ids[items[i].Identity.PersonioID] = r.TargetID
		}
	}
	run.elapsed = c.Now().Sub(begin)
	run.allowed = time.Duration(float64(n) / (2400.0 / 60) * float64(time.Second))
	run.requests = pace.requests
	run.users = sim.UserCount()
	return run
}

// The first push of a company is bounded by Google's quota, not by extra
// calls: 2,000 joiners take at most 1.1 times the time 2,000 inserts need
// at 2,400 a minute, with nobody refused.
func TestFirstPushAtTheQuota(t *testing.T) {
	run := pushAtQuota(t, 2000)
	if run.failed != 0 || run.users != 2000 {
		t.Fatalf("%d failed, %d users, want all 2000 done", run.failed, run.users)
	}
	ratio := run.elapsed.Seconds() / run.allowed.Seconds()
	t.Logf("2000 joiners: %d requests, %.1f s on the clock, quota allows %.1f s: %.3f×", run.requests, run.elapsed.Seconds(), run.allowed.Seconds(), ratio)
	if ratio > 1.1 {
		t.Errorf("took %.3f× the time the quota allows, want ≤ 1.1×", ratio)
	}
}

// BenchmarkFirstPush10000AtQuota reports, for 10,000 joiners pushed from
// empty at Google's default quota, the time on the clock as a ratio to
// what 10,000 inserts need (quota-x) and the requests sent.
func BenchmarkFirstPush10000AtQuota(b *testing.B) {
	for b.Loop() {
		run := pushAtQuota(b, 10000)
		if run.failed != 0 {
			b.Fatalf("%d failed", run.failed)
		}
		b.ReportMetric(run.elapsed.Seconds()/run.allowed.Seconds(), "quota-x")
		b.ReportMetric(run.elapsed.Seconds(), "clock-s")
		b.ReportMetric(float64(run.requests), "requests")
	}
}

// BenchmarkPushUsers measures the target with limits off: 1,000 joiners
// per operation into an empty simulator. Compare with BenchmarkBareInserts,
// the same inserts sent by a bare loop, in the same run.
func BenchmarkPushUsers(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run("concurrency="+strconv.Itoa(n), func(b *testing.B) { benchmarkPushUsers(b, n) })
	}
}

func benchmarkPushUsers(b *testing.B, concurrency int) {
	people := company(1000)
	section := "concurrency: " + strconv.Itoa(concurrency) + "\n"
	for b.Loop() {
		b.StopTimer()
		c := newClock()
		sim := googlesim.New(googlesim.Options{Now: c.Now, Key: testKey(), AllowAnonymous: true})
		srv := httptest.NewServer(sim)
		// Keep a connection per worker: over HTTP/1.1 the default transport
		// keeps two idle per host and would reconnect for the others
		// (Google's own endpoint speaks HTTP/2, one connection for all).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = concurrency
		target, err := openTarget(b, srv.URL, section, &http.Client{Timeout: 30 * time.Second, Transport: tr}, sim.KeyJSON(srv.URL), c.Now)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for lo := 0; lo < len(people); lo += 100 {
			var items []push.Item
			for _, p := range people[lo : lo+100] {
				p.mapped = nil
				items = append(items, p.item(store.PushRecord{}))
			}
			if _, err := target.Push(context.Background(), items, false); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if sim.UserCount() != len(people) {
			b.Fatalf("%d users", sim.UserCount())
		}
		tr.CloseIdleConnections()
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(people)), "users/op")
}

func BenchmarkBareInserts(b *testing.B) {
	people := company(1000)
	bodies := make([][]byte, len(people))
	for i, p := range people {
		bodies[i] = fmt.Appendf(nil, `{"primaryEmail":%q,"name":{"givenName":%q,"familyName":%q,"displayName":%q},`+
			`"password":"0123456789abcdef0123456789abcdef","changePasswordAtNextLogin":true,"orgUnitPath":"/",`+
			`"externalIds":[{"type":"organization","value":%q}],`+
			`"organizations":[{"primary":true,"type":"work","title":%q,"department":%q,"costCenter":%q}]}`,
			p.email, p.given, p.family, p.given+" "+p.family, p.pid, p.title, p.department, p.cost)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for b.Loop() {
		b.StopTimer()
		c := newClock()
		sim := googlesim.New(googlesim.Options{Now: c.Now, Key: testKey(), AllowAnonymous: true})
		srv := httptest.NewServer(sim)
		b.StartTimer()
		for _, body := range bodies {
			resp, err := client.Post(srv.URL+"/admin/directory/v1/users", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d: %s", resp.StatusCode, buf.Bytes())
			}
		}
		b.StopTimer()
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(people)), "users/op")
}
