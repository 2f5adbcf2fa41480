// Package plan resolves a change set against the current state into a
// ChangePlan: what to write and what to log. Both store backends build one
// inside their transaction and then only store it, so every backend applies
// the same semantics; nothing outside the store needs it.
package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// ChangePlan is a change set resolved against the current state.
type ChangePlan struct {
	Identities []IdentityWrite
	Groups     []GroupWrite
	// Changes are the change-log rows, Seq left zero: the backend numbers
	// them in order. Changes[n] for n < len(Identities) is the row of
	// Identities[n]; the groups' rows follow.
	Changes []store.Change
	// attrNames is store.AttributeNames, asked once: it makes a new slice.
	attrNames []string
}

// IdentityWrite is one identity write; Op delete means remove ID.
type IdentityWrite struct {
	Op       store.Op
	Identity store.Identity
	Previous *store.Identity // nil on create
}

// GroupWrite is one group write.
type GroupWrite struct {
	Op       store.Op
	Group    store.Group
	Previous *store.Group
}

// Resolve resolves cs against the current states of the resources it
// names (missing from the maps means absent). It checks versions and
// existence, skips updates that change nothing, normalizes member lists and
// computes the change-log rows. Uniqueness and member references are left to
// the backend, which sees the whole state.
func Resolve(cs store.ChangeSet, identities map[string]*store.Identity, groups map[string]*store.Group, now time.Time) (ChangePlan, error) {
	return resolve(cs, identities, groups, now, diffsEager)
}

// ResolveDeferred is Resolve without the identity rows' Before and After
// maps: a backend that only encodes them reads them from EachIdentityDiff
// as it writes each row. A first sync of 100,000 people otherwise builds
// 100,000 maps, most of its allocations, to encode each once.
func ResolveDeferred(cs store.ChangeSet, identities map[string]*store.Identity, groups map[string]*store.Group, now time.Time) (ChangePlan, error) {
	return resolve(cs, identities, groups, now, diffsDeferred)
}

// diffMode says which identity change-log rows get their Before and After
// maps at planning time.
type diffMode int

const (
	diffsEager     diffMode = iota // every row (Resolve)
	diffsDeferred                  // none: read them from EachIdentityDiff (ResolveDeferred)
	diffsOfUpdates                 // updates only: creates and deletes are read from the kept state (ResolveKeepingStates)
)

// KeptPlan is a change set resolved for a backend that keeps every state it
// stores in memory. Its identity writes name their new state by its place in
// the change set instead of carrying a copy: at 100,000 people the copies
// were 55 MB more at the peak of a first sync.
type KeptPlan struct {
	Identities []KeptIdentityWrite
	Groups     []GroupWrite
	Changes    []store.Change // Seq left zero; one per identity write, in order, then one per group write
}

// KeptIdentityWrite is one identity write of a KeptPlan.
type KeptIdentityWrite struct {
	Op       store.Op
	ID       string
	Index    int             // the change's position in the change set's Identities
	Previous *store.Identity // nil on create
	// Version, Created and Modified complete the new state (not a delete's).
	Version           int64
	Created, Modified time.Time
}

// State is the new state of a create or update: the change set's identity
// with its version and times.
func (w *KeptIdentityWrite) State(cs *store.ChangeSet) store.Identity {
	next := cs.Identities[w.Index].Identity
	next.Version, next.Created, next.Modified = w.Version, w.Created, w.Modified
	return next
}

// ResolveKeepingStates is Resolve for a backend that keeps every state it
// stored: besides naming the new states instead of copying them, the
// change-log rows of identity creates and deletes come without After and
// Before, which are all of the created or deleted state's attributes and
// which IdentityDiff gives from the state (the new state of the create, the
// Previous of the delete) whenever the row is read. A first sync of 100,000
// people would otherwise build a map of every attribute of everyone only to
// keep the same values twice.
func ResolveKeepingStates(cs store.ChangeSet, identities map[string]*store.Identity, groups map[string]*store.Group, now time.Time) (KeptPlan, error) {
	if err := validateChangeSet(cs); err != nil {
		return KeptPlan{}, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	attrNames := store.AttributeNames()
	p := KeptPlan{
		Identities: make([]KeptIdentityWrite, 0, len(cs.Identities)),
		Changes:    make([]store.Change, 0, len(cs.Identities)+len(cs.Groups)),
	}
	for n := range cs.Identities {
		c := &cs.Identities[n]
		w, change, err := planIdentity(c, identities[c.Identity.ID], now, attrNames, diffsOfUpdates)
		if err != nil {
			return KeptPlan{}, err
		}
		if w.skip {
			continue
		}
		p.Identities = append(p.Identities, KeptIdentityWrite{Op: c.Op, ID: c.Identity.ID, Index: n, Previous: w.previous,
			Version: w.version, Created: w.created, Modified: w.modified})
		p.Changes = append(p.Changes, stamp(change, cs, c.Reason, now))
	}
	var err error
	if p.Groups, p.Changes, err = resolveGroups(cs, groups, now, p.Changes); err != nil {
		return KeptPlan{}, err
	}
	return p, nil
}

func resolve(cs store.ChangeSet, identities map[string]*store.Identity, groups map[string]*store.Group, now time.Time, mode diffMode) (ChangePlan, error) {
	if err := validateChangeSet(cs); err != nil {
		return ChangePlan{}, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	// Sized up front: an identity write is over 500 bytes, and growing a
	// slice of 100,000 of them by appending copies each several times.
	p := ChangePlan{
		Identities: make([]IdentityWrite, 0, len(cs.Identities)),
		Changes:    make([]store.Change, 0, len(cs.Identities)+len(cs.Groups)),
		attrNames:  store.AttributeNames(),
	}
	for n := range cs.Identities {
		c := &cs.Identities[n]
		w, change, err := planIdentity(c, identities[c.Identity.ID], now, p.attrNames, mode)
		if err != nil {
			return ChangePlan{}, err
		}
		if w.skip {
			continue
		}
		write := IdentityWrite{Op: c.Op, Identity: store.Identity{ID: c.Identity.ID}, Previous: w.previous}
		if c.Op != store.OpDelete {
			write.Identity = c.Identity
			write.Identity.Version, write.Identity.Created, write.Identity.Modified = w.version, w.created, w.modified
		}
		p.Identities = append(p.Identities, write)
		p.Changes = append(p.Changes, stamp(change, cs, c.Reason, now))
	}
	var err error
	if p.Groups, p.Changes, err = resolveGroups(cs, groups, now, p.Changes); err != nil {
		return ChangePlan{}, err
	}
	return p, nil
}

func resolveGroups(cs store.ChangeSet, groups map[string]*store.Group, now time.Time, changes []store.Change) ([]GroupWrite, []store.Change, error) {
	var writes []GroupWrite
	for _, c := range cs.Groups {
		planned, change, err := planGroup(c, groups[c.Group.ID], now)
		if err != nil {
			return nil, nil, err
		}
		if planned == nil {
			continue
		}
		writes = append(writes, *planned)
		changes = append(changes, stamp(change, cs, c.Reason, now))
	}
	return writes, changes, nil
}

func stamp(c store.Change, cs store.ChangeSet, reason string, now time.Time) store.Change {
	c.Time, c.Actor, c.Cause, c.Reason = now, cs.Actor, cs.Cause, reason
	return c
}

func validateChangeSet(cs store.ChangeSet) error {
	if cs.Actor == "" {
		return fmt.Errorf("%w: actor is empty", store.ErrInvalid)
	}
	seen := make(map[string]bool, len(cs.Identities)+len(cs.Groups))
	for n, c := range cs.Identities {
		if err := validateOp(c.Op); err != nil {
			return fmt.Errorf("identity change %d: %w", n, err)
		}
		id := c.Identity.ID
		if id == "" || seen[id] {
			return fmt.Errorf("%w: identity change %d: id %q is empty or repeated", store.ErrInvalid, n, id)
		}
		seen[id] = true
		if c.Op != store.OpDelete && strings.TrimSpace(c.Identity.UserName) == "" {
			return fmt.Errorf("%w: identity %s: userName is empty", store.ErrInvalid, id)
		}
	}
	for n, c := range cs.Groups {
		if err := validateOp(c.Op); err != nil {
			return fmt.Errorf("group change %d: %w", n, err)
		}
		id := c.Group.ID
		if id == "" || seen[id] {
			return fmt.Errorf("%w: group change %d: id %q is empty or repeated", store.ErrInvalid, n, id)
		}
		seen[id] = true
		if c.Op != store.OpDelete && strings.TrimSpace(c.Group.DisplayName) == "" {
			return fmt.Errorf("%w: group %s: displayName is empty", store.ErrInvalid, id)
		}
	}
	return nil
}

func validateOp(op store.Op) error {
	switch op {
	case store.OpCreate, store.OpUpdate, store.OpDelete:
		return nil
	}
	return fmt.Errorf("%w: unknown op %q", store.ErrInvalid, op)
}

func checkVersion(kind store.ResourceKind, id string, ifVersion, stored int64) error {
	if ifVersion != 0 && ifVersion != stored {
		return fmt.Errorf("%w: %s %s is at version %d, not %d", store.ErrConflict, kind, id, stored, ifVersion)
	}
	return nil
}

// identityOutcome is what planning one identity change decided: skip an
// update that changes nothing, or write with these version and times.
type identityOutcome struct {
	skip              bool
	previous          *store.Identity
	version           int64
	created, modified time.Time
}

func planIdentity(c *store.IdentityChange, cur *store.Identity, now time.Time, attrNames []string, mode diffMode) (identityOutcome, store.Change, error) {
	id := c.Identity.ID
	change := store.Change{Kind: store.KindIdentity, ResourceID: id, Op: c.Op}
	switch c.Op {
	case store.OpCreate:
		if cur != nil {
			return identityOutcome{}, change, fmt.Errorf("%w: identity %s", store.ErrExists, id)
		}
		if mode == diffsEager {
			_, change.After = IdentityDiff(&store.Identity{}, &c.Identity) // nothing came before a create
		}
		return identityOutcome{version: 1, created: now, modified: now}, change, nil
	case store.OpUpdate:
		if cur == nil {
			return identityOutcome{}, change, fmt.Errorf("%w: identity %s", store.ErrNotFound, id)
		}
		if err := checkVersion(store.KindIdentity, id, c.IfVersion, cur.Version); err != nil {
			return identityOutcome{}, change, err
		}
		if mode == diffsDeferred {
			if !identityDiffers(attrNames, cur, &c.Identity) {
				return identityOutcome{skip: true}, change, nil
			}
		} else {
			before, after := IdentityDiff(cur, &c.Identity)
			if before == nil {
				return identityOutcome{skip: true}, change, nil
			}
			change.Before, change.After = before, after
		}
		return identityOutcome{previous: cur, version: cur.Version + 1, created: cur.Created, modified: now}, change, nil
	default: // OpDelete
		if cur == nil {
			return identityOutcome{}, change, fmt.Errorf("%w: identity %s", store.ErrNotFound, id)
		}
		if err := checkVersion(store.KindIdentity, id, c.IfVersion, cur.Version); err != nil {
			return identityOutcome{}, change, err
		}
		if mode == diffsEager {
			change.Before, _ = IdentityDiff(cur, &store.Identity{}) // nothing comes after a delete
		}
		return identityOutcome{previous: cur}, change, nil
	}
}

// IdentityDiff is what the change log records of a change from old to
// next: everything a replica or an auditor needs to know changed, the
// served attributes, the lifecycle decision, overrides and the fingerprint
// of the source record (never the record itself). A create is the change
// from the zero identity, a delete the change to it.
func IdentityDiff(old, next *store.Identity) (before, after map[string]string) {
	before, after = old.Attributes.Diff(&next.Attributes)
	eachRecordedField(old, next, func(name, a, b string) {
		if before == nil {
			before, after = map[string]string{}, map[string]string{}
		}
		before[name], after[name] = a, b
	})
	return before, after
}

// EachIdentityDiff calls fn for every field the change-log row of
// Identities[n] records, with the values Before and After would hold, and
// reports which of the two the row has: before for updates and deletes,
// after for creates and updates, each only when some field differs, as
// Resolve's maps are nil then. Names come in no particular order. It is
// how a plan from ResolveDeferred gives its identity rows; for one from
// Resolve it reads the same fields again.
func (p *ChangePlan) EachIdentityDiff(n int, fn func(name, before, after string)) (hasBefore, hasAfter bool) {
	w := &p.Identities[n]
	var zero store.Identity
	old, next := w.Previous, &w.Identity
	switch w.Op {
	case store.OpCreate:
		old = &zero
	case store.OpDelete:
		next = &zero
	}
	found := false
	names := p.attrNames
	if names == nil {
		names = store.AttributeNames()
	}
	eachIdentityDiff(names, old, next, func(name, a, b string) {
		found = true
		fn(name, a, b)
	})
	return found && w.Op != store.OpCreate, found && w.Op != store.OpDelete
}

// identityDiffers reports whether IdentityDiff would find a difference.
func identityDiffers(attrNames []string, old, next *store.Identity) bool {
	differs := false
	eachIdentityDiff(attrNames, old, next, func(string, string, string) { differs = true })
	return differs
}

// eachIdentityDiff calls fn for every entry IdentityDiff's maps would hold,
// without building them; a fuzz test holds the two equal (their attributes
// are compared by different paths, the other fields by eachRecordedField).
func eachIdentityDiff(attrNames []string, old, next *store.Identity, fn func(name, before, after string)) {
	for _, name := range attrNames {
		a, _ := old.Attributes.Get(name)
		b, _ := next.Attributes.Get(name)
		if a != b {
			fn(name, a, b)
		}
	}
	eachRecordedField(old, next, fn)
}

// eachRecordedField calls fn for every field besides the attributes that
// the change log records and that differs between old and next: the
// Personio id, the lifecycle decision, the fingerprint of the source record
// and the overrides.
func eachRecordedField(old, next *store.Identity, fn func(name, before, after string)) {
	add := func(name, a, b string) {
		if a != b {
			fn(name, a, b)
		}
	}
	add("personioId", old.PersonioID, next.PersonioID)
	add("lifecycle.state", string(old.Lifecycle.State), string(next.Lifecycle.State))
	add("lifecycle.hireDate", old.Lifecycle.HireDate, next.Lifecycle.HireDate)
	add("lifecycle.endDate", old.Lifecycle.EndDate, next.Lifecycle.EndDate)
	add("lifecycle.inactiveSince", old.Lifecycle.InactiveSince, next.Lifecycle.InactiveSince)
	add("lifecycle.removeAfter", old.Lifecycle.RemoveAfter, next.Lifecycle.RemoveAfter)
	add("lifecycle.rule", old.Lifecycle.Rule, next.Lifecycle.Rule)
	add("lifecycle.scopeExcluded", boolText(old.Lifecycle.ScopeExcluded), boolText(next.Lifecycle.ScopeExcluded))
	add("lifecycle.vanishedSource", boolText(old.Lifecycle.VanishedSource), boolText(next.Lifecycle.VanishedSource))
	add("sourceHash", old.SourceHash, next.SourceHash)
	for k, a := range old.Overrides {
		add("override."+k, a, next.Overrides[k])
	}
	for k, b := range next.Overrides {
		if _, both := old.Overrides[k]; !both {
			add("override."+k, "", b)
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return ""
}

func planGroup(c store.GroupChange, cur *store.Group, now time.Time) (*GroupWrite, store.Change, error) {
	id := c.Group.ID
	change := store.Change{Kind: store.KindGroup, ResourceID: id, Op: c.Op}
	next := c.Group.Clone()
	next.Members = normalizeMembers(next.Members)
	var prev store.Group
	if cur != nil {
		prev = *cur
	}
	switch c.Op {
	case store.OpCreate:
		if cur != nil {
			return nil, change, fmt.Errorf("%w: group %s", store.ErrExists, id)
		}
		next.Version, next.Created, next.Modified = 1, now, now
	case store.OpUpdate:
		if cur == nil {
			return nil, change, fmt.Errorf("%w: group %s", store.ErrNotFound, id)
		}
		if err := checkVersion(store.KindGroup, id, c.IfVersion, cur.Version); err != nil {
			return nil, change, err
		}
		if groupUnchanged(cur, &next) {
			return nil, change, nil
		}
		next.Version, next.Created, next.Modified = cur.Version+1, cur.Created, now
	default: // OpDelete
		if cur == nil {
			return nil, change, fmt.Errorf("%w: group %s", store.ErrNotFound, id)
		}
		if err := checkVersion(store.KindGroup, id, c.IfVersion, cur.Version); err != nil {
			return nil, change, err
		}
		next = store.Group{ID: id}
	}
	change.Before, change.After = groupDiff(&prev, &next)
	switch c.Op {
	case store.OpCreate:
		change.Before = nil
	case store.OpDelete:
		change.After = nil
	}
	change.MembersAdded, change.MembersRemoved = memberDelta(prev.Members, next.Members)
	return &GroupWrite{Op: c.Op, Group: next, Previous: cur}, change, nil
}

func groupUnchanged(cur, next *store.Group) bool {
	return cur.Key == next.Key && cur.Kind == next.Kind && cur.DisplayName == next.DisplayName &&
		slices.Equal(cur.Members, next.Members)
}

func groupDiff(old, next *store.Group) (before, after map[string]string) {
	for _, f := range [][3]string{
		{"displayName", old.DisplayName, next.DisplayName},
		{"key", old.Key, next.Key},
		{"kind", old.Kind, next.Kind},
	} {
		if f[1] == f[2] {
			continue
		}
		if before == nil {
			before, after = map[string]string{}, map[string]string{}
		}
		before[f[0]], after[f[0]] = f[1], f[2]
	}
	return before, after
}

func normalizeMembers(m []string) []string {
	m = slices.Clone(m)
	slices.Sort(m)
	return slices.Compact(m)
}

// memberDelta compares two sorted member lists.
func memberDelta(old, next []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		switch {
		case j == len(next) || (i < len(old) && old[i] < next[j]):
			removed = append(removed, old[i])
			i++
		case i == len(old) || next[j] < old[i]:
			added = append(added, next[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}
