package mirror

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// world is a simulated Personio company, a store, and the engine between
// them, all on one manual clock.
type world struct {
	t      *testing.T
	clock  *personiotest.Clock
	sim    *personiotest.Server
	store  store.Store
	dir    *store.Directory
	engine *Engine
	// version is the Personio API the engine reads; "" means v1.
	version personio.APIVersion
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Berlin.
func at(date string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, date, berlin)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

type storeOpener func(t *testing.T, now func() time.Time) (store.Store, store.Store)

// bothBackends runs fn on memory and on Postgres; each opener gives two
// handles on one database, like two replicas.
func bothBackends(t *testing.T, fn func(t *testing.T, open storeOpener)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
			s := memory.New(memory.Options{Now: now})
			t.Cleanup(s.Close)
			return s, s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
			a, url := pgtest.Open(t, postgres.Options{Now: now})
			return a, pgtest.OpenURL(t, url, postgres.Options{Now: now})
		})
	})
}

func newWorld(t *testing.T, open storeOpener, cfgYAML string) *world {
	t.Helper()
	w := &world{t: t, clock: personiotest.NewClock(at("2026-03-30", 10, 0))}
	w.sim = personiotest.Start(t, personiotest.Options{Employees: -1, Now: w.clock.Now})
	w.store, _ = open(t, w.clock.Now)
	w.dir, w.engine = w.replica(w.store, cfgYAML)
	return w
}

// replica wires a directory and an engine onto a store handle.
func (w *world) replica(st store.Store, cfgYAML string) (*store.Directory, *Engine) {
	w.t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(cfgYAML))
	if err != nil {
		w.t.Fatal(err)
	}
	policy, err := Compile(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	labels, allCustom := policy.CustomLabels()
	client, err := personio.NewClient(personio.Config{
		BaseURL: w.sim.URL(), ClientID: w.sim.ClientID(), ClientSecret: w.sim.ClientSecret(),
		Attributes: policy.SourceFields(), CustomLabels: labels, AllCustom: allCustom, Location: policy.Location(), APIVersion: w.version,
		Now: w.clock.Now, Sleep: w.clock.Sleep, NoRateLimit: true,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	engine, err := NewEngine(EngineOptions{Policy: policy, Store: st, Directory: dir, Source: client, Namespace: store.DefaultNamespace, Now: w.clock.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	return dir, engine
}

func (w *world) sync() Report {
	w.t.Helper()
	rep, err := w.engine.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "test"})
	if err != nil {
		w.t.Fatalf("sync: %v (report %+v)", err, rep)
	}
	return rep
}

func (w *world) hire(attrs personiotest.Attrs) string {
	w.t.Helper()
	id, err := w.sim.Hire(attrs)
	if err != nil {
		w.t.Fatalf("hire: %v", err)
	}
	return id
}

func (w *world) update(id string, attrs personiotest.Attrs) {
	w.t.Helper()
	if err := w.sim.Update(id, attrs); err != nil {
		w.t.Fatalf("update %s: %v", id, err)
	}
}

func (w *world) setClock(t time.Time) {
	w.t.Helper()
	if d := t.Sub(w.clock.Now()); d < 0 {
		w.t.Fatalf("clock cannot go back to %v", t)
	} else {
		w.clock.Advance(d)
	}
}

func (w *world) identity(pid string) (*store.Identity, bool) {
	return w.dir.View().Identity(store.DefaultNamespace.IdentityID(pid))
}

func (w *world) mustIdentity(pid string) *store.Identity {
	w.t.Helper()
	i, ok := w.identity(pid)
	if !ok {
		w.t.Fatalf("person %s has no identity", pid)
	}
	return i
}

func (w *world) groupNames(pid string) []string {
	var names []string
	for _, g := range w.dir.View().GroupsOf(store.DefaultNamespace.IdentityID(pid)) {
		names = append(names, g.DisplayName)
	}
	return names
}

// hireColleagues hires n people in Engineering, Berlin, so that the guard
// sees one person's change in proportion.
func (w *world) hireColleagues(n int) {
	w.t.Helper()
	for i := range n {
		w.hire(person(fmt.Sprintf("Kollegin%d", i), "Wolf", nil))
	}
}

func person(first, last string, extra personiotest.Attrs) personiotest.Attrs {
	a := personiotest.Attrs{"first_name": first, "last_name": last, "hire_date": "2024-02-01", "status": "active",
		"department": "Engineering", "office": "Berlin", "position": "Engineer"}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func TestJoinerAppearsInPrehireWindowAndActivatesOnHireDate(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		soon := w.hire(person("Zoë", "Keller", personiotest.Attrs{"hire_date": "2026-04-10"}))   // 11 days ahead
		later := w.hire(person("Ömer", "Yılmaz", personiotest.Attrs{"hire_date": "2026-05-30"})) // 61 days ahead
		w.hireColleagues(10)                                                                     // one activation of eleven is no mass event
		w.sync()
		joiner := w.mustIdentity(soon)
		if joiner.Active || joiner.Lifecycle.State != store.StatePrehire || joiner.Lifecycle.Rule != RulePrehireWindow {
			t.Fatalf("joiner within the window: active %v, lifecycle %+v", joiner.Active, joiner.Lifecycle)
		}
		if _, ok := w.identity(later); ok {
			t.Fatal("a joiner 61 days ahead must not appear yet")
		}

		w.setClock(at("2026-04-09", 23, 59))
		w.sync()
		if w.mustIdentity(soon).Active {
			t.Fatal("active a minute before the hire date")
		}
		w.setClock(at("2026-04-10", 0, 1))
		rep := w.sync()
		if got := w.mustIdentity(soon); !got.Active || got.Lifecycle.State != store.StateActive || rep.Counts.Activated != 1 {
			t.Fatalf("on the hire date: active %v, lifecycle %+v, counts %+v", got.Active, got.Lifecycle, rep.Counts)
		}
		if got := w.mustIdentity(soon); got.ID != joiner.ID {
			t.Fatal("the SCIM id changed on activation")
		}

		w.setClock(at("2026-05-16", 0, 1)) // 14 days before 2026-05-30
		w.sync()
		if got, ok := w.identity(later); !ok || got.Active {
			t.Fatalf("the later joiner on entering the window: %v, %v", got, ok)
		}
	})
}

func TestMoverFollowsAttributesAndGroups(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		mover := w.hire(person("Jürgen", "Groß", nil))
		w.hire(person("Anna", "Brandt", nil)) // keeps Engineering and Berlin populated
		w.hireColleagues(10)                  // one mover's two memberships are no mass event
		w.sync()
		w.update(mover, personiotest.Attrs{"department": "Sales", "office": "München", "position": "Account Executive"})
		w.setClock(w.clock.Now().Add(time.Hour))
		rep := w.sync()
		got := w.mustIdentity(mover)
		if got.Department != "Sales" || got.Title != "Account Executive" || rep.Counts.Updated != 1 {
			t.Fatalf("mover: department %q title %q counts %+v", got.Department, got.Title, rep.Counts)
		}
		groups := fmt.Sprint(w.groupNames(mover))
		for _, want := range []string{"Sales", "München"} {
			if !containsName(w.groupNames(mover), want) {
				t.Fatalf("mover's groups %s lack %s", groups, want)
			}
		}
		for _, gone := range []string{"Engineering", "Berlin"} {
			if containsName(w.groupNames(mover), gone) {
				t.Fatalf("mover still in %s: %s", gone, groups)
			}
		}
	})
}

func containsName(names []string, want string) bool {
	for _, n := range names {
		if n == want {
			return true
		}
	}
	return false
}

func TestNameChangeKeepsUserName(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		id := w.hire(person("Jürgen", "Groß", personiotest.Attrs{"email": "Juergen.Gross@alpenwerk.example"}))
		w.sync()
		if got := w.mustIdentity(id); got.UserName != "juergen.gross@alpenwerk.example" {
			t.Fatalf("userName = %q, want the lowercased work email", got.UserName)
		}
		w.update(id, personiotest.Attrs{"last_name": "Meier", "email": "juergen.meier@alpenwerk.example"})
		w.sync()
		got := w.mustIdentity(id)
		if got.UserName != "juergen.gross@alpenwerk.example" || got.Email != "juergen.meier@alpenwerk.example" || got.DisplayName != "Jürgen Meier" || got.FamilyName != "Meier" {
			t.Fatalf("after the name change: %+v", got.Attributes)
		}
	})
}

func TestManagerChange(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		first := w.hire(person("Maria", "Huber", nil))
		second := w.hire(person("Lukas", "Gruber", nil))
		report := w.hire(person("Sophie", "Wagner", personiotest.Attrs{"supervisor_id": first}))
		w.sync()
		if got := w.mustIdentity(report).Manager; got != w.mustIdentity(first).ID {
			t.Fatalf("manager = %q, want the first manager's SCIM id", got)
		}
		w.update(report, personiotest.Attrs{"supervisor_id": second})
		w.sync()
		if got := w.mustIdentity(report).Manager; got != w.mustIdentity(second).ID {
			t.Fatalf("manager after the change = %q", got)
		}
	})
}

func TestLeavers(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		leave    func(w *world, id string)
		wantRule string
	}{
		{"by status", "", func(w *world, id string) { w.update(id, personiotest.Attrs{"status": "inactive"}) }, RuleStatusInactive},
		{"by vanishing", "", func(w *world, id string) {
			if err := w.sim.Remove(id); err != nil {
				w.t.Fatal(err)
			}
		}, RuleVanished},
		{"by leaving the scope", `scope: 'employment_type == "internal"'`, func(w *world, id string) {
			w.update(id, personiotest.Attrs{"employment_type": "external"})
		}, RuleOutOfScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bothBackends(t, func(t *testing.T, open storeOpener) {
				w := newWorld(t, open, tt.config)
				id := w.hire(person("Paul", "Fischer", nil))
				stays := w.hire(person("Lea", "Schneider", nil))
				for n := range 8 { // the guard must not see one leaver of ten as a mass event
					w.hire(person(fmt.Sprintf("Kollege%d", n), "Weber", nil))
				}
				w.sync()
				tt.leave(w, id)
				rep := w.sync()
				got := w.mustIdentity(id)
				if got.Active || got.Lifecycle.State != store.StateLeaver || got.Lifecycle.Rule != tt.wantRule || rep.Counts.Deactivated != 1 {
					t.Fatalf("leaver: active %v lifecycle %+v counts %+v", got.Active, got.Lifecycle, rep.Counts)
				}
				if got.Lifecycle.InactiveSince != "2026-03-30" || got.Lifecycle.RemoveAfter != "2026-04-28" {
					t.Fatalf("leaver dates %+v; want inactive since today, visible 30 days", got.Lifecycle)
				}
				if len(w.groupNames(id)) != 0 || !w.mustIdentity(stays).Active {
					t.Fatalf("leaver's groups %v; colleague active %v", w.groupNames(id), w.mustIdentity(stays).Active)
				}

				w.setClock(at("2026-04-28", 23, 0))
				w.sync()
				if _, ok := w.identity(id); !ok {
					t.Fatal("removed before retention ended")
				}
				w.setClock(at("2026-04-29", 0, 1))
				rep = w.sync()
				if _, ok := w.identity(id); ok || rep.Counts.Removed != 1 {
					t.Fatalf("retention over: still present %v, counts %+v", ok, rep.Counts)
				}
			})
		})
	}
}

// TestLeaverFlipsAtCompanyMidnightNotUTC: a last working day of 31 March
// ends at midnight in Berlin, which is 22:00 UTC on the 31st.
func TestLeaverFlipsAtCompanyMidnightNotUTC(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		id := w.hire(person("Clara", "Bauer", personiotest.Attrs{"termination_date": "2026-03-31", "last_working_day": "2026-03-31"}))
		for n := range 9 {
			w.hire(person(fmt.Sprintf("Team%d", n), "Koch", nil))
		}
		w.setClock(at("2026-03-31", 23, 30))
		w.sync()
		if !w.mustIdentity(id).Active {
			t.Fatal("inactive during the last working day")
		}
		w.setClock(at("2026-04-01", 0, 0).Add(30 * time.Second))
		if utcDay := w.clock.Now().UTC().Format(time.DateOnly); utcDay != "2026-03-31" {
			t.Fatalf("test set-up: UTC day is %s, want still 2026-03-31", utcDay)
		}
		w.sync()
		got := w.mustIdentity(id)
		if got.Active || got.Lifecycle.Rule != RuleEndDate || got.Lifecycle.InactiveSince != "2026-04-01" {
			t.Fatalf("after Berlin midnight: active %v, lifecycle %+v", got.Active, got.Lifecycle)
		}
	})
}

func TestRehireReactivatesTheSameIdentity(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		id := w.hire(person("Felix", "Hofmann", personiotest.Attrs{"termination_date": "2026-03-31", "last_working_day": "2026-03-31"}))
		for n := range 9 {
			w.hire(person(fmt.Sprintf("Team%d", n), "Koch", nil))
		}
		w.sync()
		first := w.mustIdentity(id).ID
		w.setClock(at("2026-04-02", 9, 0))
		w.sync()
		if w.mustIdentity(id).Active {
			t.Fatal("leaver still active")
		}
		w.update(id, personiotest.Attrs{"rehire": "2026-04-06", "status": "active"})
		w.sync() // 4 days ahead: prehire again
		if got := w.mustIdentity(id); got.ID != first || got.Lifecycle.State != store.StatePrehire {
			t.Fatalf("rehire before the new start: id %s (was %s), lifecycle %+v", got.ID, first, got.Lifecycle)
		}
		w.setClock(at("2026-04-06", 8, 0))
		w.sync()
		if got := w.mustIdentity(id); !got.Active || got.ID != first {
			t.Fatalf("rehired identity: active %v id %s", got.Active, got.ID)
		}
	})
}

func TestPersonioOutageDuringSyncChangesNothing(t *testing.T) {
	faults := []struct {
		name  string
		fault personiotest.Fault
	}{
		{"503 storm", personiotest.Fault{Path: "/v1/company/employees", Status: 503, Count: -1}},
		{"garbage on page 2", personiotest.Fault{Path: "/v1/company/employees", Garbage: true, After: 1, Count: -1}},
		{"empty answer", personiotest.Fault{Path: "/v1/company/employees", Empty: true, Count: -1}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			bothBackends(t, func(t *testing.T, open storeOpener) {
				w := newWorld(t, open, "")
				for n := range 150 { // two pages of 100
					w.hire(person(fmt.Sprintf("P%d", n), "Zimmermann", nil))
				}
				w.sync()
				before, _ := w.store.LastSeq(context.Background())
				w.sim.InjectFault(f.fault)
				rep, err := w.engine.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "test"})
				if !errors.Is(err, ErrFetch) || rep.Status != store.RunFailed {
					t.Fatalf("run during the outage = %s, %v", rep.Status, err)
				}
				if after, _ := w.store.LastSeq(context.Background()); after != before {
					t.Fatalf("the failed run changed %d rows", after-before)
				}
				w.sim.ClearFaults()
				if rep := w.sync(); rep.Counts != (Counts{}) {
					t.Fatalf("after the outage: %+v", rep.Counts)
				}
			})
		})
	}
}

func TestGuardHoldsMassTerminationFromPersonio(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := newWorld(t, open, "")
		var ids []string
		for n := range 20 {
			ids = append(ids, w.hire(person(fmt.Sprintf("P%d", n), "Schulz", nil)))
		}
		w.sync()
		for _, id := range ids[:6] {
			w.update(id, personiotest.Attrs{"status": "inactive"})
		}
		w.clock.Advance(time.Hour)
		held := w.sync()
		w.clock.Advance(time.Minute)
		if held.Status != store.RunHeld || held.Counts.Held != 6 || !w.mustIdentity(ids[0]).Active {
			t.Fatalf("held run: %s %+v", held.Status, held.Counts)
		}
		rep, err := w.engine.Approve(context.Background(), held.RunID, "admin", "")
		if err != nil || rep.Counts.Deactivated != 6 || w.mustIdentity(ids[0]).Active {
			t.Fatalf("approval: %+v, %v", rep.Counts, err)
		}
	})
}

func TestTwoReplicasOnlyOneSyncs(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		w := &world{t: t, clock: personiotest.NewClock(at("2026-03-30", 10, 0))}
		w.sim = personiotest.Start(t, personiotest.Options{Employees: -1, Now: w.clock.Now})
		w.hire(person("Eva", "Klein", nil))
		a, b := open(t, w.clock.Now)
		_, engineA := w.replica(a, "")
		_, engineB := w.replica(b, "")
		schedA, schedB := NewScheduler(engineA, 15*time.Minute), NewScheduler(engineB, 15*time.Minute)
		ctx := context.Background()

		// While A holds the lock, B cannot sync.
		lock, err := a.TryLead(ctx, leaderName)
		if err != nil || lock == nil {
			t.Fatalf("take the lock: %v", err)
		}
		w.sim.ResetCalls()
		if _, err := schedB.RunNow(ctx, RunOptions{Trigger: "test"}, true); !errors.Is(err, ErrBusy) {
			t.Fatalf("B while A leads: %v, want ErrBusy", err)
		}
		if calls := len(w.sim.CallCounts()); calls != 0 {
			t.Fatalf("B called Personio %d times while not leading", calls)
		}
		lock.Release(ctx)

		// Both start: each makes its start-up run, one after the other.
		if _, err := schedA.RunNow(ctx, RunOptions{Trigger: "schedule"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := schedB.RunNow(ctx, RunOptions{Trigger: "schedule"}, true); err != nil {
			t.Fatal(err)
		}
		// On the next ticks within the interval, the run is not due on either.
		w.clock.Advance(time.Minute)
		w.sim.ResetCalls()
		for name, s := range map[string]*Scheduler{"A": schedA, "B": schedB} {
			if _, err := s.RunNow(ctx, RunOptions{Trigger: "schedule"}, true); !errors.Is(err, errNotDue) {
				t.Fatalf("%s's tick right after a run: %v, want errNotDue", name, err)
			}
		}
		if calls := len(w.sim.CallCounts()); calls != 0 {
			t.Fatalf("ticks that were not due called Personio (%d endpoints)", calls)
		}
		// A dies; after an interval B takes over.
		w.clock.Advance(15 * time.Minute)
		rep, err := schedB.RunNow(ctx, RunOptions{Trigger: "schedule"}, true)
		if err != nil || rep.Mode != ModeIncremental {
			t.Fatalf("B's take-over run: mode %s, %v", rep.Mode, err)
		}
	})
}
