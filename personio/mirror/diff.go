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

func (pl *planner) diffIdentities(plan *SyncPlan) {
	for _, id := range slices.Sorted(maps.Keys(pl.desired)) {
		next := pl.desired[id]
		prev, exists := pl.in.view.Identity(id)
		if !exists {
			plan.Counts.Created++
			reason := "joiner: " + pl.reasons[id]
			plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpCreate, Identity: *next, Reason: reason})
			plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpCreate, Kind: store.KindIdentity, ID: id, Name: next.UserName, Reason: reason})
			continue
		}
		if next == prev {
			continue // kept as stored
		}
		changed := changedFields(prev, next)
		if len(changed) == 0 {
			continue
		}
		reason := pl.updateReason(prev, next, changed)
		switch {
		case !prev.Active && next.Active:
			plan.Counts.Activated++
		case prev.Active && !next.Active:
			plan.Counts.Deactivated++
		default:
			plan.Counts.Updated++
		}
		plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpUpdate, Identity: *next, IfVersion: prev.Version, Reason: reason})
		plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpUpdate, Kind: store.KindIdentity, ID: id, Name: next.UserName, Reason: reason, Changed: changed})
	}
	for _, prev := range pl.in.view.Identities() {
		if _, stays := pl.desired[prev.ID]; stays {
			continue
		}
		plan.Counts.Removed++
		reason := "removed: " + cmp.Or(pl.reasons[prev.ID], "retention")
		plan.ChangeSet.Identities = append(plan.ChangeSet.Identities, store.IdentityChange{Op: store.OpDelete, Identity: store.Identity{ID: prev.ID}, IfVersion: prev.Version, Reason: reason})
		plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpDelete, Kind: store.KindIdentity, ID: prev.ID, Name: prev.UserName, Reason: reason})
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

func (pl *planner) diffGroups(plan *SyncPlan) {
	groups, conflicts := pl.desiredGroups()
	plan.Conflicts = append(plan.Conflicts, conflicts...)
	wanted := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		dg := groups[key]
		next := store.Group{ID: pl.ns.GroupID(key), Key: key, Kind: dg.ref.Kind, DisplayName: dg.ref.DisplayName, Members: dg.members}
		slices.Sort(next.Members)
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
	for _, prev := range pl.in.view.Groups() {
		if wanted[prev.ID] {
			continue
		}
		plan.Counts.GroupsRemoved++
		plan.ChangeSet.Groups = append(plan.ChangeSet.Groups, store.GroupChange{Op: store.OpDelete, Group: store.Group{ID: prev.ID}, IfVersion: prev.Version, Reason: "no members left"})
		plan.Changes = append(plan.Changes, PlannedChange{Op: store.OpDelete, Kind: store.KindGroup, ID: prev.ID, Name: prev.DisplayName, Reason: "no members left"})
	}
}
