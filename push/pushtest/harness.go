// Package pushtest holds the conformance suite every push target type passes
// against its simulator. A target type's own tests supply a Harness; the
// suite drives the real worker over a real store and checks what arrived in
// the simulator.
package pushtest

import (
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
)

// Harness opens one target type against fresh simulators.
type Harness struct {
	// Type is the target type's configuration name: scim, entra, google.
	Type string
	// Open starts a fresh, empty simulator (stopped with t's cleanup) and
	// returns a target connected to it and the suite's view of the
	// simulator. Two calls give two independent simulators.
	Open func(t testing.TB, opts Options) (push.Target, Sim)
	// Groups says whether the target type pushes groups; the group cases
	// are skipped by name for types that do not (Entra), and the suite
	// checks that such a target is never handed a group.
	Groups bool
}

// Options tune a simulator for one case.
type Options struct {
	// Now is the clock of the simulator and of the target.
	Now func() time.Time
	// Mapping is the target's `mapping` section: target attribute → CEL
	// over the identity. The suite passes the worker the same section; the
	// target receives the evaluated values in Item.Identity.Mapped.
	Mapping map[string]string
}

// Sim is what the suite reads from and does to a simulator. Users are found
// by the Personio id the target type anchors them with (externalId for
// SCIM, employeeId for Entra, externalIds[organization] for Google).
type Sim interface {
	// User returns the user the simulator holds for a Personio id.
	User(personioID string) (SimUser, bool)
	// Users counts the users the simulator holds.
	Users() int
	// Group returns the group the simulator holds for our group's display
	// name (for Google: the group whose name is that display name).
	Group(displayName string) (SimGroup, bool)
	// Writes counts the write requests the simulator accepted so far
	// (creates, updates, deletes, membership changes), across every
	// resource. Reads are not counted.
	Writes() int
	// Reject makes every write for the Personio id fail permanently with
	// the target's per-record data error (a 400 for SCIM and Google, a
	// failed provisioning-log entry for Entra) until Accept is called.
	Reject(personioID string)
	Accept(personioID string)
	// Throttle makes the next n requests answer the target's throttling
	// error (429 with Retry-After, or Google's 403 userRateLimitExceeded)
	// with the given Retry-After.
	Throttle(n int, retryAfter time.Duration)
	// Tamper changes the user's display name behind the product's back, as
	// a target restored from a backup would (drift for reconcile).
	Tamper(personioID string, displayName string)
	// Settle makes whatever the simulator processes asynchronously visible
	// (Entra's queue and its provisioning-log delay); a no-op for
	// synchronous simulators.
	Settle()
}

// SimUser is a user as the simulator holds it.
type SimUser struct {
	TargetID    string
	Login       string // userName, userPrincipalName or primaryEmail
	GivenName   string
	FamilyName  string
	DisplayName string
	Department  string
	Active      bool // false when disabled or suspended
	// ManagerPersonioID is the Personio id of the user's manager, as the
	// simulator resolved it; empty without one.
	ManagerPersonioID string
}

// SimGroup is a group as the simulator holds it.
type SimGroup struct {
	TargetID string
	Name     string
	// MemberPersonioIDs are the members' Personio ids, sorted.
	MemberPersonioIDs []string
}
