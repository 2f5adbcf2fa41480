// Package storetest is the conformance suite every store backend must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// Factory opens two handles on one fresh, empty database, like two replicas.
// Both use now as their clock.
type Factory func(t *testing.T, now func() time.Time) (a, b store.Store)

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 31, 21, 30, 0, 0, time.UTC)}
}

// Now returns the current test time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs the whole suite against the backend open makes.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Factory)
	}{
		{"RoundTrip", testRoundTrip},
		{"UpdateLogsOnlyChangedAttributes", testUpdate},
		{"UpdateThatChangesNothingIsSkipped", testNoopUpdate},
		{"Delete", testDelete},
		{"VersionConflict", testVersionConflict},
		{"FailingChangeSetLeavesNothing", testAtomicity},
		{"UserNameUniqueIgnoringCase", testUserNameUnique},
		{"UserNamesCanSwapInOneChangeSet", testUserNameSwap},
		{"GroupMembers", testGroupMembers},
		{"GroupDisplayNameUnique", testGroupNameUnique},
		{"ChangeLogCursorAndFilters", testChangeLog},
		{"ConcurrentAppliers", testConcurrentAppliers},
		{"Tokens", testTokens},
		{"TokenRotationExpiryAndUse", testTokenRotation},
		{"Runs", testRuns},
		{"LeaderLockExcludesOtherInstance", testLeader},
		{"WatchNudgesOtherInstance", testWatch},
		{"WatchEndsWithItsContext", testWatchEnds},
		{"ClosingAnInstanceEndsItsLeadership", testCloseEndsLeadership},
		{"ReplicaDirectoriesConverge", testDirectoriesConverge},
		{"DirectoryAbsorbsItsOwnWrites", testAbsorb},
		{"InvalidChangeSets", testInvalid},
	}
	for _, tt := range slices.Concat(tests, pushTests, outboxTests, auditTests) {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

var ns = store.DefaultNamespace

// person builds a complete identity for Personio id pid.
func person(pid, userName string) store.Identity {
	return store.Identity{
		ID:         ns.IdentityID(pid),
		PersonioID: pid,
		Attributes: store.Attributes{
			UserName: userName, ExternalID: pid, DisplayName: "Jürgen Groß", GivenName: "Jürgen",
			FamilyName: "Groß", Email: userName, Active: true, EmployeeNumber: pid,
			Department: "Engineering", Organization: "Acme GmbH", CostCenter: "CC-1", Title: "Engineer",
		},
		Lifecycle:  store.Lifecycle{State: store.StateActive, HireDate: "2024-01-01", Rule: "employed"},
		Overrides:  map[string]string{store.AttrTitle: "Engineer"},
		Source:     map[string]string{"first_name": "Jürgen", "department": "Engineering"},
		SourceHash: "h-" + pid,
	}
}

func group(key, name string, members ...string) store.Group {
	return store.Group{ID: ns.GroupID(key), Key: key, Kind: "department", DisplayName: name, Members: members}
}

func create(ids ...store.Identity) store.ChangeSet {
	cs := store.ChangeSet{Actor: "test", Cause: "suite"}
	for _, i := range ids {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: i, Reason: "joiner"})
	}
	return cs
}

func mustApply(t *testing.T, s store.Store, cs store.ChangeSet) store.ApplyResult {
	t.Helper()
	res, err := s.Apply(context.Background(), cs)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func mustChanges(t *testing.T, s store.Store, q store.ChangeQuery) []store.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), q)
	if err != nil {
		t.Fatalf("changes: %v", err)
	}
	return cs
}

func lastSeq(t *testing.T, s store.Store) int64 {
	t.Helper()
	seq, err := s.LastSeq(context.Background())
	if err != nil {
		t.Fatalf("last seq: %v", err)
	}
	return seq
}

func stateOf(t *testing.T, s store.Store) store.State {
	t.Helper()
	st, err := s.State(context.Background())
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	return st
}

func identityByID(t *testing.T, s store.Store, id string) (store.Identity, bool) {
	t.Helper()
	got, err := s.IdentitiesByID(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("identities by id: %v", err)
	}
	if len(got) == 0 {
		return store.Identity{}, false
	}
	return got[0], true
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func assertSameIdentity(t *testing.T, got, want store.Identity) {
	t.Helper()
	if got.ID != want.ID || got.PersonioID != want.PersonioID || got.Attributes != want.Attributes ||
		got.Lifecycle != want.Lifecycle || got.SourceHash != want.SourceHash ||
		fmt.Sprint(got.Overrides) != fmt.Sprint(want.Overrides) || fmt.Sprint(got.Source) != fmt.Sprint(want.Source) {
		t.Fatalf("identity differs:\n got %+v\nwant %+v", got, want)
	}
}

func testRoundTrip(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	alice, bob := person("1", "alice@example.com"), person("2", "bob@example.com")
	bob.Active, bob.Lifecycle = false, store.Lifecycle{State: store.StateLeaver, EndDate: "2026-03-31", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: "end-date"}
	bob.Overrides, bob.Source = nil, nil
	g := group("department:Engineering", "Engineering", alice.ID, bob.ID)
	cs := create(alice, bob)
	cs.Groups = []store.GroupChange{{Op: store.OpCreate, Group: g}}
	res := mustApply(t, a, cs)
	if res.FirstSeq != 1 || res.LastSeq != 3 || len(res.Identities) != 2 || len(res.Groups) != 1 {
		t.Fatalf("result = seq %d..%d, %d identities, %d groups; want 1..3, 2, 1", res.FirstSeq, res.LastSeq, len(res.Identities), len(res.Groups))
	}

	if created := mustChanges(t, b, store.ChangeQuery{Limit: 1})[0]; created.Before != nil || created.After[store.AttrUserName] != "alice@example.com" || created.After[store.AttrActive] != "true" {
		t.Fatalf("create's change row = before %v, after %v; want no before and the new values", created.Before, created.After)
	}
	st := stateOf(t, b)
	if st.Seq != 3 || len(st.Identities) != 2 || len(st.Groups) != 1 {
		t.Fatalf("state seq %d with %d identities, %d groups; want 3, 2, 1", st.Seq, len(st.Identities), len(st.Groups))
	}
	for _, want := range []store.Identity{alice, bob} {
		got, ok := identityByID(t, b, want.ID)
		if !ok {
			t.Fatalf("identity %s missing", want.ID)
		}
		assertSameIdentity(t, got, want)
		if got.Version != 1 || !got.Created.Equal(clock.Now()) || !got.Modified.Equal(clock.Now()) {
			t.Fatalf("version %d created %v modified %v; want 1 and %v", got.Version, got.Created, got.Modified, clock.Now())
		}
	}
	groups, err := b.GroupsByID(context.Background(), []string{g.ID, "00000000-0000-0000-0000-000000000000"})
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups by id = %v, %v; want the one group", groups, err)
	}
	wantMembers := []string{alice.ID, bob.ID}
	slices.Sort(wantMembers)
	if got := groups[0]; got.DisplayName != "Engineering" || got.Key != g.Key || got.Kind != "department" || !slices.Equal(got.Members, wantMembers) || got.Version != 1 {
		t.Fatalf("group = %+v", got)
	}
}

func testUpdate(t *testing.T, open Factory) {
	clock := NewClock()
	a, _ := open(t, clock.Now)
	alice := person("1", "alice@example.com")
	mustApply(t, a, create(alice))
	clock.Advance(time.Hour)

	moved := alice
	moved.Department, moved.DisplayName = "Sales", "Jürgen Groß-Meier"
	res := mustApply(t, a, store.ChangeSet{Actor: "sync", Cause: "run-7", Identities: []store.IdentityChange{
		{Op: store.OpUpdate, Identity: moved, IfVersion: 1, Reason: "mover"},
	}})
	if len(res.Identities) != 1 || res.Identities[0].Version != 2 || !res.Identities[0].Modified.Equal(clock.Now()) {
		t.Fatalf("updated = %+v", res.Identities)
	}
	changes := mustChanges(t, a, store.ChangeQuery{AfterSeq: 1})
	if len(changes) != 1 {
		t.Fatalf("%d changes, want 1", len(changes))
	}
	c := changes[0]
	wantBefore := map[string]string{store.AttrDepartment: "Engineering", store.AttrDisplayName: "Jürgen Groß"}
	wantAfter := map[string]string{store.AttrDepartment: "Sales", store.AttrDisplayName: "Jürgen Groß-Meier"}
	if c.Seq != 2 || c.Op != store.OpUpdate || c.Kind != store.KindIdentity || c.ResourceID != alice.ID ||
		c.Actor != "sync" || c.Cause != "run-7" || c.Reason != "mover" || !c.Time.Equal(clock.Now()) ||
		fmt.Sprint(c.Before) != fmt.Sprint(wantBefore) || fmt.Sprint(c.After) != fmt.Sprint(wantAfter) {
		t.Fatalf("change = %+v", c)
	}
	got, _ := identityByID(t, a, alice.ID)
	if got.Department != "Sales" || got.Version != 2 || got.Created.Equal(got.Modified) {
		t.Fatalf("stored = %+v", got)
	}
}

func testNoopUpdate(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	alice := person("1", "alice@example.com")
	mustApply(t, a, create(alice))
	res := mustApply(t, a, store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: alice}}})
	if res.FirstSeq != 0 || len(res.Identities) != 0 {
		t.Fatalf("no-op update wrote: %+v", res)
	}
	if seq := lastSeq(t, a); seq != 1 {
		t.Fatalf("last seq = %d, want 1", seq)
	}
	got, _ := identityByID(t, a, alice.ID)
	if got.Version != 1 {
		t.Fatalf("version = %d, want 1", got.Version)
	}
}

func testDelete(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	alice := person("1", "alice@example.com")
	mustApply(t, a, create(alice))
	res := mustApply(t, a, store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: alice.ID}, Reason: "retention"}}})
	if !slices.Equal(res.DeletedIdentities, []string{alice.ID}) || len(res.Identities) != 0 {
		t.Fatalf("apply result of a delete = %+v", res)
	}
	if _, ok := identityByID(t, b, alice.ID); ok {
		t.Fatal("deleted identity still readable")
	}
	changes := mustChanges(t, b, store.ChangeQuery{AfterSeq: 1})
	if len(changes) != 1 || changes[0].Op != store.OpDelete || changes[0].Before[store.AttrUserName] != "alice@example.com" || changes[0].After != nil {
		t.Fatalf("delete change = %+v", changes)
	}
	_, err := a.Apply(context.Background(), store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: alice.ID}}}})
	wantErr(t, err, store.ErrNotFound)
	// The userName is free again after the delete.
	mustApply(t, a, create(person("3", "ALICE@example.com")))
}

func testVersionConflict(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	alice := person("1", "alice@example.com")
	mustApply(t, a, create(alice))
	changed := alice
	changed.Title = "Lead"
	_, err := a.Apply(context.Background(), store.ChangeSet{Actor: "scim:okta", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: changed, IfVersion: 7}}})
	wantErr(t, err, store.ErrConflict)
	got, _ := identityByID(t, a, alice.ID)
	if got.Title != "Engineer" {
		t.Fatalf("title = %q after a conflicting update", got.Title)
	}
	_, err = a.Apply(context.Background(), create(alice))
	wantErr(t, err, store.ErrExists)
}

func testAtomicity(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	mustApply(t, a, create(person("1", "alice@example.com")))
	tests := []struct {
		name string
		cs   store.ChangeSet
		want error
	}{
		{"update of a missing identity", store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{
			{Op: store.OpCreate, Identity: person("2", "bob@example.com")},
			{Op: store.OpUpdate, Identity: person("99", "ghost@example.com")},
		}}, store.ErrNotFound},
		{"duplicate userName at the end", store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{
			{Op: store.OpCreate, Identity: person("2", "bob@example.com")},
			{Op: store.OpCreate, Identity: person("3", "Alice@Example.com")},
		}}, store.ErrDuplicate},
		{"group with an unknown member", store.ChangeSet{Actor: "sync",
			Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: person("2", "bob@example.com")}},
			Groups:     []store.GroupChange{{Op: store.OpCreate, Group: group("team:x", "X", ns.IdentityID("404"))}},
		}, store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Apply(context.Background(), tt.cs)
			wantErr(t, err, tt.want)
			st := stateOf(t, b)
			if len(st.Identities) != 1 || len(st.Groups) != 0 || st.Seq != 1 || lastSeq(t, b) != 1 {
				t.Fatalf("after a failed change set: %d identities, %d groups, seq %d", len(st.Identities), len(st.Groups), st.Seq)
			}
		})
	}
}

func testUserNameUnique(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	mustApply(t, a, create(person("1", "alice@example.com")))
	_, err := a.Apply(context.Background(), create(person("2", "ALICE@EXAMPLE.COM")))
	wantErr(t, err, store.ErrDuplicate)
}

func testUserNameSwap(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	x, y := person("1", "x@example.com"), person("2", "y@example.com")
	mustApply(t, a, create(x, y))
	x.UserName, y.UserName = "y@example.com", "x@example.com"
	mustApply(t, a, store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{
		{Op: store.OpUpdate, Identity: x}, {Op: store.OpUpdate, Identity: y},
	}})
	got, _ := identityByID(t, b, x.ID)
	if got.UserName != "y@example.com" {
		t.Fatalf("userName = %q after swap", got.UserName)
	}
}

func testGroupMembers(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	alice, bob := person("1", "alice@example.com"), person("2", "bob@example.com")
	mustApply(t, a, create(alice, bob))
	g := group("team:platform", "Platform", alice.ID, alice.ID)
	mustApply(t, a, store.ChangeSet{Actor: "sync", Groups: []store.GroupChange{{Op: store.OpCreate, Group: g}}})
	g.Members = []string{bob.ID}
	mustApply(t, a, store.ChangeSet{Actor: "sync", Groups: []store.GroupChange{{Op: store.OpUpdate, Group: g, IfVersion: 1, Reason: "mover"}}})
	changes := mustChanges(t, b, store.ChangeQuery{Kind: store.KindGroup})
	if len(changes) != 2 {
		t.Fatalf("%d group changes, want 2", len(changes))
	}
	if created := changes[0]; !slices.Equal(created.MembersAdded, []string{alice.ID}) || created.After["displayName"] != "Platform" || created.Before != nil {
		t.Fatalf("create change = %+v", created)
	}
	if upd := changes[1]; !slices.Equal(upd.MembersAdded, []string{bob.ID}) || !slices.Equal(upd.MembersRemoved, []string{alice.ID}) || upd.Before != nil {
		t.Fatalf("update change = %+v", upd)
	}

	_, err := a.Apply(context.Background(), store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: bob.ID}}}})
	wantErr(t, err, store.ErrInvalid)
	g.Members = nil
	mustApply(t, a, store.ChangeSet{Actor: "sync",
		Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: bob.ID}}},
		Groups:     []store.GroupChange{{Op: store.OpUpdate, Group: g}},
	})
	groups, err := b.GroupsByID(context.Background(), []string{g.ID})
	if err != nil || len(groups) != 1 || len(groups[0].Members) != 0 {
		t.Fatalf("group after removing its last member = %+v, %v", groups, err)
	}
}

func testGroupNameUnique(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	mustApply(t, a, store.ChangeSet{Actor: "sync", Groups: []store.GroupChange{{Op: store.OpCreate, Group: group("office:Berlin", "Berlin")}}})
	_, err := a.Apply(context.Background(), store.ChangeSet{Actor: "sync", Groups: []store.GroupChange{{Op: store.OpCreate, Group: group("team:Berlin", "BERLIN")}}})
	wantErr(t, err, store.ErrDuplicate)
}

func testChangeLog(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	start := clock.Now()
	for n := 1; n <= 5; n++ {
		cs := create(person(fmt.Sprint(n), fmt.Sprintf("p%d@example.com", n)))
		cs.Actor = map[bool]string{true: "sync", false: "scim:okta"}[n%2 == 1]
		mustApply(t, a, cs)
		clock.Advance(time.Minute)
	}
	all := mustChanges(t, b, store.ChangeQuery{})
	for n, c := range all {
		if c.Seq != int64(n+1) {
			t.Fatalf("change %d has seq %d; want contiguous from 1", n, c.Seq)
		}
	}
	tests := []struct {
		name string
		q    store.ChangeQuery
		want []int64
	}{
		{"after cursor", store.ChangeQuery{AfterSeq: 3}, []int64{4, 5}},
		{"limit", store.ChangeQuery{AfterSeq: 1, Limit: 2}, []int64{2, 3}},
		{"actor", store.ChangeQuery{Actor: "scim:okta"}, []int64{2, 4}},
		{"time range", store.ChangeQuery{Since: start.Add(time.Minute), Until: start.Add(3 * time.Minute)}, []int64{2, 3}},
		{"resource", store.ChangeQuery{ResourceID: ns.IdentityID("5")}, []int64{5}},
		{"kind", store.ChangeQuery{Kind: store.KindGroup}, nil},
		{"past the end", store.ChangeQuery{AfterSeq: 99}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			for _, c := range mustChanges(t, b, tt.q) {
				got = append(got, c.Seq)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("seqs = %v, want %v", got, tt.want)
			}
		})
	}
}

func testConcurrentAppliers(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []store.Store{a, b}[w%2]
			for n := range each {
				pid := fmt.Sprintf("%d-%d", w, n)
				if _, err := s.Apply(context.Background(), create(person(pid, pid+"@example.com"))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent apply: %v", err)
	}
	changes := mustChanges(t, a, store.ChangeQuery{})
	if len(changes) != workers*each {
		t.Fatalf("%d changes, want %d", len(changes), workers*each)
	}
	for n, c := range changes {
		if c.Seq != int64(n+1) {
			t.Fatalf("seq %d at position %d: the log has a gap or is out of order", c.Seq, n)
		}
	}
}

func testTokens(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	secret, err := store.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	tok := store.Token{ID: "tok-1", Name: "okta", Scopes: []string{store.ScopeSCIMRead}, Hash: store.HashToken(secret), CreatedAt: clock.Now()}
	if err := a.CreateToken(ctx, tok); err != nil {
		t.Fatalf("create token: %v", err)
	}
	wantErr(t, a.CreateToken(ctx, store.Token{ID: "tok-2", Name: "okta", Hash: store.HashToken("x")}), store.ErrDuplicate)

	got, err := b.TokenByHash(ctx, store.HashToken(secret))
	if err != nil || got.Name != "okta" || !got.HasScope(store.ScopeSCIMRead) || got.HasScope(store.ScopeAdmin) {
		t.Fatalf("token by hash = %+v, %v", got, err)
	}
	if !store.TokenMatches(secret, got.Hash) || store.TokenMatches(secret+"x", got.Hash) {
		t.Fatal("TokenMatches does not tell the secret from another")
	}
	_, err = b.TokenByHash(ctx, store.HashToken("wrong"))
	wantErr(t, err, store.ErrNotFound)

	if err := b.RevokeToken(ctx, "tok-1", clock.Now()); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, err = a.TokenByHash(ctx, store.HashToken(secret))
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, a.RevokeToken(ctx, "tok-1", clock.Now()), store.ErrNotFound)
	list, err := a.Tokens(ctx)
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("tokens = %+v, %v", list, err)
	}
	// A revoked name can be reused.
	if err := a.CreateToken(ctx, store.Token{ID: "tok-3", Name: "okta", Hash: store.HashToken("y"), CreatedAt: clock.Now()}); err != nil {
		t.Fatalf("reuse of a revoked name: %v", err)
	}
}

// testTokenRotation: a token rotated under its name keeps working until the
// grace ends, the name stays unique among current tokens, expiry and last
// use round-trip and last use never moves back.
func testTokenRotation(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	now := clock.Now()
	expires := now.Add(90 * 24 * time.Hour)
	old := store.Token{ID: "tok-1", Name: "okta", Scopes: []string{store.ScopeSCIMRead}, Hash: store.HashToken("old"), CreatedAt: now, ExpiresAt: expires}
	if err := a.CreateToken(ctx, old); err != nil {
		t.Fatalf("create: %v", err)
	}
	next := store.Token{ID: "tok-2", Name: "okta", Scopes: []string{store.ScopeSCIMRead}, Hash: store.HashToken("new"), CreatedAt: now.Add(time.Minute)}
	grace := now.Add(24 * time.Hour)
	if err := b.RotateToken(ctx, next, grace, now.Add(time.Minute)); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	gotOld, err := a.TokenByHash(ctx, store.HashToken("old"))
	if err != nil || !gotOld.ExpiresAt.Equal(grace) || gotOld.ReplacedAt.IsZero() || !gotOld.Expired(grace) || gotOld.Expired(grace.Add(-time.Second)) {
		t.Fatalf("the rotated token = %+v, %v; want it valid until the grace ends", gotOld, err)
	}
	gotNew, err := a.TokenByHash(ctx, store.HashToken("new"))
	if err != nil || gotNew.ID != "tok-2" || !gotNew.ExpiresAt.IsZero() || !gotNew.ReplacedAt.IsZero() {
		t.Fatalf("the new token = %+v, %v", gotNew, err)
	}
	wantErr(t, a.CreateToken(ctx, store.Token{ID: "tok-3", Name: "okta", Hash: store.HashToken("third"), CreatedAt: now}), store.ErrDuplicate)
	wantErr(t, a.RotateToken(ctx, store.Token{ID: "tok-4", Name: "nobody", Hash: store.HashToken("4"), CreatedAt: now}, grace, now), store.ErrNotFound)
	// A rotation never stretches an expiry that comes sooner than the grace.
	short := store.Token{ID: "tok-5", Name: "jumpcloud", Hash: store.HashToken("5"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.CreateToken(ctx, short); err != nil {
		t.Fatal(err)
	}
	if err := a.RotateToken(ctx, store.Token{ID: "tok-6", Name: "jumpcloud", Hash: store.HashToken("6"), CreatedAt: now}, grace, now); err != nil {
		t.Fatal(err)
	}
	if got, err := b.TokenByHash(ctx, store.HashToken("5")); err != nil || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("the short-lived token after rotation = %+v, %v", got, err)
	}

	used := now.Add(2 * time.Hour)
	if err := a.TouchToken(ctx, "tok-2", used); err != nil {
		t.Fatalf("touch: %v", err)
	}
	if err := b.TouchToken(ctx, "tok-2", used.Add(-time.Hour)); err != nil {
		t.Fatalf("touch: %v", err)
	}
	list, err := b.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.ID == "tok-2" && !tok.LastUsedAt.Equal(used) {
			t.Fatalf("last used = %v, want %v", tok.LastUsedAt, used)
		}
	}
}

func testRuns(t *testing.T, open Factory) {
	clock := NewClock()
	a, b := open(t, clock.Now)
	ctx := context.Background()
	first := store.Run{ID: "run-1", Trigger: "schedule", Mode: "full", Status: store.RunSucceeded, StartedAt: clock.Now(), FinishedAt: clock.Now().Add(time.Second), Counts: map[string]int{"created": 3}}
	held := store.Run{ID: "run-2", Trigger: "api", Mode: "full", Status: store.RunRunning, StartedAt: clock.Now().Add(time.Hour)}
	for _, r := range []store.Run{first, held} {
		if err := a.SaveRun(ctx, r); err != nil {
			t.Fatalf("save run: %v", err)
		}
	}
	held.Status, held.Report = store.RunHeld, []byte(`{"reason":"guard"}`)
	if err := a.SaveRun(ctx, held); err != nil {
		t.Fatalf("update run: %v", err)
	}
	runs, err := b.Runs(ctx, 10)
	if err != nil || len(runs) != 2 || runs[0].ID != "run-2" || runs[1].Counts["created"] != 3 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	got, err := b.Run(ctx, "run-2")
	if err != nil || got.Status != store.RunHeld || string(got.Report) != `{"reason":"guard"}` {
		t.Fatalf("run = %+v, %v", got, err)
	}
	approved, err := b.TransitionRun(ctx, "run-2", store.RunHeld, store.RunApproved, "admin", clock.Now())
	if err != nil || approved.Status != store.RunApproved || approved.ApprovedBy != "admin" {
		t.Fatalf("approve = %+v, %v", approved, err)
	}
	_, err = a.TransitionRun(ctx, "run-2", store.RunHeld, store.RunApproved, "admin", clock.Now())
	wantErr(t, err, store.ErrConflict)
	_, err = a.Run(ctx, "run-404")
	wantErr(t, err, store.ErrNotFound)
}

func testLeader(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	la, err := a.TryLead(ctx, "sync")
	if err != nil || la == nil {
		t.Fatalf("first TryLead = %v, %v; want leadership", la, err)
	}
	if lb, err := b.TryLead(ctx, "sync"); err != nil || lb != nil {
		t.Fatalf("second instance got leadership %v, %v while the first holds it", lb, err)
	}
	if other, err := b.TryLead(ctx, "other"); err != nil || other == nil {
		t.Fatalf("leadership of another name = %v, %v", other, err)
	} else {
		defer other.Release(ctx)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	select {
	case <-la.Lost():
	default:
		t.Fatal("Lost not closed after Release")
	}
	lb, err := b.TryLead(ctx, "sync")
	if err != nil || lb == nil {
		t.Fatalf("TryLead after release = %v, %v", lb, err)
	}
	lb.Release(ctx)
}

func testWatch(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nudges := b.Watch(ctx)
	// A nudge can be lost by design; retry the write until one arrives so the
	// test checks delivery, not a race with the listener's start-up.
	deadline := time.After(10 * time.Second)
	for n := 1; ; n++ {
		mustApply(t, a, create(person(fmt.Sprint(n), fmt.Sprintf("w%d@example.com", n))))
		select {
		case <-nudges:
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no nudge within 10s of writes through the other instance")
		}
	}
}

func testWatchEnds(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	for _, s := range []store.Store{a, b} {
		ctx, cancel := context.WithCancel(context.Background())
		nudges := s.Watch(ctx)
		cancel()
		deadline := time.After(10 * time.Second)
		for open := true; open; {
			select {
			case _, open = <-nudges:
			case <-deadline:
				t.Fatal("watch channel still open 10s after its context ended")
			}
		}
	}
}

// testCloseEndsLeadership: a replica that shuts down its store must stop
// leading, and the other replica must be able to take over and still read
// what the first one wrote.
func testCloseEndsLeadership(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	mustApply(t, a, create(person("1", "alice@example.com")))
	la, err := a.TryLead(ctx, "sync")
	if err != nil || la == nil {
		t.Fatalf("TryLead = %v, %v; want leadership", la, err)
	}
	if lb, err := b.TryLead(ctx, "sync"); err != nil || lb != nil {
		t.Fatalf("other instance got leadership %v, %v while the first holds it", lb, err)
	}
	a.Close()
	select {
	case <-la.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed 10s after the holder's store was closed")
	}
	lb, err := b.TryLead(ctx, "sync")
	if err != nil || lb == nil {
		t.Fatalf("TryLead after the holder closed = %v, %v; want leadership", lb, err)
	}
	defer lb.Release(ctx)
	if _, ok := identityByID(t, b, ns.IdentityID("1")); !ok {
		t.Fatal("the other instance lost the data when the first one closed")
	}
}

func testDirectoriesConverge(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice := person("1", "alice@example.com")
	mustApply(t, a, create(alice))
	dirB, err := store.NewDirectory(ctx, b, store.DirectoryOptions{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("new directory: %v", err)
	}
	if _, ok := dirB.View().IdentityByUserName("ALICE@example.com"); !ok {
		t.Fatal("directory did not load the existing identity")
	}
	go dirB.Run(ctx)

	bob := person("2", "bob@example.com")
	moved := alice
	moved.UserName, moved.Department = "alice.new@example.com", "Sales"
	cs := create(bob)
	cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: moved})
	cs.Groups = []store.GroupChange{{Op: store.OpCreate, Group: group("department:Sales", "Sales", alice.ID, bob.ID)}}
	res := mustApply(t, a, cs)

	deadline := time.Now().Add(10 * time.Second)
	for dirB.View().Seq() < res.LastSeq {
		if time.Now().After(deadline) {
			t.Fatalf("replica directory at seq %d, want %d within 10s", dirB.View().Seq(), res.LastSeq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	v := dirB.View()
	if _, ok := v.IdentityByUserName("alice@example.com"); ok {
		t.Fatal("old userName still resolves")
	}
	got, ok := v.IdentityByUserName("Alice.New@example.com")
	if !ok || got.Department != "Sales" {
		t.Fatalf("renamed identity = %+v, %v", got, ok)
	}
	if _, ok := v.IdentityByExternalID("2"); !ok {
		t.Fatal("new identity not found by externalId")
	}
	g, ok := v.GroupByDisplayName("sales")
	if !ok || len(g.Members) != 2 || len(v.GroupsOf(bob.ID)) != 1 {
		t.Fatalf("group = %+v, %v; groups of bob = %d", g, ok, len(v.GroupsOf(bob.ID)))
	}
	if ids, groups := v.Len(); ids != 2 || groups != 1 {
		t.Fatalf("view has %d identities, %d groups; want 2, 1", ids, groups)
	}
	order := v.Identities()
	if !slices.IsSortedFunc(order, func(x, y *store.Identity) int { return compareStrings(x.ID, y.ID) }) {
		t.Fatal("identities not in stable id order")
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testInvalid(t *testing.T, open Factory) {
	a, _ := open(t, NewClock().Now)
	noName := person("1", "")
	tests := []struct {
		name string
		cs   store.ChangeSet
	}{
		{"no actor", store.ChangeSet{Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: person("1", "a@example.com")}}}},
		{"empty userName", create(noName)},
		{"unknown op", store.ChangeSet{Actor: "x", Identities: []store.IdentityChange{{Op: "upsert", Identity: person("1", "a@example.com")}}}},
		{"repeated id", create(person("1", "a@example.com"), person("1", "b@example.com"))},
		{"empty group name", store.ChangeSet{Actor: "x", Groups: []store.GroupChange{{Op: store.OpCreate, Group: group("k", "")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Apply(context.Background(), tt.cs)
			wantErr(t, err, store.ErrInvalid)
		})
	}
}

func testAbsorb(t *testing.T, open Factory) {
	a, b := open(t, NewClock().Now)
	ctx := context.Background()
	dir, err := store.NewDirectory(ctx, a, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alice := person("1", "alice@example.com")
	cs := create(alice)
	cs.Groups = []store.GroupChange{{Op: store.OpCreate, Group: group("team:a", "A", alice.ID)}}
	res := mustApply(t, a, cs)
	if !dir.Absorb(res) || dir.View().Seq() != res.LastSeq {
		t.Fatalf("a write right after the view was not absorbed: view at %d, write %d..%d", dir.View().Seq(), res.FirstSeq, res.LastSeq)
	}
	if _, ok := dir.View().IdentityByUserName("alice@example.com"); !ok {
		t.Fatal("absorbed identity not in the view")
	}
	// Another replica writes; our next write no longer follows the view.
	mustApply(t, b, create(person("2", "bob@example.com")))
	res = mustApply(t, a, create(person("3", "carol@example.com")))
	if dir.Absorb(res) {
		t.Fatal("absorbed a write although another writer's change came before it")
	}
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob@example.com", "carol@example.com"} {
		if _, ok := dir.View().IdentityByUserName(name); !ok {
			t.Fatalf("%s missing after the refresh", name)
		}
	}
	res = mustApply(t, a, store.ChangeSet{Actor: "sync",
		Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: alice.ID}}},
		Groups:     []store.GroupChange{{Op: store.OpDelete, Group: store.Group{ID: ns.GroupID("team:a")}}},
	})
	if !dir.Absorb(res) {
		t.Fatal("delete not absorbed")
	}
	if _, ok := dir.View().Identity(alice.ID); ok {
		t.Fatal("absorbed delete left the identity in the view")
	}
	if _, ok := dir.View().GroupByDisplayName("A"); ok {
		t.Fatal("absorbed delete left the group in the view")
	}
}
