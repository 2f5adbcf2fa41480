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
// from a View may be modified.
type View struct {
	seq          int64
	identities   []*Identity // sorted by ID: the stable order SCIM paging relies on
	groups       []*Group    // sorted by ID
	identityByID map[string]*Identity
	byUserName   map[string]*Identity // key: lower-cased userName
	byExternalID map[string]*Identity
	groupByID    map[string]*Group
	groupByName  map[string]*Group   // key: lower-cased displayName
	groupsOf     map[string][]*Group // identity id → its groups, sorted by ID
}

// Seq is the change-log position the view reflects.
func (v *View) Seq() int64 { return v.seq }

// Identities returns every identity in stable order. The slice is shared.
func (v *View) Identities() []*Identity { return v.identities }

// Groups returns every group in stable order. The slice is shared.
func (v *View) Groups() []*Group { return v.groups }

// Identity finds an identity by SCIM id.
func (v *View) Identity(id string) (*Identity, bool) {
	i, ok := v.identityByID[id]
	return i, ok
}

// IdentityByUserName finds an identity by userName, ignoring case as SCIM's
// caseExact=false for userName demands.
func (v *View) IdentityByUserName(userName string) (*Identity, bool) {
	i, ok := v.byUserName[strings.ToLower(userName)]
	return i, ok
}

// IdentityByExternalID finds an identity by externalId (case-sensitive).
func (v *View) IdentityByExternalID(externalID string) (*Identity, bool) {
	i, ok := v.byExternalID[externalID]
	return i, ok
}

// Group finds a group by SCIM id.
func (v *View) Group(id string) (*Group, bool) {
	g, ok := v.groupByID[id]
	return g, ok
}

// GroupByDisplayName finds a group by displayName, ignoring case.
func (v *View) GroupByDisplayName(name string) (*Group, bool) {
	g, ok := v.groupByName[strings.ToLower(name)]
	return g, ok
}

// GroupsOf lists the groups an identity belongs to, in stable order.
func (v *View) GroupsOf(identityID string) []*Group { return v.groupsOf[identityID] }

// Len reports the number of identities and groups.
func (v *View) Len() (identities, groups int) { return len(v.identities), len(v.groups) }

func newView(seq int64, ids []*Identity, groups []*Group) *View {
	v := &View{
		seq:          seq,
		identities:   ids,
		groups:       groups,
		identityByID: make(map[string]*Identity, len(ids)),
		byUserName:   make(map[string]*Identity, len(ids)),
		byExternalID: make(map[string]*Identity, len(ids)),
		groupByID:    make(map[string]*Group, len(groups)),
		groupByName:  make(map[string]*Group, len(groups)),
	}
	slices.SortFunc(v.identities, func(a, b *Identity) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(v.groups, func(a, b *Group) int { return cmp.Compare(a.ID, b.ID) })
	for _, i := range ids {
		v.indexIdentity(i)
	}
	for _, g := range groups {
		v.indexGroup(g)
	}
	v.groupsOf = membership(groups)
	return v
}

func (v *View) indexIdentity(i *Identity) {
	v.identityByID[i.ID] = i
	if i.UserName != "" {
		v.byUserName[strings.ToLower(i.UserName)] = i
	}
	if i.ExternalID != "" {
		v.byExternalID[i.ExternalID] = i
	}
}

func (v *View) unindexIdentity(i *Identity) {
	delete(v.identityByID, i.ID)
	if cur, ok := v.byUserName[strings.ToLower(i.UserName)]; ok && cur.ID == i.ID {
		delete(v.byUserName, strings.ToLower(i.UserName))
	}
	if cur, ok := v.byExternalID[i.ExternalID]; ok && cur.ID == i.ID {
		delete(v.byExternalID, i.ExternalID)
	}
}

func (v *View) indexGroup(g *Group) {
	v.groupByID[g.ID] = g
	v.groupByName[strings.ToLower(g.DisplayName)] = g
}

func (v *View) unindexGroup(g *Group) {
	delete(v.groupByID, g.ID)
	if cur, ok := v.groupByName[strings.ToLower(g.DisplayName)]; ok && cur.ID == g.ID {
		delete(v.groupByName, strings.ToLower(g.DisplayName))
	}
}

// membership inverts group member lists; groups arrive sorted by ID, so each
// identity's list is sorted too.
func membership(groups []*Group) map[string][]*Group {
	of := make(map[string][]*Group)
	for _, g := range groups {
		for _, m := range g.Members {
			of[m] = append(of[m], g)
		}
	}
	return of
}

// withChanges returns a new view with the given resources replaced. A nil
// entry in the maps means the resource is gone.
func (v *View) withChanges(seq int64, ids map[string]*Identity, groups map[string]*Group) *View {
	next := &View{
		seq:          seq,
		identities:   v.identities,
		groups:       v.groups,
		identityByID: v.identityByID,
		byUserName:   v.byUserName,
		byExternalID: v.byExternalID,
		groupByID:    v.groupByID,
		groupByName:  v.groupByName,
		groupsOf:     v.groupsOf,
	}
	if len(ids) > 0 {
		next.identityByID = maps.Clone(v.identityByID)
		next.byUserName = maps.Clone(v.byUserName)
		next.byExternalID = maps.Clone(v.byExternalID)
		// Unindex every old state first so that a userName moving from one
		// identity to another in the same batch ends up on the new holder.
		for id := range ids {
			if old, ok := next.identityByID[id]; ok {
				next.unindexIdentity(old)
			}
		}
		for _, i := range ids {
			if i != nil {
				next.indexIdentity(i)
			}
		}
		next.identities = replaceSorted(v.identities, ids, func(i *Identity) string { return i.ID })
	}
	if len(groups) > 0 {
		next.groupByID = maps.Clone(v.groupByID)
		next.groupByName = maps.Clone(v.groupByName)
		for id := range groups {
			if old, ok := next.groupByID[id]; ok {
				next.unindexGroup(old)
			}
		}
		for _, g := range groups {
			if g != nil {
				next.indexGroup(g)
			}
		}
		next.groups = replaceSorted(v.groups, groups, func(g *Group) string { return g.ID })
		next.groupsOf = membership(next.groups)
	}
	return next
}

// replaceSorted returns a new ID-sorted slice with the changed elements
// replaced, inserted or (nil) removed. The old slice is left untouched
// because readers may still hold it.
func replaceSorted[T any](old []*T, changed map[string]*T, id func(*T) string) []*T {
	out := make([]*T, 0, len(old)+len(changed))
	for _, e := range old {
		if _, ok := changed[id(e)]; !ok {
			out = append(out, e)
		}
	}
	for _, e := range changed {
		if e != nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *T) int { return cmp.Compare(id(a), id(b)) })
	return out
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
	store   Store
	opts    DirectoryOptions
	view    atomic.Pointer[View]
	catchUp sync.Mutex // one reader of the change log at a time
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
		intern(&state.Identities[n])
		ids[n] = &state.Identities[n]
	}
	groups := make([]*Group, len(state.Groups))
	for n := range state.Groups {
		groups[n] = &state.Groups[n]
	}
	return newView(state.Seq, ids, groups)
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
	d.catchUp.Lock()
	defer d.catchUp.Unlock()
	for {
		cur := d.view.Load()
		changes, err := d.store.Changes(ctx, ChangeQuery{AfterSeq: cur.seq, Limit: DefaultChangeLimit})
		if err != nil {
			return fmt.Errorf("read change log after %d: %w", cur.seq, err)
		}
		if len(changes) == 0 {
			return nil
		}
		next, err := d.apply(ctx, cur, changes)
		if err != nil {
			return err
		}
		d.view.Store(next)
		if len(changes) < DefaultChangeLimit {
			return nil
		}
	}
}

// Apply is how every writer changes the store: it applies the change set
// and brings this directory up to date with it before returning, so that a
// writer always reads its own writes. The result's states are shared with
// the directory from then on and must not be changed. A failed catch-up is
// logged, not returned: the change is stored, and the directory's follower
// reads it on its next pass.
func (d *Directory) Apply(ctx context.Context, cs ChangeSet) (ApplyResult, error) {
	res, err := d.store.Apply(ctx, cs)
	if err != nil {
		return res, err
	}
	if !d.Absorb(res) {
		if err := d.Refresh(ctx); err != nil {
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
	if res.FirstSeq == 0 {
		return true
	}
	d.catchUp.Lock()
	defer d.catchUp.Unlock()
	cur := d.view.Load()
	if res.FirstSeq != cur.seq+1 {
		return res.LastSeq <= cur.seq // already in, or a gap to read first
	}
	ids := make(map[string]*Identity, len(res.Identities)+len(res.DeletedIdentities))
	for n := range res.Identities {
		intern(&res.Identities[n])
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

func (d *Directory) apply(ctx context.Context, cur *View, changes []Change) (*View, error) {
	var idIDs, groupIDs []string
	for _, c := range changes {
		switch c.Kind {
		case KindIdentity:
			idIDs = append(idIDs, c.ResourceID)
		case KindGroup:
			groupIDs = append(groupIDs, c.ResourceID)
		}
	}
	idIDs, groupIDs = uniqueSorted(idIDs), uniqueSorted(groupIDs)
	ids, err := d.store.IdentitiesByID(ctx, idIDs)
	if err != nil {
		return nil, fmt.Errorf("read %d changed identities: %w", len(idIDs), err)
	}
	groups, err := d.store.GroupsByID(ctx, groupIDs)
	if err != nil {
		return nil, fmt.Errorf("read %d changed groups: %w", len(groupIDs), err)
	}
	// The states just read may be newer than the last change in this batch;
	// that is harmless, the next batch re-reads them to the same result.
	changedIDs := make(map[string]*Identity, len(idIDs))
	for _, id := range idIDs {
		changedIDs[id] = nil
	}
	for n := range ids {
		intern(&ids[n])
		changedIDs[ids[n].ID] = &ids[n]
	}
	changedGroups := make(map[string]*Group, len(groupIDs))
	for _, id := range groupIDs {
		changedGroups[id] = nil
	}
	for n := range groups {
		changedGroups[groups[n].ID] = &groups[n]
	}
	return cur.withChanges(changes[len(changes)-1].Seq, changedIDs, changedGroups), nil
}

func uniqueSorted(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
