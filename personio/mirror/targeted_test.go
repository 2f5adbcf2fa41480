package mirror

import (
	"context"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
)

func TestSyncPeopleReadsOnlyThoseNamed(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		var ids []string
		for i := range 10 {
			ids = append(ids, w.hire(person("Anna", string(rune('A'+i))+"berg", nil)))
		}
		w.sync()
		w.clock.Advance(time.Minute)
		w.update(ids[2], personiotest.Attrs{"department": "Sales"})
		w.update(ids[3], personiotest.Attrs{"department": "Sales"}) // not named: waits for polling
		if err := w.sim.Remove(ids[5]); err != nil {
			t.Fatal(err)
		}
		w.sim.ResetCalls()
		if err := w.engine.SyncPeople(context.Background(), []string{ids[2], ids[5], ids[2]}, "test"); err != nil {
			t.Fatal(err)
		}
		if got := w.mustIdentity(ids[2]).Department; got != "Sales" {
			t.Errorf("named person's department %q, want Sales", got)
		}
		if got := w.mustIdentity(ids[3]).Department; got != "Engineering" {
			t.Errorf("a person not named changed: %q", got)
		}
		if gone := w.mustIdentity(ids[5]); !gone.Active {
			t.Error("a 404 in a targeted run made a leaver; only a full run may")
		}
		calls := w.sim.CallCounts()
		if calls["GET /v1/company/employees/{id}"] != 2 || calls["GET /v1/company/employees"] != 0 {
			t.Errorf("calls %v: want two reads by id and no listing", calls)
		}
		w.sync()
		if gone := w.mustIdentity(ids[5]); gone.Active || !gone.Lifecycle.VanishedSource {
			t.Errorf("after the full run the vanished person is %+v", gone.Lifecycle)
		}
	})
}

func TestSyncPeopleIsGuarded(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "guard: {max_count: 2}\n")
		var ids []string
		for i := range 10 {
			ids = append(ids, w.hire(person("Bo", string(rune('A'+i))+"lund", nil)))
		}
		w.sync()
		w.clock.Advance(time.Hour)
		for _, id := range ids[:3] {
			w.update(id, personiotest.Attrs{"status": "inactive"})
		}
		if err := w.engine.SyncPeople(context.Background(), ids[:3], "test"); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[:3] {
			if !w.mustIdentity(id).Active {
				t.Fatalf("a targeted run deactivated %d people past the guard", 3)
			}
		}
		runs, err := w.store.Runs(context.Background(), 1)
		if err != nil || len(runs) != 1 || runs[0].Status != store.RunHeld || runs[0].Trigger != TriggerTargeted {
			t.Fatalf("newest run %+v, %v; want a held targeted run", runs, err)
		}
	})
}

// TestPollingCatchesDroppedWebhooks: a change whose webhook never came is
// picked up by the next scheduled run, even though targeted runs happened
// in between.
func TestPollingCatchesDroppedWebhooks(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		quiet := w.hire(person("Dora", "Stumm", nil))
		loud := w.hire(person("Emil", "Laut", nil))
		sched := NewScheduler(w.engine, 15*time.Minute)
		ctx := context.Background()
		if _, err := sched.RunNow(ctx, RunOptions{Trigger: "schedule"}, true); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
		w.update(quiet, personiotest.Attrs{"position": "Lead"}) // its webhook was dropped
		w.clock.Advance(10 * time.Minute)
		w.update(loud, personiotest.Attrs{"position": "Lead"})
		if err := sched.SyncPeople(ctx, []string{loud}, "webhook person.updated×1"); err != nil {
			t.Fatal(err)
		}
		if w.mustIdentity(loud).Title != "Lead" || w.mustIdentity(quiet).Title == "Lead" {
			t.Fatal("the targeted run did not read exactly the named person")
		}
		w.clock.Advance(10 * time.Minute)
		rep, err := sched.RunNow(ctx, RunOptions{Trigger: "schedule"}, true)
		if err != nil {
			t.Fatalf("scheduled run after a targeted one: %v", err)
		}
		if rep.Mode != ModeIncremental || w.mustIdentity(quiet).Title != "Lead" {
			t.Errorf("scheduled %s run; dropped change applied: %v", rep.Mode, w.mustIdentity(quiet).Title == "Lead")
		}
	})
}
