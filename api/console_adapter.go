package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/api/console"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// mountConsole serves the console at /admin/ when one is configured.
func (rt *router) mountConsole(r chi.Router) {
	if rt.opts.Console != nil {
		r.Mount(console.Path, rt.opts.Console.Handler(consoleBackend{rt: rt}))
	}
}

// withConsoleSession lets the admin API accept a console session beside
// bearer tokens: a request with a session cookie and no Authorization
// header is the signed-in person, recorded under their email.
func (rt *router) withConsoleSession(bearer func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if rt.opts.Console == nil {
		return bearer
	}
	return rt.opts.Console.SessionOr(bearer, func(ctx context.Context, u console.User) context.Context {
		return WithPrincipal(ctx, Principal{Name: u.Email, Scopes: []string{store.ScopeAdmin}})
	})
}

// consoleBackend is the console's view of the service: the same store,
// directory, scheduler and workers, called the way the admin API calls
// them.
type consoleBackend struct{ rt *router }

func (b consoleBackend) opts() Options { return b.rt.opts }

func (b consoleBackend) Overview(ctx context.Context) (console.Overview, error) {
	o := b.opts()
	v := o.Directory.View()
	c := countStates(v)
	out := console.Overview{Version: o.Version, SyncingEnabled: o.Scheduler != nil, Groups: len(v.Groups()),
		Identities: map[string]int{"total": c.Total, "active": c.Active, "inactive": c.Inactive}}
	for k, n := range c.ByState {
		out.Identities[k] = n
	}
	runs, err := o.Store.Runs(ctx, 50)
	if err != nil {
		return out, err
	}
	for _, r := range runs {
		switch {
		case r.DryRun || r.Status == store.RunRunning:
		case r.Status == store.RunHeld:
			out.HeldRuns = append(out.HeldRuns, consoleRun(r))
		case r.Status == store.RunFailed && len(out.RecentFailures) < 5:
			out.RecentFailures = append(out.RecentFailures, consoleRun(r))
		}
		if out.LastSync == nil && !r.DryRun && (r.Status == store.RunSucceeded || r.Status == store.RunHeld) {
			run := consoleRun(r)
			out.LastSync, out.Staleness = &run, o.Now().Sub(r.FinishedAt)
		}
	}
	out.Targets, err = b.Targets(ctx)
	return out, err
}

func consoleRun(r store.Run) console.Run {
	return console.Run{ID: r.ID, Trigger: r.Trigger, Mode: r.Mode, DryRun: r.DryRun, Status: string(r.Status), StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Counts: r.Counts, Error: r.Error, ApprovedBy: r.ApprovedBy}
}

func (b consoleBackend) Runs(ctx context.Context, limit int) ([]console.Run, error) {
	runs, err := b.opts().Store.Runs(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]console.Run, 0, len(runs))
	for _, r := range runs {
		out = append(out, consoleRun(r))
	}
	return out, nil
}

func (b consoleBackend) Run(ctx context.Context, id string) (console.RunDetail, error) {
	run, err := b.opts().Store.Run(ctx, id)
	if err != nil {
		return console.RunDetail{}, consoleErr(err)
	}
	d := console.RunDetail{Run: consoleRun(run)}
	var rep mirror.Report
	if len(run.Report) > 0 {
		if err := json.Unmarshal(run.Report, &rep); err != nil {
			return d, fmt.Errorf("read the report of run %s: %w", id, err)
		}
	}
	d.GuardReason = rep.Guard.Reason
	if run.Status == store.RunHeld {
		d.Digest = rep.Guard.PlanDigest
		for _, h := range rep.Guard.Held {
			d.Held = append(d.Held, console.PlannedChange{Op: h.Change, Kind: string(store.KindIdentity), ID: h.SCIMID,
				PersonioID: h.PersonioID, Name: h.UserName, Reason: h.Rule, Group: h.Group})
		}
	}
	for _, c := range rep.Changes {
		d.Planned = append(d.Planned, console.PlannedChange{Op: string(c.Op), Kind: string(c.Kind), ID: c.ID, Name: c.Name, Reason: c.Reason})
	}
	if first, last := rep.ChangeSeqs[0], rep.ChangeSeqs[1]; first > 0 {
		rows, err := b.opts().Store.Changes(ctx, store.ChangeQuery{AfterSeq: first - 1, Limit: int(min(last-first+1, 1000))})
		if err != nil {
			return d, err
		}
		d.Changes = consoleChanges(rows)
	}
	return d, nil
}

// Approve takes the admin API's path: the scheduler approves under the
// leader lock, bound to the digest the approver saw.
func (b consoleBackend) Approve(ctx context.Context, id, digest, by string) (console.Run, error) {
	s := b.opts().Scheduler
	if s == nil {
		return console.Run{}, fmt.Errorf("syncing is off: %w", console.ErrUnsupported)
	}
	if digest == "" {
		return console.Run{}, console.Refusal("the approval names no plan digest; open the run again and approve what it shows")
	}
	rep, err := s.Approve(context.WithoutCancel(ctx), id, by, digest)
	switch {
	case errors.Is(err, mirror.ErrDigestMismatch):
		return console.Run{}, console.Refusal("The plan changed since you opened it (the digest does not match); read the run again.")
	case errors.Is(err, mirror.ErrBusy):
		return console.Run{}, console.Refusal("Another replica is syncing right now; try again shortly.")
	case errors.Is(err, store.ErrConflict):
		// The engine's explanation names runs and statuses only.
		return console.Run{}, console.Refusal(err.Error())
	case err != nil && rep.RunID == "":
		return console.Run{}, consoleErr(err)
	}
	b.opts().Logger.Info("held run approved in the console", "run", id, "approval_run", rep.RunID)
	return console.Run{ID: rep.RunID, Status: string(rep.Status), Error: rep.Error}, nil
}

func consolePerson(i *store.Identity) console.Person {
	return console.Person{ID: i.ID, PersonioID: i.PersonioID, UserName: i.UserName, DisplayName: i.DisplayName, Email: i.Email,
		Department: i.Department, State: string(i.Lifecycle.State), Active: i.Active}
}

func (b consoleBackend) People(_ context.Context, q string, limit int) ([]console.Person, int, error) {
	f := identityFilter{q: q}
	page, total, _ := pageByID(b.opts().Directory.View().Identities(), "", limit, f.matches, func(i *store.Identity) string { return i.ID })
	out := make([]console.Person, 0, len(page))
	for _, i := range page {
		out = append(out, consolePerson(i))
	}
	slices.SortStableFunc(out, func(a, b console.Person) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	return out, total, nil
}

func (b consoleBackend) Person(ctx context.Context, id string) (console.PersonDetail, error) {
	v := b.opts().Directory.View()
	i, ok := v.Identity(id)
	if !ok {
		return console.PersonDetail{}, console.ErrNotFound
	}
	d := console.PersonDetail{Person: consolePerson(i)}
	l := i.Lifecycle
	d.Lifecycle = console.Lifecycle{State: string(l.State), HireDate: l.HireDate, EndDate: l.EndDate, InactiveSince: l.InactiveSince,
		RemoveAfter: l.RemoveAfter, Rule: l.Rule, ScopeExcluded: l.ScopeExcluded, VanishedSource: l.VanishedSource}
	for _, name := range store.AttributeNames() {
		if val, _ := i.Get(name); val != "" {
			d.Attributes = append(d.Attributes, console.KV{Key: name, Value: val})
		}
	}
	for _, g := range v.GroupsOf(i.ID) {
		d.Groups = append(d.Groups, console.Group{ID: g.ID, DisplayName: g.DisplayName, Kind: g.Kind, Members: len(g.Members)})
	}
	for _, t := range b.opts().Targets.All() {
		d.Targets = append(d.Targets, t.Name())
		rec, err := t.Record(ctx, i.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return d, err
		}
		d.Records = append(d.Records, consoleRecord(t.Name(), rec))
	}
	history, err := b.opts().Store.Changes(ctx, store.ChangeQuery{ResourceID: i.ID, Limit: 200})
	if err != nil {
		return d, err
	}
	d.History = consoleChanges(history)
	return d, nil
}

func consoleRecord(target string, rec store.PushRecord) console.Record {
	return console.Record{Target: target, ID: rec.ResourceID, Kind: string(rec.Kind), TargetID: rec.TargetID, Status: string(rec.Status),
		LastError: rec.LastError, Attempts: rec.Attempts, LastSuccess: rec.LastSuccess, LastAttempt: rec.LastAttempt}
}

func (b consoleBackend) Groups(_ context.Context, q string, limit int) ([]console.Group, int, error) {
	match := func(g *store.Group) bool { return q == "" || containsFold(g.DisplayName, q) }
	page, total, _ := pageByID(b.opts().Directory.View().Groups(), "", limit, match, func(g *store.Group) string { return g.ID })
	out := make([]console.Group, 0, len(page))
	for _, g := range page {
		out = append(out, console.Group{ID: g.ID, DisplayName: g.DisplayName, Kind: g.Kind, Members: len(g.Members)})
	}
	slices.SortStableFunc(out, func(a, b console.Group) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	return out, total, nil
}

func (b consoleBackend) Group(_ context.Context, id string) (console.GroupDetail, error) {
	v := b.opts().Directory.View()
	g, ok := v.Group(id)
	if !ok {
		return console.GroupDetail{}, console.ErrNotFound
	}
	d := console.GroupDetail{Group: console.Group{ID: g.ID, DisplayName: g.DisplayName, Kind: g.Kind, Members: len(g.Members)}}
	for _, m := range g.Members {
		if i, ok := v.Identity(m); ok {
			d.People = append(d.People, consolePerson(i))
		}
	}
	return d, nil
}

func (b consoleBackend) Audit(ctx context.Context, f console.AuditFilter) ([]console.Change, error) {
	rows, err := b.opts().Store.Changes(ctx, store.ChangeQuery{Actor: f.Actor, ResourceID: f.Resource, Kind: store.ResourceKind(f.Kind),
		Since: f.Since, Until: f.Until, AfterSeq: f.AfterSeq, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	return consoleChanges(rows), nil
}

func consoleChanges(rows []store.Change) []console.Change {
	out := make([]console.Change, 0, len(rows))
	for _, c := range rows {
		out = append(out, console.Change{Seq: c.Seq, Time: c.Time, Actor: c.Actor, Cause: c.Cause, Reason: c.Reason, Kind: string(c.Kind),
			Resource: c.ResourceID, Op: string(c.Op), Summary: summarize(c)})
	}
	return out
}

// summarize writes a change's attributes as "name: before → after".
func summarize(c store.Change) string {
	var keys []string
	for k := range c.Before {
		keys = append(keys, k)
	}
	for k := range c.After {
		if _, ok := c.Before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys)+2)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s → %s", k, orDash(c.Before[k]), orDash(c.After[k])))
	}
	if n := len(c.MembersAdded); n > 0 {
		parts = append(parts, fmt.Sprintf("%d members added", n))
	}
	if n := len(c.MembersRemoved); n > 0 {
		parts = append(parts, fmt.Sprintf("%d members removed", n))
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (b consoleBackend) Targets(ctx context.Context) ([]console.Target, error) {
	var out []console.Target
	for _, t := range b.opts().Targets.All() {
		s, err := t.Status(ctx)
		if err != nil {
			return nil, err
		}
		counts := map[string]int{}
		for k, v := range s.Counts {
			counts[string(k)] = v
		}
		out = append(out, console.Target{Name: s.Name, Type: s.Type, State: s.State, LastError: s.LastError, HoldReason: s.HoldReason,
			Live: s.Live, LagRows: s.LagRows, LagSeconds: s.LagSeconds, LastSuccess: s.LastSuccess, Counts: counts, Held: s.Held,
			Quarantined: s.Quarantined})
	}
	return out, nil
}

func (b consoleBackend) worker(name string) (*push.Worker, error) {
	t, ok := b.opts().Targets.Get(name)
	if !ok {
		return nil, console.ErrNotFound
	}
	return t, nil
}

func (b consoleBackend) TargetRecords(ctx context.Context, target, status string, limit int) ([]console.Record, error) {
	t, err := b.worker(target)
	if err != nil {
		return nil, err
	}
	recs, err := t.Records(ctx, store.PushQuery{Status: store.PushStatus(status), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]console.Record, 0, len(recs))
	for _, rec := range recs {
		out = append(out, consoleRecord(target, rec))
	}
	return out, nil
}

func (b consoleBackend) Release(ctx context.Context, target, id, by string) error {
	t, err := b.worker(target)
	if err != nil {
		return err
	}
	rec, err := t.Release(context.WithoutCancel(ctx), id)
	if err != nil {
		return consoleErr(err)
	}
	b.opts().Logger.Info("push record released", "target", t.Name(), "id", rec.ResourceID, "by", by)
	return nil
}

func (b consoleBackend) PushNow(ctx context.Context, target, id, by string) (string, error) {
	t, err := b.worker(target)
	if err != nil {
		return "", err
	}
	res, err := t.PushNow(context.WithoutCancel(ctx), id)
	switch {
	case errors.Is(err, push.ErrUnknownResource):
		return "", console.ErrNotFound
	case err != nil:
		b.opts().Logger.Warn("push on demand failed", "target", t.Name(), "error", err)
		return "", console.Refusal("The target did not take the push: " + err.Error())
	}
	b.opts().Logger.Info("push on demand", "target", t.Name(), "id", res.ID, "outcome", res.Outcome, "by", by)
	return string(res.Outcome), nil
}

func (b consoleBackend) Preview(ctx context.Context, config, personID string) (console.Preview, error) {
	e := b.opts().Engine
	if e == nil {
		return console.Preview{}, fmt.Errorf("previews need Personio credentials: %w", console.ErrUnsupported)
	}
	var policy *mirror.Policy
	if strings.TrimSpace(config) != "" {
		cfg, err := mirror.ParseConfig("posted configuration", []byte(config))
		if err == nil {
			policy, err = mirror.Compile(cfg)
		}
		if err != nil {
			return console.Preview{}, console.Refusal(err.Error())
		}
	}
	p, err := e.Preview(ctx, policy, personID, 200)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return console.Preview{}, console.Refusal("No person with this id in Personio.")
	case errors.Is(err, mirror.ErrFetch):
		return console.Preview{}, console.Refusal("Personio could not be read; try again.")
	case err != nil:
		return console.Preview{}, err
	}
	out := console.Preview{People: p.People, Counts: countsMap(p.Plan.Counts), GuardNote: p.Plan.Guard.Reason, Truncated: p.Truncated > 0}
	for _, pi := range p.Identities {
		item := console.PreviewIdentity{ID: pi.Identity.ID, PersonioID: pi.Identity.PersonioID, State: string(pi.Identity.Lifecycle.State),
			Rule: pi.Identity.Lifecycle.Rule, Groups: pi.Groups}
		for _, name := range store.AttributeNames() {
			if v, _ := pi.Identity.Get(name); v != "" {
				item.Attributes = append(item.Attributes, console.KV{Key: name, Value: v})
			}
		}
		out.Identities = append(out.Identities, item)
	}
	return out, nil
}

func consoleErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return console.ErrNotFound
	}
	return err
}

// countsMap keys a plan's counts by their JSON names.
func countsMap(c mirror.Counts) map[string]int {
	out := map[string]int{}
	b, _ := json.Marshal(c)
	_ = json.Unmarshal(b, &out)
	return out
}
