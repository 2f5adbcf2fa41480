package mirror

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// Counts summarize what a run changed (or, for a dry run, would change).
type Counts struct {
	Created       int `json:"created"`
	Updated       int `json:"updated"`
	Activated     int `json:"activated"`
	Deactivated   int `json:"deactivated"`
	Removed       int `json:"removed"`
	GroupsCreated int `json:"groups_created"`
	GroupsUpdated int `json:"groups_updated"`
	GroupsRemoved int `json:"groups_removed"`
	Skipped       int `json:"skipped"`
	Held          int `json:"held"`
}

// asMap returns the counts keyed by name, as sync-run records keep them.
func (c Counts) asMap() map[string]int {
	return map[string]int{
		"created": c.Created, "updated": c.Updated, "activated": c.Activated, "deactivated": c.Deactivated,
		"removed": c.Removed, "groups_created": c.GroupsCreated, "groups_updated": c.GroupsUpdated,
		"groups_removed": c.GroupsRemoved, "skipped": c.Skipped, "held": c.Held,
	}
}

// Skip reports a person the run left as it was, and why. People are named by
// Personio id only.
type Skip struct {
	PersonID string `json:"person_id"`
	Reason   string `json:"reason"`
}

// PlannedChange is one line of a plan, for dry runs and run reports.
type PlannedChange struct {
	Op      store.Op           `json:"op"`
	Kind    store.ResourceKind `json:"kind"`
	ID      string             `json:"id"`
	Name    string             `json:"name"` // userName or group displayName
	Reason  string             `json:"reason,omitempty"`
	Changed []string           `json:"changed,omitempty"`
}

// SyncPlan is the difference between the store and what Personio and the policy
// say should be, as one change set, with an account of it.
type SyncPlan struct {
	ChangeSet store.ChangeSet
	Counts    Counts
	Changes   []PlannedChange
	Skipped   []Skip
	Conflicts []string
	Guard     GuardReport
}

// planInput is what a plan is computed from.
type planInput struct {
	records []personio.Record
	// complete says records holds everyone in Personio, so that an identity
	// whose person is absent has vanished. Incremental runs are incomplete.
	complete bool
	view     *store.View
	today    personio.Date
	// approved are the held changes of a run an administrator approved,
	// by key: the guard lets them through without counting them.
	approved map[string]HeldChange
	// ctx stops evaluation when the run is cancelled.
	ctx context.Context
}

// planner computes one plan; it lives only for that.
type planner struct {
	policy *Policy
	ns     store.Namespace
	in     planInput

	desired map[string]*store.Identity // SCIM id → identity that should exist
	// shared marks desired identities that are the view's own, kept as
	// stored: the planner must copy one before it changes anything in it.
	shared   map[string]bool
	memberOf map[string][]groupRef // SCIM id → groups
	// partial says only the touched identities are in desired and
	// memberOf: every other identity of the view stays exactly as stored,
	// with its memberships. Incremental runs plan this way, so that their
	// cost follows the changes rather than the company.
	partial  bool
	touched  map[string]bool   // SCIM ids the run decided on, when partial
	reasons  map[string]string // SCIM id → lifecycle rule behind its change
	skipped  []Skip
	conflict []string
}

// plan takes in's records: they are let go once everyone is evaluated, as
// nothing after evaluation reads them, so that a first sync of 100,000
// people does not hold them through the diff and the apply.
func (p *Policy) plan(ns store.Namespace, in *planInput) SyncPlan {
	pl := p.newPlanner(ns, *in)
	in.records = nil
	pl.evaluateAll()
	pl.in.records = nil
	return pl.finish()
}

func (p *Policy) newPlanner(ns store.Namespace, in planInput) *planner {
	return &planner{
		policy: p, ns: ns, in: in,
		desired:  make(map[string]*store.Identity, len(in.records)),
		memberOf: make(map[string][]groupRef, len(in.records)),
		reasons:  map[string]string{},
		shared:   map[string]bool{},
		partial:  !in.complete,
		touched:  map[string]bool{},
	}
}

// stays reports the identity an id will have after the plan, and whether
// it keeps one: a desired identity, or, in a partial plan, an untouched
// one of the view.
func (pl *planner) stays(id string) (*store.Identity, bool) {
	if ident, ok := pl.desired[id]; ok {
		return ident, true
	}
	if pl.partial && !pl.touched[id] {
		return pl.in.view.Identity(id)
	}
	return nil, false
}

// candidates lists, sorted by id, the stored identities the plan may
// change: all of them, or, in a partial plan, the touched ones.
func (pl *planner) candidates() []*store.Identity {
	if !pl.partial {
		return pl.in.view.Identities()
	}
	var out []*store.Identity
	for _, id := range slices.Sorted(maps.Keys(pl.touched)) {
		if prev, ok := pl.in.view.Identity(id); ok {
			out = append(out, prev)
		}
	}
	return out
}

// keepUntouched turns a partial plan into a complete one by keeping every
// untouched identity as stored, for the steps that need the whole company.
func (pl *planner) keepUntouched() {
	if !pl.partial {
		return
	}
	for _, prev := range pl.in.view.Identities() {
		if !pl.touched[prev.ID] {
			pl.keep(prev)
		}
	}
	pl.partial = false
}

// evaluateAll decides every person's desired identity. Evaluating is pure
// and the policy is safe for concurrent use, so chunks of people are
// evaluated on every core and then recorded one by one; chunks keep the
// outcomes held at once small.
func (pl *planner) evaluateAll() {
	seen := make(map[string]bool, len(pl.in.records))
	workers := runtime.GOMAXPROCS(0)
	batch := make([]evaluation, 0, evaluationChunk)
	for start := 0; start < len(pl.in.records); start += evaluationChunk {
		if pl.cancelled() {
			// The caller fails the run or request: a partial plan must not
			// go on to treat the people not yet evaluated as vanished.
			return
		}
		recs := pl.in.records[start:min(start+evaluationChunk, len(pl.in.records))]
		batch = batch[:len(recs)]
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				var scratch personio.Record
				for n := w; n < len(recs); n += workers {
					batch[n] = pl.evaluate(&recs[n], &scratch)
				}
			})
		}
		wg.Wait()
		for n := range batch {
			seen[batch[n].id] = true
			pl.touched[batch[n].id] = true
			pl.record(&recs[n], &batch[n])
			batch[n] = evaluation{}
		}
	}
	if pl.partial {
		return // everyone not evaluated stays as stored
	}
	for _, prev := range pl.in.view.Identities() {
		if !seen[prev.ID] {
			pl.departed(prev, pl.policy.vanished(*prev, pl.in.today))
		}
	}
	pl.resolveUnique() // needs everyone decided; previews show its result too
}

func (pl *planner) cancelled() bool { return pl.in.ctx != nil && pl.in.ctx.Err() != nil }

// evaluationChunk is how many people are evaluated between two recording
// passes.
const evaluationChunk = 1024

// evaluation is what the policy says of one person, computed in parallel.
type evaluation struct {
	id     string
	prev   *store.Identity // nil for someone new
	out    outcome
	err    error
	source map[string]string // minimized record, for people who get an identity
	hash   string
}

// evaluate runs the policy for one person; it only reads the planner.
// scratch holds the minimized record while its source is built: one per
// worker rather than one on the heap per person.
func (pl *planner) evaluate(rec *personio.Record, scratch *personio.Record) evaluation {
	ev := evaluation{id: pl.ns.IdentityID(rec.ID)}
	var prevLife *store.Lifecycle
	if prev, ok := pl.in.view.Identity(ev.id); ok {
		ev.prev, prevLife = prev, &prev.Lifecycle
	}
	ev.out, ev.err = pl.policy.evaluateRecord(pl.in.ctx, rec, pl.in.today, prevLife)
	if ev.out.InScope && ev.err == nil && ev.out.Present {
		*scratch = pl.policy.Minimize(*rec)
		ev.source = sourceOf(pl.policy.recordFields, scratch)
		*scratch = personio.Record{} // holds no one's data once done
		ev.hash = fingerprint(ev.source)
	}
	return ev
}

// finish applies the guard, settles references and conflicts, and diffs.
func (pl *planner) finish() SyncPlan {
	guard := pl.applyGuard()
	pl.resolveManagers()
	pl.resolveUserNames()
	plan := pl.diff()
	plan.Guard = guard
	plan.Skipped = pl.skipped
	plan.Conflicts = append(pl.conflict, plan.Conflicts...)
	plan.Counts.Skipped = len(pl.skipped)
	plan.Counts.Held = len(guard.Held)
	return plan
}

// record turns one evaluation into the planner's decision for the person.
func (pl *planner) record(rec *personio.Record, ev *evaluation) {
	prev, out, err := ev.prev, ev.out, ev.err
	switch {
	case !out.InScope:
		if prev != nil {
			pl.departed(prev, pl.policy.outOfScope(*prev, pl.in.today))
		}
	case err != nil && prev != nil && out.Lifecycle.State == store.StateLeaver:
		// The record no longer maps (say, the email was deleted on the way
		// out), but the lifecycle is clear: deactivate with stored values.
		pl.departed(prev, pl.policy.departed(*prev, pl.in.today, out.Lifecycle.Rule))
	case err != nil:
		pl.skipped = append(pl.skipped, Skip{PersonID: rec.ID, Reason: err.Error()})
		if prev != nil {
			pl.keep(prev)
		}
	case !out.Present:
		pl.reasons[ev.id] = out.Lifecycle.Rule // an existing identity is removed
	default:
		pl.present(ev, rec)
	}
}

// present records the identity a person should have.
func (pl *planner) present(ev *evaluation, rec *personio.Record) {
	id, prev, out := ev.id, ev.prev, ev.out
	ident := &store.Identity{ID: id, PersonioID: rec.ID, Attributes: out.Attributes, Lifecycle: out.Lifecycle,
		Source: ev.source, SourceHash: ev.hash}
	// The mapping names the manager by Personio id; stored values (kept
	// first values, overrides) are SCIM ids already, so translate first.
	if ident.Manager != "" {
		ident.Manager = pl.ns.IdentityID(ident.Manager)
	}
	if prev != nil {
		for _, attr := range out.OnCreateOnly {
			if v, ok := prev.Get(attr); ok {
				ident.Set(attr, v)
			}
		}
		for attr, v := range prev.Overrides {
			if pl.policy.isWritable(attr) && ident.Set(attr, v) {
				if ident.Overrides == nil {
					ident.Overrides = map[string]string{}
				}
				ident.Overrides[attr] = v
			}
		}
		keepWritebackState(prev, ident)
	}
	pl.desired[id], pl.shared[id] = ident, false
	pl.memberOf[id] = out.Groups
	pl.reasons[id] = out.Lifecycle.Rule
}

// departed handles a leaver the policy decided on without their record:
// vanished from Personio, out of scope, or unmappable.
func (pl *planner) departed(prev *store.Identity, out outcome) {
	pl.reasons[prev.ID] = out.Lifecycle.Rule
	if !out.Present {
		return
	}
	ident := prev.Clone()
	ident.Attributes, ident.Lifecycle = out.Attributes, out.Lifecycle
	pl.desired[prev.ID], pl.shared[prev.ID] = &ident, false
	pl.memberOf[prev.ID] = nil
}

// keep leaves an identity exactly as stored, with its memberships. It is
// shared with the view, not copied: most runs keep nearly everyone.
func (pl *planner) keep(prev *store.Identity) {
	if pl.partial {
		pl.touched[prev.ID] = true
	}
	pl.desired[prev.ID] = prev
	pl.shared[prev.ID] = true
	pl.memberOf[prev.ID] = currentGroups(pl.in.view, prev.ID)
	delete(pl.reasons, prev.ID)
}

func currentGroups(v *store.View, id string) []groupRef {
	var refs []groupRef
	for _, g := range v.GroupsOf(id) {
		refs = append(refs, groupRef{Key: g.Key, Kind: g.Kind, DisplayName: g.DisplayName})
	}
	return refs
}

// resolveManagers drops a manager who has no identity, so that no identity
// points at a missing one.
func (pl *planner) resolveManagers() {
	pl.keepManagedOfRemoved()
	for id, ident := range pl.desired {
		if _, ok := pl.stays(ident.Manager); ident.Manager != "" && !ok {
			if pl.shared[id] {
				copied := ident.Clone()
				ident = &copied
				pl.desired[id], pl.shared[id] = ident, false
			}
			ident.Manager = ""
		}
	}
}

// keepManagedOfRemoved brings into a partial plan the untouched identities
// whose manager it removes, so that resolveManagers sees them; a plan that
// removes nobody needs no scan of the company.
func (pl *planner) keepManagedOfRemoved() {
	if !pl.partial {
		return
	}
	removed := map[string]bool{}
	for id := range pl.touched {
		if _, ok := pl.desired[id]; !ok {
			if _, stored := pl.in.view.Identity(id); stored {
				removed[id] = true
			}
		}
	}
	if len(removed) == 0 {
		return
	}
	for _, prev := range pl.in.view.Identities() {
		if removed[prev.Manager] && !pl.touched[prev.ID] {
			pl.touched[prev.ID] = true
			pl.keep(prev)
		}
	}
}

// resolveUserNames settles two people mapping to one userName: whoever holds
// it keeps it, otherwise the lowest Personio id; the other is left as stored
// (or not created) and reported. Keeping someone can free or take another
// name, so it repeats until nothing collides.
func (pl *planner) resolveUserNames() {
	for range len(pl.desired) + 1 {
		byName := map[string][]*store.Identity{}
		for _, ident := range pl.desired {
			key := strings.ToLower(ident.UserName)
			byName[key] = append(byName[key], ident)
		}
		if pl.partial {
			// Untouched identities keep their names: the view's holder of
			// each claimed name is the only one that can collide.
			for key, claimants := range byName {
				if holder, ok := pl.in.view.IdentityByUserName(key); ok && !pl.touched[holder.ID] {
					byName[key] = append(claimants, holder)
				}
			}
		}
		collided := false
		for _, key := range slices.Sorted(maps.Keys(byName)) {
			claimants := byName[key]
			if len(claimants) < 2 {
				continue
			}
			collided = true
			slices.SortFunc(claimants, pl.userNamePriority(key))
			for _, loser := range claimants[1:] {
				pl.conflict = append(pl.conflict, fmt.Sprintf("userName %q: person %s keeps it, person %s left unchanged",
					key, claimants[0].PersonioID, loser.PersonioID))
				pl.skipped = append(pl.skipped, Skip{PersonID: loser.PersonioID, Reason: "userName taken by person " + claimants[0].PersonioID})
				if prev, ok := pl.in.view.Identity(loser.ID); ok {
					pl.keep(prev)
				} else {
					delete(pl.desired, loser.ID)
					delete(pl.memberOf, loser.ID)
				}
			}
		}
		if !collided {
			return
		}
	}
}

func (pl *planner) userNamePriority(key string) func(a, b *store.Identity) int {
	holds := func(i *store.Identity) bool {
		prev, ok := pl.in.view.Identity(i.ID)
		return ok && strings.ToLower(prev.UserName) == key
	}
	return func(a, b *store.Identity) int {
		if ha, hb := holds(a), holds(b); ha != hb {
			if ha {
				return -1
			}
			return 1
		}
		return comparePersonIDs(a.PersonioID, b.PersonioID)
	}
}

// comparePersonIDs orders numeric ids numerically (shorter first), others
// as text.
func comparePersonIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}
