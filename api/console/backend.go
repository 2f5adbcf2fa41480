package console

import (
	"context"
	"errors"
	"time"
)

// Backend is everything the console reads and does. The api package
// implements it over the same store, directory, scheduler and push workers
// the admin API uses, so that a click and an API call take one path.
type Backend interface {
	Overview(ctx context.Context) (Overview, error)
	Runs(ctx context.Context, limit int) ([]Run, error)
	Run(ctx context.Context, id string) (RunDetail, error)
	// Approve applies a held run; digest is the plan digest the approver
	// saw, so that a plan that changed since is not approved blindly.
	Approve(ctx context.Context, id, digest, by string) (Run, error)
	People(ctx context.Context, query string, limit int) ([]Person, int, error)
	Person(ctx context.Context, id string) (PersonDetail, error)
	Groups(ctx context.Context, query string, limit int) ([]Group, int, error)
	Group(ctx context.Context, id string) (GroupDetail, error)
	Audit(ctx context.Context, f AuditFilter) ([]Change, error)
	Targets(ctx context.Context) ([]Target, error)
	TargetRecords(ctx context.Context, target, status string, limit int) ([]Record, error)
	Release(ctx context.Context, target, id, by string) error
	PushNow(ctx context.Context, target, id, by string) (string, error)
	// Preview evaluates a posted configuration (empty: the running one)
	// for everyone or one Personio person; ErrUnsupported without Personio.
	Preview(ctx context.Context, config, personID string) (Preview, error)
}

var (
	// ErrNotFound is what a Backend returns for an unknown id.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported says the running service cannot do this (no Personio
	// credentials, no targets).
	ErrUnsupported = errors.New("not available in this deployment")
)

// Overview is the first page.
type Overview struct {
	Version        string
	SyncingEnabled bool
	LastSync       *Run
	Staleness      time.Duration
	HeldRuns       []Run
	Identities     map[string]int // "total", "active", "inactive", and by lifecycle state
	Groups         int
	Targets        []Target
	RecentFailures []Run
}

// Run is a sync run as listed.
type Run struct {
	ID         string
	Trigger    string
	Mode       string
	DryRun     bool
	Status     string
	StartedAt  time.Time
	FinishedAt time.Time
	Counts     map[string]int
	Error      string
	ApprovedBy string
	Digest     string
}

// Held reports whether the run waits for an approval.
func (r Run) Held() bool { return r.Status == "held" }

// RunDetail is one run with what it changed and what it holds.
type RunDetail struct {
	Run
	GuardReason string
	Planned     []PlannedChange // changes the run made or plans
	Held        []PlannedChange // changes the guard keeps back
	Changes     []Change        // change-log rows the run wrote
}

// PlannedChange is one line of a run's plan.
type PlannedChange struct {
	Op, Kind, ID, PersonioID, Name, Reason, Group string
}

// Person is an identity in a listing.
type Person struct {
	ID, PersonioID, UserName, DisplayName, Email, Department, State string
	Active                                                          bool
}

// PersonDetail is everything the console shows about one person.
type PersonDetail struct {
	Person
	Attributes []KV
	Lifecycle  Lifecycle
	Groups     []Group
	Records    []Record // one per target that knows the person
	History    []Change
	Targets    []string // targets a push now can go to
}

// Lifecycle says where a person stands and why.
type Lifecycle struct {
	State, HireDate, EndDate, InactiveSince, RemoveAfter, Rule string
	ScopeExcluded, VanishedSource                              bool
}

// KV is one attribute.
type KV struct{ Key, Value string }

// Group is a group in a listing.
type Group struct {
	ID, DisplayName, Kind string
	Members               int
}

// GroupDetail is a group with its members.
type GroupDetail struct {
	Group
	People []Person
}

// AuditFilter selects change-log rows.
type AuditFilter struct {
	Actor, Resource, Kind string
	Since, Until          time.Time
	AfterSeq              int64
	Limit                 int
}

// Change is one change-log row.
type Change struct {
	Seq                                  int64
	Time                                 time.Time
	Actor, Cause, Reason, Kind, Resource string
	Op                                   string
	Summary                              string // the changed attributes, before → after
}

// Target is a push target's state.
type Target struct {
	Name, Type, State, LastError, HoldReason string
	Live                                     bool
	LagRows                                  int64
	LagSeconds                               float64
	LastSuccess                              time.Time
	Counts                                   map[string]int
	Held                                     int
	Quarantined                              int64
}

// Record is one resource in a target's ledger.
type Record struct {
	Target, ID, Kind, TargetID, Status, LastError string
	Attempts                                      int
	LastSuccess, LastAttempt                      time.Time
}

// Preview is what a configuration would make of Personio's current data.
type Preview struct {
	People     int
	Counts     map[string]int
	GuardNote  string
	Identities []PreviewIdentity
	Truncated  bool
}

// PreviewIdentity is one identity as the previewed configuration makes it.
type PreviewIdentity struct {
	ID, PersonioID, State, Rule string
	Attributes                  []KV
	Groups                      []string
}

// Refusal is an error whose text is safe to show the user: the service
// refused the action for a reason it can name (a run no longer held, a
// digest that does not match, another replica syncing).
type Refusal string

func (r Refusal) Error() string { return string(r) }
