package push_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
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
			before := heapInUse()
			pushAll(b, st, dir, "t", fake.New(fake.Options{MaxBatch: 1000}))
			if backend == "memory" {
				b.ReportMetric(float64(heapInUse()-before)/100_000, "ledger-B/identity")
			}
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

// heapInUse is the live heap after a full collection. The fake target's
// own users are included; they are small next to the ledger records.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
