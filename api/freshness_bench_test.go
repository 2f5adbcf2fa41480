package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// BenchmarkWebhookFreshness measures, at 10,000 people, how long a change
// made in (simulated) Personio takes to show in the directory and over
// SCIM: the simulator delivers the webhook at once (Personio's own delay is
// left out), the receiver gathers events for its default window, the
// scheduler makes a targeted run. Each iteration is one edit; the metrics
// are the latency percentiles over all iterations, and the targeted runs'
// own share.
//
//	go test ./api -run '^$' -bench WebhookFreshness -benchtime 200x
func BenchmarkWebhookFreshness(b *testing.B) {
	for _, isolated := range []bool{true, false} {
		name := map[bool]string{true: "isolated", false: "back-to-back"}[isolated]
		b.Run("memory/"+name, func(b *testing.B) { benchFreshness(b, memory.New(memory.Options{}), isolated) })
		b.Run("postgres/"+name, func(b *testing.B) {
			st, _ := pgtest.Open(b, postgres.Options{})
			benchFreshness(b, st, isolated)
		})
	}
}

// benchFreshness makes one edit per iteration. Isolated edits find the
// receiver idle (a change now and then); back-to-back edits each arrive
// while it rests after the previous sync (a steady stream).
func benchFreshness(b *testing.B, st store.Store, isolated bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := personiotest.Start(b, personiotest.Options{Employees: 10_000, Seed: 3,
		Credentials: []personiotest.Credential{{ClientID: "bench", ClientSecret: "bench-secret", NoRateLimit: true}}})
	cfg, err := mirror.ParseConfig("bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	policy, err := mirror.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	client, err := personio.NewClient(personio.Config{BaseURL: sim.URL(), ClientID: "bench", ClientSecret: "bench-secret",
		Attributes: policy.SourceFields(), Location: policy.Location(), NoRateLimit: true})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := mirror.NewEngine(mirror.EngineOptions{Policy: policy, Store: st, Directory: dir, Source: client, Namespace: store.DefaultNamespace})
	if err != nil {
		b.Fatal(err)
	}
	sched := mirror.NewScheduler(engine, time.Hour)
	if _, err := sched.RunNow(ctx, mirror.RunOptions{Trigger: "bench"}, false); err != nil {
		b.Fatal(err)
	}
	timed := &timedSyncer{next: sched}
	hooks, err := api.NewWebhooks(api.WebhookOptions{Token: webhookToken, Syncer: timed})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { hooks.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, Scheduler: sched, Engine: engine, Webhooks: hooks, SCIMToken: scimToken})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	sim.RegisterWebhook(srv.URL+api.WebhookPath, webhookToken, personio.PeopleEvents()...)

	records := sim.Records()
	var latencies []time.Duration
	b.ResetTimer()
	for i := range b.N {
		rec := records[(i*37)%len(records)]
		title := fmt.Sprintf("Bench title %d", i)
		id := store.DefaultNamespace.IdentityID(rec.ID)
		if _, ok := dir.View().Identity(id); !ok {
			continue // a person outside the directory (not hired yet, long gone)
		}
		start := time.Now()
		if err := sim.Update(rec.ID, personiotest.Attrs{"position": title}); err != nil {
			b.Fatal(err)
		}
		for {
			if got, _ := dir.View().Identity(id); got.Title == title {
				break
			}
			time.Sleep(200 * time.Microsecond) // polls; the measurement is the time until visible
		}
		latencies = append(latencies, time.Since(start))
		b.StopTimer()
		if i%50 == 0 {
			checkSCIM(b, srv.URL, id, title)
		}
		if isolated {
			time.Sleep(600 * time.Millisecond) // lets the receiver's rest end: the next edit finds it idle
		}
		b.StartTimer()
	}
	b.StopTimer()
	if len(latencies) == 0 {
		b.Fatal("no edit was measured")
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(latencies)), "edits")
	// The last run may still be returning when its change is visible.
	if runs := timed.sorted(); len(runs) > 0 {
		b.ReportMetric(float64(runs[len(runs)/2].Microseconds())/1000, "run-p50-ms")
		b.ReportMetric(float64(runs[min(len(runs)-1, len(runs)*99/100)].Microseconds())/1000, "run-p99-ms")
	}
}

// timedSyncer measures the targeted runs, to tell their share of the
// latency from the receiver's window.
type timedSyncer struct {
	next api.PeopleSyncer
	mu   sync.Mutex
	took []time.Duration
}

func (t *timedSyncer) SyncPeople(ctx context.Context, ids []string, cause string) error {
	start := time.Now()
	err := t.next.SyncPeople(ctx, ids, cause)
	t.mu.Lock()
	t.took = append(t.took, time.Since(start))
	t.mu.Unlock()
	return err
}

func (t *timedSyncer) sorted() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.took)
	slices.Sort(out)
	return out
}

// checkSCIM reads the identity over SCIM: the change must be there as soon
// as the directory has it, because SCIM answers from that directory.
func checkSCIM(b *testing.B, base, id, title string) {
	req, _ := http.NewRequest(http.MethodGet, base+"/scim/v2/Users/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+scimToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var body strings.Builder
	if _, err := fmt.Fprint(&body, readAll(res)); err != nil || res.StatusCode != http.StatusOK || !strings.Contains(body.String(), title) {
		b.Fatalf("SCIM GET %s: %d, title %q missing", id, res.StatusCode, title)
	}
}

func readAll(res *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}
