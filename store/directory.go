package store

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// View is an immutable snapshot of every identity and group. Readers load the
// current View without locks and may keep it as long as they like; the
// directory replaces it whole when the change log moves on. Nothing reachable
// from a View may be modified. A new view shares everything a change did not
// touch with the one before it, so that building it costs in proportion to
// the change rather than to the directory.
type View struct {
	seq          int64
	identities   []*Identity // sorted by ID: the stable order SCIM paging relies on
	groups       []*Group    // sorted by ID
	identityByID *cowMap[*Identity]
	byUserName   *cowMap[*Identity] // key: lower-cased userName
	byExternalID *cowMap[*Identity]
	groupByID    *cowMap[*Group]
	groupByName  *cowMap[*Group]   // key: lower-cased displayName
	groupsOf     *cowMap[[]*Group] // identity id → its groups, sorted by ID
}

// Seq is the change-log position the view reflects.
func (v *View) Seq() int64 { return v.seq }

// Identities returns every identity in stable order. The slice is shared.
func (v *View) Identities() []*Identity { return v.identities }

// Groups returns every group in stable order. The slice is shared.
func (v *View) Groups() []*Group { return v.groups }

// Identity finds an identity by SCIM id.
func (v *View) Identity(id string) (*Identity, bool) { return v.identityByID.get(id) }

// IdentityByUserName finds an identity by userName, ignoring case as SCIM's
// caseExact=false for userName demands.
func (v *View) IdentityByUserName(userName string) (*Identity, bool) {
	return v.byUserName.get(strings.ToLower(userName))
}

// IdentityByExternalID finds an identity by externalId (case-sensitive).
func (v *View) IdentityByExternalID(externalID string) (*Identity, bool) {
	return v.byExternalID.get(externalID)
}

// Group finds a group by SCIM id.
func (v *View) Group(id string) (*Group, bool) { return v.groupByID.get(id) }

// GroupByDisplayName finds a group by displayName, ignoring case.
func (v *View) GroupByDisplayName(name string) (*Group, bool) {
	return v.groupByName.get(strings.ToLower(name))
}

// GroupsOf lists the groups an identity belongs to, in stable order.
func (v *View) GroupsOf(identityID string) []*Group {
	gs, _ := v.groupsOf.get(identityID)
	return gs
}

// Len reports the number of identities and groups.
func (v *View) Len() (identities, groups int) { return len(v.identities), len(v.groups) }

func newView(seq int64, ids []*Identity, groups []*Group) *View {
	empty := &View{
		identityByID: newCowMap[*Identity](len(ids)),
		byUserName:   newCowMap[*Identity](len(ids)),
		byExternalID: newCowMap[*Identity](len(ids)),
		groupByID:    newCowMap[*Group](len(groups)),
		groupByName:  newCowMap[*Group](len(groups)),
		groupsOf:     newCowMap[[]*Group](len(ids)),
	}
	changedIDs := make(map[string]*Identity, len(ids))
	for _, i := range ids {
		changedIDs[i.ID] = i
	}
	changedGroups := make(map[string]*Group, len(groups))
	for _, g := range groups {
		changedGroups[g.ID] = g
	}
	return empty.withChanges(seq, changedIDs, changedGroups)
}

// identityIndex is one new version of a view's identity lookups.
type identityIndex struct {
	byID, byUserName, byExternalID *cowEdit[*Identity]
}

func (x identityIndex) add(i *Identity) {
	x.byID.set(i.ID, i)
	if i.UserName != "" {
		x.byUserName.set(strings.ToLower(i.UserName), i)
	}
	if i.ExternalID != "" {
		x.byExternalID.set(i.ExternalID, i)
	}
}

func (x identityIndex) remove(i *Identity) {
	x.byID.delete(i.ID)
	if cur, ok := x.byUserName.get(strings.ToLower(i.UserName)); ok && cur.ID == i.ID {
		x.byUserName.delete(strings.ToLower(i.UserName))
	}
	if cur, ok := x.byExternalID.get(i.ExternalID); ok && cur.ID == i.ID {
		x.byExternalID.delete(i.ExternalID)
	}
}

// withChanges returns a new view with the given resources replaced. A nil
// entry in the maps means the resource is gone.
func (v *View) withChanges(seq int64, ids map[string]*Identity, groups map[string]*Group) *View {
	next := *v
	next.seq = seq
	if len(ids) > 0 {
		x := identityIndex{v.identityByID.edit(), v.byUserName.edit(), v.byExternalID.edit()}
		// Unindex every old state first so that a userName moving from one
		// identity to another in the same batch ends up on the new holder.
		for id := range ids {
			if old, ok := v.identityByID.get(id); ok {
				x.remove(old)
			}
		}
		for _, i := range ids {
			if i != nil {
				x.add(i)
			}
		}
		next.identityByID, next.byUserName, next.byExternalID = x.byID.done(), x.byUserName.done(), x.byExternalID.done()
		next.identities = replaceSorted(v.identities, ids, func(i *Identity) string { return i.ID })
	}
	if len(groups) > 0 {
		byID, byName := v.groupByID.edit(), v.groupByName.edit()
		for id := range groups {
			if old, ok := v.groupByID.get(id); ok {
				byID.delete(old.ID)
				if cur, ok := byName.get(strings.ToLower(old.DisplayName)); ok && cur.ID == old.ID {
					byName.delete(strings.ToLower(old.DisplayName))
				}
			}
		}
		for _, g := range groups {
			if g != nil {
				byID.set(g.ID, g)
				byName.set(strings.ToLower(g.DisplayName), g)
			}
		}
		next.groupsOf = v.membershipWith(groups)
		next.groupByID, next.groupByName = byID.done(), byName.done()
		next.groups = replaceSorted(v.groups, groups, func(g *Group) string { return g.ID })
	}
	return &next
}

// membershipWith recomputes the group lists of only the identities that
// the changed groups name, before or after the change.
func (v *View) membershipWith(changed map[string]*Group) *cowMap[[]*Group] {
	joined := make(map[string][]*Group)
	for _, g := range changed {
		if g == nil {
			continue
		}
		for _, m := range g.Members {
			joined[m] = append(joined[m], g)
		}
	}
	affected := make(map[string]bool, len(joined))
	for m := range joined {
		affected[m] = true
	}
	for id := range changed {
		if old, ok := v.groupByID.get(id); ok {
			for _, m := range old.Members {
				affected[m] = true
			}
		}
	}
	of := v.groupsOf.edit()
	for m := range affected {
		cur, _ := of.get(m)
		list := make([]*Group, 0, len(cur)+len(joined[m]))
		for _, g := range cur {
			if _, ok := changed[g.ID]; !ok {
				list = append(list, g)
			}
		}
		list = append(list, joined[m]...)
		if len(list) == 0 {
			of.delete(m)
			continue
		}
		slices.SortFunc(list, func(a, b *Group) int { return cmp.Compare(a.ID, b.ID) })
		of.set(m, list)
	}
	return of.done()
}

// replaceSorted returns a new ID-sorted slice with the changed elements
// replaced, inserted or (nil) removed. The old slice is left untouched
// because readers may still hold it. Only the changed ids are sorted and
// searched for; the runs between them are copied whole.
func replaceSorted[T any](old []*T, changed map[string]*T, id func(*T) string) []*T {
	keys := slices.Sorted(maps.Keys(changed))
	out := make([]*T, 0, len(old)+len(changed))
	pos := 0
	for _, k := range keys {
		at, found := slices.BinarySearchFunc(old[pos:], k, func(e *T, k string) int { return cmp.Compare(id(e), k) })
		at += pos
		out = append(out, old[pos:at]...)
		if found {
			at++
		}
		if e := changed[k]; e != nil {
			out = append(out, e)
		}
		pos = at
	}
	return append(out, old[pos:]...)
}

// DirectoryOptions tunes how a directory follows the change log.
type DirectoryOptions struct {
	// PollInterval is how often the change log is read when no nudge comes
	// (default one second).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Directory serves the current View of a store and keeps it current from the
// change log: a nudge from Store.Watch, or polling as the fallback.
type Directory struct {
	store Store
	opts  DirectoryOptions
	view  atomic.Pointer[View]
	// mu is held by whoever moves the view on: the follower reading the
	// change log, and a writer from its store apply until the view holds
	// the write. The follower therefore never reads a write of this process
	// back from the store; the writer installs it from what it wrote.
	mu sync.Mutex
}

// NewDirectory loads every identity and group from the store.
func NewDirectory(ctx context.Context, st Store, opts DirectoryOptions) (*Directory, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	state, err := st.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	d := &Directory{store: st, opts: opts}
	d.view.Store(viewFromState(state))
	return d, nil
}

func viewFromState(state State) *View {
	ids := make([]*Identity, len(state.Identities))
	for n := range state.Identities {
		if !state.Interned {
			Intern(&state.Identities[n])
		}
		ids[n] = &state.Identities[n]
	}
	groups := make([]*Group, len(state.Groups))
	for n := range state.Groups {
		groups[n] = &state.Groups[n]
	}
	shareIDs(ids, groups)
	return newView(state.Seq, ids, groups)
}

// shareIDs makes managers and group members the very strings of the ids they
// name: a backend decodes each as a copy of its own, one more id per person
// for the manager and one per membership.
func shareIDs(ids []*Identity, groups []*Group) {
	byID := make(map[string]string, len(ids))
	for _, i := range ids {
		byID[i.ID] = i.ID
	}
	for _, i := range ids {
		if id, ok := byID[i.Manager]; ok {
			i.Manager = id
		}
	}
	for _, g := range groups {
		for n, m := range g.Members {
			if id, ok := byID[m]; ok {
				g.Members[n] = id
			}
		}
	}
}

// View returns the current snapshot. It never touches the database.
func (d *Directory) View() *View { return d.view.Load() }

// Run follows the change log until ctx ends.
func (d *Directory) Run(ctx context.Context) {
	nudges := d.store.Watch(ctx)
	tick := time.NewTicker(d.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-nudges:
		case <-tick.C:
		}
		if err := d.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.opts.Logger.Warn("directory refresh failed; serving the last view", "error", err)
		}
	}
}

// Refresh reads the change log from the view's position and installs a view
// that includes every change found. Callers that just wrote use it to read
// their own writes.
func (d *Directory) Refresh(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.refreshLocked(ctx)
}

// refreshLocked reads every pending change-log page first and builds one
// view from them, so that catching up on a large sync costs one view, not
// one per page.
func (d *Directory) refreshLocked(ctx context.Context) error {
	cur := d.view.Load()
	pending := pendingChanges{identities: map[string]bool{}, groups: map[string]bool{}, seq: cur.seq}
	for {
		changes, err := d.store.Changes(ctx, ChangeQuery{AfterSeq: pending.seq, Limit: DefaultChangeLimit})
		if err != nil {
			return fmt.Errorf("read change log after %d: %w", pending.seq, err)
		}
		pending.add(changes)
		if len(changes) < DefaultChangeLimit {
			break
		}
	}
	if pending.seq == cur.seq {
		return nil
	}
	next, err := d.apply(ctx, cur, pending)
	if err != nil {
		return err
	}
	d.view.Store(next)
	return nil
}

// pendingChanges collects which resources the change log says changed, up
// to seq.
type pendingChanges struct {
	identities, groups map[string]bool
	seq                int64
}

func (p *pendingChanges) add(changes []Change) {
	for _, c := range changes {
		switch c.Kind {
		case KindIdentity:
			p.identities[c.ResourceID] = true
		case KindGroup:
			p.groups[c.ResourceID] = true
		}
		p.seq = c.Seq
	}
}

// Apply is how every writer changes the store: it applies the change set
// and brings this directory up to date with it before returning, so that a
// writer always reads its own writes. The result's states are shared with
// the directory from then on and must not be changed. A failed catch-up is
// logged, not returned: the change is stored, and the directory's follower
// reads it on its next pass.
func (d *Directory) Apply(ctx context.Context, cs ChangeSet) (ApplyResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.store.Apply(ctx, cs)
	if err != nil {
		return res, err
	}
	if !d.absorbLocked(res) {
		if err := d.refreshLocked(ctx); err != nil {
			d.opts.Logger.WarnContext(ctx, "directory catch-up after a write failed; the follower retries", "error", err)
		}
	}
	return res, nil
}

// Absorb installs what an Apply through this process just wrote, without
// reading it back from the store, when it follows the view directly. It
// reports false when another writer's changes came in between; the caller
// then calls Refresh.
func (d *Directory) Absorb(res ApplyResult) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.absorbLocked(res)
}

func (d *Directory) absorbLocked(res ApplyResult) bool {
	if res.FirstSeq == 0 {
		return true
	}
	cur := d.view.Load()
	if res.FirstSeq != cur.seq+1 {
		return res.LastSeq <= cur.seq // already in, or a gap to read first
	}
	ids := make(map[string]*Identity, len(res.Identities)+len(res.DeletedIdentities))
	for n := range res.Identities {
		if !res.Shared {
			Intern(&res.Identities[n])
		}
		ids[res.Identities[n].ID] = &res.Identities[n]
	}
	for _, id := range res.DeletedIdentities {
		ids[id] = nil
	}
	groups := make(map[string]*Group, len(res.Groups)+len(res.DeletedGroups))
	for n := range res.Groups {
		groups[res.Groups[n].ID] = &res.Groups[n]
	}
	for _, id := range res.DeletedGroups {
		groups[id] = nil
	}
	d.view.Store(cur.withChanges(res.LastSeq, ids, groups))
	return true
}

func (d *Directory) apply(ctx context.Context, cur *View, pending pendingChanges) (*View, error) {
	idIDs := slices.Sorted(maps.Keys(pending.identities))
	groupIDs := slices.Sorted(maps.Keys(pending.groups))
	ids, err := d.store.IdentitiesByID(ctx, idIDs)
	if err != nil {
		return nil, fmt.Errorf("read %d changed identities: %w", len(idIDs), err)
	}
	groups, err := d.store.GroupsByID(ctx, groupIDs)
	if err != nil {
		return nil, fmt.Errorf("read %d changed groups: %w", len(groupIDs), err)
	}
	// The states just read may be newer than the last change read; that is
	// harmless, the next refresh re-reads them to the same result.
	changedIDs := make(map[string]*Identity, len(idIDs))
	for _, id := range idIDs {
		changedIDs[id] = nil
	}
	for n := range ids {
		Intern(&ids[n])
		changedIDs[ids[n].ID] = &ids[n]
	}
	changedGroups := make(map[string]*Group, len(groupIDs))
	for _, id := range groupIDs {
		changedGroups[id] = nil
	}
	for n := range groups {
		changedGroups[groups[n].ID] = &groups[n]
	}
	return cur.withChanges(pending.seq, changedIDs, changedGroups), nil
}
