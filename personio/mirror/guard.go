package mirror

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/personio-scim/personio-scim/store"
)

// The changes the guard counts and may hold: each takes access away or
// grants it.
const (
	ChangeDeactivate        = "deactivate"         // an active identity becomes inactive
	ChangeRemove            = "remove"             // an active identity is removed
	ChangeMembershipRemoved = "membership_removed" // an identity that keeps its access leaves a group
	ChangeActivate          = "activate"           // an inactive or absent identity becomes active
)

// The guard's limits, named as their configuration keys.
const (
	limitMaxPercent           = "max_percent"
	limitMaxCount             = "max_count"
	limitMaxMembershipPercent = "max_membership_percent"
	limitMaxActivationPercent = "max_activation_percent"
)

// HeldChange is one change the guard kept back. People are named by
// Personio id, SCIM id and userName only.
type HeldChange struct {
	Change     string `json:"change"` // deactivate, remove, membership_removed, activate
	PersonioID string `json:"personio_id"`
	SCIMID     string `json:"scim_id"`
	UserName   string `json:"user_name"`
	GroupID    string `json:"group_id,omitempty"` // for membership_removed
	Group      string `json:"group,omitempty"`    // the group's display name
	// Rule is the lifecycle rule behind the change (status-inactive,
	// vanished, hire-date, ...) or "memberships recomputed".
	Rule string `json:"rule"`
	// Limit is the guard limit that fired (max_percent, max_count,
	// max_membership_percent, max_activation_percent).
	Limit string `json:"limit"`
}

// key identifies a held change across runs: approving a run lets exactly
// these changes through.
func (h HeldChange) key() string {
	return h.Change + " " + h.SCIMID + " " + h.GroupID
}

// GuardCheck is one of the guard's limits applied to one run.
type GuardCheck struct {
	Change string `json:"change"` // what is counted: deprovisioning, membership_removed, activate
	// Count is how many such changes the run wants, those an approval
	// already released left out.
	Count      int     `json:"count"`
	Of         int     `json:"of"` // the base: identities, or memberships, before the run
	Percent    float64 `json:"percent"`
	MaxPercent float64 `json:"max_percent"`
	MaxCount   int     `json:"max_count,omitempty"`
	Tripped    bool    `json:"tripped"`
}

// GuardReport explains the guard's decisions in one run.
type GuardReport struct {
	Tripped bool         `json:"tripped"`
	Reason  string       `json:"reason,omitempty"`
	Checks  []GuardCheck `json:"checks"`
	// Held lists every change the guard kept back; nothing of it was
	// applied. Approving the run releases exactly these.
	Held []HeldChange `json:"held,omitempty"`
	// PlanDigest binds an approval to the held changes it was shown.
	PlanDigest string `json:"plan_digest,omitempty"`
	// Approved says the run applies changes an administrator released;
	// ApprovedApplied counts those still wanted, ApprovedDropped lists those
	// Personio no longer asks for.
	Approved        bool         `json:"approved,omitempty"`
	ApprovedApplied int          `json:"approved_applied,omitempty"`
	ApprovedDropped []HeldChange `json:"approved_dropped,omitempty"`
	// RetentionRemovals counts removals of identities that were already
	// inactive (a leaver's retention ending): no one loses access, so the
	// guard does not count them. They are listed with the run's changes.
	RetentionRemovals int `json:"retention_removals,omitempty"`
}

// pendingChange is a change the guard may hold, with how to hold it.
type pendingChange struct {
	held HeldChange
	hold func()
}

// guardLimit is one limit as configured.
type guardLimit struct {
	change     string
	maxPercent float64
	maxCount   int
	what       string // for the reason: "deactivations and removals"
	of         string // "identities", "memberships"
}

// applyGuard applies the three limits in turn: deprovisioning first, so
// that a held leaver keeps the memberships the third would count;
// activations second; memberships last, counted only for identities that
// keep their access (a leaver's memberships go with the deactivation).
func (pl *planner) applyGuard() GuardReport {
	g := pl.policy.guard
	var rep GuardReport
	ids := pl.in.view.Identities()
	approvedSeen := map[string]bool{}

	deprov, retention := pl.pendingDeprovisioning()
	rep.RetentionRemovals = retention
	pl.limit(&rep, approvedSeen, guardLimit{change: "deprovisioning", maxPercent: g.MaxPercent, maxCount: g.MaxCount,
		what: "deactivations and removals", of: "identities"}, deprov, len(ids))
	pl.limit(&rep, approvedSeen, guardLimit{change: ChangeActivate, maxPercent: g.MaxActivationPercent,
		what: "activations", of: "identities"}, pl.pendingActivations(), len(ids))
	memberships := 0
	for _, grp := range pl.in.view.Groups() {
		memberships += len(grp.Members)
	}
	pl.limit(&rep, approvedSeen, guardLimit{change: ChangeMembershipRemoved, maxPercent: g.MaxMembershipPercent,
		what: "memberships removed", of: "memberships"}, pl.pendingMembershipLosses(), memberships)

	for _, key := range slices.Sorted(maps.Keys(pl.in.approved)) {
		if !approvedSeen[key] {
			rep.ApprovedDropped = append(rep.ApprovedDropped, pl.in.approved[key])
		}
	}
	rep.Approved = len(pl.in.approved) > 0
	slices.SortFunc(rep.Held, func(a, b HeldChange) int {
		return cmp.Or(comparePersonIDs(a.PersonioID, b.PersonioID), cmp.Compare(a.Change, b.Change), cmp.Compare(a.Group, b.Group))
	})
	if rep.Tripped {
		rep.PlanDigest = planDigest(rep.Held)
	}
	return rep
}

// limit counts the pending changes an approval did not release and holds
// them all when they exceed the limit.
func (pl *planner) limit(rep *GuardReport, approvedSeen map[string]bool, l guardLimit, pending []pendingChange, base int) {
	counted := pending // without an approval, every pending change counts
	if len(pl.in.approved) > 0 {
		counted = nil
		for _, p := range pending {
			if _, ok := pl.in.approved[p.held.key()]; ok {
				approvedSeen[p.held.key()] = true
				rep.ApprovedApplied++
				continue
			}
			counted = append(counted, p)
		}
	}
	n := len(counted)
	check := GuardCheck{Change: l.change, Count: n, Of: base, MaxPercent: l.maxPercent, MaxCount: l.maxCount}
	if base > 0 {
		check.Percent = float64(n) * 100 / float64(base)
	}
	var reason, fired string
	switch {
	case base == 0 || n == 0:
		// Nothing to compare with: the first sync, or nothing of this kind.
	case l.maxCount > 0 && n > l.maxCount:
		fired = limitMaxCount
		reason = fmt.Sprintf("%d %s exceed %s %d", n, l.what, limitMaxCount, l.maxCount)
	case l.maxPercent < 100 && float64(n)*100 > l.maxPercent*float64(base):
		fired = limitKey(l.change)
		reason = fmt.Sprintf("%d %s are %.1f%% of %d %s, over %s %g", n, l.what, check.Percent, base, l.of, fired, l.maxPercent)
	}
	if fired != "" {
		check.Tripped = true
		rep.Tripped = true
		rep.Reason = strings.TrimPrefix(rep.Reason+"; "+reason, "; ")
		for _, p := range counted {
			p.hold()
			p.held.Limit = fired
			rep.Held = append(rep.Held, p.held)
		}
	}
	rep.Checks = append(rep.Checks, check)
}

func limitKey(change string) string {
	switch change {
	case ChangeActivate:
		return limitMaxActivationPercent
	case ChangeMembershipRemoved:
		return limitMaxMembershipPercent
	}
	return limitMaxPercent
}

// pendingDeprovisioning lists active identities the plan deactivates or
// removes, and counts removals of inactive ones, which take no access away.
func (pl *planner) pendingDeprovisioning() ([]pendingChange, int) {
	var pending []pendingChange
	retention := 0
	for _, prev := range pl.candidates() {
		next, stays := pl.desired[prev.ID]
		change := ""
		switch {
		case !prev.Active:
			if !stays {
				retention++
			}
			continue
		case !stays:
			change = ChangeRemove
		case !next.Active:
			change = ChangeDeactivate
		default:
			continue
		}
		pending = append(pending, pendingChange{
			held: pl.heldChange(change, prev, cmp.Or(pl.reasons[prev.ID], RuleRetention)),
			hold: func() { pl.keep(prev) },
		})
	}
	return pending, retention
}

// pendingActivations lists identities the plan makes active that are
// inactive or absent now: joiners on their first day, rehires, and anyone
// a broken answer would wrongly let back in.
func (pl *planner) pendingActivations() []pendingChange {
	activates := func(id string, next *store.Identity) (prev *store.Identity, exists, ok bool) {
		if !next.Active {
			return nil, false, false
		}
		prev, exists = pl.in.view.Identity(id)
		return prev, exists, !exists || !prev.Active
	}
	// Counted first: on a first sync everyone is an activation, and a
	// slice of 100,000 grown by appending allocated five times its size.
	n := 0
	for id, next := range pl.desired {
		if _, _, ok := activates(id, next); ok {
			n++
		}
	}
	pending := make([]pendingChange, 0, n)
	for id, next := range pl.desired {
		prev, exists, ok := activates(id, next)
		if !ok {
			continue
		}
		hold := func() {
			delete(pl.desired, id)
			delete(pl.memberOf, id)
		}
		if exists {
			hold = func() { pl.keep(prev) }
		}
		pending = append(pending, pendingChange{held: pl.heldChange(ChangeActivate, next, pl.reasons[id]), hold: hold})
	}
	return pending
}

// pendingMembershipLosses lists the memberships the plan removes from
// identities that keep their access.
func (pl *planner) pendingMembershipLosses() []pendingChange {
	var pending []pendingChange
	for _, prev := range pl.candidates() {
		next, stays := pl.desired[prev.ID]
		if !stays || pl.shared[prev.ID] || (prev.Active && !next.Active) {
			continue // removed, kept as stored, or a leaver
		}
		wanted := pl.memberOf[prev.ID] // a handful of groups: a scan beats a map
		for _, grp := range pl.in.view.GroupsOf(prev.ID) {
			if slices.ContainsFunc(wanted, func(ref groupRef) bool { return ref.Key == grp.Key }) {
				continue
			}
			held := pl.heldChange(ChangeMembershipRemoved, prev, "memberships recomputed")
			held.GroupID, held.Group = grp.ID, grp.DisplayName
			ref := groupRef{Key: grp.Key, Kind: grp.Kind, DisplayName: grp.DisplayName}
			pending = append(pending, pendingChange{held: held, hold: func() {
				pl.memberOf[prev.ID] = append(slices.Clip(pl.memberOf[prev.ID]), ref)
			}})
		}
	}
	return pending
}

func (pl *planner) heldChange(change string, ident *store.Identity, rule string) HeldChange {
	return HeldChange{Change: change, PersonioID: ident.PersonioID, SCIMID: ident.ID, UserName: ident.UserName, Rule: rule}
}

// planDigest hashes the held changes, so that an approval can say which
// plan it was given.
func planDigest(held []HeldChange) string {
	keys := make([]string, len(held))
	for i, h := range held {
		keys[i] = h.key()
	}
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:16])
}
