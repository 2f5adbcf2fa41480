package postgres_test

import (
	"context"
	"os"
	"runtime"
	"testing"

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
		before := storetest.LiveHeap()
		stop := storetest.WatchHeap()
		dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
		if err != nil {
			b.Fatal(err)
		}
		peaks := stop()
		peakLive, peakHeap = peaks.Live, peaks.Objects
		view := dir.View() // a replica's store keeps nothing of it
		dir = nil
		live = storetest.LiveHeap() - before
		if got, _ := view.Len(); got != n {
			b.Fatalf("loaded %d identities", got)
		}
		if path := os.Getenv("REPLICA_HEAP_PROFILE"); path != "" {
			storetest.WriteHeapProfile(b, path)
		}
		runtime.KeepAlive(view)
	}
	b.ReportMetric(float64(live)/n, "bytes/identity")
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
}
