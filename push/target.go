// Package push delivers the directory to systems that only accept pushes
// (Entra ID, Active Directory through Entra, Google Workspace, any SCIM
// server). A target type translates desired state into its API; the worker
// in this package owns everything else, once, for every target: the cursor
// in the change log, fingerprints, order, batching, rate limits, retries,
// quarantine, reconcile, dry run and the guard.
package push

import (
	"context"
	"net/http"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// Target makes one outside system hold the state it is given. It never reads
// the store and never decides who is in scope: the worker does both.
type Target interface {
	// Push makes the target hold the items' desired state and returns one
	// result per item, in the order given. A non-nil error means the batch
	// as a whole failed (unreachable, unauthorized, garbage answers):
	// nothing in it counts as delivered and the worker retries the batch.
	//
	// With dry set, the target sends no write: it may still read what
	// matching needs, and reports in each result the requests it would
	// have sent.
	Push(ctx context.Context, items []Item, dry bool) ([]Result, error)

	// Info describes the target type's limits and abilities.
	Info() Info
}

// Confirmer is implemented by targets that accept work and process it later
// (Entra's bulkUpload answers 202 and reports outcomes in its provisioning
// logs minutes afterwards). The worker calls Confirm for records that are
// pending and records each outcome it returns; an item missing from the
// answer stays pending.
type Confirmer interface {
	Confirm(ctx context.Context, pending []store.PushRecord) ([]Result, error)
}

// Info says how the worker should feed a target.
type Info struct {
	Type string // the configuration's type: scim, entra, google
	// MaxBatch is the most items one Push call may carry (Entra: 50).
	MaxBatch int
	// Groups says whether the target holds groups at all; when false the
	// worker never hands it group items.
	Groups bool
	// DeleteOnRemoval says whether a removed identity (retention ended) is
	// deleted in the target; when false the worker stops sending it and
	// marks its record gone.
	DeleteOnRemoval bool
}

// Item is one resource the target should hold.
type Item struct {
	Kind store.ResourceKind
	// ID is our id for the resource (the SCIM id of the identity or group).
	ID string
	// Identity is the desired state of an identity item; nil for groups.
	Identity *Identity
	// Group is the desired state of a group item; nil for identities.
	Group *Group
	// Delete says the resource should no longer exist in the target (an
	// identity removed after retention, a group removed, or a resource that
	// left the target's scope). Identity or Group then hold the last known
	// state, when there was one.
	Delete bool
	// Previous is what the target acknowledged last time (zero when never):
	// its id for the resource and the state it returned.
	Previous store.PushRecord
}

// Identity is an identity as a target receives it.
type Identity struct {
	store.Identity
	// Manager is the manager's identity, resolved for the target, or nil.
	Manager *Ref
	// Mapped holds the target's own attributes, from its `mapping` in the
	// configuration (CEL over the identity), for example an OU path or a
	// UPN. Keys are the mapping's keys.
	Mapped map[string]string
	// Groups are the groups the identity belongs to that the target holds.
	Groups []Ref
}

// Group is a group as a target receives it.
type Group struct {
	store.Group
	// Members are the group's members the target holds, resolved.
	Members []Ref
	// Mapped holds the target's own group attributes (for example a Google
	// group email from a template).
	Mapped map[string]string
}

// Ref names another resource: our id, the Personio id and the work email,
// and the target's id for it when the target acknowledged it before.
type Ref struct {
	ID         string
	PersonioID string
	UserName   string
	Email      string
	TargetID   string
}

// Outcome is what became of an item.
type Outcome string

const (
	// Done: the target holds the state (or, for Delete, no longer holds the
	// resource).
	Done Outcome = "done"
	// Pending: accepted for asynchronous processing (see Confirmer).
	Pending Outcome = "pending"
	// Skipped: the target declined the item on purpose (out of its own
	// scope); not a failure and not retried until the item changes.
	Skipped Outcome = "skipped"
	// Failed: the item was refused or could not be delivered.
	Failed Outcome = "failed"
)

// Result is the outcome of one item.
type Result struct {
	ID      string // the item's ID
	Outcome Outcome
	// TargetID is the target's id for the resource, when known.
	TargetID string
	// State is opaque data the target wants back as Previous.State next
	// time (the member ids it holds, an ETag, an upload correlation id).
	State []byte
	// Error says why an item failed, in the target's words, without personal
	// data. Retryable marks a failure worth retrying soon (throttling,
	// transient server errors, eventual consistency) as opposed to a data
	// error that waits for the item to change.
	Error      string
	Code       string // the target's error code, when it gives one
	Retryable  bool
	RetryAfter time.Duration
	// Requests are the write requests sent (or, in a dry run, that would be
	// sent) for this item, for previews and the record's detail.
	Requests []Request
}

// Request is one HTTP request as previews and record details show it.
// Bodies carry no secrets; credentials are never included.
type Request struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Body   []byte      `json:"body,omitempty"`
	Status int         `json:"status,omitempty"` // the answer's status, 0 in a dry run
	Answer []byte      `json:"answer,omitempty"` // the answer's body, capped
	Header http.Header `json:"-"`
}
