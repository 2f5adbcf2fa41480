package mirror

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/personio-scim/personio-scim/store"
)

// desiredGroup is a group as the memberships define it.
type desiredGroup struct {
	ref     groupRef
	members []string
}

// diff turns the desired identities and memberships into a change set
// against the view, in a deterministic order.
func (pl *planner) diff() SyncPlan {
	var plan SyncPlan
	plan.ChangeSet = store.ChangeSet{Actor: "sync"}
	pl.diffIdentities(&plan)
	pl.diffGroups(&plan)
	return plan
}

// identityDecision is one identity change, decided before the change set
// is built so that the change set is made at its final size: a change is
// over 500 bytes, and growing a slice of 100,000 of them by appending
// allocated five times that.
type identityDecision struct {
	op         store.Op
	id         string
	next, prev *store.Identity
	changed    []string
}

func (pl *planner) diffIdentities(plan *SyncPlan) {
	var decided []identityDecision
	for _, id := range slices.Sorted(maps.Keys(pl.desired)) {
		next := pl.desired[id]
		prev, exists := pl.in.view.Identity(id)
		if !exists {
			decided = append(decided, identityDecision{op: store.OpCreate, id: id, next: next})
			continue
		}
		if next == prev {
			continue // kept as stored
		}
		if changed := changedFields(prev, next); len(changed) > 0 {
			decided = append(decided, identityDecision{op: store.OpUpdate, id: id, next: next, prev: prev, changed: changed})
		}
	}
	for _, prev := range pl.candidates() {
		if _, stays := pl.stays(prev.ID); !stays {
			decided = append(decided, identityDecision{op: store.OpDelete, id: prev.ID, prev: prev})
		}
	}
	if len(decided) > 0 {
		plan.ChangeSet.Identities = make([]store.IdentityChange, 0, len(decided))
		plan.Changes = make([]PlannedChange, 0, len(decided))
	}
	for _, d := range decided {
		switch d.op {
		case store.OpCreate:
			plan.Counts.Created++
			reason := "joiner: " + pl.reasons[d.id]
			plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpCreate, Identity: *d.next, Reason: reason})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpCreate, Kind: store.KindIdentity, ID: d.id, Name: d.next.UserName, Reason: reason})
		case store.OpUpdate:
			prev, next := d.prev, d.next
			reason := pl.updateReason(prev, next, d.changed)
			switch {
			case !prev.Active && next.Active:
				plan.Counts.Activated++
			case prev.Active && !next.Active:
				plan.Counts.Deactivated++
			default:
				plan.Counts.Updated++
			}
			plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: *next, IfVersion: prev.Version, Reason: reason})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpUpdate, Kind: store.KindIdentity, ID: d.id, Name: next.UserName, Reason: reason, Changed: d.changed})
		default: // OpDelete
			prev := d.prev
			plan.Counts.Removed++
			reason := "removed: " + cmp.Or(pl.reasons[prev.ID], "retention")
			plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpDelete, Identity: store.Identity{ID: prev.ID}, IfVersion: prev.Version, Reason: reason})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpDelete, Kind: store.KindIdentity, ID: prev.ID, Name: prev.UserName, Reason: reason})
		}
	}
}

// updateReason says why an identity changes: the lifecycle rule when its
// state moved, otherwise which attributes changed.
func (pl *planner) updateReason(prev, next *store.Identity, changed []string) string {
	if prev.Lifecycle.State != next.Lifecycle.State || prev.Active != next.Active {
		return fmt.Sprintf("%s → %s: %s", cmp.Or(prev.Lifecycle.State, "unknown"), next.Lifecycle.State, cmp.Or(pl.reasons[next.ID], next.Lifecycle.Rule))
	}
	return "changed: " + strings.Join(changed, ", ")
}

// changedFields names what differs between a stored and a desired identity.
func changedFields(prev, next *store.Identity) []string {
	var changed []string
	before, _ := prev.Attributes.Diff(&next.Attributes)
	for _, name := range store.AttributeNames() {
		if _, ok := before[name]; ok {
			changed = append(changed, name)
		}
	}
	if prev.Lifecycle != next.Lifecycle {
		changed = append(changed, "lifecycle")
	}
	if !maps.Equal(prev.Overrides, next.Overrides) {
		changed = append(changed, "overrides")
	}
	if prev.SourceHash != next.SourceHash || prev.PersonioID != next.PersonioID {
		changed = append(changed, "source")
	}
	return changed
}

// desiredGroups collects memberships into groups and gives each a unique
// display name: when two groups would share one, the group whose key sorts
// first keeps it and the others get their kind appended.
func (pl *planner) desiredGroups() (map[string]*desiredGroup, []string) {
	if pl.partial {
		if groups, ok := pl.changedGroups(); ok {
			return groups, nil
		}
		pl.keepUntouched()
	}
	groups := map[string]*desiredGroup{}
	for _, id := range slices.Sorted(maps.Keys(pl.memberOf)) {
		if _, ok := pl.desired[id]; !ok {
			continue
		}
		for _, ref := range pl.memberOf[id] {
			g, ok := groups[ref.Key]
			if !ok {
				g = &desiredGroup{ref: ref}
				groups[ref.Key] = g
			}
			g.members = append(g.members, id)
		}
	}
	var conflicts []string
	taken := map[string]string{} // lower display name → key
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		name := g.ref.DisplayName
		for n := 1; taken[strings.ToLower(name)] != ""; n++ {
			name = fmt.Sprintf("%s (%s)", g.ref.DisplayName, strings.ReplaceAll(g.ref.Kind, "_", " "))
			if n > 1 {
				name = fmt.Sprintf("%s (%s %d)", g.ref.DisplayName, strings.ReplaceAll(g.ref.Kind, "_", " "), n)
			}
		}
		if name != g.ref.DisplayName {
			conflicts = append(conflicts, fmt.Sprintf("group name %q is used by %s; %s is named %q", g.ref.DisplayName, taken[strings.ToLower(g.ref.DisplayName)], key, name))
			g.ref.DisplayName = name
		}
		taken[strings.ToLower(name)] = key
	}
	return groups, conflicts
}

// changedGroups computes, for a partial plan, only the groups the touched
// identities leave or join: their stored members without the touched ones,
// plus the touched ones the plan puts in. It declines (false) when the set
// of groups would change or a touched member names a group differently
// from how it is stored, since display names are settled across all
// groups; the caller then plans every group.
func (pl *planner) changedGroups() (map[string]*desiredGroup, bool) {
	groups := map[string]*desiredGroup{}
	ids := slices.Sorted(maps.Keys(pl.touched))
	affected := func(grp *store.Group) {
		if _, ok := groups[grp.Key]; !ok {
			groups[grp.Key] = &desiredGroup{ref: groupRef{Key: grp.Key, Kind: grp.Kind, DisplayName: grp.DisplayName},
				members: withoutSorted(grp.Members, ids)}
		}
	}
	for _, id := range ids {
		for _, grp := range pl.in.view.GroupsOf(id) {
			affected(grp)
		}
	}
	for _, id := range ids {
		if _, ok := pl.desired[id]; !ok {
			continue
		}
		for _, ref := range pl.memberOf[id] {
			stored, ok := pl.in.view.Group(pl.ns.GroupID(ref.Key))
			if !ok || stored.Key != ref.Key || stored.Kind != ref.Kind || stored.DisplayName != ref.DisplayName {
				return nil, false
			}
			affected(stored)
			g := groups[ref.Key]
			if i, found := slices.BinarySearch(g.members, id); !found {
				g.members = slices.Insert(g.members, i, id)
			}
		}
	}
	for _, g := range groups {
		if len(g.members) == 0 {
			return nil, false
		}
	}
	return groups, true
}

// withoutSorted returns a sorted copy of members without the ids (sorted),
// copying the runs between them whole: a department can hold a large part
// of the company while a run changes a handful of people.
func withoutSorted(members, ids []string) []string {
	if !slices.IsSorted(members) {
		members = slices.Sorted(slices.Values(members))
	}
	out := make([]string, 0, len(members))
	from := 0
	for _, id := range ids {
		if i, found := slices.BinarySearch(members[from:], id); found {
			out = append(out, members[from:from+i]...)
			from += i + 1
		}
	}
	return append(out, members[from:]...)
}

func (pl *planner) diffGroups(plan *SyncPlan) {
	groups, conflicts := pl.desiredGroups()
	plan.Conflicts = append(plan.Conflicts, conflicts...)
	wanted := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		dg := groups[key]
		next := store.Group{ID: pl.ns.GroupID(key), Key: key, Kind: dg.ref.Kind, DisplayName: dg.ref.DisplayName, Members: dg.members}
		if !slices.IsSorted(next.Members) {
			slices.Sort(next.Members)
		}
		wanted[next.ID] = true
		prev, exists := pl.in.view.Group(next.ID)
		switch {
		case !exists:
			plan.Counts.GroupsCreated++
			plan.ChangeSet.Groups = append(plan.ChangeSet.Groups, store.GroupChange{Op: store.OpCreate, Group: next, Reason: "group rule"})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpCreate, Kind: store.KindGroup, ID: next.ID, Name: next.DisplayName, Reason: "group rule"})
		case prev.DisplayName != next.DisplayName || prev.Kind != next.Kind || !slices.Equal(prev.Members, next.Members):
			plan.Counts.GroupsUpdated++
			reason := "memberships recomputed"
			if prev.DisplayName != next.DisplayName {
				reason = "renamed"
			}
			plan.ChangeSet.Groups = append(plan.ChangeSet.Groups, store.GroupChange{Op: store.OpUpdate, Group: next, IfVersion: prev.Version, Reason: reason})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpUpdate, Kind: store.KindGroup, ID: next.ID, Name: next.DisplayName, Reason: reason})
		}
	}
	if pl.partial {
		return // only changed groups were planned, and none of them empties
	}
	for _, prev := range pl.in.view.Groups() {
		if wanted[prev.ID] {
			continue
		}
		plan.Counts.GroupsRemoved++
		plan.ChangeSet.Groups = append(plan.ChangeSet.Groups, store.GroupChange{Op: store.OpDelete, Group: store.Group{ID: prev.ID}, IfVersion: prev.Version, Reason: "no members left"})
		plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpDelete, Kind: store.KindGroup, ID: prev.ID, Name: prev.DisplayName, Reason: "no members left"})
	}
}
