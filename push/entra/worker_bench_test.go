package entra_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// BenchmarkWorkerTenThousand measures the engine and the target together:
// one worker pushes 10,000 people from empty to the simulator with every
// limit lifted, on the memory store, until every record is confirmed.
func BenchmarkWorkerTenThousand(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		clk := newClock()
		ctx := context.Background()
		db := memory.NewShared(memory.Options{Now: clk.Now})
		st := memory.Open(db)
		dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ns := store.DefaultNamespace
		var cs store.ChangeSet
		cs.Actor = "bench"
		for i := range n {
			pid := fmt.Sprint(10000 + i)
			id := person(10000 + i).Identity.Identity
			id.ID = ns.IdentityID(pid)
			if i%10 != 0 {
				id.Manager = ns.IdentityID(fmt.Sprint(10000 + i - i%10))
			}
			cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: id})
		}
		if _, err := dir.Apply(ctx, cs); err != nil {
			b.Fatal(err)
		}
		tgt, sim := harness.Open(b, pushtest.Options{Now: clk.Now})
		cfg := pushtest.WorkerConfig("entra")
		w, err := push.NewWorker(ctx, push.WorkerOptions{Config: cfg, Target: tgt, Store: st, Directory: dir, Now: clk.Now, Seed: 1, RowsPerPass: 20000})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for step := 0; ; step++ {
			rep, err := w.Step(ctx)
			if err != nil {
				b.Fatal(err)
			}
			sim.Settle()
			if rep.Items == 0 && rep.Confirmed == 0 && rep.Rows == 0 && step > 0 {
				break
			}
			clk.Advance(time.Minute)
		}
		b.StopTimer()
		if sim.Users() != n {
			b.Fatalf("%d users in the tenant", sim.Users())
		}
		pending, err := w.Records(ctx, store.PushQuery{Status: store.PushPending})
		if err != nil || len(pending) != 0 {
			b.Fatalf("%d records still pending (%v)", len(pending), err)
		}
		w.Close(ctx)
		b.StartTimer()
	}
}
