package mirror

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// benchWorld is a seeded simulator and an engine over loopback HTTP, with
// Personio's rate limits off on both sides.
func benchWorld(b *testing.B, employees int, st store.Store) (*Engine, *personiotest.Server) {
	b.Helper()
	clock := personiotest.NewClock(at("2026-03-30", 10, 0))
	sim := personiotest.Start(b, personiotest.Options{Employees: employees, Seed: 1, Now: clock.Now,
		Credentials: []personiotest.Credential{{ClientID: "bench", ClientSecret: "bench-secret", NoRateLimit: true}}})
	policy, err := Compile(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	client, err := personio.NewClient(personio.Config{BaseURL: sim.URL(), ClientID: "bench", ClientSecret: "bench-secret",
		Attributes: policy.SourceFields(), NoRateLimit: true, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(EngineOptions{Policy: policy, Store: st, Directory: dir, Source: client, Namespace: store.DefaultNamespace, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	return e, sim
}

func reportRun(b *testing.B, rep Report) {
	b.ReportMetric(float64(rep.Fetch.Calls), "personio-calls/op")
	rows := 0
	if rep.ChangeSeqs[0] > 0 {
		rows = int(rep.ChangeSeqs[1] - rep.ChangeSeqs[0] + 1)
	}
	b.ReportMetric(float64(rows), "changelog-rows/op")
	if mib, ok := peakRSSMiB(); ok {
		b.ReportMetric(mib, "peak-RSS-MiB")
	}
}

// peakRSSMiB reads the process's peak resident memory on Linux. It covers
// the whole test process, simulator included, so run one size at a time.
func peakRSSMiB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024, err == nil
		}
	}
	return 0, false
}

// BenchmarkFullSync measures a first sync into an empty store: fetch,
// evaluate, plan and apply everyone.
//
//	go test -run '^$' -bench BenchmarkFullSync -benchtime 3x ./personio/mirror/
func BenchmarkFullSync(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		for _, backend := range []string{"memory", "postgres"} {
			b.Run(fmt.Sprintf("%s/%d", backend, n), func(b *testing.B) {
				var rep Report
				var serverCPU, ownCPU time.Duration
				for b.Loop() {
					b.StopTimer()
					st := benchStore(b, backend)
					e, _ := benchWorld(b, n, st)
					cpu := serverCPUMeter(b, st)
					own := processCPU(os.Getpid())
					b.StartTimer()
					var err error
					if rep, err = e.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "bench"}); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					serverCPU += cpu()
					ownCPU += processCPU(os.Getpid()) - own
					b.StartTimer()
				}
				reportRun(b, rep)
				// CPU seconds are what a shared machine cannot inflate the way
				// it does wall time. The process's include the simulator's.
				b.ReportMetric(ownCPU.Seconds()/float64(b.N), "proc-cpu-s/op")
				if backend == "postgres" {
					b.ReportMetric(serverCPU.Seconds()/float64(b.N), "pg-cpu-s/op")
				}
			})
		}
	}
}

// BenchmarkSteadyFullSync measures a full sync of 10,000 people of whom
// nothing changed: the daily run, where the guard compares every identity
// and membership with the plan.
//
//	go test -run '^$' -bench BenchmarkSteadyFullSync -benchtime 5x ./personio/mirror/
func BenchmarkSteadyFullSync(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			st := benchStore(b, backend)
			e, _ := benchWorld(b, 10000, st)
			if _, err := e.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "bench"}); err != nil {
				b.Fatal(err)
			}
			var rep Report
			for b.Loop() {
				var err error
				if rep, err = e.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
			if rep.Counts != (Counts{}) {
				b.Fatalf("a sync without change changed %+v", rep.Counts)
			}
			reportRun(b, rep)
		})
	}
}

// BenchmarkIncrementalSync measures a sync that finds 10 changed people
// among 10,000 and among 100,000: its cost should follow the changes, not
// the company.
//
//	go test -run '^$' -bench BenchmarkIncrementalSync ./personio/mirror/
func BenchmarkIncrementalSync(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, backend := range []string{"memory", "postgres"} {
			b.Run(fmt.Sprintf("%s/%d", backend, n), func(b *testing.B) { benchIncremental(b, backend, n) })
		}
	}
}

func benchIncremental(b *testing.B, backend string, employees int) {
	st := benchStore(b, backend)
	e, sim := benchWorld(b, employees, st)
	if _, err := e.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "bench"}); err != nil {
		b.Fatal(err)
	}
	people := sim.Records()
	var rep Report
	round := 0
	for b.Loop() {
		b.StopTimer()
		since := sim.Now()
		sim.Advance(time.Minute)
		for i := range 10 {
			p := people[(round*10+i)%len(people)]
			if err := sim.Update(p.ID, personiotest.Attrs{"position": fmt.Sprintf("Role %d", round)}); err != nil {
				b.Fatal(err)
			}
		}
		round++
		b.StartTimer()
		var err error
		if rep, err = e.Run(context.Background(), RunOptions{Mode: ModeIncremental, Since: since, Trigger: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	reportRun(b, rep)
}

// serverCPUMeter starts measuring the CPU time the Postgres server spends
// on st's database, and returns what it has spent since when called: the
// client's profile cannot see it, and on a shared machine it is the only
// honest split of a sync's time between this process and the server. It
// reads the backends' /proc entries, so it needs the server on this host;
// it measures zero for the memory store.
func serverCPUMeter(b *testing.B, st store.Store) func() time.Duration {
	b.Helper()
	pg, ok := st.(*postgres.Store)
	if !ok {
		return func() time.Duration { return 0 }
	}
	read := func() map[int]time.Duration {
		rows, err := pg.Pool().Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			b.Fatalf("list the database's backends: %v", err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			b.Fatalf("list the database's backends: %v", err)
		}
		out := make(map[int]time.Duration, len(pids))
		for _, pid := range pids {
			if t, ok := readProcessCPU(int(pid)); ok {
				out[int(pid)] = t
			}
		}
		return out
	}
	start := read()
	return func() time.Duration {
		var spent time.Duration
		for pid, t := range read() {
			spent += t - start[pid]
		}
		return spent
	}
}

// processCPU reads a process's user and system time from /proc, zero when
// it cannot.
func processCPU(pid int) time.Duration {
	t, _ := readProcessCPU(pid)
	return t
}

// readProcessCPU reads a process's user and system time from /proc; the
// clock tick is 100 Hz on every Linux this runs on.
func readProcessCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; the fields after it are fixed.
	_, rest, ok := strings.Cut(string(data), ") ")
	if !ok {
		return 0, false
	}
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / 100), true
}

func benchStore(b *testing.B, backend string) store.Store {
	if backend == "memory" {
		return memory.New(memory.Options{})
	}
	s, _ := pgtest.Open(b, postgres.Options{})
	return s
}
