package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// staticSource serves a fixed list of people, or an error.
type staticSource struct {
	mu      sync.Mutex
	records []personio.Record
	err     error
	calls   int
	lookups int
	// unlisted are people Personio knows by id but leaves out of listings.
	unlisted  map[string]personio.Record
	lookupErr error     // what every lookup by id answers, if set
	lastSince time.Time // the since of the last incremental fetch
}

func (s *staticSource) set(records ...personio.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records, s.err = slices.Clone(records), nil
}

func (s *staticSource) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *staticSource) FetchAll(context.Context) ([]personio.Record, personio.FetchStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, personio.FetchStats{Calls: 1}, s.err
	}
	return slices.Clone(s.records), personio.FetchStats{Calls: 1}, nil
}

func (s *staticSource) FetchChanged(ctx context.Context, since time.Time) ([]personio.Record, personio.FetchStats, error) {
	s.mu.Lock()
	s.lastSince = since
	s.mu.Unlock()
	all, stats, err := s.FetchAll(ctx)
	return slices.DeleteFunc(all, func(r personio.Record) bool { return !r.UpdatedAt.After(since) }), stats, err
}

func (s *staticSource) FetchOne(_ context.Context, id string) (personio.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.err != nil {
		return personio.Record{}, s.err
	}
	if s.lookupErr != nil {
		return personio.Record{}, s.lookupErr
	}
	for _, r := range s.records {
		if r.ID == id {
			return r, nil
		}
	}
	if r, ok := s.unlisted[id]; ok {
		return r, nil
	}
	return personio.Record{}, fmt.Errorf("person %s: %w", id, personio.ErrNotFound)
}

// oneHandle opens one store of a two-handle opener, for tests that need a
// single replica.
func oneHandle(t *testing.T, open storeOpener) func(now func() time.Time) store.Store {
	return func(now func() time.Time) store.Store {
		a, _ := open(t, now)
		return a
	}
}

type harness struct {
	t      *testing.T
	engine *Engine
	store  store.Store
	dir    *store.Directory
	src    *staticSource
	now    time.Time
}

func newHarness(t *testing.T, open func(now func() time.Time) store.Store, cfgYAML string) *harness {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	policy, err := Compile(cfg)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	h := &harness{t: t, src: &staticSource{}, now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	h.store = open(func() time.Time { return h.now })
	h.dir, err = store.NewDirectory(context.Background(), h.store, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.engine, err = NewEngine(EngineOptions{Policy: policy, Store: h.store, Directory: h.dir, Source: h.src, Namespace: store.DefaultNamespace, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) sync(opts RunOptions) Report {
	h.t.Helper()
	if opts.Mode == "" {
		opts.Mode = ModeFull
	}
	rep, err := h.engine.Run(context.Background(), opts)
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return rep
}

func (h *harness) identity(pid string) *store.Identity {
	h.t.Helper()
	i, ok := h.dir.View().Identity(store.DefaultNamespace.IdentityID(pid))
	if !ok {
		h.t.Fatalf("no identity for person %s", pid)
	}
	return i
}

func worker(id, first, last, dept string) personio.Record {
	return personio.Record{
		ID: id, FirstName: first, LastName: last, Email: strings.ToLower(first+"."+last) + "@example.com",
		Status: "active", HireDate: personio.Date{Year: 2020, Month: 1, Day: 1}, Department: dept, Office: "Berlin",
		Position: "Engineer", EmploymentType: "internal",
	}
}

func staff(n int) []personio.Record {
	var out []personio.Record
	for i := 1; i <= n; i++ {
		out = append(out, worker(fmt.Sprint(i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i), []string{"Engineering", "Sales"}[i%2]))
	}
	return out
}

func TestSecondSyncWithoutChangesWritesNothing(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		h.src.set(staff(20)...)
		first := h.sync(RunOptions{Trigger: "test"})
		if first.Counts.Created != 20 || first.Counts.GroupsCreated != 3 || first.Status != store.RunSucceeded {
			t.Fatalf("first run = %+v", first.Counts)
		}
		seq, _ := h.store.LastSeq(context.Background())
		second := h.sync(RunOptions{Trigger: "test"})
		after, _ := h.store.LastSeq(context.Background())
		if after != seq || second.Counts != (Counts{}) || second.ChangeSeqs != [2]int64{} {
			t.Fatalf("second run wrote change-log rows %d..%d, counts %+v", seq, after, second.Counts)
		}
	})
}

func TestGuardHoldsMassDeactivationUntilApproved(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "guard: {max_percent: 10}\n")
		people := staff(20)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})

		// Five of twenty leave at once (25 %) and one moves department.
		for i := range 5 {
			people[i].Status = "inactive"
		}
		people[10].Department = "Finance"
		h.src.set(people...)
		h.now = h.now.Add(24 * time.Hour)
		held := h.sync(RunOptions{Trigger: "test"})
		if held.Status != store.RunHeld || !held.Guard.Tripped || held.Counts.Held != 5 || held.Counts.Deactivated != 0 {
			t.Fatalf("held run = status %s, guard %+v, counts %+v", held.Status, held.Guard, held.Counts)
		}
		if !h.identity("1").Active || h.identity("11").Department != "Finance" {
			t.Fatal("the guard must keep leavers active and still apply the other changes")
		}
		rep, err := h.engine.Approve(context.Background(), held.RunID, "admin", "")
		if err != nil || rep.Counts.Deactivated != 5 || rep.Status != store.RunSucceeded || !rep.Guard.Approved {
			t.Fatalf("approval run = %+v, %v", rep, err)
		}
		if h.identity("1").Active {
			t.Fatal("approved deactivation not applied")
		}
		if _, err := h.engine.Approve(context.Background(), held.RunID, "admin", ""); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second approval = %v, want ErrConflict", err)
		}
		if _, err := h.engine.Approve(context.Background(), "no-such-run", "admin", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("approval of an unknown run = %v, want ErrNotFound", err)
		}
	})
}

func TestPersonioFailureChangesNothing(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		h.src.set(staff(5)...)
		h.sync(RunOptions{Trigger: "test"})
		seq, _ := h.store.LastSeq(context.Background())
		for name, breakSource := range map[string]func(){
			"error":        func() { h.src.fail(errors.New("personio: 503 after 6 attempts")) },
			"empty answer": func() { h.src.set() },
		} {
			breakSource()
			rep, err := h.engine.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "test"})
			if !errors.Is(err, ErrFetch) || rep.Status != store.RunFailed {
				t.Fatalf("%s: run = %s, %v; want a failed run", name, rep.Status, err)
			}
			if now, _ := h.store.LastSeq(context.Background()); now != seq {
				t.Fatalf("%s: the failed run wrote to the change log", name)
			}
			stored, err := h.store.Run(context.Background(), rep.RunID)
			if err != nil || stored.Status != store.RunFailed || stored.Error == "" {
				t.Fatalf("%s: recorded run = %+v, %v", name, stored, err)
			}
		}
	})
}

func TestBrokenRecordSkipsOnlyThatPerson(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		people := staff(3)
		people[1].Email = ""
		h.src.set(people...)
		rep := h.sync(RunOptions{Trigger: "test"})
		if rep.Counts.Created != 2 || rep.Counts.Skipped != 1 || rep.Skipped[0].PersonID != "2" || !strings.Contains(rep.Skipped[0].Reason, "userName") {
			t.Fatalf("report = %+v, skipped %+v", rep.Counts, rep.Skipped)
		}
	})
}

func TestUserNameCollisionIsResolvedDeterministically(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		a, b := worker("7", "Anna", "Schmidt", "Sales"), worker("12", "Anna", "Schmidt", "Engineering")
		h.src.set(b, a)
		rep := h.sync(RunOptions{Trigger: "test"})
		if rep.Counts.Created != 1 || len(rep.Conflicts) != 1 || rep.Skipped[0].PersonID != "12" {
			t.Fatalf("counts %+v conflicts %v skipped %v", rep.Counts, rep.Conflicts, rep.Skipped)
		}
		if got := h.identity("7"); got.UserName != "anna.schmidt@example.com" {
			t.Fatalf("lowest Personio id should win, got %+v", got.Attributes)
		}
	})
}

func TestGroupDisplayNamesStayUnique(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		p := worker("1", "Jürgen", "Groß", "Berlin") // department and office both "Berlin"
		h.src.set(p)
		rep := h.sync(RunOptions{Trigger: "test"})
		v := h.dir.View()
		if _, ok := v.GroupByDisplayName("Berlin"); !ok {
			t.Fatal("no group named Berlin")
		}
		if _, ok := v.GroupByDisplayName("Berlin (office)"); !ok || len(rep.Conflicts) != 1 {
			t.Fatalf("groups: %d, conflicts %v", len(v.Groups()), rep.Conflicts)
		}
	})
}

func TestDryRunAppliesNothing(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "")
		h.src.set(staff(4)...)
		rep := h.sync(RunOptions{Trigger: "test", DryRun: true})
		if rep.Status != store.RunPlanned || rep.Counts.Created != 4 || len(rep.Changes) != 4+3 {
			t.Fatalf("dry run = %s %+v with %d changes", rep.Status, rep.Counts, len(rep.Changes))
		}
		if n, _ := h.dir.View().Len(); n != 0 {
			t.Fatalf("dry run created %d identities", n)
		}
	})
}

func TestScimOverrideSurvivesSync(t *testing.T) {
	h := newHarness(t, func(now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) }, "scim: {writable: [title]}\n")
	people := staff(2)
	h.src.set(people...)
	h.sync(RunOptions{Trigger: "test"})
	// A SCIM client overrides a writable attribute between two syncs.
	ident := h.identity("1").Clone()
	ident.Title, ident.Overrides = "Principal", map[string]string{store.AttrTitle: "Principal"}
	if _, err := h.store.Apply(context.Background(), store.ChangeSet{Actor: "scim:okta", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: ident}}}); err != nil {
		t.Fatal(err)
	}
	people[0].Department = "Legal"
	h.src.set(people...)
	h.sync(RunOptions{Trigger: "test"})
	got := h.identity("1")
	if got.Department != "Legal" || got.Title != "Principal" {
		t.Fatalf("after the sync: department %q title %q; want Legal and the override kept", got.Department, got.Title)
	}
}

func TestManagerOverrideSurvivesSync(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		h := newHarness(t, oneHandle(t, open), "scim: {writable: [manager]}\n")
		people := staff(3)
		people[2].SupervisorID = "1"
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})
		ident := h.identity("3").Clone()
		override := store.DefaultNamespace.IdentityID("2")
		ident.Manager, ident.Overrides = override, map[string]string{store.AttrManager: override}
		if _, err := h.store.Apply(context.Background(), store.ChangeSet{Actor: "scim:okta", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: ident}}}); err != nil {
			t.Fatal(err)
		}
		h.now = h.now.Add(time.Hour)
		h.sync(RunOptions{Trigger: "test"})
		if got := h.identity("3").Manager; got != override {
			t.Fatalf("manager = %q after a sync, want the override %q", got, override)
		}
	})
}

func TestIncrementalRunsReevaluateEveryoneOncePerDay(t *testing.T) {
	h := newHarness(t, func(now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) }, "")
	people := staff(11)
	// Person 3 starts tomorrow: a prehire today, active tomorrow, with no
	// change in Personio in between.
	people[2].HireDate = personio.DateOf(h.now.In(berlin)).AddDays(1)
	h.src.set(people...)
	h.sync(RunOptions{Trigger: "test"})
	if h.identity("3").Active {
		t.Fatal("active before the hire date")
	}
	since := h.now
	h.now = h.now.Add(time.Hour)
	if rep := h.sync(RunOptions{Mode: ModeIncremental, Since: since, Trigger: "test"}); rep.Counts != (Counts{}) {
		t.Fatalf("incremental run the same day changed %+v", rep.Counts)
	}
	h.now = h.now.Add(24 * time.Hour)
	rep := h.sync(RunOptions{Mode: ModeIncremental, Since: since, Trigger: "test"})
	if rep.Counts.Activated != 1 || !h.identity("3").Active {
		t.Fatalf("first incremental run of the hire date: %+v", rep.Counts)
	}
}

// racingStore lets a SCIM client's write land between a sync's planning and
// its apply, once.
type racingStore struct {
	store.Store
	race func()
	once sync.Once
}

func (r *racingStore) Apply(ctx context.Context, cs store.ChangeSet) (store.ApplyResult, error) {
	if cs.Actor == "sync" {
		r.once.Do(r.race)
	}
	return r.Store.Apply(ctx, cs)
}

func TestSyncReplansWhenAScimWriteRaces(t *testing.T) {
	bothBackends(t, func(t *testing.T, open storeOpener) {
		racing := &racingStore{race: func() {}}
		h := newHarness(t, func(now func() time.Time) store.Store { racing.Store, _ = open(t, now); return racing }, "scim: {writable: [title]}\n")
		people := staff(2)
		h.src.set(people...)
		h.sync(RunOptions{Trigger: "test"})

		people[0].Department = "Legal"
		h.src.set(people...)
		racing.once = sync.Once{}
		racing.race = func() {
			ident := h.identity("1").Clone()
			ident.Title, ident.Overrides = "Principal", map[string]string{store.AttrTitle: "Principal"}
			if _, err := racing.Store.Apply(context.Background(), store.ChangeSet{Actor: "scim:okta", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: ident, IfVersion: ident.Version}}}); err != nil {
				t.Errorf("racing write: %v", err)
			}
		}
		calls := h.src.calls
		rep := h.sync(RunOptions{Trigger: "test"})
		got := h.identity("1")
		if got.Department != "Legal" || got.Title != "Principal" || rep.Counts.Updated != 1 {
			t.Fatalf("after the race: department %q, title %q, counts %+v; want Legal, the override kept, one update", got.Department, got.Title, rep.Counts)
		}
		if h.src.calls != calls+2 {
			t.Fatalf("Personio read %d times; want twice (the plan, then the re-plan)", h.src.calls-calls)
		}
	})
}
