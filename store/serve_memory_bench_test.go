package store_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"testing"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// BenchmarkServeMemory reports the live heap serve holds at 100,000
// identities, everything else collected. memory-store is serve with the
// memory store after its first sync: the store with its change log and the
// directory, built as the mirror builds them (one change set through
// Directory.Apply). replica is a replica's directory loaded from its store's
// State, the store's answer collected. peak-live and peak-goal are the
// largest live heap and heap goal any collection during the build saw (the
// identities being applied included); the heap grows to the goal before
// the next collection. STORE_HEAP_PROFILE=FILE writes the
// heap profile of what each holds to FILE.NAME (-memprofile cannot show it:
// it is written once the benchmark has let everything go).
//
//	go test -run '^$' -bench BenchmarkServeMemory -benchtime 1x ./store/
func BenchmarkServeMemory(b *testing.B) {
	const n = 100000
	ids, groups := storetest.Synthetic(store.DefaultNamespace, n)
	idJSON, err := json.Marshal(ids)
	if err != nil {
		b.Fatal(err)
	}
	groupJSON, err := json.Marshal(groups)
	if err != nil {
		b.Fatal(err)
	}
	ids, groups = nil, nil
	for _, bc := range []struct {
		name  string
		build func(b *testing.B, idJSON, groupJSON []byte) (any, *store.View)
	}{
		{"memory-store", func(b *testing.B, idJSON, groupJSON []byte) (any, *store.View) {
			// The directory keeps its store, as serve does.
			dir := syncedMemoryDirectory(b, idJSON, groupJSON)
			return dir, dir.View()
		}},
		{"replica", func(b *testing.B, idJSON, groupJSON []byte) (any, *store.View) {
			// Only the view is kept: a replica's store holds nothing.
			return nil, buildDirectory(b, idJSON, groupJSON).View()
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var live, peakLive, peakGoal uint64
			for b.Loop() {
				before := storetest.LiveHeap()
				stop := storetest.WatchHeap()
				kept, view := bc.build(b, idJSON, groupJSON)
				peaks := stop()
				peakLive, peakGoal = peaks.Live, peaks.Goal
				live = storetest.LiveHeap() - before
				if got, _ := view.Len(); got != n {
					b.Fatalf("directory holds %d identities", got)
				}
				if path := os.Getenv("STORE_HEAP_PROFILE"); path != "" {
					storetest.WriteHeapProfile(b, path+"."+bc.name)
				}
				runtime.KeepAlive(kept)
				runtime.KeepAlive(view)
			}
			b.ReportMetric(float64(live)/n, "bytes/identity")
			b.ReportMetric(float64(live)/(1<<20), "live-MiB")
			b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(peakGoal)/(1<<20), "peak-goal-MiB")
		})
	}
}

// syncedMemoryDirectory is the state serve is in after its first sync.
func syncedMemoryDirectory(b *testing.B, idJSON, groupJSON []byte) *store.Directory {
	b.Helper()
	var ids []store.Identity
	var groups []store.Group
	if err := json.Unmarshal(idJSON, &ids); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(groupJSON, &groups); err != nil {
		b.Fatal(err)
	}
	st := memory.New(memory.Options{})
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dir.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
		b.Fatal(err)
	}
	return dir
}
