package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
)

// churner changes the simulated company and syncs, round after round,
// while the readers run: the mixed scenario's writer.
type churner struct {
	sim     *personiotest.Server
	sched   *mirror.Scheduler
	rng     *rand.Rand
	changes int
	syncing atomic.Bool
}

// churnResult is what the writer did.
type churnResult struct {
	Rounds          int           `json:"rounds"`
	SyncsApplied    int           `json:"syncs_applied"`
	PeopleMoved     int           `json:"people_moved"`
	IdentityChanges int           `json:"identity_changes"` // updated identities, summed over syncs
	GroupChanges    int           `json:"group_changes"`
	SyncTime        time.Duration `json:"sync_time_ns"` // summed over syncs
	SyncErrors      int           `json:"sync_errors"`
	FirstError      string        `json:"first_error,omitempty"`
}

func newChurner(sim *personiotest.Server, sched *mirror.Scheduler, seed int64, changes int) *churner {
	return &churner{sim: sim, sched: sched, rng: rand.New(rand.NewPCG(uint64(seed), 0x3b7)), changes: changes}
}

// run makes rounds until stop is closed, finishing the round under way.
// started is closed once the first round's sync has begun, so that the
// readers always overlap at least one sync.
func (c *churner) run(ctx context.Context, started chan<- struct{}, stop <-chan struct{}) churnResult {
	var res churnResult
	signal := func() {
		if started != nil {
			close(started)
			started = nil
		}
	}
	defer signal()
	for {
		select {
		case <-stop:
			return res
		case <-ctx.Done():
			return res
		default:
		}
		res.Rounds++
		moved, err := c.moveSome()
		res.PeopleMoved += moved
		if err != nil {
			res.fail(err)
			return res
		}
		c.syncing.Store(true)
		signal()
		rep, err := c.sched.RunNow(ctx, mirror.RunOptions{Trigger: "scim-bench"}, false)
		c.syncing.Store(false)
		if err == nil && rep.Status != store.RunSucceeded {
			err = fmt.Errorf("sync ended %s", rep.Status)
		}
		if err != nil {
			res.fail(err)
			continue
		}
		res.SyncsApplied++
		res.SyncTime += rep.Duration
		res.IdentityChanges += rep.Counts.Updated + rep.Counts.Created + rep.Counts.Activated + rep.Counts.Deactivated
		res.GroupChanges += rep.Counts.GroupsCreated + rep.Counts.GroupsUpdated + rep.Counts.GroupsRemoved
	}
}

// add pools another slice's account into r.
func (r *churnResult) add(o churnResult) {
	r.Rounds += o.Rounds
	r.SyncsApplied += o.SyncsApplied
	r.PeopleMoved += o.PeopleMoved
	r.IdentityChanges += o.IdentityChanges
	r.GroupChanges += o.GroupChanges
	r.SyncTime += o.SyncTime
	r.SyncErrors += o.SyncErrors
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
}

func (r *churnResult) fail(err error) {
	r.SyncErrors++
	if r.FirstError == "" {
		r.FirstError = err.Error()
	}
}

// moveSome moves c.changes active people (or all of them, if fewer) to
// another department: attribute and group-membership changes, nothing the
// guard would hold.
func (c *churner) moveSome() (int, error) {
	records := slices.DeleteFunc(c.sim.Records(), func(r personio.Record) bool { return r.Status != "active" || r.Department == "" })
	departments := distinctDepartments(records)
	if len(departments) < 2 {
		return 0, errors.New("mixed: the simulated company needs two departments with active people to move people between")
	}
	moved := 0
	for _, i := range c.rng.Perm(len(records))[:min(c.changes, len(records))] {
		r := records[i]
		to := departments[c.rng.IntN(len(departments))]
		if to == r.Department {
			to = departments[(slices.Index(departments, to)+1)%len(departments)]
		}
		if err := c.sim.Update(r.ID, personiotest.Attrs{"department": to}); err != nil {
			return moved, fmt.Errorf("move person %s: %w", r.ID, err)
		}
		moved++
	}
	return moved, nil
}

func distinctDepartments(records []personio.Record) []string {
	var out []string
	for _, r := range records {
		out = append(out, r.Department)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
