package memory

import (
	"maps"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/plan"
)

// logRow is one change-log row as the memory store keeps it. An identity
// create or delete keeps the state it created or deleted instead of a map of
// its attributes: the state is kept anyway (by the store until it changes,
// by the directory that serves it), and the row's After or Before is
// computed from it when the row is read. After a first sync of 100,000
// people that is a pointer per row instead of a map of twenty-odd values.
// Its sequence number is its place in the log.
type logRow struct {
	time                 time.Time
	actor, cause, reason string
	kind                 store.ResourceKind
	op                   store.Op
	resourceID           string
	// state is set only for an identity create or delete whose values were
	// not erased. It is never changed: a new state is a new Identity.
	state *store.Identity
	// detail holds what the row records that no state gives: the changed
	// attributes of an update, a group's diff, erased values.
	detail *rowDetail
}

type rowDetail struct {
	before, after                map[string]string
	membersAdded, membersRemoved []string
}

// newLogRow keeps c; state is the identity a create made or a delete
// removed, when c came from plan.ResolveKeepingStates without its values.
func newLogRow(c store.Change, state *store.Identity) logRow {
	r := logRow{time: c.Time, actor: c.Actor, cause: c.Cause, reason: c.Reason, kind: c.Kind, op: c.Op, resourceID: c.ResourceID}
	if state != nil && c.Before == nil && c.After == nil {
		r.state = state
	}
	if c.Before != nil || c.After != nil || c.MembersAdded != nil || c.MembersRemoved != nil {
		r.detail = &rowDetail{before: c.Before, after: c.After, membersAdded: c.MembersAdded, membersRemoved: c.MembersRemoved}
	}
	return r
}

// change is the row as the store contract returns it, with maps and slices
// of the caller's own.
func (r *logRow) change(seq int64) store.Change {
	c := store.Change{Seq: seq, Time: r.time, Actor: r.actor, Cause: r.cause, Reason: r.reason, Kind: r.kind, ResourceID: r.resourceID, Op: r.op}
	c.Before, c.After = r.values()
	if d := r.detail; d != nil {
		c.MembersAdded, c.MembersRemoved = slices.Clone(d.membersAdded), slices.Clone(d.membersRemoved)
	}
	return c
}

// values are the row's Before and After, new maps on every call.
func (r *logRow) values() (before, after map[string]string) {
	switch {
	case r.state != nil && r.op == store.OpCreate:
		_, after = plan.IdentityDiff(&store.Identity{}, r.state)
	case r.state != nil && r.op == store.OpDelete:
		before, _ = plan.IdentityDiff(r.state, &store.Identity{})
	case r.detail != nil:
		before, after = maps.Clone(r.detail.before), maps.Clone(r.detail.after)
	}
	return before, after
}

// erase replaces the row's values with store.Erased; the state it kept (a
// version of the person) is let go.
func (r *logRow) erase() {
	before, after := r.values()
	r.state = nil
	if before == nil && after == nil && r.detail == nil {
		return
	}
	if r.detail == nil {
		r.detail = &rowDetail{}
	}
	r.detail.before, r.detail.after = store.EraseValues(before), store.EraseValues(after)
}
