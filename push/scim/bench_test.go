package scim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
)

const benchUsers = 10_000

func benchServer(b *testing.B) (*scimsim.Sim, *httptest.Server, *http.Client) {
	sim := scimsim.New(scimsim.Options{Token: testToken})
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { sim.Close(); srv.Close() })
	// The worker's client (no rate limit configured), as the binary builds it.
	client := push.NewHTTPClient(push.HTTPOptions{Target: "bench", Timeout: 10 * time.Second})
	return sim, srv, client
}

// BenchmarkPushUsers is the initial push of 10,000 users through the target
// into the simulator over loopback: one search and one create per user.
func BenchmarkPushUsers(b *testing.B) {
	items := make([]push.Item, benchUsers)
	for i := range items {
		items[i] = person(fmt.Sprint(100000 + i))
	}
	for b.Loop() {
		b.StopTimer()
		sim, srv, client := benchServer(b)
		cfg := fmt.Sprintf("base_url: %s\ntoken_env: SCIM_TOKEN\n", srv.URL)
		target, err := scim.Open(context.Background(), section(b, cfg), testEnv(map[string]string{"SCIM_TOKEN": testToken}, client))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for lo := 0; lo < len(items); lo += target.Info().MaxBatch {
			batch := items[lo:min(lo+target.Info().MaxBatch, len(items))]
			res, err := target.Push(context.Background(), batch, false)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Outcome != push.Done {
					b.Fatalf("%s: %s %s", r.ID, r.Outcome, r.Error)
				}
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if sim.Users() != benchUsers {
			b.Fatalf("%d users", sim.Users())
		}
		b.ReportMetric(float64(len(sim.Requests()))/elapsed.Seconds(), "req/s")
		b.StartTimer()
	}
}

// BenchmarkBareLoop is the baseline: the same requests (a search and a
// create per user, the same bodies) from a plain loop over the same client.
func BenchmarkBareLoop(b *testing.B) {
	type pair struct {
		search string
		body   []byte
	}
	var reqs []pair
	for i := range benchUsers {
		pid := fmt.Sprint(100000 + i)
		body := fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
			`"userName":"user%[1]s@example.test","externalId":"%[1]s","displayName":"Given%[1]s Family%[1]s","name":{"givenName":"Given%[1]s","familyName":"Family%[1]s"},`+
			`"title":"Engineer","active":true,"emails":[{"value":"user%[1]s@example.test","type":"work","primary":true}],`+
			`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"%[1]s","department":"Engineering","organization":"Example GmbH","costCenter":"CC-1","division":"R&D"}}`, pid)
		reqs = append(reqs, pair{search: url.Values{"filter": {`externalId eq "` + pid + `"`}}.Encode(), body: body})
	}
	for b.Loop() {
		b.StopTimer()
		sim, srv, client := benchServer(b)
		b.StartTimer()
		start := time.Now()
		for _, r := range reqs {
			send(b, client, http.MethodGet, srv.URL+"/Users?"+r.search, nil)
			send(b, client, http.MethodPost, srv.URL+"/Users", r.body)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if sim.Users() != benchUsers {
			b.Fatalf("%d users", sim.Users())
		}
		b.ReportMetric(float64(len(sim.Requests()))/elapsed.Seconds(), "req/s")
		b.StartTimer()
	}
}

func send(b *testing.B, c *http.Client, method, u string, body []byte) {
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("%s: %d", method, resp.StatusCode)
	}
}

// BenchmarkPushWithLatency shows what concurrency buys against a server
// that takes 5 ms per answer (loopback has none): 1,000 users per run.
func BenchmarkPushWithLatency(b *testing.B) {
	items := make([]push.Item, 1000)
	for i := range items {
		items[i] = person(fmt.Sprint(100000 + i))
	}
	for _, c := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				sim, srv, client := benchServer(b)
				sim.Slow(5 * time.Millisecond)
				cfg := fmt.Sprintf("base_url: %s\ntoken_env: SCIM_TOKEN\ndiscovery: false\nconcurrency: %d\n", srv.URL, c)
				target, err := scim.Open(context.Background(), section(b, cfg), testEnv(map[string]string{"SCIM_TOKEN": testToken}, client))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for lo := 0; lo < len(items); lo += 100 {
					if _, err := target.Push(context.Background(), items[lo:lo+100], false); err != nil {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(start)
				b.StopTimer()
				if sim.Users() != len(items) {
					b.Fatalf("%d users", sim.Users())
				}
				b.ReportMetric(float64(len(sim.Requests()))/elapsed.Seconds(), "req/s")
				b.StartTimer()
			}
		})
	}
}
