package main

import (
	"context"
	"errors"
	"slices"
	"time"
)

// page makes whole Okta-style imports (every user, then every group, 100
// per page, one request at a time) until the budget is spent, at least one.
func (b *bench) page(ctx context.Context) (scenarioResult, error) {
	ctx, cancel := boundedContext(ctx, b.opts.Warmup+b.plannedDuration())
	defer cancel()
	client := newLoadClient(1)
	defer client.CloseIdleConnections()
	p := &pager{client: client, baseURL: b.scimURL, token: b.token}
	if b.opts.Warmup > 0 {
		warm := &pageRun{deadline: time.Now().Add(b.opts.Warmup)}
		b.importUntilSpent(ctx, p, warm)
	}
	run := &pageRun{requests: b.opts.Requests}
	if b.opts.Requests == 0 {
		run.deadline = time.Now().Add(b.opts.Duration)
	}
	start := time.Now()
	b.importUntilSpent(ctx, p, run)
	return run.result(time.Since(start), b.clock), nil
}

// pageRun accumulates imports.
type pageRun struct {
	deadline  time.Time // zero when counting requests
	requests  int
	latencies []time.Duration
	sent      int
	httpErrs  int
	transErrs int
	firstErr  string
	imports   []importTiming
}

// importTiming is one completed import.
type importTiming struct {
	usersWall, groupsWall     time.Duration
	usersServer, groupsServer time.Duration
	users, userPages          int
	groups, groupPages        int
}

func (r *pageRun) spent() bool {
	if r.deadline.IsZero() {
		return r.sent >= r.requests
	}
	return !time.Now().Before(r.deadline)
}

func (b *bench) importUntilSpent(ctx context.Context, p *pager, run *pageRun) {
	for first := true; first || !run.spent(); first = false {
		if ctx.Err() != nil {
			return
		}
		t, err := b.importOnce(ctx, p, run)
		if err != nil {
			run.fail(err)
			continue
		}
		run.imports = append(run.imports, t)
	}
}

// importOnce walks users, then groups; server time is read around each
// walk, outside the wall-clock measurement.
func (b *bench) importOnce(ctx context.Context, p *pager, run *pageRun) (importTiming, error) {
	var t importTiming
	s0, s1, s2 := b.readClock(ctx), time.Duration(0), time.Duration(0)
	start := time.Now()
	users, err := p.walk(ctx, "Users", nil)
	t.usersWall = time.Since(start)
	run.record(users)
	if err != nil {
		return t, err
	}
	s1 = b.readClock(ctx)
	start = time.Now()
	groups, err := p.walk(ctx, "Groups", nil)
	t.groupsWall = time.Since(start)
	run.record(groups)
	if err != nil {
		return t, err
	}
	s2 = b.readClock(ctx)
	t.users, t.userPages, t.groups, t.groupPages = users.Resources, users.Pages, groups.Resources, groups.Pages
	if s0 >= 0 && s1 >= 0 && s2 >= 0 {
		t.usersServer, t.groupsServer = s1-s0, s2-s1
	}
	return t, nil
}

// readClock returns the server's accumulated request time, or -1 when it
// cannot be read.
func (b *bench) readClock(ctx context.Context) time.Duration {
	if b.clock == nil {
		return -1
	}
	d, err := b.clock.read(ctx)
	if err != nil {
		return -1
	}
	return d
}

func (r *pageRun) record(w pageWalk) {
	r.latencies = append(r.latencies, w.Latencies...)
	r.sent += len(w.Latencies)
}

func (r *pageRun) fail(err error) {
	var se *statusError
	if errors.As(err, &se) {
		r.httpErrs++
	} else {
		r.transErrs++
	}
	r.sent++
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
}

func (r *pageRun) result(elapsed time.Duration, clock *serverClock) scenarioResult {
	slices.Sort(r.latencies)
	res := fromLoad(scenarioPage, loadResult{
		OK: len(r.latencies), HTTPErrors: r.httpErrs, TransportErrors: r.transErrs,
		Elapsed: elapsed, Latencies: r.latencies, FirstError: r.firstErr,
	})
	res.Requests = r.sent
	pr := &pageResult{Imports: len(r.imports)}
	res.Page = pr
	if len(r.imports) == 0 {
		return res
	}
	serverKnown := true
	pr.BestWall = r.imports[0].usersWall + r.imports[0].groupsWall
	for _, t := range r.imports {
		wall := t.usersWall + t.groupsWall
		pr.Wall += wall
		pr.BestWall = min(pr.BestWall, wall)
		pr.UsersWall += t.usersWall
		pr.UsersServer += t.usersServer
		pr.GroupsServer += t.groupsServer
		serverKnown = serverKnown && t.usersServer > 0
	}
	n := time.Duration(len(r.imports))
	pr.Wall, pr.UsersWall, pr.UsersServer, pr.GroupsServer = pr.Wall/n, pr.UsersWall/n, pr.UsersServer/n, pr.GroupsServer/n
	last := r.imports[len(r.imports)-1]
	pr.Users, pr.UserPages, pr.Groups, pr.GroupPages = last.users, last.userPages, last.groups, last.groupPages
	if serverKnown && clock != nil {
		pr.ServerClock = clock.How
	} else {
		pr.UsersServer, pr.GroupsServer = 0, 0
	}
	return res
}
