package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// bench holds what every scenario needs: the target, its users, the
// baseline server and the budget of each run.
type bench struct {
	opts        options
	scimURL     string // SCIM base of the target
	token       string
	clock       *serverClock // nil when server time cannot be read
	stack       *stack       // nil with --url
	users       []scimUser   // in the seed's order
	groups      int
	baselineURL string // SCIM-like base of the baseline server
	progress    io.Writer
}

// runScenarios runs the selected scenarios in order. Each closed-loop
// scenario runs in rounds, alternating with equal slices of the baseline,
// so that both see the same load from whatever else runs on the machine;
// its ratio is to those paired slices, and the baseline row pools them all.
func (b *bench) runScenarios(ctx context.Context) ([]scenarioResult, error) {
	var results []scenarioResult
	var baselines []loadResult
	for _, name := range b.opts.scenarios() {
		fmt.Fprintf(b.progress, "scim-bench: running %s…\n", name)
		res, paired, err := b.runScenario(ctx, name)
		if err != nil {
			return results, fmt.Errorf("scenario %s: %w", name, err)
		}
		baselines = append(baselines, paired)
		if name != scenarioBaseline {
			results = append(results, res)
		}
	}
	if pooled := combineLoads(baselines); pooled.Requests > 0 {
		results = append([]scenarioResult{fromLoad(scenarioBaseline, pooled)}, results...)
	}
	return results, nil
}

// runScenario returns the scenario's result and the baseline slices it was
// paired with (none for page).
func (b *bench) runScenario(ctx context.Context, name string) (scenarioResult, loadResult, error) {
	switch name {
	case scenarioBaseline:
		r, err := b.baselineAlone(ctx)
		return scenarioResult{}, r, err
	case scenarioLookup:
		return b.paired(ctx, name, lookupPaths(b.users), nil)
	case scenarioGet:
		return b.paired(ctx, name, getPaths(b.users), nil)
	case scenarioFilterComplex:
		return b.paired(ctx, name, complexFilterPaths(b.users), nil)
	case scenarioMixed:
		if b.stack == nil {
			return scenarioResult{}, loadResult{}, errors.New("needs the self-hosted stack")
		}
		c := newChurner(b.stack.Sim, b.stack.Scheduler, b.opts.Seed, b.opts.Changes)
		return b.paired(ctx, name, lookupPaths(b.users), c)
	case scenarioPage:
		r, err := b.page(ctx)
		return r, loadResult{}, err
	}
	return scenarioResult{}, loadResult{}, fmt.Errorf("unknown scenario %q", name)
}

// plannedDuration is how long a scenario's measurement should take; with a
// request count it is a generous guess, only used to bound the run.
func (b *bench) plannedDuration() time.Duration {
	if b.opts.Requests > 0 {
		return requestCountBound
	}
	return b.opts.Duration
}

// requestCountBound bounds a run with a request count instead of a duration.
const requestCountBound = 10 * time.Minute

// loadSpecFor is a closed-loop run of paths at the configured budget.
func (b *bench) loadSpecFor(base string, paths []string) loadSpec {
	return loadSpec{BaseURL: base, Token: b.token, Paths: paths, Concurrency: b.opts.Concurrency,
		Duration: b.opts.Duration, Requests: b.opts.Requests}
}

// slices cuts spec's budget into rounds equal parts.
func (spec loadSpec) slices(rounds int) []loadSpec {
	out := make([]loadSpec, rounds)
	for i := range out {
		out[i] = spec
		if spec.Requests > 0 {
			out[i].Requests = spec.Requests / rounds
			if i < spec.Requests%rounds {
				out[i].Requests++
			}
		} else {
			out[i].Duration = spec.Duration / time.Duration(rounds)
		}
	}
	return out
}

// warmUp sends unmeasured load for the warm-up time, over the client the
// measurement then uses, so that its connections are open and the server's
// caches and the heap have settled.
func (b *bench) warmUp(ctx context.Context, client *http.Client, spec loadSpec) error {
	if b.opts.Warmup <= 0 {
		return nil
	}
	spec.Duration, spec.Requests, spec.During = b.opts.Warmup, 0, nil
	_, err := runLoad(ctx, client, spec)
	return err
}

// baselineAlone measures the baseline when no scenario is paired with it.
func (b *bench) baselineAlone(ctx context.Context) (loadResult, error) {
	client := newLoadClient(b.opts.Concurrency)
	defer client.CloseIdleConnections()
	spec := b.loadSpecFor(b.baselineURL, lookupPaths(b.users))
	if err := b.warmUp(ctx, client, spec); err != nil {
		return loadResult{}, err
	}
	return runLoad(ctx, client, spec)
}

// paired runs the scenario's paths in rounds, each after a baseline slice
// of the same size. With a churner (mixed) the company changes and syncs
// during the scenario's slices only.
func (b *bench) paired(ctx context.Context, name string, paths []string, c *churner) (scenarioResult, loadResult, error) {
	if len(paths) == 0 {
		return scenarioResult{}, loadResult{}, errors.New("no requests to make: the users found lack the attributes it needs")
	}
	client, baseClient := newLoadClient(b.opts.Concurrency), newLoadClient(b.opts.Concurrency)
	defer client.CloseIdleConnections()
	defer baseClient.CloseIdleConnections()
	spec, baseSpec := b.loadSpecFor(b.scimURL, paths), b.loadSpecFor(b.baselineURL, lookupPaths(b.users))
	if err := b.warmUp(ctx, baseClient, baseSpec); err != nil {
		return scenarioResult{}, loadResult{}, err
	}
	if err := b.warmUp(ctx, client, spec); err != nil {
		return scenarioResult{}, loadResult{}, err
	}
	var runs, baseRuns []loadResult
	var churn churnResult
	baseSlices := baseSpec.slices(b.opts.Rounds)
	for i, slice := range spec.slices(b.opts.Rounds) {
		base, err := runLoad(ctx, baseClient, baseSlices[i])
		if err != nil {
			return scenarioResult{}, loadResult{}, err
		}
		baseRuns = append(baseRuns, base)
		r, err := b.runSlice(ctx, client, slice, c, &churn)
		if err != nil {
			return scenarioResult{}, loadResult{}, err
		}
		runs = append(runs, r)
	}
	r, base := combineLoads(runs), combineLoads(baseRuns)
	res := fromLoad(name, r)
	res.BaselineThroughput = fromLoad(scenarioBaseline, base).Throughput
	if res.BaselineThroughput > 0 {
		res.VsBaseline = res.Throughput / res.BaselineThroughput
	}
	if c != nil {
		res.Mixed = &mixedResult{churnResult: churn, ChangesPerRound: b.opts.Changes, DuringSync: summarize(r.During)}
		if churn.SyncsApplied == 0 {
			return res, base, fmt.Errorf("no sync applied: %s", churn.FirstError)
		}
	}
	return res, base, nil
}

// runSlice runs one slice of load; with a churner, the slice starts once
// the churner's first sync has begun and the churner finishes its round
// after it, so that every slice overlaps at least one sync.
func (b *bench) runSlice(ctx context.Context, client *http.Client, spec loadSpec, c *churner, total *churnResult) (loadResult, error) {
	if c == nil {
		return runLoad(ctx, client, spec)
	}
	spec.During = c.syncing.Load
	churnCtx, cancel := boundedContext(ctx, b.plannedDuration())
	defer cancel()
	started, stop, done := make(chan struct{}), make(chan struct{}), make(chan churnResult, 1)
	go func() { done <- c.run(churnCtx, started, stop) }()
	<-started
	r, err := runLoad(ctx, client, spec)
	close(stop)
	total.add(<-done)
	return r, err
}

// combineLoads pools slices as if they were one run.
func combineLoads(runs []loadResult) loadResult {
	var out loadResult
	for _, r := range runs {
		out.Requests += r.Requests
		out.OK += r.OK
		out.HTTPErrors += r.HTTPErrors
		out.TransportErrors += r.TransportErrors
		out.Elapsed += r.Elapsed
		out.Latencies = append(out.Latencies, r.Latencies...)
		out.During = append(out.During, r.During...)
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
	}
	slices.Sort(out.Latencies)
	slices.Sort(out.During)
	return out
}
