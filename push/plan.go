package push

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/personio-scim/personio-scim/store"
)

// planner turns resources into items against one view and the ledger
// records it has read.
type planner struct {
	w    *Worker
	view *store.View
	recs map[string]store.PushRecord
	// leaving are identities this pass removes from the target: groups no
	// longer list them as members and reports no longer name them.
	leaving map[string]bool
	inScope map[string]bool // identity id → scope result, cached for groups
}

func (w *Worker) newPlanner(view *store.View) *planner {
	return &planner{w: w, view: view, recs: map[string]store.PushRecord{}, leaving: map[string]bool{}, inScope: map[string]bool{}}
}

// load reads the ledger records of ids the planner does not have yet.
func (p *planner) load(ctx context.Context, ids []string) error {
	var missing []string
	for _, id := range ids {
		if _, ok := p.recs[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	for start := 0; start < len(missing); start += ledgerPage {
		chunk := missing[start:min(len(missing), start+ledgerPage)]
		recs, err := p.w.ledger.PushRecords(ctx, p.w.name, chunk)
		if err != nil {
			return fmt.Errorf("read %d ledger records: %w", len(chunk), err)
		}
		for _, r := range recs {
			p.recs[r.ResourceID] = r
		}
		for _, id := range chunk {
			if _, ok := p.recs[id]; !ok {
				p.recs[id] = store.PushRecord{} // known to be absent
			}
		}
	}
	return nil
}

// loadAll reads every ledger record of the target (reconcile).
func (p *planner) loadAll(ctx context.Context) error {
	after := ""
	for {
		recs, err := p.w.ledger.ListPushRecords(ctx, p.w.name, store.PushQuery{AfterID: after, Limit: scanPage})
		if err != nil {
			return fmt.Errorf("read ledger records: %w", err)
		}
		for _, r := range recs {
			p.recs[r.ResourceID] = r
		}
		if len(recs) < scanPage {
			return nil
		}
		after = recs[len(recs)-1].ResourceID
	}
}

// held reports whether the target holds the resource, as far as the
// ledger knows.
func held(r store.PushRecord) bool {
	if r.ResourceID == "" || r.Status == store.PushGone {
		return false
	}
	return r.TargetID != "" || r.Status == store.PushSynced || r.Status == store.PushPending ||
		(r.Fingerprint != "" && r.Fingerprint != fingerprintDeleted)
}

// ref names a resource the target holds; ok is false when it does not.
func (p *planner) identityRef(id string) (Ref, bool) {
	if p.leaving[id] {
		return Ref{}, false
	}
	r := p.recs[id]
	if !held(r) || r.Status == store.PushSkipped {
		return Ref{}, false
	}
	i, ok := p.view.Identity(id)
	if !ok {
		return Ref{}, false
	}
	return Ref{ID: id, PersonioID: i.PersonioID, UserName: i.UserName, Email: i.Email, TargetID: r.TargetID}, true
}

// desire is one resource's wanted outcome in the target.
type desire struct {
	item  Item
	fp    string
	err   error // the scope or mapping failed on this identity
	drop  bool  // stop sending it: mark its record gone without a request
	depth int   // management chain length, so managers go first
}

// identity plans one identity: nil when there is nothing to do at all.
func (p *planner) identity(id string) *desire {
	rec := p.recs[id]
	i, ok := p.view.Identity(id)
	if ok {
		inScope, mapped, err := p.w.rules.Evaluate(i, p.view.GroupsOf(id))
		if err != nil {
			return &desire{item: Item{Kind: store.KindIdentity, ID: id, Previous: rec}, err: err}
		}
		if inScope {
			it := Item{Kind: store.KindIdentity, ID: id, Previous: rec, Identity: p.identityItem(i, mapped)}
			return &desire{item: it, fp: Fingerprint(it), depth: p.depth(i)}
		}
	}
	if !held(rec) {
		return nil
	}
	// The identity left the target: removed after retention, or out of
	// its scope.
	if !ok {
		if !p.w.info.DeleteOnRemoval {
			return &desire{item: Item{Kind: store.KindIdentity, ID: id, Previous: rec, Delete: true}, fp: fingerprintDeleted, drop: true}
		}
		return &desire{item: Item{Kind: store.KindIdentity, ID: id, Previous: rec, Delete: true}, fp: fingerprintDeleted}
	}
	if p.w.info.DeleteOnRemoval {
		it := Item{Kind: store.KindIdentity, ID: id, Previous: rec, Delete: true, Identity: p.identityItem(i, nil)}
		return &desire{item: it, fp: fingerprintDeleted}
	}
	// A target that keeps its records gets the person deactivated.
	it := Item{Kind: store.KindIdentity, ID: id, Previous: rec, Identity: p.identityItem(i, nil)}
	it.Identity.Active = false
	return &desire{item: it, fp: Fingerprint(it)}
}

func (p *planner) identityItem(i *store.Identity, mapped map[string]string) *Identity {
	out := &Identity{Identity: *i, Mapped: mapped}
	if i.Manager != "" {
		if r, ok := p.identityRef(i.Manager); ok {
			out.Manager = &r
		}
	}
	if p.w.info.Groups {
		for _, g := range p.view.GroupsOf(i.ID) {
			if r := p.recs[g.ID]; held(r) && !p.leaving[g.ID] {
				out.Groups = append(out.Groups, Ref{ID: g.ID, TargetID: r.TargetID, UserName: g.DisplayName})
			}
		}
	}
	return out
}

// depth counts managers above an identity, bounded against cycles.
func (p *planner) depth(i *store.Identity) int {
	d := 0
	for cur := i; cur.Manager != "" && d < 64; d++ {
		next, ok := p.view.Identity(cur.Manager)
		if !ok || next.ID == i.ID {
			break
		}
		cur = next
	}
	return d
}

// scoped reports whether an identity is in the target's scope.
func (p *planner) scoped(id string) bool {
	if in, ok := p.inScope[id]; ok {
		return in
	}
	in := false
	if i, ok := p.view.Identity(id); ok {
		in, _, _ = p.w.rules.Evaluate(i, p.view.GroupsOf(id))
	}
	p.inScope[id] = in
	return in
}

// wanted reports whether a group belongs in the target: with a scope, only
// groups with a member in it do, so that a target for one department does
// not get every other department's empty group.
func (p *planner) wanted(g *store.Group) bool {
	if p.w.rules.scope == nil {
		return true
	}
	for _, m := range g.Members {
		if p.scoped(m) {
			return true
		}
	}
	return false
}

// group plans one group: nil when there is nothing to do.
func (p *planner) group(id string) *desire {
	rec := p.recs[id]
	g, ok := p.view.Group(id)
	if ok && p.wanted(g) {
		it := Item{Kind: store.KindGroup, ID: id, Previous: rec, Group: p.groupItem(g)}
		return &desire{item: it, fp: Fingerprint(it)}
	}
	if !held(rec) {
		return nil
	}
	return &desire{item: Item{Kind: store.KindGroup, ID: id, Previous: rec, Delete: true}, fp: fingerprintDeleted}
}

func (p *planner) groupItem(g *store.Group) *Group {
	out := &Group{Group: *g}
	for _, m := range g.Members {
		if r, ok := p.identityRef(m); ok {
			out.Members = append(out.Members, r)
		}
	}
	return out
}

// unchanged reports whether the target already holds the desired state, or
// the record waits (pending, quarantined with the same state).
func unchanged(d *desire, force bool) bool {
	rec := d.item.Previous
	if rec.ResourceID == "" {
		return false
	}
	switch rec.Status {
	case store.PushPending:
		return attemptedFingerprint(rec) == d.fp
	case store.PushQuarantined:
		return attemptedFingerprint(rec) == d.fp
	case store.PushSynced, store.PushSkipped:
		return !force && rec.Fingerprint == d.fp
	case store.PushGone:
		return d.item.Delete
	}
	return false
}

// deprovisions reports whether the desire deactivates or removes an
// identity the target holds active: what the guard counts.
func deprovisions(d *desire) bool {
	if d.item.Kind != store.KindIdentity || !held(d.item.Previous) {
		return false
	}
	if d.item.Delete {
		return true
	}
	return d.item.Identity != nil && !d.item.Identity.Active && activeIn(d.item.Previous.Fingerprint)
}

// order sorts identities so that managers come before their reports.
func orderIdentities(ds []*desire) {
	slices.SortStableFunc(ds, func(a, b *desire) int {
		if c := cmp.Compare(a.depth, b.depth); c != 0 {
			return c
		}
		return cmp.Compare(a.item.ID, b.item.ID)
	})
}
