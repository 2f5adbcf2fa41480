package pushtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// Backend opens two handles on one fresh, empty store, like two replicas
// on one database.
type Backend struct {
	Name string
	Open func(t *testing.T, now func() time.Time) (a, b store.Store)
}

// Backends are the store backends the suite runs on by default: memory and
// Postgres (skipped without a reachable Postgres outside CI).
func Backends() []Backend {
	return []Backend{
		{Name: "memory", Open: func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
			db := memory.NewShared(memory.Options{Now: now})
			a, b := memory.Open(db), memory.Open(db)
			t.Cleanup(a.Close)
			t.Cleanup(b.Close)
			return a, b
		}},
		{Name: "postgres", Open: func(t *testing.T, now func() time.Time) (store.Store, store.Store) {
			a, dbURL := pgtest.Open(t, postgres.Options{Now: now})
			return a, pgtest.OpenURL(t, dbURL, postgres.Options{Now: now})
		}},
	}
}

// Run runs the conformance suite for a target type on every backend given
// (default: Backends()). A target type's test calls it with its Harness:
//
//	func TestConformance(t *testing.T) { pushtest.Run(t, harness) }
func Run(t *testing.T, h Harness, backends ...Backend) {
	if len(backends) == 0 {
		backends = Backends()
	}
	cases := []struct {
		name   string
		groups bool // needs a target that holds groups
		fn     func(t *testing.T, e *Env)
	}{
		{"Create", false, testCreate},
		{"Update", false, testUpdate},
		{"Rename", false, testRename},
		{"ManagerLink", false, testManagerLink},
		{"Deactivate", false, testDeactivate},
		{"RehireKeepsTargetID", false, testRehire},
		{"Removal", false, testRemoval},
		{"GroupCreate", true, testGroupCreate},
		{"GroupRename", true, testGroupRename},
		{"GroupMemberAddRemove", true, testGroupMembers},
		{"NoGroupsForTargetsWithoutGroups", false, testNoGroups},
		{"BadRecordDoesNotSinkItsBatch", false, testBadRecord},
		{"ReplayAfterCrashPushesNothingTwice", false, testReplay},
		{"RetryAfterHonoured", false, testRetryAfter},
		{"DryRunSendsNoWrite", false, testDryRun},
		{"QuarantineAndRelease", false, testQuarantine},
		{"ReconcileRepairsDrift", false, testReconcile},
		{"GuardHoldsMassDeactivation", false, testGuard},
		{"TwoReplicasPushEachChangeOnce", false, testTwoReplicas},
		{"KillMidPushLosesNothing", false, testKillMidPush},
	}
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if c.groups && !h.Groups {
						t.Skipf("target type %s holds no groups", h.Type)
					}
					c.fn(t, NewEnv(t, h, b))
				})
			}
		})
	}
}

// Env is one case's world: a store with two handles, a directory on each,
// a simulator and the target connected to it.
type Env struct {
	T      *testing.T
	H      Harness
	Clock  *storetest.Clock
	A, B   store.Store
	DirA   *store.Directory
	DirB   *store.Directory
	Target push.Target
	Sim    Sim
	// Seen records every item handed to the target.
	Seen *Recorder
	ns   store.Namespace
	ctx  context.Context
}

// NewEnv opens a case's world on one backend.
func NewEnv(t *testing.T, h Harness, b Backend) *Env {
	clock := storetest.NewClock()
	a, bb := b.Open(t, clock.Now)
	ctx := context.Background()
	dirA, err := store.NewDirectory(ctx, a, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dirB, err := store.NewDirectory(ctx, bb, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target, sim := h.Open(t, Options{Now: clock.Now})
	rec := &Recorder{Target: target}
	return &Env{T: t, H: h, Clock: clock, A: a, B: bb, DirA: dirA, DirB: dirB, Target: target, Sim: sim, Seen: rec, ns: store.DefaultNamespace, ctx: ctx}
}

// Recorder wraps a target and remembers every item it was handed.
type Recorder struct {
	push.Target
	mu    sync.Mutex
	items []push.Item
	// Before runs before each Push call is handed on.
	Before func(ctx context.Context, items []push.Item)
}

// Push records the items and hands them on.
func (r *Recorder) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	r.mu.Lock()
	r.items = append(r.items, items...)
	before := r.Before
	r.mu.Unlock()
	if before != nil {
		before(ctx, items)
	}
	return r.Target.Push(ctx, items, dry)
}

// Confirm hands a confirmation on when the target is a Confirmer.
func (r *Recorder) Confirm(ctx context.Context, pending []store.PushRecord) ([]push.Result, error) {
	if c, ok := r.Target.(push.Confirmer); ok {
		return c.Confirm(ctx, pending)
	}
	return nil, nil
}

// Items returns what the target was handed so far.
func (r *Recorder) Items() []push.Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// WorkerConfig is the configuration the suite's workers get: live, the
// guard off unless a case turns it on.
func WorkerConfig(name string) push.TargetConfig {
	return push.TargetConfig{Name: name, Type: "conformance", Live: true, Guard: push.Guard{MaxPercent: 100},
		ReconcileEvery: 24 * time.Hour, QuarantineAfter: push.DefaultQuarantineAt}
}

// Worker opens a worker on handle A (or B) with cfg.
func (e *Env) Worker(onB bool, cfg push.TargetConfig) *push.Worker {
	st, dir := e.A, e.DirA
	if onB {
		st, dir = e.B, e.DirB
	}
	w, err := push.NewWorker(e.ctx, push.WorkerOptions{Config: cfg, Target: e.Seen, Store: st, Directory: dir, Now: e.Clock.Now, Seed: 1})
	if err != nil {
		e.T.Fatalf("open worker: %v", err)
	}
	e.T.Cleanup(func() { w.Close(context.Background()) })
	return w
}

// Person describes a test identity.
type Person struct {
	PersonioID string
	Given      string
	Family     string
	Department string
	Manager    string // Personio id
	Inactive   bool
}

// Identity builds the store identity of a test person.
func (e *Env) Identity(p Person) store.Identity {
	email := fmt.Sprintf("%s.%s@example.com", lower(p.Given), lower(p.Family))
	id := store.Identity{
		ID: e.ns.IdentityID(p.PersonioID), PersonioID: p.PersonioID,
		Attributes: store.Attributes{
			UserName: email, ExternalID: p.PersonioID, DisplayName: p.Given + " " + p.Family, GivenName: p.Given,
			FamilyName: p.Family, Email: email, Active: !p.Inactive, EmployeeNumber: p.PersonioID, Department: p.Department,
		},
		Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2024-01-01"},
	}
	if p.Manager != "" {
		id.Manager = e.ns.IdentityID(p.Manager)
	}
	if p.Inactive {
		id.Lifecycle.State = store.StateLeaver
	}
	return id
}

func lower(s string) string {
	b := []byte(s)
	for n, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[n] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Apply writes a change set through directory A.
func (e *Env) Apply(cs store.ChangeSet) {
	e.T.Helper()
	if cs.Actor == "" {
		cs.Actor = "conformance"
	}
	if _, err := e.DirA.Apply(e.ctx, cs); err != nil {
		e.T.Fatalf("apply: %v", err)
	}
	if err := e.DirB.Refresh(e.ctx); err != nil {
		e.T.Fatalf("refresh directory B: %v", err)
	}
}

// Create adds people.
func (e *Env) Create(people ...Person) {
	var cs store.ChangeSet
	for _, p := range people {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: e.Identity(p)})
	}
	e.Apply(cs)
}

// Update replaces people's states.
func (e *Env) Update(people ...Person) {
	var cs store.ChangeSet
	for _, p := range people {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: e.Identity(p)})
	}
	e.Apply(cs)
}

// Remove deletes people (retention ended).
func (e *Env) Remove(personioIDs ...string) {
	var cs store.ChangeSet
	for _, pid := range personioIDs {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpDelete, Identity: store.Identity{ID: e.ns.IdentityID(pid)}})
	}
	e.Apply(cs)
}

// PutGroup creates or replaces a group by key with members (Personio ids).
func (e *Env) PutGroup(op store.Op, key, name string, members ...string) {
	g := store.Group{ID: e.ns.GroupID(key), Key: key, Kind: "team", DisplayName: name}
	for _, m := range members {
		g.Members = append(g.Members, e.ns.IdentityID(m))
	}
	slices.Sort(g.Members)
	e.Apply(store.ChangeSet{Groups: []store.GroupChange{{Op: op, Group: g}}})
}

// IDOf is the SCIM id of a Personio person.
func (e *Env) IDOf(personioID string) string { return e.ns.IdentityID(personioID) }

// Settle steps the worker until a step does nothing, letting the
// simulator settle and the clock move past back-offs in between. It fails
// the test when the worker never comes to rest.
func (e *Env) Settle(w *push.Worker) {
	e.T.Helper()
	for range 40 {
		rep, err := w.Step(e.ctx)
		if err != nil && !isBatchFailure(err) {
			e.T.Fatalf("step: %v", err)
		}
		e.Sim.Settle()
		if err == nil && rep.Items == 0 && rep.Confirmed == 0 && rep.Rows == 0 && rep.BackingOff.IsZero() && !rep.Reconciled && pendingCount(e, w) == 0 {
			return
		}
		e.Clock.Advance(time.Minute)
	}
	e.T.Fatalf("the worker did not come to rest in 40 steps")
}

func isBatchFailure(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrConflict)
}

func pendingCount(e *Env, w *push.Worker) int {
	recs, err := w.Records(e.ctx, store.PushQuery{Status: store.PushPending})
	if err != nil {
		e.T.Fatalf("list pending: %v", err)
	}
	return len(recs)
}

// MustUser fetches a simulator user or fails.
func (e *Env) MustUser(personioID string) SimUser {
	e.T.Helper()
	u, ok := e.Sim.User(personioID)
	if !ok {
		e.T.Fatalf("the simulator holds no user for Personio id %s", personioID)
	}
	return u
}

// Record reads a worker's ledger record of a Personio person.
func (e *Env) Record(w *push.Worker, personioID string) store.PushRecord {
	e.T.Helper()
	r, err := w.Record(e.ctx, e.IDOf(personioID))
	if err != nil {
		e.T.Fatalf("record of %s: %v", personioID, err)
	}
	return r
}

var (
	ada   = Person{PersonioID: "101", Given: "Ada", Family: "Lovelace", Department: "Engineering"}
	grace = Person{PersonioID: "102", Given: "Grace", Family: "Hopper", Department: "Engineering", Manager: "101"}
	alan  = Person{PersonioID: "103", Given: "Alan", Family: "Turing", Department: "Research", Manager: "101"}
)

func company(n int) []Person {
	out := make([]Person, n)
	for i := range out {
		out[i] = Person{PersonioID: fmt.Sprint(2000 + i), Given: fmt.Sprintf("Person%d", i), Family: "Example", Department: "Sales"}
	}
	return out
}
