package push_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// loaded is a store and directory holding n synthetic identities and their
// department groups.
func loaded(b *testing.B, st store.Store, n int) *store.Directory {
	b.Helper()
	ctx := context.Background()
	ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
	if _, err := st.Apply(ctx, storetest.CreateAll(ids, groups)); err != nil {
		b.Fatal(err)
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchConfig(name string) push.TargetConfig {
	return push.TargetConfig{Name: name, Type: "fake", Live: true, Guard: push.Guard{MaxPercent: 100}, ReconcileEvery: 24 * time.Hour, QuarantineAfter: 5}
}

// pushAll runs a fresh target's initial push to the end.
func pushAll(b *testing.B, st store.Store, dir *store.Directory, name string, target push.Target) int {
	ctx := context.Background()
	w, err := push.NewWorker(ctx, push.WorkerOptions{Config: benchConfig(name), Target: target, Store: st, Directory: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(ctx)
	items := 0
	for {
		rep, err := w.Step(ctx)
		if err != nil {
			b.Fatal(err)
		}
		items += rep.Items
		if rep.Items == 0 && rep.Rows == 0 {
			return items
		}
	}
}

// BenchmarkInitialPush measures the engine's work for a new target's first
// push of 10,000 identities and their groups into the in-memory fake
// target (whose own cost is a map write per item): CPU per item, next to
// BenchmarkBuildItems, the bare loop that only builds the same items.
//
//	go test -run '^$' -bench 'InitialPush|BuildItems' -benchtime 5x ./push/
func BenchmarkInitialPush(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var st store.Store
			if backend == "memory" {
				st = memory.New(memory.Options{})
			} else {
				st, _ = pgtest.Open(b, postgres.Options{})
			}
			defer st.Close()
			dir := loaded(b, st, 10_000)
			b.ResetTimer()
			items := 0
			for n := 0; b.Loop(); n++ {
				items = pushAll(b, st, dir, fmt.Sprintf("t%d", n), fake.New(fake.Options{MaxBatch: 100}))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(items), "ns/item")
			b.ReportMetric(float64(items), "items")
		})
	}
}

// BenchmarkBuildItems is the baseline: build every identity and group item
// with resolved refs, as a loop with no ledger, no fingerprints, no order.
func BenchmarkBuildItems(b *testing.B) {
	st := memory.New(memory.Options{})
	defer st.Close()
	dir := loaded(b, st, 10_000)
	view := dir.View()
	b.ResetTimer()
	items := 0
	for b.Loop() {
		out := make([]push.Item, 0, len(view.Identities())+len(view.Groups()))
		for _, i := range view.Identities() {
			it := &push.Identity{Identity: *i}
			if m, ok := view.Identity(i.Manager); ok {
				it.Manager = &push.Ref{ID: m.ID, PersonioID: m.PersonioID, UserName: m.UserName, Email: m.Email}
			}
			for _, g := range view.GroupsOf(i.ID) {
				it.Groups = append(it.Groups, push.Ref{ID: g.ID})
			}
			out = append(out, push.Item{Kind: store.KindIdentity, ID: i.ID, Identity: it})
		}
		for _, g := range view.Groups() {
			gi := &push.Group{Group: *g}
			for _, m := range g.Members {
				if i, ok := view.Identity(m); ok {
					gi.Members = append(gi.Members, push.Ref{ID: i.ID, PersonioID: i.PersonioID, UserName: i.UserName, Email: i.Email})
				}
			}
			out = append(out, push.Item{Kind: store.KindGroup, ID: g.ID, Group: gi})
		}
		items = len(out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(items), "ns/item")
}

// BenchmarkWorkerAt100k measures, with 100,000 identities already pushed,
// the memory the ledger takes in the memory backend and a worker's
// start-up: opening it (it counts the ledger) and its first pass, which
// finds nothing to do.
//
//	go test -run '^$' -bench WorkerAt100k -benchtime 3x ./push/
func BenchmarkWorkerAt100k(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var st store.Store
			if backend == "memory" {
				st = memory.New(memory.Options{})
			} else {
				st, _ = pgtest.Open(b, postgres.Options{})
			}
			defer st.Close()
			dir := loaded(b, st, 100_000)
			pushAll(b, st, dir, "t", fake.New(fake.Options{MaxBatch: 1000}))
			ctx := context.Background()
			open := func(b *testing.B) *push.Worker {
				w, err := push.NewWorker(ctx, push.WorkerOptions{Config: benchConfig("t"), Target: fake.New(fake.Options{}), Store: st, Directory: dir})
				if err != nil {
					b.Fatal(err)
				}
				return w
			}
			// start: open a worker and make its first pass, which finds
			// nothing to do; what a restart costs before pushing again.
			b.Run("start", func(b *testing.B) {
				for b.Loop() {
					w := open(b)
					rep, err := w.Step(ctx)
					if err != nil || rep.Items != 0 {
						b.Fatalf("first pass: %+v, %v", rep, err)
					}
					w.Close(ctx)
				}
			})
			// count: the ledger's counts per status, read in the background
			// after start for the status page.
			b.Run("count", func(b *testing.B) {
				for b.Loop() {
					w := open(b)
					st, err := w.Status(ctx)
					if err != nil || st.Counts[store.PushSynced] < 100_000 {
						b.Fatalf("status: %+v, %v", st.Counts, err)
					}
				}
			})
		})
	}
}

// BenchmarkLedgerMemory measures what a target's ledger of 100,000
// identities adds to the live heap of the memory backend, per identity.
//
//	go test -run '^$' -bench LedgerMemory -benchtime 1x ./push/
func BenchmarkLedgerMemory(b *testing.B) {
	st := memory.New(memory.Options{})
	defer st.Close()
	dir := loaded(b, st, 100_000)
	var grown uint64
	n := 0
	for b.Loop() {
		before := heapInUse()
		pushAll(b, st, dir, fmt.Sprintf("t%d", n), fake.New(fake.Options{MaxBatch: 1000}))
		grown += heapInUse() - before
		n++
	}
	b.ReportMetric(float64(grown)/float64(n)/100_000, "B/identity")
}

// heapInUse is the live heap after a full collection. The fake target's
// own users are included; they are small next to the ledger records.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkChangeLatency measures how long a change applied to the store
// takes to reach the target through a running worker (nudged by the
// store's Watch), over 100 changes; it reports the 99th percentile.
//
//	go test -run '^$' -bench ChangeLatency -benchtime 100x ./push/
func BenchmarkChangeLatency(b *testing.B) {
	st := memory.New(memory.Options{})
	defer st.Close()
	dir := loaded(b, st, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dir.Run(ctx)
	arrived := make(chan string, 16)
	f := fake.New(fake.Options{MaxBatch: 100})
	f.BeforePush = func(_ int, items []push.Item) {
		for _, it := range items {
			if it.Identity != nil {
				select {
				case arrived <- it.Identity.Title:
				default:
				}
			}
		}
	}
	pushAll(b, st, dir, "t", f)
	w, err := push.NewWorker(ctx, push.WorkerOptions{Config: benchConfig("t"), Target: f, Store: st, Directory: dir, PollInterval: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	go w.Run(ctx)
	one := dir.View().Identities()[0].Clone()
	var lat []time.Duration
	n := 0
	for b.Loop() {
		n++
		one.Title = fmt.Sprintf("title %d", n)
		start := time.Now()
		if _, err := dir.Apply(ctx, store.ChangeSet{Actor: "bench", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: one.Clone()}}}); err != nil {
			b.Fatal(err)
		}
		for got := <-arrived; got != one.Title; got = <-arrived {
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
}

// BenchmarkInitialPushSCIM is the initial push of BenchmarkInitialPush into
// the SCIM 2.0 server simulator over HTTP, through the shared HTTP client
// with no rate limit of our own: what a real run is bounded by. Compare
// its ns/item with BenchmarkInitialPush/memory's, the engine's share.
//
//	go test -run '^$' -bench 'InitialPush' -benchtime 3x ./push/
func BenchmarkInitialPushSCIM(b *testing.B) {
	st := memory.New(memory.Options{})
	defer st.Close()
	dir := loaded(b, st, 10_000)
	ctx := context.Background()
	items, requests := 0, 0
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		sim := scimsim.New(scimsim.Options{Token: "bench-token"})
		srv := httptest.NewServer(sim)
		var section yaml.Node
		if err := yaml.Unmarshal([]byte("base_url: "+srv.URL+"\ntoken_env: T\n"), &section); err != nil {
			b.Fatal(err)
		}
		target, err := scim.Open(ctx, section.Content[0], push.Env{Name: "bench", Getenv: func(string) string { return "bench-token" },
			HTTPClient: push.NewHTTPClient(push.HTTPOptions{Target: "bench"}), Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		items = pushAll(b, st, dir, fmt.Sprintf("scim%d", n), target)
		b.StopTimer()
		requests = len(sim.Requests())
		if sim.Users() != 10_000 {
			b.Fatalf("the simulator holds %d users", sim.Users())
		}
		srv.Close()
		sim.Close()
		b.StartTimer()
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/float64(items), "ns/item")
	b.ReportMetric(float64(requests)/(perOp/1e9), "requests/s")
}
