package storetest

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"
)

// LiveHeap is the heap in use once everything unreachable is collected:
// the second collection frees what the first only finalized.
func LiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// HeapPeaks are the largest heap figures seen while a benchmark built
// something: the live heap and the heap goal, which change only when a
// collection ends, and the heap itself (live objects and garbage not yet
// collected), which is what the build takes from the system.
type HeapPeaks struct {
	Live, Goal, Objects uint64
}

// WatchHeap samples the heap every millisecond until the returned function
// is called, which returns the peaks.
func WatchHeap() func() HeapPeaks {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	done, result := make(chan struct{}), make(chan HeapPeaks)
	go func() {
		var peak HeapPeaks
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			peak.Live = max(peak.Live, samples[0].Value.Uint64())
			peak.Goal = max(peak.Goal, samples[1].Value.Uint64())
			peak.Objects = max(peak.Objects, samples[2].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() HeapPeaks {
		close(done)
		return <-result
	}
}

// WriteHeapProfile writes the heap profile of what is live now to path.
// A benchmark calls it while it still holds what it built: -memprofile is
// written once the benchmark has let everything go.
func WriteHeapProfile(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}
