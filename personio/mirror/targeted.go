package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/personio-scim/personio-scim/personio"
)

// TriggerTargeted marks runs that read a few people by id. The scheduler
// does not count them as syncs: they say nothing about everyone else, so
// neither the next incremental run's starting point nor "a sync ran
// recently" may come from them.
const TriggerTargeted = "targeted"

// MaxTargeted is the most people a targeted run reads one by one. Beyond
// it one incremental listing costs Personio fewer calls than reading each
// person (v1 allows 300 employee reads a minute; v2 reads a person and the
// person's employments).
const MaxTargeted = 50

// fetchPeople reads the people of a targeted run by id. A person Personio
// does not know (404) is left out: a targeted run is incremental, so
// leaving someone out changes nothing about them, and only a full run,
// which confirms a vanished person by id, makes a leaver of them.
func (e *Engine) fetchPeople(ctx context.Context, opts RunOptions) ([]personio.Record, personio.FetchStats, error) {
	var stats personio.FetchStats
	if opts.Mode != ModeIncremental {
		return nil, stats, errors.New("a run for named people must be incremental")
	}
	start := e.now()
	var records []personio.Record
	for _, id := range slices.Compact(slices.Sorted(slices.Values(opts.People))) {
		rec, err := e.source.FetchOne(ctx, id)
		stats.Calls++
		switch {
		case errors.Is(err, personio.ErrNotFound):
			continue
		case err != nil:
			return nil, stats, fmt.Errorf("read person %s: %w", id, err)
		}
		records = append(records, rec)
	}
	stats.Duration = e.now().Sub(start)
	return records, stats, nil
}

// SyncPeople reads the named people from Personio and applies what changed
// for them through the normal plan, guard included. It takes no lock; the
// Scheduler's SyncPeople does.
func (e *Engine) SyncPeople(ctx context.Context, personioIDs []string, cause string) error {
	if len(personioIDs) == 0 {
		return errors.New("sync people: no people named (an incremental run needs the scheduler's starting point)")
	}
	_, err := e.Run(ctx, RunOptions{Mode: ModeIncremental, People: personioIDs, Trigger: TriggerTargeted})
	return err
}

// SyncPeople makes a targeted run under the sync lock, for the webhook
// receiver. No ids, or more than MaxTargeted, make an ordinary run (the
// scheduler picks incremental or full) instead. ErrBusy means another
// replica is syncing; the caller tries again later.
func (s *Scheduler) SyncPeople(ctx context.Context, personioIDs []string, cause string) error {
	opts := RunOptions{Mode: ModeIncremental, People: personioIDs, Trigger: TriggerTargeted}
	if len(personioIDs) == 0 || len(personioIDs) > MaxTargeted {
		opts = RunOptions{Trigger: "webhook"}
	}
	rep, err := s.RunNow(ctx, opts, false)
	if err != nil {
		return err
	}
	s.logger.Info("webhook sync", "run", rep.RunID, "trigger", rep.Trigger, "people", len(personioIDs), "cause", cause, "status", rep.Status)
	return nil
}
