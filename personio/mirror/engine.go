package mirror

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

// Source is where people come from: the Personio client, or a fake in tests.
type Source interface {
	FetchAll(ctx context.Context) ([]personio.Record, personio.FetchStats, error)
	FetchChanged(ctx context.Context, since time.Time) ([]personio.Record, personio.FetchStats, error)
	// FetchOne reads one person by Personio id; personio.ErrNotFound when
	// Personio does not know them.
	FetchOne(ctx context.Context, id string) (personio.Record, error)
}

// Engine runs syncs: it fetches people, plans the change set against the
// directory and applies it through the store.
type Engine struct {
	policy     *Policy
	store      store.Store
	dir        *store.Directory
	source     Source
	ns         store.Namespace
	now        func() time.Time
	logger     *slog.Logger
	onRun      func(Report)
	runTimeout time.Duration

	mu sync.Mutex
	// evaluatedDay is the company-zone day on which a run last evaluated
	// every person. Lifecycle dates only move at midnight, so later
	// incremental runs that day need only evaluate the people that changed.
	evaluatedDay personio.Date
	// live holds the ids of the runs this process is making, so that
	// ReapAbandoned never fails a run that is still going.
	live map[string]bool
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
	// RunTimeout is how long a run may stay "running" before another
	// process may declare it abandoned; default one hour.
	RunTimeout time.Duration
}

// defaultRunTimeout is far beyond the minutes a sync of 100,000 people
// takes, so that only a run whose process died is ever declared abandoned.
const defaultRunTimeout = time.Hour

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
	if o.RunTimeout <= 0 {
		o.RunTimeout = defaultRunTimeout
	}
	return &Engine{policy: o.Policy, store: o.Store, dir: o.Directory, source: o.Source, ns: o.Namespace, now: o.Now,
		logger: o.Logger, onRun: o.OnRun, runTimeout: o.RunTimeout, live: map[string]bool{}}, nil
}

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
	// Approves is the id of the held run this run releases.
	Approves string
	// People makes a targeted run: only these Personio ids are read, by id
	// (see SyncPeople). Mode must be incremental.
	People []string
	// approved are the changes of that run the administrator released.
	approved map[string]HeldChange
}

// Report is the account of one run, stored as the run's report.
type Report struct {
	RunID   string `json:"run_id"`
	Mode    Mode   `json:"mode"`
	Trigger string `json:"trigger"`
	// ModeNote says why the run reads more than was asked for (a full run
	// instead of an incremental one).
	ModeNote   string              `json:"mode_note,omitempty"`
	DryRun     bool                `json:"dry_run"`
	Status     store.RunStatus     `json:"status"`
	StartedAt  time.Time           `json:"started_at"`
	Duration   time.Duration       `json:"duration_ns"`
	People     int                 `json:"people"` // records read from Personio
	Fetch      personio.FetchStats `json:"fetch"`
	Lookups    int                 `json:"vanish_lookups,omitempty"` // people missing from the listing looked up by id
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
	today := e.policy.today(start)
	rep := Report{RunID: newRunID(start), Trigger: opts.Trigger, DryRun: opts.DryRun, Status: store.RunRunning, StartedAt: start.UTC(), Approves: opts.Approves}
	opts.Mode, rep.ModeNote = e.effectiveMode(opts, today)
	rep.Mode = opts.Mode
	e.setLive(rep.RunID, true)
	defer e.setLive(rep.RunID, false)
	if err := e.save(ctx, rep); err != nil {
		return rep, err
	}
	err := e.run(ctx, opts, today, &rep)
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

func (e *Engine) setLive(id string, live bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if live {
		e.live[id] = true
	} else {
		delete(e.live, id)
	}
}

func (e *Engine) run(ctx context.Context, opts RunOptions, today personio.Date, rep *Report) error {
	in, err := e.read(ctx, opts, today, rep)
	if err != nil {
		return err
	}
	plan := e.policy.plan(e.ns, &in)
	// The records and the view planned from are not needed past the plan:
	// dropped here, a first sync's 100,000 records are not held through
	// the apply, the peak of a run.
	complete := in.complete
	in = planInput{}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run cancelled while planning: %w", err)
	}
	e.fillReport(rep, plan)
	if opts.DryRun {
		rep.Status = store.RunPlanned
		return nil
	}
	plan, err = e.apply(ctx, opts, today, plan, rep)
	if err != nil {
		return err
	}
	if complete {
		e.mu.Lock()
		e.evaluatedDay = today
		e.mu.Unlock()
	}
	e.fillReport(rep, plan)
	rep.Status = store.RunSucceeded
	if plan.Guard.Tripped {
		rep.Status = store.RunHeld
	}
	return nil
}

// effectiveMode turns an incremental run into a full one when it cannot
// be incremental: with no time to start from, or as the first run of a
// company day, when date rules flip for everyone, including joiners who
// have no identity yet and so no stored record to re-evaluate.
func (e *Engine) effectiveMode(opts RunOptions, today personio.Date) (Mode, string) {
	if opts.Mode != ModeIncremental {
		return ModeFull, ""
	}
	if len(opts.People) > 0 {
		return ModeIncremental, "" // reads the named people only; date rules flip on the next scheduled run
	}
	if opts.Since.IsZero() {
		return ModeFull, "no successful run to continue from: a full run instead"
	}
	e.mu.Lock()
	evaluatedToday := e.evaluatedDay == today
	e.mu.Unlock()
	if !evaluatedToday {
		return ModeFull, "first run of the company day: every person is evaluated, date rules flip at midnight"
	}
	return ModeIncremental, ""
}

// read fetches Personio, confirms who vanished, and brings the directory
// up to date: everything a plan is computed from.
func (e *Engine) read(ctx context.Context, opts RunOptions, today personio.Date, rep *Report) (planInput, error) {
	if err := e.dir.Refresh(ctx); err != nil {
		return planInput{}, fmt.Errorf("read the store before planning: %w", err)
	}
	records, stats, err := e.fetch(ctx, opts)
	rep.Fetch.Calls += stats.Calls
	rep.Fetch.Duration += stats.Duration
	rep.People = len(records)
	if err != nil {
		return planInput{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	complete := opts.Mode == ModeFull
	if complete {
		if err := e.confirmVanished(ctx, records, rep); err != nil {
			return planInput{}, fmt.Errorf("%w: %w", ErrFetch, err)
		}
	}
	return planInput{ctx: ctx, records: records, complete: complete, view: e.dir.View(), today: today, approved: opts.approved}, nil
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

// confirmVanished looks up by id every person who has an identity but is
// missing from a full listing. Only Personio's "not found" makes someone a
// leaver: a person it still knows means the listing left people out, and
// the run must fail before it deactivates anyone. People already recorded
// as vanished were confirmed before and are not asked about again, and
// inactive leavers are not asked about at all: their access is gone, the
// vanished rule keeps their retention dates, and HR deleting many of them
// at once must not block every run.
func (e *Engine) confirmVanished(ctx context.Context, records []personio.Record, rep *Report) error {
	listed := make(map[string]bool, len(records))
	for i := range records {
		listed[records[i].ID] = true
	}
	var missing []string
	for _, ident := range e.dir.View().Identities() {
		settled := ident.Lifecycle.VanishedSource || (ident.Lifecycle.State == store.StateLeaver && !ident.Active)
		if ident.PersonioID != "" && !listed[ident.PersonioID] && !settled {
			missing = append(missing, ident.PersonioID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if limit := e.policy.guard.MaxLookups; len(missing) > limit {
		return fmt.Errorf("%d people with an identity are missing from the listing, more than guard.max_lookups (%d) to confirm one by one: the listing looks incomplete", len(missing), limit)
	}
	slices.SortFunc(missing, comparePersonIDs)
	for _, id := range missing {
		rep.Lookups++
		_, err := e.source.FetchOne(ctx, id)
		switch {
		case errors.Is(err, personio.ErrNotFound):
		case err == nil:
			return fmt.Errorf("person %s is missing from the listing but Personio still knows them: the listing is incomplete", id)
		default:
			return fmt.Errorf("confirm that person %s is gone: %w", id, err)
		}
	}
	return nil
}

// apply writes the plan. A SCIM client may change an identity between
// planning and applying; the store then refuses the stale versions, and the
// run reads Personio again and plans once more against the newer state.
func (e *Engine) apply(ctx context.Context, opts RunOptions, today personio.Date, plan SyncPlan, rep *Report) (SyncPlan, error) {
	for attempt := 1; ; attempt++ {
		if plan.ChangeSet.Empty() {
			return plan, nil
		}
		plan.ChangeSet.Cause = "sync run " + rep.RunID
		// The run is done with the change set once it is handed over: the
		// store copies what it writes, and a first sync's 100,000 identities
		// should not be held a second time through the apply and the
		// directory's update. A retry plans a new one.
		cs := plan.ChangeSet
		plan.ChangeSet = store.ChangeSet{}
		identities, groups := len(cs.Identities), len(cs.Groups)
		res, err := e.dir.Apply(ctx, cs)
		if err == nil {
			rep.ChangeSeqs = [2]int64{res.FirstSeq, res.LastSeq}
			return plan, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			return plan, fmt.Errorf("apply %d identity and %d group changes: %w", identities, groups, err)
		}
		in, err := e.read(ctx, opts, today, rep)
		if err != nil {
			return plan, fmt.Errorf("re-read after a conflicting write: %w", err)
		}
		plan = e.policy.plan(e.ns, &in)
	}
}

func (e *Engine) fillReport(rep *Report, plan SyncPlan) {
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
		e.logger.Error("SYNC HELD BY THE GUARD: changes of access over a guard limit were not applied; an administrator must review and approve the run",
			append(attrs, "reason", rep.Guard.Reason, "held", rep.Counts.Held, "plan_digest", rep.Guard.PlanDigest, "review", "GET /api/v1/sync/runs/"+rep.RunID)...)
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
		StartedAt: rep.StartedAt, Counts: rep.Counts.asMap(), Error: rep.Error, Report: report}
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

// ErrDigestMismatch means an approval named a plan digest other than the
// held run's: the administrator reviewed another plan.
var ErrDigestMismatch = fmt.Errorf("the plan digest does not match the held run's: %w", store.ErrConflict)

// Approve releases a held run: it marks it approved by "by" and makes a
// full run in which exactly the changes the held run lists pass the guard,
// if Personio still wants them; changes it no longer wants are dropped,
// and anything new that trips the guard is held again, by this new run.
// digest, if not empty, must be the held run's plan digest. An unknown run
// is store.ErrNotFound; a run that is not held, or a digest that does not
// match, is store.ErrConflict.
func (e *Engine) Approve(ctx context.Context, runID, by, digest string) (Report, error) {
	target, err := e.store.Run(ctx, runID)
	if err != nil {
		return Report{}, err
	}
	if target.Status != store.RunHeld {
		return Report{}, fmt.Errorf("run %s is %s, not held: %w", runID, target.Status, store.ErrConflict)
	}
	var held Report
	if err := json.Unmarshal(target.Report, &held); err != nil {
		return Report{}, fmt.Errorf("read the report of run %s: %w", runID, err)
	}
	if digest != "" && digest != held.Guard.PlanDigest {
		return Report{}, fmt.Errorf("run %s: %w", runID, ErrDigestMismatch)
	}
	approved := make(map[string]HeldChange, len(held.Guard.Held))
	for _, h := range held.Guard.Held {
		approved[h.key()] = h
	}
	if _, err := e.store.TransitionRun(ctx, runID, store.RunHeld, store.RunApproved, by, e.now()); err != nil {
		return Report{}, err
	}
	rep, err := e.Run(ctx, RunOptions{Mode: ModeFull, Trigger: "approval", Approves: runID, approved: approved})
	if err != nil {
		// Nothing was applied: the held run stays held, to be approved again.
		e.restoreHeld(context.WithoutCancel(ctx), target)
	}
	return rep, err
}

func (e *Engine) restoreHeld(ctx context.Context, target store.Run) {
	if _, err := e.store.TransitionRun(ctx, target.ID, store.RunApproved, store.RunHeld, "", time.Time{}); err != nil {
		e.logger.Error("the approval run failed and the held run could not be restored to held", "run", target.ID, "error", err)
		return
	}
	if err := e.store.SaveRun(ctx, target); err != nil {
		e.logger.Error("the approval run failed and the held run could not be restored to held", "run", target.ID, "error", err)
	}
}

// ReapAbandoned marks runs that are still "running" after the run timeout,
// and that this process is not making, as failed: their process died
// (killed, node lost) and will never finish them. It reports how many it
// marked.
func (e *Engine) ReapAbandoned(ctx context.Context) (int, error) {
	runs, err := e.store.Runs(ctx, 100)
	if err != nil {
		return 0, fmt.Errorf("list runs to find abandoned ones: %w", err)
	}
	reaped := 0
	now := e.now()
	for _, r := range runs {
		e.mu.Lock()
		live := e.live[r.ID]
		e.mu.Unlock()
		if r.Status != store.RunRunning || live || now.Sub(r.StartedAt) < e.runTimeout {
			continue
		}
		if _, err := e.store.TransitionRun(ctx, r.ID, store.RunRunning, store.RunFailed, "", now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue // it finished after all
			}
			return reaped, fmt.Errorf("mark run %s abandoned: %w", r.ID, err)
		}
		if err := e.store.SaveRun(ctx, abandoned(r, now, e.runTimeout)); err != nil {
			return reaped, fmt.Errorf("mark run %s abandoned: %w", r.ID, err)
		}
		e.logger.Warn("a sync run never finished; it is marked failed (abandoned)", "run", r.ID, "started_at", r.StartedAt)
		reaped++
	}
	return reaped, nil
}

// abandoned is the record of a run whose process died.
func abandoned(r store.Run, now time.Time, timeout time.Duration) store.Run {
	r.Status, r.FinishedAt = store.RunFailed, now
	r.ApprovedBy, r.ApprovedAt = "", time.Time{}
	r.Error = fmt.Sprintf("abandoned: still running after %s and no process is making it (killed or lost); its changes are applied in one transaction, so the change log shows whether they were", timeout)
	var rep Report
	if json.Unmarshal(r.Report, &rep) == nil {
		rep.Status, rep.Error = r.Status, r.Error
		if b, err := json.Marshal(rep); err == nil {
			r.Report = b
		}
	}
	return r
}
