package mirror

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// leaderName is the store lock that makes one replica sync at a time.
const leaderName = "sync"

// ErrBusy means another replica holds the sync lock.
var ErrBusy = errors.New("another replica is syncing")

// Scheduler runs syncs on an interval. The leader lock is taken per run:
// every replica tries on its tick, the one that gets it runs if a run is due,
// and when a replica dies its lock goes with its database session, so
// another takes over on its next tick.
type Scheduler struct {
	engine    *Engine
	store     store.Store
	interval  time.Duration
	fullEvery time.Duration
	now       func() time.Time
	logger    *slog.Logger

	mu       sync.Mutex // one run at a time in this process
	lastFull time.Time  // zero until this process made a full run
	started  bool       // this process has made its start-up run
	ready    atomic.Bool
	leading  atomic.Bool
}

// NewScheduler syncs every interval; fullEvery comes from the policy.
func NewScheduler(e *Engine, interval time.Duration) *Scheduler {
	return &Scheduler{engine: e, store: e.store, interval: interval, fullEvery: e.policy.fullSyncEvery(), now: e.now, logger: e.logger}
}

// Run syncs at once and then every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Scheduler) tick(ctx context.Context) {
	_, err := s.RunNow(ctx, RunOptions{Trigger: "schedule"}, true)
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, errNotDue):
		s.checkReady(ctx)
	case err != nil && ctx.Err() == nil:
		s.logger.Warn("scheduled sync did not complete", "error", err)
	}
}

var errNotDue = errors.New("a recent run by another replica makes this one unnecessary")

// RunNow makes one run under the leader lock. With opts.Mode empty it picks
// full or incremental: full when this process has not made one yet or the
// last is older than fullEvery. onlyIfDue skips the run when another replica
// ran within the interval.
func (s *Scheduler) RunNow(ctx context.Context, opts RunOptions, onlyIfDue bool) (Report, error) {
	if opts.DryRun {
		// A dry run writes nothing but its record; it needs no lock.
		opts.Mode = cmp.Or(opts.Mode, ModeFull)
		return s.engine.Run(ctx, opts)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lead, err := s.store.TryLead(ctx, leaderName)
	if err != nil {
		return Report{}, err
	}
	if lead == nil {
		return Report{}, ErrBusy
	}
	s.leading.Store(true)
	defer func() {
		s.leading.Store(false)
		lead.Release(context.WithoutCancel(ctx))
	}()
	// Holding the lock, this replica is the only one that may be syncing:
	// a run still "running" long after it began has lost its process.
	if _, err := s.engine.ReapAbandoned(ctx); err != nil {
		s.logger.Warn("could not check for abandoned runs", "error", err)
	}
	last, succeeded, err := s.recentRuns(ctx)
	if err != nil {
		return Report{}, err
	}
	// Every process syncs fully once at start; after that a replica skips
	// the schedule while another one keeps it.
	if onlyIfDue && s.started && !last.StartedAt.IsZero() && s.now().Sub(last.StartedAt) < s.interval*9/10 {
		return Report{}, errNotDue
	}
	s.started = true
	switch {
	case opts.Mode == "":
		opts.Mode, opts.Since = s.pickMode(succeeded)
	case opts.Mode == ModeIncremental && opts.Since.IsZero():
		// The engine makes it a full run, and says so, when there is none.
		opts.Since = cursorOf(succeeded)
	}
	rep, err := s.engine.Run(ctx, opts)
	if err == nil {
		s.ready.Store(true)
		if rep.Mode == ModeFull {
			s.lastFull = rep.StartedAt
		}
	}
	return rep, err
}

// Approve releases a held run under the leader lock.
func (s *Scheduler) Approve(ctx context.Context, runID, by, digest string) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lead, err := s.store.TryLead(ctx, leaderName)
	if err != nil {
		return Report{}, err
	}
	if lead == nil {
		return Report{}, ErrBusy
	}
	defer lead.Release(context.WithoutCancel(ctx))
	rep, err := s.engine.Approve(ctx, runID, by, digest)
	if err == nil {
		s.lastFull = rep.StartedAt
	}
	return rep, err
}

// pickMode chooses full or incremental; succeeded is the newest run that
// succeeded.
func (s *Scheduler) pickMode(succeeded store.Run) (Mode, time.Time) {
	if s.lastFull.IsZero() || s.fullEvery <= 0 || s.now().Sub(s.lastFull) >= s.fullEvery || succeeded.StartedAt.IsZero() {
		return ModeFull, time.Time{}
	}
	return ModeIncremental, cursorOf(succeeded)
}

// cursorOf is where an incremental run continues: a little before the last
// successful run began, since Personio's clock and ours differ and a change
// made while that run was fetching must not fall between two runs. Failed
// and held runs do not move it: what they did not apply is read again.
// Zero when there is no such run.
func cursorOf(succeeded store.Run) time.Time {
	if succeeded.StartedAt.IsZero() {
		return time.Time{}
	}
	return succeeded.StartedAt.Add(-5 * time.Minute)
}

// recentRuns reads the run records once and returns the newest run that
// was not a dry run, and the newest that succeeded; zero Runs when there are
// none.
func (s *Scheduler) recentRuns(ctx context.Context) (last, succeeded store.Run, err error) {
	runs, err := s.store.Runs(ctx, 50)
	if err != nil {
		return last, succeeded, err
	}
	for _, r := range runs {
		if r.DryRun || r.Trigger == TriggerTargeted { // a few people read by id say nothing of the rest
			continue
		}
		if last.ID == "" {
			last = r
		}
		if r.Status == store.RunSucceeded {
			return last, r, nil
		}
	}
	return last, succeeded, nil
}

// checkReady marks a follower ready once any replica has applied a run
// (succeeded, or held with what the guard let through applied).
func (s *Scheduler) checkReady(ctx context.Context) {
	if s.ready.Load() {
		return
	}
	runs, err := s.store.Runs(ctx, 50)
	if err != nil {
		return
	}
	for _, r := range runs {
		if !r.DryRun && (r.Status == store.RunSucceeded || r.Status == store.RunHeld || r.Status == store.RunApproved) {
			s.ready.Store(true)
			return
		}
	}
}

// Ready says why this replica is not ready yet, or "" once a sync has
// completed (here or on another replica).
func (s *Scheduler) Ready() string {
	if s.ready.Load() {
		return ""
	}
	return "the first sync has not completed"
}

// Leading reports whether this replica is running a sync right now.
func (s *Scheduler) Leading() bool { return s.leading.Load() }
