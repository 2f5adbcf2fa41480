package store

import (
	"errors"
	"time"
)

// Errors every backend returns, so callers can tell outcomes apart with
// errors.Is whatever the backend.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("version conflict")   // IfVersion did not match, or the state changed under a transition
	ErrDuplicate = errors.New("duplicate value")    // a unique attribute is taken (userName, group displayName)
	ErrExists    = errors.New("resource exists")    // a create for an id that is present
	ErrInvalid   = errors.New("invalid change set") // the change set itself is malformed
)

// Op is what a change does to a resource.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// ResourceKind names the two resource types of the directory.
type ResourceKind string

const (
	KindIdentity ResourceKind = "identity"
	KindGroup    ResourceKind = "group"
)

// ChangeSet is everything one actor changes at once. A backend applies it in
// one transaction: every state change and its change-log row, or nothing.
// Apply takes ownership of the maps and slices in it: the caller must not
// change them afterwards (a full sync of 100,000 people would otherwise
// need another copy of everyone).
type ChangeSet struct {
	Actor      string // who: "sync", "scim:okta", "admin:alice"
	Cause      string // why: "sync run 0193…", "PATCH /Users/…"
	Identities []IdentityChange
	Groups     []GroupChange
}

// Empty reports whether the change set changes nothing.
func (cs *ChangeSet) Empty() bool { return len(cs.Identities) == 0 && len(cs.Groups) == 0 }

// IdentityChange creates, updates or deletes one identity. For create and
// update Identity is the whole new state; for delete only ID is read.
// Version, Created and Modified are set by the store.
type IdentityChange struct {
	Op        Op
	Identity  Identity
	IfVersion int64  // when non-zero, the stored version must equal it
	Reason    string // the rule or attribute that caused the change
}

// GroupChange creates, updates or deletes one group; Members is the whole
// new member list.
type GroupChange struct {
	Op        Op
	Group     Group
	IfVersion int64
	Reason    string
}

// Change is one row of the change log: the audit trail, the feed that keeps
// replicas current, and the queue push connectors read with their cursors.
type Change struct {
	Seq        int64
	Time       time.Time
	Actor      string
	Cause      string
	Reason     string
	Kind       ResourceKind
	ResourceID string
	Op         Op
	// Before and After hold only the attributes that changed.
	Before map[string]string
	After  map[string]string
	// MembersAdded and MembersRemoved describe a group's membership change.
	MembersAdded   []string
	MembersRemoved []string
}

// ApplyResult tells what an applied change set became.
type ApplyResult struct {
	FirstSeq int64 // zero when nothing changed
	LastSeq  int64
	// Identities and Groups are the stored states after the apply, in the
	// order of the change set, deleted ones omitted; the ids of those are in
	// DeletedIdentities and DeletedGroups. The caller owns them all unless
	// Shared is set.
	Identities        []Identity
	Groups            []Group
	DeletedIdentities []string
	DeletedGroups     []string
	// Shared says that the states are the store's own, interned (see
	// Intern), and that the store keeps pointers to the elements of
	// Identities and Groups: nobody may change them, nor reorder the
	// slices. A directory then serves them as they are, and a backend that
	// keeps every state in memory does not hold a second copy of everyone.
	Shared bool
}
