package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestViewIncrementalMatchesRebuild applies random batches of creates,
// updates, renames, deletes and group changes to a view one batch at a time,
// and checks after each batch that every lookup answers what a view built
// from scratch from the same resources answers. It also checks that the
// views before a batch are left as they were.
func TestViewIncrementalMatchesRebuild(t *testing.T) {
	tests := []struct {
		name            string
		seed            uint64
		batches, change int
	}{
		{"small batches", 1, 60, 3},
		{"large batches that re-split the maps", 2, 5, 700},
		{"from empty, one at a time", 3, 120, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tt.seed, 0))
			w := newViewWorld(rng)
			v := newView(0, nil, nil)
			for batch := range tt.batches {
				prev, prevWant := v, w.clone()
				ids, groups := w.randomBatch(tt.change)
				v = v.withChanges(int64(batch+1), ids, groups)
				checkViewMatches(t, v, w)
				checkViewMatches(t, prev, prevWant)
			}
		})
	}
}

// viewWorld is the truth a view is checked against.
type viewWorld struct {
	rng    *rand.Rand
	ids    map[string]*Identity
	groups map[string]*Group
	next   int
}

func newViewWorld(rng *rand.Rand) *viewWorld {
	return &viewWorld{rng: rng, ids: map[string]*Identity{}, groups: map[string]*Group{}}
}

func (w *viewWorld) clone() *viewWorld {
	c := &viewWorld{ids: map[string]*Identity{}, groups: map[string]*Group{}}
	for k, v := range w.ids {
		c.ids[k] = v
	}
	for k, v := range w.groups {
		c.groups[k] = v
	}
	return c
}

func (w *viewWorld) randomBatch(n int) (map[string]*Identity, map[string]*Group) {
	ids := map[string]*Identity{}
	existing := slices.Sorted(mapKeys(w.ids))
	for range n {
		existing = slices.DeleteFunc(existing, func(id string) bool { _, ok := w.ids[id]; return !ok })
		switch op := w.rng.IntN(4); {
		case op == 0 && len(existing) > 0: // delete
			id := existing[w.rng.IntN(len(existing))]
			delete(w.ids, id)
			ids[id] = nil
		case op == 1 && len(existing) > 0: // update, sometimes taking another's userName
			id := existing[w.rng.IntN(len(existing))]
			next := *w.ids[id]
			next.Attributes.Title = fmt.Sprint(w.rng.IntN(1000))
			next.UserName = fmt.Sprintf("User%d@Example.com", w.rng.IntN(w.next+1))
			w.ids[id] = &next
			ids[id] = &next
		default: // create
			w.next++
			i := &Identity{ID: fmt.Sprintf("id-%05d", w.rng.IntN(100000))}
			i.UserName = fmt.Sprintf("user%d@example.com", w.next)
			i.ExternalID = fmt.Sprint(w.next)
			w.ids[i.ID] = i
			ids[i.ID] = i
		}
	}
	// Userless states lose their names where another took them, as the
	// store's uniqueness check would ensure; keep the truth unique.
	w.dropDuplicateNames(ids)
	groups := map[string]*Group{}
	members := slices.Sorted(mapKeys(w.ids))
	for range 1 + n/10 {
		gid := fmt.Sprintf("g-%02d", w.rng.IntN(20))
		if w.rng.IntN(5) == 0 {
			delete(w.groups, gid)
			groups[gid] = nil
			continue
		}
		g := &Group{ID: gid, DisplayName: "Group " + gid}
		for _, m := range members {
			if w.rng.IntN(3) == 0 {
				g.Members = append(g.Members, m)
			}
		}
		w.groups[gid] = g
		groups[gid] = g
	}
	// Groups must not name identities deleted in this batch.
	for gid, g := range w.groups {
		if slices.ContainsFunc(g.Members, func(m string) bool { _, ok := w.ids[m]; return !ok }) {
			kept := *g
			kept.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { _, ok := w.ids[m]; return !ok })
			w.groups[gid] = &kept
			groups[gid] = &kept
		}
	}
	return ids, groups
}

func (w *viewWorld) dropDuplicateNames(batch map[string]*Identity) {
	holder := map[string]string{}
	for _, id := range slices.Sorted(mapKeys(w.ids)) {
		i := w.ids[id]
		key := strings.ToLower(i.UserName)
		if other, ok := holder[key]; ok && other != id {
			next := *i
			next.UserName = ""
			w.ids[id] = &next
			batch[id] = &next
			continue
		}
		holder[key] = id
	}
}

func checkViewMatches(t *testing.T, v *View, w *viewWorld) {
	t.Helper()
	ids := make([]*Identity, 0, len(w.ids))
	for _, i := range w.ids {
		ids = append(ids, i)
	}
	groups := make([]*Group, 0, len(w.groups))
	for _, g := range w.groups {
		groups = append(groups, g)
	}
	want := rebuildView(ids, groups)
	if !slices.Equal(v.Identities(), want.identities) || !slices.Equal(v.Groups(), want.groups) {
		t.Fatalf("order differs: %d identities, %d groups; want %d, %d", len(v.Identities()), len(v.Groups()), len(want.identities), len(want.groups))
	}
	for _, i := range ids {
		if got, _ := v.Identity(i.ID); got != i {
			t.Fatalf("Identity(%s) = %p, want %p", i.ID, got, i)
		}
		if i.UserName != "" {
			if got, _ := v.IdentityByUserName(strings.ToUpper(i.UserName)); got != i {
				t.Fatalf("IdentityByUserName(%s) wrong", i.UserName)
			}
		}
		if got, _ := v.IdentityByExternalID(i.ExternalID); got != want.byExternalID[i.ExternalID] {
			t.Fatalf("IdentityByExternalID(%s) wrong", i.ExternalID)
		}
		if !slices.Equal(v.GroupsOf(i.ID), want.groupsOf[i.ID]) {
			t.Fatalf("GroupsOf(%s) = %d groups, want %d", i.ID, len(v.GroupsOf(i.ID)), len(want.groupsOf[i.ID]))
		}
	}
	for _, g := range groups {
		if got, _ := v.Group(g.ID); got != g {
			t.Fatalf("Group(%s) wrong", g.ID)
		}
		if got, _ := v.GroupByDisplayName(strings.ToLower(g.DisplayName)); got != g {
			t.Fatalf("GroupByDisplayName(%s) wrong", g.DisplayName)
		}
	}
	if n := v.identityByID.len(); n != len(ids) {
		t.Fatalf("index holds %d identities, want %d", n, len(ids))
	}
	if _, ok := v.Identity("id-absent"); ok {
		t.Fatal("found an identity that was never created")
	}
}

// wantView is the straightforward index the incremental view must equal.
type wantView struct {
	identities   []*Identity
	groups       []*Group
	byExternalID map[string]*Identity
	groupsOf     map[string][]*Group
}

func rebuildView(ids []*Identity, groups []*Group) wantView {
	w := wantView{identities: slices.Clone(ids), groups: slices.Clone(groups),
		byExternalID: map[string]*Identity{}, groupsOf: map[string][]*Group{}}
	slices.SortFunc(w.identities, func(a, b *Identity) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(w.groups, func(a, b *Group) int { return strings.Compare(a.ID, b.ID) })
	for _, i := range w.identities {
		w.byExternalID[i.ExternalID] = i
	}
	for _, g := range w.groups {
		for _, m := range g.Members {
			w.groupsOf[m] = append(w.groupsOf[m], g)
		}
	}
	return w
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
