package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// WorkerOptions wire one target's worker.
type WorkerOptions struct {
	Config TargetConfig
	Target Target
	// Rules are the compiled scope and mapping; nil compiles Config's.
	Rules     *Rules
	Store     store.Store
	Ledger    store.PushLedger // default: Store
	Directory *store.Directory
	Now       func() time.Time
	// Seed makes the back-off jitter reproducible.
	Seed   uint64
	Logger *slog.Logger
	// PollInterval is how often Run looks for work without a nudge
	// (default 5 s).
	PollInterval time.Duration
	// UnconfirmedAfter fails a pending item the target has not confirmed in
	// this time (default 1 h).
	UnconfirmedAfter time.Duration
	// RowsPerPass bounds the change-log rows one pass reads (default 1000).
	RowsPerPass int
	// OnProgress reports, during a pass, how many items are done of how
	// many the pass sends (for the command line's progress line).
	OnProgress func(done, total int)
	// OnUndelivered observes a deactivation or removal that could not be
	// delivered (metrics).
	OnUndelivered func(target string)
}

// Worker pushes the directory to one target. Run follows the change log
// while this replica leads the target; Step and Pass do one unit of work
// for tests and the command line.
type Worker struct {
	name   string
	opts   WorkerOptions
	target Target
	info   Info
	rules  *Rules
	ledger store.PushLedger
	now    func() time.Time
	log    *slog.Logger

	passMu sync.Mutex // one pass or on-demand push at a time in this process
	lead   store.Leadership

	mu   sync.Mutex // guards st and rng
	st   status
	rng  *rand.Rand
	wake chan struct{}
	// A dry run saves nothing: its cursor and last reconcile live in memory.
	dryCur           int64
	dryLastReconcile time.Time
}

// status is what Status reports, kept as the worker goes.
type status struct {
	state          string
	leader         bool
	lastPass       time.Time
	lastSuccess    time.Time
	lastError      string
	backoffUntil   time.Time
	batchFailures  int
	pushed, failed int64
	quarantined    int64
	undelivered    int64
	counts         map[store.PushStatus]int
	lastDry        []ItemReport
}

// Worker states, as Status and the API report them.
const (
	StateIdle      = "idle"
	StatePushing   = "pushing"
	StateBackoff   = "backing_off"
	StateStandby   = "standby" // another replica leads this target
	StateHeld      = "held"    // the guard holds changes for approval
	StateStopped   = "stopped"
	StateReconcile = "reconciling"
)

// NewWorker opens a target's worker. It reads nothing yet: the ledger's
// counts per status are read in the background when Run starts (or by the
// first Status), so that a large ledger does not delay the first push.
func NewWorker(ctx context.Context, o WorkerOptions) (*Worker, error) {
	if o.Target == nil || o.Store == nil || o.Directory == nil {
		return nil, errors.New("push worker: Target, Store and Directory are required")
	}
	if o.Config.Name == "" {
		return nil, errors.New("push worker: the target needs a name")
	}
	if o.Ledger == nil {
		l, ok := o.Store.(store.PushLedger)
		if !ok {
			return nil, errors.New("push worker: the store keeps no push ledger")
		}
		o.Ledger = l
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.UnconfirmedAfter <= 0 {
		o.UnconfirmedAfter = time.Hour
	}
	if o.RowsPerPass <= 0 {
		o.RowsPerPass = store.DefaultChangeLimit
	}
	if o.Config.QuarantineAfter <= 0 {
		o.Config.QuarantineAfter = DefaultQuarantineAt
	}
	if o.Config.ReconcileEvery <= 0 {
		o.Config.ReconcileEvery = DefaultReconcileEvery
	}
	if o.Rules == nil {
		r, err := CompileRules(o.Config.Scope, o.Config.Mapping)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", o.Config.Name, err)
		}
		o.Rules = r
	}
	info := o.Target.Info()
	if info.MaxBatch <= 0 {
		info.MaxBatch = 100
	}
	w := &Worker{
		name: o.Config.Name, opts: o, target: o.Target, info: info, rules: o.Rules, ledger: o.Ledger,
		now: o.Now, log: o.Logger.With("target", o.Config.Name),
		rng:  rand.New(rand.NewPCG(o.Seed, 0x51ed270b)),
		wake: make(chan struct{}, 1),
		st:   status{state: StateStandby},
	}
	return w, nil
}

// Name is the target's configured name.
func (w *Worker) Name() string { return w.name }

// Info is the target type's description.
func (w *Worker) Info() Info { return w.info }

// Config is the target's configuration entry.
func (w *Worker) Config() TargetConfig { return w.opts.Config }

// Run follows the change log while this replica leads the target, and
// stands by otherwise, until ctx ends. It stops pushing at once when the
// leadership is lost.
func (w *Worker) Run(ctx context.Context) {
	nudges := w.opts.Store.Watch(ctx)
	tick := time.NewTicker(w.opts.PollInterval)
	defer tick.Stop()
	defer w.Close(context.WithoutCancel(ctx))
	go func() {
		if err := w.ensureCounts(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("count the ledger's records", "error", err)
		}
	}()
	for {
		if _, err := w.Step(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNotLeader) {
			w.log.Warn("push pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-nudges:
		case <-w.wake:
		case <-tick.C:
		}
	}
}

// ErrNotLeader means another replica leads the target.
var ErrNotLeader = errors.New("another replica leads this target")

// Step takes the target's leadership if it is free and makes one pass
// while holding it. Without the leadership it does nothing and reports
// ErrNotLeader. A pass stops at once when the leadership is lost.
func (w *Worker) Step(ctx context.Context) (PassReport, error) {
	lead, err := w.leadership(ctx)
	if err != nil {
		return PassReport{}, err
	}
	if lead == nil {
		return PassReport{}, ErrNotLeader
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lead.Lost():
			cancel()
		case <-pctx.Done():
		}
	}()
	rep, err := w.Pass(pctx)
	select {
	case <-lead.Lost():
		w.dropLeadership()
		return rep, fmt.Errorf("target %s: leadership lost; stopped", w.name)
	default:
	}
	return rep, err
}

func (w *Worker) leadership(ctx context.Context) (store.Leadership, error) {
	w.mu.Lock()
	lead := w.lead
	w.mu.Unlock()
	if lead != nil {
		select {
		case <-lead.Lost():
			w.dropLeadership()
		default:
			return lead, nil
		}
	}
	lead, err := w.opts.Store.TryLead(ctx, "push:"+w.name)
	if err != nil {
		return nil, fmt.Errorf("target %s: take leadership: %w", w.name, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lead = lead
	w.st.leader = lead != nil
	if lead == nil {
		w.st.state = StateStandby
		return nil, nil
	}
	if w.st.state == StateStandby {
		w.st.state = StateIdle
	}
	return lead, nil
}

func (w *Worker) dropLeadership() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lead, w.st.leader, w.st.state = nil, false, StateStandby
}

// Close gives the leadership up, so another replica takes over at once.
func (w *Worker) Close(ctx context.Context) {
	w.mu.Lock()
	lead := w.lead
	w.lead, w.st.leader, w.st.state = nil, false, StateStopped
	w.mu.Unlock()
	if lead != nil {
		if err := lead.Release(ctx); err != nil {
			w.log.Warn("release push leadership", "error", err)
		}
	}
}

func (w *Worker) nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// ensureCounts reads the ledger's counts once.
func (w *Worker) ensureCounts(ctx context.Context) error {
	w.mu.Lock()
	done := w.st.counts != nil
	w.mu.Unlock()
	if done {
		return nil
	}
	return w.recount(ctx)
}

// recount reads the ledger's counts per status (start-up, reconcile).
// Outcomes saved while it reads may be off by their number until the next
// recount; the counts are for display.
func (w *Worker) recount(ctx context.Context) error {
	counts := map[store.PushStatus]int{}
	after := ""
	for {
		recs, err := w.ledger.ListPushRecords(ctx, w.name, store.PushQuery{AfterID: after, Limit: scanPage})
		if err != nil {
			return fmt.Errorf("target %s: count ledger records: %w", w.name, err)
		}
		for _, r := range recs {
			if r.ResourceID != controlID {
				counts[r.Status]++
			}
		}
		if len(recs) < scanPage {
			break
		}
		after = recs[len(recs)-1].ResourceID
	}
	w.mu.Lock()
	w.st.counts = counts
	w.mu.Unlock()
	return nil
}

// setCounts replaces the counts with those of a full set of records.
func (w *Worker) setCounts(recs map[string]store.PushRecord) {
	counts := map[store.PushStatus]int{}
	for id, r := range recs {
		if r.ResourceID != "" && id != controlID {
			counts[r.Status]++
		}
	}
	w.mu.Lock()
	w.st.counts = counts
	w.mu.Unlock()
}

// Status is a target's state for the API and metrics.
type Status struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Live   bool   `json:"live"`
	State  string `json:"state"`
	Leader bool   `json:"leader"`
	Cursor int64  `json:"cursor"`
	// LagRows is how many change-log rows the target has not been handed;
	// LagSeconds how old the oldest of them is.
	LagRows      int64                    `json:"lagRows"`
	LagSeconds   float64                  `json:"lagSeconds"`
	LastPass     time.Time                `json:"lastPass,omitzero"`
	LastSuccess  time.Time                `json:"lastSuccess,omitzero"`
	LastError    string                   `json:"lastError,omitempty"`
	BackoffUntil time.Time                `json:"backoffUntil,omitzero"`
	Counts       map[store.PushStatus]int `json:"counts"`
	Held         int                      `json:"held"`
	HoldReason   string                   `json:"holdReason,omitempty"`
	// Since the process started:
	Pushed      int64 `json:"pushed"`
	Failed      int64 `json:"failed"`
	Quarantined int64 `json:"quarantined"`
	Undelivered int64 `json:"undeliveredDeprovisions"`
}

// Status reads the target's state; the cursor and lag come from the store.
func (w *Worker) Status(ctx context.Context) (Status, error) {
	if err := w.ensureCounts(ctx); err != nil {
		return Status{}, err
	}
	w.mu.Lock()
	s := Status{
		Name: w.name, Type: w.info.Type, Live: w.opts.Config.Live, State: w.st.state, Leader: w.st.leader,
		LastPass: w.st.lastPass, LastSuccess: w.st.lastSuccess, LastError: w.st.lastError, BackoffUntil: w.st.backoffUntil,
		Pushed: w.st.pushed, Failed: w.st.failed, Quarantined: w.st.quarantined, Undelivered: w.st.undelivered,
		Counts: map[store.PushStatus]int{},
	}
	for k, v := range w.st.counts {
		s.Counts[k] = v
	}
	dryCur := w.dryCur
	w.mu.Unlock()
	cur := dryCur
	if w.opts.Config.Live {
		var err error
		if cur, err = w.ledger.PushCursor(ctx, w.name); err != nil {
			return s, fmt.Errorf("target %s: read cursor: %w", w.name, err)
		}
	}
	s.Cursor = cur
	last, err := w.opts.Store.LastSeq(ctx)
	if err != nil {
		return s, fmt.Errorf("target %s: read the change log: %w", w.name, err)
	}
	if last > cur {
		s.LagRows = last - cur
		rows, err := w.opts.Store.Changes(ctx, store.ChangeQuery{AfterSeq: cur, Limit: 1})
		if err != nil {
			return s, fmt.Errorf("target %s: read the change log: %w", w.name, err)
		}
		if len(rows) == 1 {
			s.LagSeconds = max(0, w.now().Sub(rows[0].Time).Seconds())
		}
	}
	if c, err := w.loadControl(ctx); err == nil && c.Hold != nil && !c.Hold.Approved {
		s.Held, s.HoldReason = len(c.Hold.Items), c.Hold.Reason
		if s.State == StateIdle {
			s.State = StateHeld
		}
	}
	return s, nil
}

// LastDryRun returns what the last dry pass would have sent.
func (w *Worker) LastDryRun() []ItemReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.lastDry
}

func (w *Worker) setState(state string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st.state != StateStopped {
		w.st.state = state
	}
}

// ledgerPage is how many ledger records one read asks for.
const ledgerPage = store.DefaultPushLimit

// scanPage is the page size of reads that walk every record of a target
// (start-up counts, reconcile, the guard's total): few large pages keep a
// walk of 100,000 records to ten round trips.
const scanPage = 10_000
