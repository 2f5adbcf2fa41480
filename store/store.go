package store

import (
	"context"
	"time"
)

// Store is the one contract every backend fulfils; the conformance suite in
// storetest holds each backend to it.
type Store interface {
	// Apply applies a change set atomically and appends its change-log rows.
	// An update that changes nothing is skipped and logs nothing.
	Apply(ctx context.Context, cs ChangeSet) (ApplyResult, error)

	// State reads every identity and group, consistent with the change log
	// up to the returned sequence number.
	State(ctx context.Context) (State, error)
	// IdentitiesByID and GroupsByID read current states; unknown ids are
	// left out of the answer.
	IdentitiesByID(ctx context.Context, ids []string) ([]Identity, error)
	GroupsByID(ctx context.Context, ids []string) ([]Group, error)

	// Changes reads the change log after a sequence number, oldest first.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// LastSeq is the newest sequence number in the change log (0 if empty).
	LastSeq(ctx context.Context) (int64, error)
	// Watch nudges the returned channel when the change log may have grown,
	// from this process or another one. It never blocks the writer; readers
	// must still poll, a nudge can be lost. The channel closes with ctx.
	Watch(ctx context.Context) <-chan struct{}

	// SaveRun creates or replaces a sync-run record.
	SaveRun(ctx context.Context, r Run) error
	// TransitionRun moves a run from one status to another atomically and
	// returns the updated run; ErrConflict when it is not in status from.
	TransitionRun(ctx context.Context, id string, from, to RunStatus, by string, at time.Time) (Run, error)
	Run(ctx context.Context, id string) (Run, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, limit int) ([]Run, error)

	// CreateToken stores a token; only its hash is ever kept.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash finds a token that is not revoked by the hash of its secret.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	Tokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RotateToken stores next under the name of the current token called
	// next.Name, which stays valid until oldExpiresAt (or its own earlier
	// expiry) and is marked replaced; ErrNotFound when there is none.
	RotateToken(ctx context.Context, next Token, oldExpiresAt, at time.Time) error
	// TouchToken records that a token was used at at (never moving back).
	TouchToken(ctx context.Context, id string, at time.Time) error

	// PushLedger is every push target's cursor and per-resource records.
	PushLedger
	// Outbox is the notifications waiting for delivery and their feeds' cursors.
	Outbox
	// Audit prunes and erases personal data in the change log and run reports.
	Audit

	// TryLead tries to become the single leader for name without waiting.
	// It returns nil and no error when another holder has it.
	TryLead(ctx context.Context, name string) (Leadership, error)

	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	// Backend names the backend for status pages: "postgres" or "memory".
	Backend() string
	Close()
}

// State is a consistent read of the whole directory.
type State struct {
	Identities []Identity
	Groups     []Group
	Seq        int64
	// Interned says the backend interned every identity as it read it (see
	// Intern), so that the directory need not do it again: a second pass
	// made a second source map of everyone at the end of a replica's load,
	// when the heap is largest.
	Interned bool
}

// ChangeQuery selects change-log rows. Zero values mean no restriction;
// Limit 0 means the backend default (1000).
type ChangeQuery struct {
	AfterSeq   int64
	Limit      int
	Since      time.Time
	Until      time.Time
	Actor      string
	Kind       ResourceKind
	ResourceID string
}

// DefaultChangeLimit is how many change-log rows a query returns at most when
// it does not say.
const DefaultChangeLimit = 1000

// Leadership is held until Release or until the backend loses it (a dropped
// database connection); Lost closes then.
type Leadership interface {
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}

// RunStatus is where a sync run stands.
type RunStatus string

const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunHeld      RunStatus = "held"     // the guard kept back deactivations or removals
	RunApproved  RunStatus = "approved" // an administrator released a held run
	RunPlanned   RunStatus = "planned"  // a dry run: computed, nothing applied
)

// Run records one sync run.
type Run struct {
	ID         string
	Trigger    string // "schedule", "api", "cli", "approval"
	Mode       string // "full" or "incremental"
	DryRun     bool
	Status     RunStatus
	StartedAt  time.Time
	FinishedAt time.Time
	Counts     map[string]int
	Error      string
	// Report is the engine's JSON account of the run: skipped people, guard
	// reasons, the plan. The store keeps it opaque.
	Report     []byte
	ApprovedBy string
	ApprovedAt time.Time
}

// Token is an API credential. The secret itself is never stored.
type Token struct {
	ID        string
	Name      string
	Scopes    []string
	Hash      []byte
	CreatedAt time.Time
	RevokedAt time.Time
	// ExpiresAt is when the token stops working (zero: never).
	ExpiresAt time.Time
	// LastUsedAt is when it last authenticated a request, to the minute.
	LastUsedAt time.Time
	// ReplacedAt is when a rotation gave its name to a newer token.
	ReplacedAt time.Time
}

// Expired reports whether the token no longer works at now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// Token scopes. They do not imply each other.
const (
	ScopeSCIMRead  = "scim:read"
	ScopeSCIMWrite = "scim:write"
	ScopeAdmin     = "admin"
)

// HasScope reports whether the token carries scope.
func (t Token) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}
