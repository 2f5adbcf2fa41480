package memory

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/plan"
)

// TestChangeLogMatchesEagerPlan holds the change log this store keeps (the
// states of creates and deletes, their values computed on read) to the rows
// plan.Resolve computes up front, which the Postgres backend stores: for
// every kind of identity, through creates, updates, deletes, a group change
// and an erasure, each row read back must equal the eager row.
func TestChangeLogMatchesEagerPlan(t *testing.T) {
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return clock }})
	ctx := context.Background()
	people := []store.Identity{
		identity("1", func(i *store.Identity) {}),
		identity("2", func(i *store.Identity) {
			i.Overrides = map[string]string{store.AttrTitle: "Chief Whittler", store.AttrNickName: "Whit"}
			i.Lifecycle = store.Lifecycle{State: store.StateLeaver, HireDate: "2020-01-01", EndDate: "2026-02-28",
				InactiveSince: "2026-03-01", RemoveAfter: "2026-06-01", Rule: "leaver", ScopeExcluded: true, VanishedSource: true}
			i.Active = false
		}),
		identity("3", func(i *store.Identity) {
			i.Attributes = store.Attributes{UserName: "only.user@example.com"}
			i.Source, i.SourceHash, i.Lifecycle = nil, "", store.Lifecycle{}
		}),
		identity("4", func(i *store.Identity) {
			i.DisplayName, i.Phone, i.Locale, i.Timezone = "Zoë \"Q\" Ünal\n", "+49 30 1234", "de-DE", "Europe/Berlin"
		}),
	}
	var eager []store.Change
	apply := func(cs store.ChangeSet) {
		t.Helper()
		want, err := plan.Resolve(copyChangeSet(cs), s.db.identities, s.db.groups, clock)
		if err != nil {
			t.Fatalf("eager plan: %v", err)
		}
		eager = append(eager, want.Changes...)
		if _, err := s.Apply(ctx, cs); err != nil {
			t.Fatalf("apply: %v", err)
		}
		clock = clock.Add(time.Minute)
	}
	creates := store.ChangeSet{Actor: "sync", Cause: "run 1"}
	for _, p := range people {
		creates.Identities = append(creates.Identities, store.IdentityChange{Op: store.OpCreate, Identity: p, Reason: "joiner"})
	}
	creates.Groups = []store.GroupChange{{Op: store.OpCreate, Group: store.Group{ID: "g1", Key: "department:X", Kind: "department",
		DisplayName: "X", Members: []string{people[1].ID, people[0].ID}}}}
	apply(creates)

	renamed := identity("1", func(i *store.Identity) {
		i.FamilyName, i.Overrides = "Other", map[string]string{store.AttrTitle: "Boss"}
	})
	left := identity("4", func(i *store.Identity) {
		i.DisplayName, i.Phone, i.Locale, i.Timezone = "Zoë \"Q\" Ünal\n", "+49 30 1234", "de-DE", "Europe/Berlin"
		i.Active, i.Lifecycle.State = false, store.StateLeaver
	})
	apply(store.ChangeSet{Actor: "scim:okta", Cause: "PATCH", Identities: []store.IdentityChange{
		{Op: store.OpUpdate, Identity: renamed, Reason: "rename"},
		{Op: store.OpDelete, Identity: store.Identity{ID: people[2].ID}, Reason: "removed"},
		{Op: store.OpUpdate, Identity: left, Reason: "leaver"},
	}, Groups: []store.GroupChange{{Op: store.OpUpdate, Group: store.Group{ID: "g1", Key: "department:X", Kind: "department",
		DisplayName: "Y", Members: []string{people[1].ID, people[3].ID}}}}})
	apply(store.ChangeSet{Actor: "sync", Cause: "run 2", Identities: []store.IdentityChange{
		{Op: store.OpCreate, Identity: people[2], Reason: "rehire"},
		{Op: store.OpDelete, Identity: store.Identity{ID: people[3].ID}, Reason: "gone"},
	}, Groups: []store.GroupChange{{Op: store.OpUpdate, Group: store.Group{ID: "g1", Key: "department:X", Kind: "department",
		DisplayName: "Y", Members: []string{people[1].ID}}}}})

	for n := range eager {
		eager[n].Seq = int64(n + 1)
	}
	checkChanges(t, s, eager)

	// An erasure replaces the values of the person's rows, whichever way
	// the row keeps them, and leaves everyone else's.
	if _, _, err := s.ErasePerson(ctx, "1", people[0].ID); err != nil {
		t.Fatal(err)
	}
	for n, c := range eager {
		if c.Kind == store.KindIdentity && c.ResourceID == people[0].ID {
			eager[n].Before, eager[n].After = store.EraseValues(c.Before), store.EraseValues(c.After)
		}
	}
	checkChanges(t, s, eager)
}

func checkChanges(t *testing.T, s *Store, want []store.Change) {
	t.Helper()
	got, err := s.Changes(context.Background(), store.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d change-log rows, want %d", len(got), len(want))
	}
	for n := range want {
		if !reflect.DeepEqual(got[n], want[n]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", n+1, got[n], want[n])
		}
	}
	// What a reader gets is its own: changing it leaves the log as it is.
	for _, c := range got {
		maps.DeleteFunc(c.After, func(string, string) bool { return true })
		maps.DeleteFunc(c.Before, func(string, string) bool { return true })
	}
	again, err := s.Changes(context.Background(), store.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for n := range want {
		if !reflect.DeepEqual(again[n], want[n]) {
			t.Errorf("row %d changed by its reader: %+v", n+1, again[n])
		}
	}
}

func identity(pid string, edit func(*store.Identity)) store.Identity {
	i := store.Identity{
		ID: store.DefaultNamespace.IdentityID(pid), PersonioID: pid,
		Attributes: store.Attributes{UserName: "p" + pid + "@example.com", ExternalID: pid, DisplayName: "Per Son" + pid,
			GivenName: "Per", FamilyName: "Son" + pid, Email: "p" + pid + "@example.com", Active: true, EmployeeNumber: pid,
			Department: "Engineering", Title: "Engineer", Manager: store.DefaultNamespace.IdentityID("1")},
		Lifecycle:  store.Lifecycle{State: store.StateActive, HireDate: "2024-01-01", Rule: "hire-date"},
		Source:     map[string]string{"id": pid, "first_name": "Per", "department": "Engineering", "status": "active"},
		SourceHash: fmt.Sprintf("%032x", pid),
	}
	edit(&i)
	return i
}

// copyChangeSet is a deep copy, so that the eager plan and the store do not
// share the maps the store takes over.
func copyChangeSet(cs store.ChangeSet) store.ChangeSet {
	cs.Identities = slices.Clone(cs.Identities)
	for n := range cs.Identities {
		cs.Identities[n].Identity = cs.Identities[n].Identity.Clone()
	}
	cs.Groups = slices.Clone(cs.Groups)
	for n := range cs.Groups {
		cs.Groups[n].Group = cs.Groups[n].Group.Clone()
	}
	return cs
}
