package mirror

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// Source is where people come from: the Personio client, or a fake in tests.
type Source interface {
	FetchAll(ctx context.Context) ([]personio.Record, personio.FetchStats, error)
	FetchChanged(ctx context.Context, since time.Time) ([]personio.Record, personio.FetchStats, error)
}

// Engine runs syncs: it fetches people, plans the change set against the
// directory and applies it through the store.
type Engine struct {
	policy *Policy
	store  store.Store
	dir    *store.Directory
	source Source
	ns     store.Namespace
	now    func() time.Time
	logger *slog.Logger
	onRun  func(Report)

	mu sync.Mutex
	// evaluatedDay is the company-zone day on which a run last evaluated
	// every person. Lifecycle dates only move at midnight, so later
	// incremental runs that day need only evaluate the people that changed.
	evaluatedDay personio.Date
}

// EngineOptions wires an engine.
type EngineOptions struct {
	Policy    *Policy
	Store     store.Store
	Directory *store.Directory
	Source    Source
	Namespace store.Namespace
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger
	// OnRun, if set, hears about every finished run (metrics).
	OnRun func(Report)
}

// NewEngine checks the wiring.
func NewEngine(o EngineOptions) (*Engine, error) {
	if o.Policy == nil || o.Store == nil || o.Directory == nil || o.Source == nil {
		return nil, errors.New("mirror engine needs a policy, a store, a directory and a source")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{policy: o.Policy, store: o.Store, dir: o.Directory, source: o.Source, ns: o.Namespace, now: o.Now, logger: o.Logger, onRun: o.OnRun}, nil
}

// Policy returns the compiled configuration the engine applies.
func (e *Engine) Policy() *Policy { return e.policy }

// Mode is how much of Personio a run reads.
type Mode string

const (
	ModeFull        Mode = "full"        // everyone: vanished people become leavers
	ModeIncremental Mode = "incremental" // only people changed since a time
)

// RunOptions say what kind of run to make.
type RunOptions struct {
	Mode    Mode
	Since   time.Time // for incremental runs: Personio changes after this time
	DryRun  bool      // plan only; nothing is applied
	Trigger string    // schedule, api, cli, approval
	// Approves is the id of a held run this run releases: the guard does
	// not hold this run.
	Approves string
	// People makes a targeted run: only these Personio ids are read, by id
	// (see SyncPeople). Mode must be incremental.
	People []string
}

// Report is the account of one run, stored as the run's report.
type Report struct {
	RunID      string              `json:"run_id"`
	Mode       Mode                `json:"mode"`
	Trigger    string              `json:"trigger"`
	DryRun     bool                `json:"dry_run"`
	Status     store.RunStatus     `json:"status"`
	StartedAt  time.Time           `json:"started_at"`
	Duration   time.Duration       `json:"duration_ns"`
	People     int                 `json:"people"` // records read from Personio
	Fetch      personio.FetchStats `json:"fetch"`
	Counts     Counts              `json:"counts"`
	Guard      GuardReport         `json:"guard"`
	Skipped    []Skip              `json:"skipped,omitempty"`
	Conflicts  []string            `json:"conflicts,omitempty"`
	Changes    []PlannedChange     `json:"changes,omitempty"`
	Truncated  int                 `json:"changes_truncated,omitempty"` // planned changes left out of Changes
	Error      string              `json:"error,omitempty"`
	Approves   string              `json:"approves,omitempty"`
	ChangeSeqs [2]int64            `json:"change_seqs,omitempty"` // first and last change-log rows written
}

// maxReportedChanges keeps run reports readable; the change log has all.
const maxReportedChanges = 1000

// ErrFetch marks a run that failed because Personio could not be read
// completely; nothing was applied.
var ErrFetch = errors.New("personio fetch failed")

// Run makes one sync run and records it. An error means the run failed and
// applied nothing; the report says why.
func (e *Engine) Run(ctx context.Context, opts RunOptions) (Report, error) {
	start := e.now()
	rep := Report{RunID: newRunID(start), Mode: opts.Mode, Trigger: opts.Trigger, DryRun: opts.DryRun, Status: store.RunRunning, StartedAt: start.UTC(), Approves: opts.Approves}
	if err := e.save(ctx, rep); err != nil {
		return rep, err
	}
	err := e.run(ctx, opts, &rep)
	rep.Duration = e.now().Sub(start)
	if err != nil {
		rep.Status, rep.Error = store.RunFailed, err.Error()
		e.logger.Error("sync run failed; nothing was applied", "run", rep.RunID, "mode", rep.Mode, "error", err)
	} else {
		e.logRun(rep)
	}
	if serr := e.save(context.WithoutCancel(ctx), rep); serr != nil && err == nil {
		err = serr
	}
	if e.onRun != nil {
		e.onRun(rep)
	}
	return rep, err
}

func (e *Engine) run(ctx context.Context, opts RunOptions, rep *Report) error {
	records, stats, err := e.fetch(ctx, opts)
	rep.Fetch, rep.People = stats, len(records)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if err := e.dir.Refresh(ctx); err != nil {
		return fmt.Errorf("read the store before planning: %w", err)
	}
	in, everyone, err := e.planInput(opts, records)
	if err != nil {
		return err
	}
	plan := e.policy.plan(e.ns, in)
	// The plan holds what it needs; letting the records go keeps a first
	// sync of 100,000 people from holding them through the apply.
	records, in.records = nil, nil
	e.fillReport(rep, plan)
	if opts.DryRun {
		rep.Status = store.RunPlanned
		return nil
	}
	plan, err = e.apply(ctx, opts, in, plan, rep)
	if err != nil {
		return err
	}
	if everyone {
		e.mu.Lock()
		e.evaluatedDay = in.today
		e.mu.Unlock()
	}
	e.fillReport(rep, plan)
	rep.Status = store.RunSucceeded
	if plan.Guard.Tripped {
		rep.Status = store.RunHeld
	}
	return nil
}

// fetch reads Personio. A full answer that is empty while identities exist
// is refused: it is far likelier a broken credential or API than a company
// that lost everyone at once.
func (e *Engine) fetch(ctx context.Context, opts RunOptions) ([]personio.Record, personio.FetchStats, error) {
	if len(opts.People) > 0 {
		return e.fetchPeople(ctx, opts)
	}
	if opts.Mode == ModeIncremental {
		return e.source.FetchChanged(ctx, opts.Since)
	}
	records, stats, err := e.source.FetchAll(ctx)
	if err != nil {
		return nil, stats, err
	}
	if n, _ := e.dir.View().Len(); len(records) == 0 && n > 0 {
		return nil, stats, fmt.Errorf("personio returned no people while %d identities exist; refusing to deprovision everyone", n)
	}
	return records, stats, nil
}

// planInput completes an incremental fetch with everyone else's stored
// source record on the first run of a day, so that date boundaries (a hire
// date, a last working day) flip for people Personio did not report as
// changed. everyone says whether the plan evaluates every person.
func (e *Engine) planInput(opts RunOptions, fetched []personio.Record) (in planInput, everyone bool, err error) {
	view := e.dir.View()
	in = planInput{records: fetched, complete: opts.Mode != ModeIncremental, view: view, today: e.policy.Today(e.now()), approved: opts.Approves != ""}
	if in.complete {
		return in, true, nil
	}
	e.mu.Lock()
	evaluatedToday := e.evaluatedDay == in.today
	e.mu.Unlock()
	if evaluatedToday {
		return in, false, nil
	}
	changed := make(map[string]bool, len(fetched))
	for _, r := range fetched {
		changed[r.ID] = true
	}
	for _, ident := range view.Identities() {
		if changed[ident.PersonioID] || ident.Source == nil {
			continue
		}
		rec, err := recordOf(ident.Source)
		if err != nil {
			return in, false, fmt.Errorf("stored source of identity %s: %w", ident.ID, err)
		}
		in.records = append(in.records, rec)
	}
	return in, true, nil
}

// apply writes the plan. A SCIM client may change an identity between
// planning and applying; the store then refuses the stale versions, and the
// run reads Personio again and plans once more against the newer state.
func (e *Engine) apply(ctx context.Context, opts RunOptions, in planInput, plan Plan, rep *Report) (Plan, error) {
	for attempt := 1; ; attempt++ {
		if plan.ChangeSet.Empty() {
			return plan, nil
		}
		plan.ChangeSet.Cause = "sync run " + rep.RunID
		res, err := e.dir.Apply(ctx, plan.ChangeSet)
		if err == nil {
			rep.ChangeSeqs = [2]int64{res.FirstSeq, res.LastSeq}
			return plan, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			return plan, fmt.Errorf("apply %d identity and %d group changes: %w", len(plan.ChangeSet.Identities), len(plan.ChangeSet.Groups), err)
		}
		if plan, err = e.replan(ctx, opts, in.approved, rep); err != nil {
			return plan, err
		}
	}
}

// replan reads Personio and the store again after a conflict.
func (e *Engine) replan(ctx context.Context, opts RunOptions, approved bool, rep *Report) (Plan, error) {
	if err := e.dir.Refresh(ctx); err != nil {
		return Plan{}, fmt.Errorf("re-read the store after a conflict: %w", err)
	}
	records, stats, err := e.fetch(ctx, opts)
	rep.Fetch.Calls += stats.Calls
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	in, _, err := e.planInput(opts, records)
	if err != nil {
		return Plan{}, err
	}
	in.approved = approved
	return e.policy.plan(e.ns, in), nil
}

func (e *Engine) fillReport(rep *Report, plan Plan) {
	rep.Counts, rep.Guard, rep.Skipped, rep.Conflicts = plan.Counts, plan.Guard, plan.Skipped, plan.Conflicts
	rep.Changes, rep.Truncated = plan.Changes, 0
	if len(rep.Changes) > maxReportedChanges {
		rep.Changes, rep.Truncated = rep.Changes[:maxReportedChanges], len(rep.Changes)-maxReportedChanges
	}
}

func (e *Engine) logRun(rep Report) {
	attrs := []any{"run", rep.RunID, "mode", rep.Mode, "trigger", rep.Trigger, "status", rep.Status, "people", rep.People,
		"created", rep.Counts.Created, "updated", rep.Counts.Updated, "activated", rep.Counts.Activated,
		"deactivated", rep.Counts.Deactivated, "removed", rep.Counts.Removed, "skipped", rep.Counts.Skipped,
		"personio_calls", rep.Fetch.Calls, "duration", rep.Duration}
	if rep.Status == store.RunHeld {
		e.logger.Error("SYNC HELD BY THE GUARD: deactivations and removals were not applied; an administrator must approve the run",
			append(attrs, "reason", rep.Guard.Reason, "held", rep.Counts.Held, "approve", "POST /api/v1/sync/runs/"+rep.RunID+"/approve")...)
		return
	}
	e.logger.Info("sync run finished", attrs...)
}

func (e *Engine) save(ctx context.Context, rep Report) error {
	report, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode report of run %s: %w", rep.RunID, err)
	}
	run := store.Run{ID: rep.RunID, Trigger: rep.Trigger, Mode: string(rep.Mode), DryRun: rep.DryRun, Status: rep.Status,
		StartedAt: rep.StartedAt, Counts: rep.Counts.Map(), Error: rep.Error, Report: report}
	if rep.Status != store.RunRunning {
		run.FinishedAt = rep.StartedAt.Add(rep.Duration)
	}
	if err := e.store.SaveRun(ctx, run); err != nil {
		return fmt.Errorf("record run %s: %w", rep.RunID, err)
	}
	return nil
}

// newRunID makes ids that sort by start time and do not collide between
// replicas.
func newRunID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Approve releases a held run: it marks it approved and makes a full run
// that the guard does not hold. Only the newest non-dry run can be approved,
// so an approval never applies more than an administrator looked at. An
// unknown run is store.ErrNotFound; a run that is not the newest held run is
// store.ErrConflict.
func (e *Engine) Approve(ctx context.Context, runID, by string) (Report, error) {
	target, err := e.store.Run(ctx, runID)
	if err != nil {
		return Report{}, err
	}
	if target.Status != store.RunHeld {
		return Report{}, fmt.Errorf("run %s is %s, not held: %w", runID, target.Status, store.ErrConflict)
	}
	runs, err := e.store.Runs(ctx, 50)
	if err != nil {
		return Report{}, err
	}
	for _, r := range runs {
		if r.DryRun || r.Status == store.RunRunning {
			continue
		}
		if r.ID != runID {
			return Report{}, fmt.Errorf("run %s is newer than %s; approve it if it is held: %w", r.ID, runID, store.ErrConflict)
		}
		break
	}
	if _, err := e.store.TransitionRun(ctx, runID, store.RunHeld, store.RunApproved, by, e.now()); err != nil {
		return Report{}, err
	}
	return e.Run(ctx, RunOptions{Mode: ModeFull, Trigger: "approval", Approves: runID})
}
