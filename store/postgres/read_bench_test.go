package postgres_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// BenchmarkReplicaMemory reports what a replica's start-up keeps and what
// it peaks at: the live heap of the directory loaded from Postgres at
// 100,000 identities, the largest live heap any collection during the load
// saw, and the largest heap (live and garbage not yet collected), which is
// what the load takes from the system. REPLICA_HEAP_PROFILE=FILE writes
// the heap profile of what the directory keeps.
//
//	go test -run '^$' -bench BenchmarkReplicaMemory -benchtime 1x ./store/postgres/
func BenchmarkReplicaMemory(b *testing.B) {
	const n = 100000
	st, _ := pgtest.Open(b, postgres.Options{})
	ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
	if _, err := st.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
		b.Fatal(err)
	}
	ids, groups = nil, nil
	var live, peakLive, peakHeap uint64
	for b.Loop() {
		before := liveHeap()
		stop := watchHeap()
		dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
		if err != nil {
			b.Fatal(err)
		}
		peakLive, peakHeap = stop()
		view := dir.View() // a replica's store keeps nothing of it
		dir = nil
		live = liveHeap() - before
		if got, _ := view.Len(); got != n {
			b.Fatalf("loaded %d identities", got)
		}
		if path := os.Getenv("REPLICA_HEAP_PROFILE"); path != "" {
			writeHeapProfile(b, path)
		}
		runtime.KeepAlive(view)
	}
	b.ReportMetric(float64(live)/n, "bytes/identity")
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// watchHeap samples, every millisecond until the returned function is
// called, the live heap (which changes when a collection ends) and the heap
// itself (live and not yet collected objects); it returns the largest of
// each.
func watchHeap() func() (live, heap uint64) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	done, result := make(chan struct{}), make(chan [2]uint64)
	go func() {
		var peak [2]uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			peak[0], peak[1] = max(peak[0], samples[0].Value.Uint64()), max(peak[1], samples[1].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		peak := <-result
		return peak[0], peak[1]
	}
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
