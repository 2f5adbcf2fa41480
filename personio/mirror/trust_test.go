package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
)

func (h *harness) run(opts RunOptions) (Report, error) {
	h.t.Helper()
	if opts.Mode == "" {
		opts.Mode = ModeFull
	}
	return h.engine.Run(context.Background(), opts)
}

func (h *harness) lastSeq() int64 {
	h.t.Helper()
	seq, err := h.store.LastSeq(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return seq
}

func without(people []personio.Record, ids ...string) []personio.Record {
	return slices.DeleteFunc(slices.Clone(people), func(r personio.Record) bool { return slices.Contains(ids, r.ID) })
}

// TestVanishedPeopleAreConfirmedByID: someone missing from a full listing
// becomes a leaver only when Personio answers "not found" for them by id.
func TestVanishedPeopleAreConfirmedByID(t *testing.T) {
	tests := []struct {
		name      string
		config    string
		setup     func(s *staticSource, people []personio.Record)
		wantErr   string // "" for a run that succeeds
		lookups   int
		vanished  []string
		stillThem []string // Personio ids that must keep their active identity
	}{
		{"not found by id: a leaver", "", func(s *staticSource, people []personio.Record) {
			s.set(without(people, "5")...)
		}, "", 1, []string{"5"}, nil},
		{"found by id: the listing is incomplete", "", func(s *staticSource, people []personio.Record) {
			s.set(without(people, "5", "6")...)
			s.unlisted = map[string]personio.Record{"6": people[5]}
		}, "person 6 is missing from the listing but Personio still knows them", 2, nil, []string{"5", "6"}},
		{"more missing than max_lookups: no calls, refused", "guard: {max_lookups: 3, max_percent: 100}\n", func(s *staticSource, people []personio.Record) {
			s.set(without(people, "1", "2", "3", "4")...)
		}, "4 people with an identity are missing from the listing, more than guard.max_lookups (3)", 0, nil, []string{"1", "2", "3", "4"}},
		{"lookup fails: refused", "", func(s *staticSource, people []personio.Record) {
			s.set(without(people, "7")...)
			s.lookupErr = errors.New("personio: 503 after 6 attempts")
		}, "confirm that person 7 is gone: personio: 503 after 6 attempts", 1, nil, []string{"7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bothBackends(t, func(t *testing.T, open storeOpener) {
				h := newHarness(t, oneHandle(t, open), tt.config)
				people := staff(20)
				h.src.set(people...)
				h.sync(RunOptions{Trigger: "test"})
				before := h.lastSeq()
				tt.setup(h.src, people)
				rep, err := h.run(RunOptions{Trigger: "test"})
				if rep.Lookups != tt.lookups || h.src.lookups != tt.lookups {
					t.Errorf("lookups: report %d, source %d; want %d", rep.Lookups, h.src.lookups, tt.lookups)
				}
				if tt.wantErr != "" {
					if !errors.Is(err, ErrFetch) || rep.Status != store.RunFailed || !strings.Contains(rep.Error, tt.wantErr) {
						t.Fatalf("run = %s, %v; want a failed run saying %q", rep.Status, err, tt.wantErr)
					}
					if h.lastSeq() != before {
						t.Fatal("the refused run wrote to the change log")
					}
				} else if err != nil || rep.Status != store.RunSucceeded {
					t.Fatalf("run = %s, %v", rep.Status, err)
				}
				for _, pid := range tt.vanished {
					if got := h.identity(pid); got.Active || got.Lifecycle.Rule != RuleVanished {
						t.Errorf("person %s: active %v, rule %s; want a vanished leaver", pid, got.Active, got.Lifecycle.Rule)
					}
				}
				for _, pid := range tt.stillThem {
					if !h.identity(pid).Active {
						t.Errorf("person %s lost access", pid)
					}
				}
			})
		})
	}
}

// TestConfirmedVanishedAreNotLookedUpAgain: a vanished leaver is missing
// from every later listing; asking Personio about them each run would
// waste calls and, past max_lookups, refuse every run.
func TestConfirmedVanishedAreNotLookedUpAgain(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		h.src.set(without(people, "3")...)
		h.sync(RunOptions{Trigger: "test"})
		h.now = h.now.Add(time.Hour)
		if rep := h.sync(RunOptions{Trigger: "test"}); rep.Lookups != 0 || h.src.lookups != 1 {
			t.Fatalf("second run after the vanishing made %d lookups (%d in all); want none", rep.Lookups, h.src.lookups)
		}
	})
}

// TestMissingInactiveLeaversAreNotLookedUp: HR deleting leavers takes no
// access away; the leavers keep their retention dates.
func TestMissingInactiveLeaversAreNotLookedUp(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "guard: {max_lookups: 1}\n")
		people := staff(20)
		for i := range 3 {
			people[i].LastWorkingDay = personio.Date{Year: 2026, Month: 4, Day: 30}
		}
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		before := *h.identity("1")
		h.src.set(without(people, "1", "2", "3")...)
		rep := h.sync(RunOptions{Trigger: "test"})
		got := h.identity("1")
		if rep.Lookups != 0 || got.Active || got.Lifecycle.RemoveAfter != before.Lifecycle.RemoveAfter || got.Lifecycle.Rule != RuleVanished {
			t.Fatalf("lookups %d, leaver %+v (was %+v)", rep.Lookups, got.Lifecycle, before.Lifecycle)
		}
	})
}

// TestGuardCountsEveryKindOfAccessChange: each kind has its own limit and
// holds only its own changes; the rest of the run is applied.
func TestGuardCountsEveryKindOfAccessChange(t *testing.T) {
	ended := personio.Date{Year: 2026, Month: 4, Day: 30} // within retention on 2026-05-04
	tests := []struct {
		name   string
		setup  func(people []personio.Record)                   // before the first sync
		change func(people []personio.Record) []personio.Record // between the first and the second
		want   string                                           // the kind of every held change
		limit  string
		held   int
	}{
		{"a dropped department removes every department membership", nil, func(people []personio.Record) []personio.Record {
			for i := range people {
				people[i].Department = ""
			}
			return people
		}, ChangeMembershipRemoved, limitMaxMembershipPercent, 20},
		{"dropped end dates reactivate leavers", func(people []personio.Record) {
			for i := range 4 {
				people[i].LastWorkingDay = ended
			}
		}, func(people []personio.Record) []personio.Record {
			for i := range 4 {
				people[i].LastWorkingDay = personio.Date{}
			}
			return people
		}, ChangeActivate, limitMaxActivationPercent, 4},
		{"a mass joining day", nil, func(people []personio.Record) []personio.Record {
			for i := 21; i <= 24; i++ {
				people = append(people, worker(fmt.Sprint(i), fmt.Sprintf("New%d", i), "Joiner", "Sales"))
			}
			return people
		}, ChangeActivate, limitMaxActivationPercent, 4},
		{"a mass leaving day", nil, func(people []personio.Record) []personio.Record {
			for i := range 3 {
				people[i].Status = "inactive"
			}
			return people
		}, ChangeDeactivate, limitMaxPercent, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bothBackends(t, func(t *testing.T, open storeOpener) {
				h := newHarness(t, oneHandle(t, open), "")
				people := staff(20)
				if tt.setup != nil {
					tt.setup(people)
				}
				h.src.set(people...)
				h.sync(RunOptions{Trigger: "test"})
				before := accessOf(h.dir.View())
				people = tt.change(people)
				people[10].Position = "Staff Engineer" // not an access change: applied in any case
				h.src.set(people...)
				h.now = h.now.Add(time.Hour)
				rep := h.sync(RunOptions{Trigger: "test"})
				if rep.Status != store.RunHeld || rep.Counts.Held != tt.held || len(rep.Guard.Held) != tt.held {
					t.Fatalf("run %s, %d held (%d listed), reason %q; want held with %d", rep.Status, rep.Counts.Held, len(rep.Guard.Held), rep.Guard.Reason, tt.held)
				}
				for _, hc := range rep.Guard.Held {
					if hc.Change != tt.want || hc.Limit != tt.limit {
						t.Errorf("held %+v; want change %s by %s", hc, tt.want, tt.limit)
					}
				}
				if lost := before.lostIn(accessOf(h.dir.View()), false); len(lost) > 0 {
					t.Errorf("the held run changed access: %v", lost)
				}
				if h.identity("11").Title != "Staff Engineer" {
					t.Error("the change the guard does not count was not applied")
				}
			})
		})
	}
}

// TestHeldRunListsExactlyWhatItHolds: Personio id, SCIM id, userName, the
// change, the lifecycle rule and the guard limit, in the run record and in
// a dry run.
func TestHeldRunListsExactlyWhatItHolds(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		people[0].Status, people[1].Status, people[2].Status = "inactive", "inactive", "inactive"
		h.src.set(people...)
		want := HeldChange{Change: ChangeDeactivate, PersonioID: "1", SCIMID: store.DefaultNamespace.IdentityID("1"),
			UserName: "first1.last1@example.com", Rule: RuleStatusInactive, Limit: limitMaxPercent}

		dry := h.sync(RunOptions{Trigger: "test", DryRun: true})
		held := h.sync(RunOptions{Trigger: "test"})
		stored, err := h.store.Run(context.Background(), held.RunID)
		if err != nil {
			t.Fatal(err)
		}
		var recorded Report
		if err := json.Unmarshal(stored.Report, &recorded); err != nil {
			t.Fatal(err)
		}
		for name, rep := range map[string]Report{"dry run": dry, "run record": recorded} {
			if len(rep.Guard.Held) != 3 || rep.Guard.Held[0] != want || !rep.Guard.Tripped || rep.Guard.PlanDigest == "" {
				t.Errorf("%s: held %+v, digest %q; want three, the first %+v", name, rep.Guard.Held, rep.Guard.PlanDigest, want)
			}
		}
		if dry.Guard.PlanDigest != recorded.Guard.PlanDigest {
			t.Errorf("the dry run's digest %s differs from the run's %s for the same plan", dry.Guard.PlanDigest, recorded.Guard.PlanDigest)
		}
	})
}

// TestApprovalAppliesWhatWasReviewed: the held changes still wanted are
// applied, those no longer wanted are dropped, and new ones past the limit
// are held again by the approval run.
func TestApprovalAppliesWhatWasReviewed(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		for i := range 4 { // 1..4 leave: 20 %
			people[i].Status = "inactive"
		}
		h.src.set(people...)
		h.now = h.now.Add(time.Hour)
		held := h.sync(RunOptions{Trigger: "test"})
		if held.Status != store.RunHeld || len(held.Guard.Held) != 4 {
			t.Fatalf("first run: %s with %d held", held.Status, len(held.Guard.Held))
		}

		// Before the approval: person 4 comes back, 5..7 leave too.
		people[3].Status = "active"
		for i := 4; i < 7; i++ {
			people[i].Status = "inactive"
		}
		h.src.set(people...)
		h.now = h.now.Add(time.Hour)
		if _, err := h.engine.Approve(context.Background(), held.RunID, "admin:alice", "0123"); !errors.Is(err, store.ErrConflict) || !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("approval with another plan's digest: %v, want ErrDigestMismatch", err)
		}
		rep, err := h.engine.Approve(context.Background(), held.RunID, "admin:alice", held.Guard.PlanDigest)
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range []string{"1", "2", "3"} {
			if h.identity(pid).Active {
				t.Errorf("approved deactivation of %s not applied", pid)
			}
		}
		for _, pid := range []string{"4", "5", "6", "7"} {
			if !h.identity(pid).Active {
				t.Errorf("person %s deactivated; the approval did not cover them", pid)
			}
		}
		if rep.Guard.ApprovedApplied != 3 || len(rep.Guard.ApprovedDropped) != 1 || rep.Guard.ApprovedDropped[0].PersonioID != "4" {
			t.Errorf("approval run: applied %d, dropped %+v; want 3 applied and person 4 dropped", rep.Guard.ApprovedApplied, rep.Guard.ApprovedDropped)
		}
		var again []string
		for _, hc := range rep.Guard.Held {
			again = append(again, hc.PersonioID)
		}
		if rep.Status != store.RunHeld || !slices.Equal(again, []string{"5", "6", "7"}) {
			t.Errorf("approval run %s holds %v; want the three new leavers held again", rep.Status, again)
		}
		stored, err := h.store.Run(context.Background(), held.RunID)
		if err != nil || stored.Status != store.RunApproved || stored.ApprovedBy != "admin:alice" {
			t.Errorf("approved run record: %+v, %v", stored, err)
		}
	})
}

// TestApprovalThatFailsLeavesTheRunHeld: nothing was applied, so the
// administrator can approve again.
func TestApprovalThatFailsLeavesTheRunHeld(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		for i := range 4 {
			people[i].Status = "inactive"
		}
		h.src.set(people...)
		held := h.sync(RunOptions{Trigger: "test"})
		h.src.fail(errors.New("personio: 503 after 6 attempts"))
		if _, err := h.engine.Approve(context.Background(), held.RunID, "admin:alice", ""); !errors.Is(err, ErrFetch) {
			t.Fatalf("approval during an outage: %v", err)
		}
		stored, err := h.store.Run(context.Background(), held.RunID)
		if err != nil || stored.Status != store.RunHeld || stored.ApprovedBy != "" {
			t.Fatalf("held run after the failed approval: %s by %q, %v", stored.Status, stored.ApprovedBy, err)
		}
		h.src.set(people...)
		if rep, err := h.engine.Approve(context.Background(), held.RunID, "admin:alice", ""); err != nil || h.identity("1").Active {
			t.Fatalf("second approval: %s, %v", rep.Status, err)
		}
	})
}

// TestRetentionAfterApprovedDepartureIsNotHeldAgain: removing leavers who
// are inactive already takes no access away.
func TestRetentionAfterApprovedDepartureIsNotHeldAgain(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		for i := range 6 {
			people[i].Status = "inactive"
		}
		h.src.set(people...)
		held := h.sync(RunOptions{Trigger: "test"})
		if _, err := h.engine.Approve(context.Background(), held.RunID, "admin:alice", held.Guard.PlanDigest); err != nil {
			t.Fatal(err)
		}
		h.now = h.now.Add(31 * 24 * time.Hour)
		rep := h.sync(RunOptions{Trigger: "test"})
		var removed []string
		for _, c := range rep.Changes {
			if c.Op == store.OpDelete && c.Kind == store.KindIdentity {
				removed = append(removed, c.ID)
			}
		}
		if rep.Status != store.RunSucceeded || rep.Counts.Removed != 6 || rep.Guard.RetentionRemovals != 6 || len(removed) != 6 {
			t.Fatalf("retention run: %s, %+v, retention removals %d, listed %d; want six removals applied and listed",
				rep.Status, rep.Counts, rep.Guard.RetentionRemovals, len(removed))
		}
	})
}

// TestRemovedInactiveLeaverStaysRemoved: a leaver whom Personio marks
// inactive, with no end date, is removed after retention and does not come
// back as a joiner, until Personio rehires them.
func TestRemovedInactiveLeaverStaysRemoved(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		id := w.hire(person("Paul", "Fischer", nil))
		w.hireColleagues(10)
		w.sync()
		w.update(id, personiotest.Attrs{"status": "inactive"})
		w.sync()
		scimID := w.mustIdentity(id).ID
		w.setClock(at("2026-04-29", 0, 1)) // retention (30 days from 2026-03-30) is over
		if rep := w.sync(); rep.Counts.Removed != 1 {
			t.Fatalf("retention over: %+v", rep.Counts)
		}
		for _, day := range []string{"2026-04-30", "2026-05-15", "2026-06-01"} {
			w.setClock(at(day, 0, 1))
			if rep := w.sync(); rep.Counts.Created != 0 {
				t.Fatalf("%s: the removed leaver came back: %+v", day, rep.Counts)
			}
		}
		w.update(id, personiotest.Attrs{"rehire": "2026-06-10", "status": "active"})
		w.sync()
		if got, ok := w.identity(id); !ok || got.ID != scimID || got.Lifecycle.State != store.StatePrehire {
			t.Fatalf("rehired person: %+v, %v; want the same SCIM id, prehire", got, ok)
		}
	})
}

// TestJoinerWithoutIdentityAppearsAtMidnight: incremental runs all day,
// no change in Personio, prehire_days 0: the joiner has an active account
// on the first day.
func TestJoinerWithoutIdentityAppearsAtMidnight(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "lifecycle: {prehire_days: 0}\n")
		w.hireColleagues(10)
		joiner := w.hire(person("Zoë", "Keller", personiotest.Attrs{"hire_date": "2026-04-03"}))
		// Days pass without a change in Personio: no incremental window,
		// however wide its overlap, still reports the joiner.
		w.setClock(at("2026-04-02", 10, 0))
		w.sync()
		if _, ok := w.identity(joiner); ok {
			t.Fatal("with prehire_days 0 a joiner has no identity before the hire date")
		}
		since := w.clock.Now()
		w.setClock(at("2026-04-02", 18, 0))
		same, err := w.engine.Run(context.Background(), RunOptions{Mode: ModeIncremental, Since: since, Trigger: "test"})
		if err != nil || same.Mode != ModeIncremental {
			t.Fatalf("later the same day: %s, %v; want an incremental run", same.Mode, err)
		}
		w.setClock(at("2026-04-03", 0, 5))
		rep, err := w.engine.Run(context.Background(), RunOptions{Mode: ModeIncremental, Since: since, Trigger: "test"})
		if err != nil || rep.Mode != ModeFull || rep.ModeNote == "" {
			t.Fatalf("first run of the day: mode %s (%q), %v; want a full run that says why", rep.Mode, rep.ModeNote, err)
		}
		if got, ok := w.identity(joiner); !ok || !got.Active {
			t.Fatalf("the joiner on the first day: %+v, %v; want an active identity", got, ok)
		}
	})
}

// TestIncrementalRunsContinueFromTheLastSuccessfulRun: with no successful
// run, an incremental request makes a full run and says so; afterwards it
// reads from that run's start, whatever failed in between.
func TestIncrementalRunsContinueFromTheLastSuccessfulRun(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		h.src.set(staff(10)...)
		sched := NewScheduler(h.engine, 15*time.Minute)
		ctx := context.Background()
		first, err := sched.RunNow(ctx, RunOptions{Mode: ModeIncremental, Trigger: "api"}, false)
		if err != nil || first.Mode != ModeFull || !strings.Contains(first.ModeNote, "no successful run") {
			t.Fatalf("incremental with no run before: %s (%q), %v", first.Mode, first.ModeNote, err)
		}
		h.now = h.now.Add(10 * time.Minute)
		h.src.fail(errors.New("personio: 503"))
		if _, err := sched.RunNow(ctx, RunOptions{Mode: ModeIncremental, Trigger: "api"}, false); err == nil {
			t.Fatal("the run during the outage succeeded")
		}
		h.src.set(staff(10)...)
		h.now = h.now.Add(10 * time.Minute)
		rep, err := sched.RunNow(ctx, RunOptions{Mode: ModeIncremental, Trigger: "api"}, false)
		if err != nil || rep.Mode != ModeIncremental {
			t.Fatalf("incremental after a success: %s, %v", rep.Mode, err)
		}
		if want := first.StartedAt.Add(-5 * time.Minute); !h.src.lastSince.Equal(want) {
			t.Fatalf("read changes since %v; want the last successful run's start less the overlap, %v", h.src.lastSince, want)
		}
	})
}

// TestAbandonedRunsAreMarkedFailed: a run whose process died stays
// "running" until a scheduler holding the lock finds it past the timeout.
func TestAbandonedRunsAreMarkedFailed(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		h.src.set(staff(3)...)
		ctx := context.Background()
		killed := store.Run{ID: "20260504T070000Z-dead", Trigger: "schedule", Mode: "full", Status: store.RunRunning,
			StartedAt: h.now.Add(-2 * time.Hour), Report: []byte(`{"run_id":"20260504T070000Z-dead","status":"running"}`)}
		recent := store.Run{ID: "20260504T085000Z-busy", Trigger: "api", Mode: "full", DryRun: true, Status: store.RunRunning,
			StartedAt: h.now.Add(-10 * time.Minute)}
		for _, r := range []store.Run{killed, recent} {
			if err := h.store.SaveRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := NewScheduler(h.engine, 15*time.Minute).RunNow(ctx, RunOptions{Trigger: "schedule"}, true); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.Run(ctx, killed.ID)
		var rep Report
		if err == nil {
			err = json.Unmarshal(got.Report, &rep)
		}
		if err != nil || got.Status != store.RunFailed || !strings.HasPrefix(got.Error, "abandoned") || got.FinishedAt.IsZero() ||
			rep.Status != store.RunFailed || got.ApprovedBy != "" || !got.ApprovedAt.IsZero() {
			t.Fatalf("killed run: %+v, report %+v, %v", got, rep, err)
		}
		if got, _ := h.store.Run(ctx, recent.ID); got.Status != store.RunRunning {
			t.Fatalf("a run within the timeout became %s", got.Status)
		}
	})
}

// TestEvaluationErrorsCarryNoPersonalData: the run report names the
// person, the attribute, the position and the kind of error, not the value.
func TestEvaluationErrorsCarryNoPersonalData(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "mapping:\n  title: 'string(timestamp(first_name))'\n")
		h.src.set(worker("1", "Paul", "Fischer", "Sales"))
		rep := h.sync(RunOptions{Trigger: "test"})
		stored, err := h.store.Run(context.Background(), rep.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Skipped) != 1 || rep.Skipped[0].Reason != "person 1: title: 1:17: a value is not a valid timestamp" {
			t.Fatalf("skipped %+v", rep.Skipped)
		}
		if strings.Contains(string(stored.Report), "Paul") {
			t.Fatalf("the stored report holds the first name: %s", stored.Report)
		}
	})
}

// TestExpensiveExpressionsStop: a cost limit ends a runaway expression for
// one person, and cancelling the run stops evaluation.
func TestExpensiveExpressionsStop(t *testing.T) {
	nested := "mapping:\n  title: 'string([0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, [0,1,2,3,4,5,6,7,8,9].map(c, [0,1,2,3,4,5,6,7,8,9].map(d, [0,1,2,3,4,5,6,7,8,9].map(e, a+b+c+d+e))))).size())'\n"
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), nested)
		h.src.set(staff(2)...)
		rep := h.sync(RunOptions{Trigger: "test"})
		if len(rep.Skipped) != 2 || !strings.Contains(rep.Skipped[0].Reason, "exceeds the cost limit") {
			t.Fatalf("skipped %+v; want both people skipped over the cost limit", rep.Skipped)
		}
	})
	p := compileYAML(t, nested)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.evaluate(ctx, employee(t), date(t, "2026-04-01"), nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "evaluation cancelled") {
		t.Fatalf("evaluation under a cancelled context: %v", err)
	}
}

// cancellingSource cancels the run once Personio has answered, so that
// the cancellation lands while the run plans.
type cancellingSource struct {
	*staticSource
	cancel context.CancelFunc
}

func (c *cancellingSource) FetchAll(ctx context.Context) ([]personio.Record, personio.FetchStats, error) {
	recs, stats, err := c.staticSource.FetchAll(ctx)
	c.cancel()
	return recs, stats, err
}

func TestCancelledRunAppliesNothing(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "groups: {rules: [{name: busy, when: '[1,2,3].all(x, x > 0)'}]}\n")
		h.src.set(staff(5)...)
		ctx, cancel := context.WithCancel(context.Background())
		h.engine.source = &cancellingSource{staticSource: h.src, cancel: cancel}
		rep, err := h.engine.Run(ctx, RunOptions{Mode: ModeFull, Trigger: "test"})
		if !errors.Is(err, context.Canceled) || rep.Status != store.RunFailed {
			t.Fatalf("cancelled run: %s, %v", rep.Status, err)
		}
		if n, _ := h.dir.View().Len(); n != 0 {
			t.Fatalf("the cancelled run created %d identities", n)
		}
	})
}

// access is who has access and which memberships exist: what the guard
// protects.
type access struct {
	active  map[string]bool            // SCIM id → active; absent ids have no identity
	members map[string]map[string]bool // group key → SCIM ids
}

func accessOf(v *store.View) access {
	a := access{active: map[string]bool{}, members: map[string]map[string]bool{}}
	for _, i := range v.Identities() {
		a.active[i.ID] = i.Active
	}
	for _, g := range v.Groups() {
		set := map[string]bool{}
		for _, m := range g.Members {
			set[m] = true
		}
		a.members[g.Key] = set
	}
	return a
}

// lostIn lists every wrongful change from a to b: an identity removed,
// deactivated or activated, a membership lost; an identity created active
// too, unless joiners says the company really hired someone.
func (a access) lostIn(b access, joiners bool) []string {
	var out []string
	for id, active := range a.active {
		now, ok := b.active[id]
		switch {
		case !ok:
			out = append(out, "removed "+id)
		case active && !now:
			out = append(out, "deactivated "+id)
		case !active && now:
			out = append(out, "activated "+id)
		}
	}
	for id, active := range b.active {
		if _, ok := a.active[id]; !ok && active && !joiners {
			out = append(out, "created active "+id)
		}
	}
	for key, members := range a.members {
		for m := range members {
			if !b.members[key][m] {
				out = append(out, "membership "+key+" lost "+m)
			}
		}
	}
	slices.Sort(out)
	return out
}
