package pushtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

func testCreate(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	if got := e.Sim.Users(); got != 3 {
		t.Fatalf("simulator holds %d users, want 3", got)
	}
	for _, p := range []Person{ada, grace, alan} {
		u := e.MustUser(p.PersonioID)
		if u.GivenName != p.Given || u.FamilyName != p.Family || u.Department != p.Department || !u.Active {
			t.Errorf("user %s = %+v, want %s %s in %s, active", p.PersonioID, u, p.Given, p.Family, p.Department)
		}
		if u.TargetID == "" {
			t.Errorf("user %s has no target id", p.PersonioID)
		}
		if rec := e.Record(w, p.PersonioID); rec.Status != store.PushSynced || rec.TargetID != u.TargetID {
			t.Errorf("record of %s = %s with target id %q, want synced with %q", p.PersonioID, rec.Status, rec.TargetID, u.TargetID)
		}
	}
	if got := e.MustUser(grace.PersonioID).ManagerPersonioID; got != ada.PersonioID {
		t.Errorf("Grace's manager in the target = %q, want %s", got, ada.PersonioID)
	}
}

func testUpdate(t *testing.T, e *Env) {
	e.Create(ada, grace)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	before := e.Sim.Writes()
	moved := grace
	moved.Department = "Finance"
	e.Update(moved)
	e.Settle(w)
	if got := e.MustUser(grace.PersonioID).Department; got != "Finance" {
		t.Errorf("department in the target = %q, want Finance", got)
	}
	if e.Sim.Writes() == before {
		t.Errorf("no write reached the simulator for the update")
	}
	if got := e.MustUser(ada.PersonioID).Department; got != ada.Department {
		t.Errorf("an untouched user changed: department %q", got)
	}
}

func testRename(t *testing.T, e *Env) {
	e.Create(ada)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	id := e.MustUser(ada.PersonioID).TargetID
	renamed := ada
	renamed.Family = "King"
	e.Update(renamed)
	e.Settle(w)
	u := e.MustUser(ada.PersonioID)
	if u.FamilyName != "King" || u.DisplayName != "Ada King" {
		t.Errorf("after the rename the target holds %q / %q, want King / Ada King", u.FamilyName, u.DisplayName)
	}
	if u.TargetID != id || e.Sim.Users() != 1 {
		t.Errorf("the rename made a new user: target id %s → %s, %d users", id, u.TargetID, e.Sim.Users())
	}
}

func testManagerLink(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	moved := alan
	moved.Manager = grace.PersonioID
	e.Update(moved)
	e.Settle(w)
	if got := e.MustUser(alan.PersonioID).ManagerPersonioID; got != grace.PersonioID {
		t.Errorf("Alan's manager in the target = %q, want %s", got, grace.PersonioID)
	}
	// A manager hired after the report: the report gets the link once the
	// manager exists in the target.
	boss := Person{PersonioID: "150", Given: "Barbara", Family: "Liskov", Department: "Research"}
	report := Person{PersonioID: "151", Given: "Edsger", Family: "Dijkstra", Department: "Research", Manager: "150"}
	e.Create(report)
	e.Settle(w)
	e.Create(boss)
	e.Settle(w)
	if got := e.MustUser(report.PersonioID).ManagerPersonioID; got != boss.PersonioID {
		t.Errorf("a report created before the manager has manager %q in the target, want %s", got, boss.PersonioID)
	}
}

func testDeactivate(t *testing.T, e *Env) {
	e.Create(ada, grace)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	left := grace
	left.Inactive = true
	e.Update(left)
	e.Settle(w)
	if e.MustUser(grace.PersonioID).Active {
		t.Errorf("the leaver is still active in the target")
	}
	if !e.MustUser(ada.PersonioID).Active {
		t.Errorf("an untouched user was deactivated")
	}
}

func testRehire(t *testing.T, e *Env) {
	e.Create(ada)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	id := e.MustUser(ada.PersonioID).TargetID
	left := ada
	left.Inactive = true
	e.Update(left)
	e.Settle(w)
	e.Update(ada)
	e.Settle(w)
	u := e.MustUser(ada.PersonioID)
	if !u.Active || u.TargetID != id || e.Sim.Users() != 1 {
		t.Errorf("after the rehire: active %v, target id %s (was %s), %d users; want the same active user", u.Active, u.TargetID, id, e.Sim.Users())
	}
}

func testRemoval(t *testing.T, e *Env) {
	left := ada
	left.Inactive = true
	e.Create(left, grace)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	e.Remove(ada.PersonioID)
	e.Settle(w)
	u, ok := e.Sim.User(ada.PersonioID)
	if w.Info().DeleteOnRemoval && ok {
		t.Errorf("the removed identity is still in a target that deletes on removal")
	}
	if !w.Info().DeleteOnRemoval && (!ok || u.Active) {
		t.Errorf("a target that keeps records lost the removed identity or reactivated it (present %v)", ok)
	}
	if rec := e.Record(w, ada.PersonioID); rec.Status != store.PushGone {
		t.Errorf("the removed identity's record is %s, want gone", rec.Status)
	}
	if _, ok := e.Sim.User(grace.PersonioID); !ok {
		t.Errorf("an untouched user disappeared")
	}
}

func testGroupCreate(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	e.PutGroup(store.OpCreate, "team:compilers", "Compilers", ada.PersonioID, grace.PersonioID)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	g, ok := e.Sim.Group("Compilers")
	if !ok {
		t.Fatalf("the simulator holds no group Compilers")
	}
	if want := []string{ada.PersonioID, grace.PersonioID}; !slices.Equal(g.MemberPersonioIDs, want) {
		t.Errorf("members = %v, want %v", g.MemberPersonioIDs, want)
	}
}

func testGroupRename(t *testing.T, e *Env) {
	e.Create(ada)
	e.PutGroup(store.OpCreate, "team:compilers", "Compilers", ada.PersonioID)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	id := mustGroup(t, e, "Compilers").TargetID
	e.PutGroup(store.OpUpdate, "team:compilers", "Compiler Team", ada.PersonioID)
	e.Settle(w)
	g := mustGroup(t, e, "Compiler Team")
	if g.TargetID != id {
		t.Errorf("the rename made a new group: %s → %s", id, g.TargetID)
	}
	if _, ok := e.Sim.Group("Compilers"); ok {
		t.Errorf("the old name is still in the target")
	}
}

func testGroupMembers(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	e.PutGroup(store.OpCreate, "team:compilers", "Compilers", ada.PersonioID)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	e.PutGroup(store.OpUpdate, "team:compilers", "Compilers", ada.PersonioID, grace.PersonioID, alan.PersonioID)
	e.Settle(w)
	if got, want := mustGroup(t, e, "Compilers").MemberPersonioIDs, []string{ada.PersonioID, grace.PersonioID, alan.PersonioID}; !slices.Equal(got, want) {
		t.Errorf("after adding: members %v, want %v", got, want)
	}
	e.PutGroup(store.OpUpdate, "team:compilers", "Compilers", grace.PersonioID)
	e.Settle(w)
	if got, want := mustGroup(t, e, "Compilers").MemberPersonioIDs, []string{grace.PersonioID}; !slices.Equal(got, want) {
		t.Errorf("after removing: members %v, want %v", got, want)
	}
}

func mustGroup(t *testing.T, e *Env, name string) SimGroup {
	t.Helper()
	g, ok := e.Sim.Group(name)
	if !ok {
		t.Fatalf("the simulator holds no group %q", name)
	}
	return g
}

func testNoGroups(t *testing.T, e *Env) {
	e.Create(ada, grace)
	e.PutGroup(store.OpCreate, "team:compilers", "Compilers", ada.PersonioID, grace.PersonioID)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	groupItems := 0
	for _, it := range e.Seen.Items() {
		if it.Kind == store.KindGroup {
			groupItems++
		}
	}
	if !w.Info().Groups && groupItems > 0 {
		t.Errorf("a target without groups was handed %d group items", groupItems)
	}
	if w.Info().Groups && groupItems == 0 {
		t.Errorf("a target with groups was handed none")
	}
	if w.Info().Groups != e.H.Groups {
		t.Errorf("Info().Groups = %v, but the harness says %v", w.Info().Groups, e.H.Groups)
	}
}

func testBadRecord(t *testing.T, e *Env) {
	e.Sim.Reject(grace.PersonioID)
	e.Create(ada, grace, alan)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	for _, p := range []Person{ada, alan} {
		if _, ok := e.Sim.User(p.PersonioID); !ok {
			t.Errorf("%s did not arrive: one bad record sank its batch", p.PersonioID)
		}
	}
	if _, ok := e.Sim.User(grace.PersonioID); ok {
		t.Errorf("the rejected record arrived anyway")
	}
	rec := e.Record(w, grace.PersonioID)
	if rec.Status != store.PushFailed || rec.Attempts == 0 || rec.LastError == "" {
		t.Errorf("the rejected record is %s after %d attempts (%q), want failed with the target's reason", rec.Status, rec.Attempts, rec.LastError)
	}
	cur, err := e.A.PushCursor(context.Background(), "t")
	if err != nil || cur == 0 {
		t.Errorf("the cursor did not move past the bad record: %d, %v", cur, err)
	}
}

func testReplay(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	moved := alan
	moved.Department = "Finance"
	e.Update(moved)
	e.Settle(w)
	writes := e.Sim.Writes()
	w.Close(context.Background()) // the process dies
	again := e.Worker(false, WorkerConfig("t"))
	e.Settle(again)
	if got := e.Sim.Writes(); got != writes {
		t.Errorf("a restarted worker wrote %d more times; a replay must push nothing twice", got-writes)
	}
	// A rewound cursor replays every row: the fingerprints keep the target
	// from getting any of it twice.
	ctx := context.Background()
	cur, err := e.A.PushCursor(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.A.SavePush(ctx, "t", cur, 0, nil); err != nil {
		t.Fatalf("rewind the cursor: %v", err)
	}
	seen := len(e.Seen.Items())
	e.Settle(again)
	if got := e.Sim.Writes(); got != writes {
		t.Errorf("replaying the change log wrote %d more times", got-writes)
	}
	if got := len(e.Seen.Items()); got != seen {
		t.Errorf("replaying the change log handed the target %d items again", got-seen)
	}
}

func testRetryAfter(t *testing.T, e *Env) {
	const wait = 90 * time.Second
	e.Sim.Throttle(2, wait)
	e.Create(ada, grace, alan)
	w := e.Worker(false, WorkerConfig("t"))
	for range 4 {
		e.Settle(w)
		e.Clock.Advance(2 * wait)
	}
	for _, p := range []Person{ada, grace, alan} {
		if _, ok := e.Sim.User(p.PersonioID); !ok {
			t.Errorf("%s never arrived after throttling", p.PersonioID)
		}
		if rec := e.Record(w, p.PersonioID); rec.Status != store.PushSynced {
			t.Errorf("%s is %s after throttling, want synced", p.PersonioID, rec.Status)
		}
	}
	if e.Sim.Users() != 3 {
		t.Errorf("throttling made %d users, want 3", e.Sim.Users())
	}
	// A record the target throttled is not tried before its Retry-After.
	e.Sim.Throttle(1, time.Hour)
	moved := ada
	moved.Department = "Finance"
	e.Update(moved)
	if _, err := w.Step(context.Background()); err != nil && !isBatchFailure(err) {
		t.Fatal(err)
	}
	if got := e.MustUser(ada.PersonioID).Department; got == "Finance" {
		return // the target's client waited the throttle out itself
	}
	writes := e.Sim.Writes()
	e.Clock.Advance(30 * time.Minute)
	if _, err := w.Step(context.Background()); err != nil && !isBatchFailure(err) {
		t.Fatal(err)
	}
	if e.Sim.Writes() != writes {
		t.Errorf("the worker retried half-way through the target's Retry-After")
	}
	e.Clock.Advance(31 * time.Minute)
	e.Settle(w)
	if got := e.MustUser(ada.PersonioID).Department; got != "Finance" {
		t.Errorf("after Retry-After the update still did not arrive: %q", got)
	}
}

func testDryRun(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	cfg := WorkerConfig("t")
	cfg.Live = false
	w := e.Worker(false, cfg)
	rep, err := w.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.Sim.Writes() != 0 || e.Sim.Users() != 0 {
		t.Fatalf("a dry run wrote %d times, %d users", e.Sim.Writes(), e.Sim.Users())
	}
	if !rep.DryRun || len(rep.Requests) < 3 {
		t.Fatalf("the dry run reported %d items, want one per person", len(rep.Requests))
	}
	for _, r := range rep.Requests {
		if r.Kind == store.KindIdentity && len(r.Requests) == 0 {
			t.Errorf("the dry run shows no request for %s", r.ID)
		}
	}
	recs, err := w.Records(context.Background(), store.PushQuery{})
	if err != nil || len(recs) != 0 {
		t.Errorf("a dry run saved %d ledger records (%v)", len(recs), err)
	}
	if cur, _ := e.A.PushCursor(context.Background(), "t"); cur != 0 {
		t.Errorf("a dry run moved the stored cursor to %d", cur)
	}
}

func testQuarantine(t *testing.T, e *Env) {
	e.Sim.Reject(grace.PersonioID)
	e.Create(ada, grace)
	w := e.Worker(false, WorkerConfig("t"))
	for range 200 {
		if _, err := w.Step(context.Background()); err != nil && !isBatchFailure(err) {
			t.Fatal(err)
		}
		if e.Record(w, grace.PersonioID).Status == store.PushQuarantined {
			break
		}
		e.Clock.Advance(time.Hour)
	}
	rec := e.Record(w, grace.PersonioID)
	if rec.Status != store.PushQuarantined || rec.Attempts != push.DefaultQuarantineAt {
		t.Fatalf("after repeated failures the record is %s with %d attempts, want quarantined after %d", rec.Status, rec.Attempts, push.DefaultQuarantineAt)
	}
	e.Clock.Advance(24 * time.Hour)
	e.Settle(w)
	if rec := e.Record(w, grace.PersonioID); rec.Attempts != push.DefaultQuarantineAt {
		t.Errorf("a quarantined record was tried again without a change or a release: %d attempts", rec.Attempts)
	}
	if _, ok := e.Sim.User(ada.PersonioID); !ok {
		t.Errorf("the quarantined record held up another")
	}
	e.Sim.Accept(grace.PersonioID)
	if _, err := w.Release(context.Background(), e.IDOf(grace.PersonioID)); err != nil {
		t.Fatalf("release: %v", err)
	}
	e.Settle(w)
	if _, ok := e.Sim.User(grace.PersonioID); !ok {
		t.Errorf("the released record did not arrive")
	}
	if rec := e.Record(w, grace.PersonioID); rec.Status != store.PushSynced || rec.Attempts != 0 {
		t.Errorf("after release the record is %s with %d attempts, want synced with 0", rec.Status, rec.Attempts)
	}
}

func testReconcile(t *testing.T, e *Env) {
	e.Create(ada, grace)
	w := e.Worker(false, WorkerConfig("t"))
	e.Settle(w)
	e.Sim.Tamper(grace.PersonioID, "Someone Else")
	e.Settle(w)
	if got := e.MustUser(grace.PersonioID).DisplayName; got != "Someone Else" {
		t.Fatalf("the tampered name was repaired without a reconcile (%q): Tamper does not tamper", got)
	}
	if err := w.RequestReconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Settle(w)
	if got := e.MustUser(grace.PersonioID).DisplayName; got != "Grace Hopper" {
		t.Errorf("after the reconcile the target holds %q, want Grace Hopper", got)
	}
	// The periodic reconcile does the same without being asked.
	e.Sim.Tamper(ada.PersonioID, "Someone Else")
	e.Clock.Advance(25 * time.Hour)
	e.Settle(w)
	if got := e.MustUser(ada.PersonioID).DisplayName; got != "Ada Lovelace" {
		t.Errorf("the daily reconcile left %q, want Ada Lovelace", got)
	}
	if e.Sim.Users() != 2 {
		t.Errorf("reconciles made %d users, want 2", e.Sim.Users())
	}
}

func testGuard(t *testing.T, e *Env) {
	people := company(20)
	e.Create(people...)
	cfg := WorkerConfig("t")
	cfg.Guard = push.Guard{MaxPercent: 10}
	w := e.Worker(false, cfg)
	e.Settle(w)
	var leavers []Person
	for _, p := range people[:5] {
		p.Inactive = true
		leavers = append(leavers, p)
	}
	e.Update(leavers...)
	e.Settle(w)
	for _, p := range leavers {
		if !e.MustUser(p.PersonioID).Active {
			t.Fatalf("the guard let a mass deactivation through (%s)", p.PersonioID)
		}
	}
	hold, err := w.CurrentHold(context.Background())
	if err != nil || hold == nil || len(hold.Items) != 5 || hold.Reason == "" {
		t.Fatalf("hold = %+v, %v; want the 5 deactivations with a reason", hold, err)
	}
	st, err := w.Status(context.Background())
	if err != nil || st.Held != 5 {
		t.Errorf("status shows %d held (%v), want 5", st.Held, err)
	}
	if _, err := w.Approve(context.Background(), "admin:test"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	e.Settle(w)
	for _, p := range leavers {
		if e.MustUser(p.PersonioID).Active {
			t.Errorf("after approval %s is still active", p.PersonioID)
		}
	}
	if hold, _ := w.CurrentHold(context.Background()); hold != nil {
		t.Errorf("the approved hold is still there: %+v", hold)
	}
	if _, err := w.Approve(context.Background(), "admin:test"); err == nil {
		t.Errorf("a second approval with nothing held succeeded")
	}
}

func testTwoReplicas(t *testing.T, e *Env) {
	e.Create(ada, grace, alan)
	a := e.Worker(false, WorkerConfig("t"))
	b := e.Worker(true, WorkerConfig("t"))
	for range 3 {
		e.Settle(a)
		if _, err := b.Step(context.Background()); !errors.Is(err, push.ErrNotLeader) {
			t.Fatalf("the second replica stepped while the first leads: %v", err)
		}
	}
	if e.Sim.Users() != 3 {
		t.Fatalf("%d users after both replicas ran, want 3", e.Sim.Users())
	}
	writes := e.Sim.Writes()
	moved := alan
	moved.Department = "Finance"
	e.Update(moved)
	for range 3 {
		if _, err := b.Step(context.Background()); !errors.Is(err, push.ErrNotLeader) {
			t.Fatalf("the second replica stepped while the first leads: %v", err)
		}
		e.Settle(a)
	}
	once := e.Sim.Writes() - writes
	if once == 0 {
		t.Fatalf("the change did not arrive")
	}
	// The leader goes away; the other replica takes over and pushes only
	// what is new.
	a.Close(context.Background())
	e.Settle(b)
	if e.Sim.Writes() != writes+once {
		t.Errorf("the replica that took over pushed %d writes again", e.Sim.Writes()-writes-once)
	}
	moved.Department = "Legal"
	e.Update(moved)
	e.Settle(b)
	if got := e.MustUser(alan.PersonioID).Department; got != "Legal" {
		t.Errorf("after the takeover the change did not arrive: %q", got)
	}
	if e.Sim.Users() != 3 {
		t.Errorf("%d users, want 3", e.Sim.Users())
	}
}

func testKillMidPush(t *testing.T, e *Env) {
	batch := e.Target.Info().MaxBatch
	if batch <= 0 || batch > 50 {
		batch = 50
	}
	people := company(2*batch + 3)
	e.Create(people...)
	ctx, kill := context.WithCancel(context.Background())
	calls := 0
	delivered := map[string]bool{}
	e.Seen.Before = func(_ context.Context, items []push.Item) {
		calls++
		if calls == 2 {
			kill() // dies while the second batch is on its way
			return
		}
		for _, it := range items {
			delivered[it.ID] = true
		}
	}
	w := e.Worker(false, WorkerConfig("t"))
	if _, err := w.Step(ctx); err == nil {
		t.Fatalf("the killed pass reported success")
	}
	w.Close(context.Background())
	e.Seen.Before = nil
	before := len(e.Seen.Items())
	again := e.Worker(false, WorkerConfig("t"))
	e.Settle(again)
	for _, it := range e.Seen.Items()[before:] {
		if delivered[it.ID] {
			t.Errorf("%s was delivered before the kill and pushed again after the restart", it.ID)
		}
	}
	if got := e.Sim.Users(); got != len(people) {
		t.Fatalf("after the restart the simulator holds %d users, want %d", got, len(people))
	}
	for _, p := range people {
		if rec := e.Record(again, p.PersonioID); rec.Status != store.PushSynced {
			t.Errorf("%s is %s, want synced", p.PersonioID, rec.Status)
		}
	}
}
