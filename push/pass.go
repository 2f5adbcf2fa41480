package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// PassReport tells what one pass did.
type PassReport struct {
	From, To   int64 // the cursor before and after
	Rows       int   // change-log rows read
	Reconciled bool
	Items      int // items handed to the target
	Done       int
	Failed     int
	Pending    int
	Skipped    int
	Held       int // deactivations and removals the guard held
	Dropped    int // removed identities no longer sent (the target keeps them)
	Confirmed  int
	DryRun     bool
	// Requests are what a dry pass would send, per item.
	Requests []ItemReport
	// BackingOff is set when the pass did nothing because the target failed
	// whole batches recently.
	BackingOff time.Time
}

// ItemReport is one item's outcome with the requests it took.
type ItemReport struct {
	Kind     store.ResourceKind `json:"kind"`
	ID       string             `json:"id"`
	Delete   bool               `json:"delete,omitempty"`
	Outcome  Outcome            `json:"outcome"`
	TargetID string             `json:"targetId,omitempty"`
	Error    string             `json:"error,omitempty"`
	Code     string             `json:"code,omitempty"`
	Requests []Request          `json:"requests"`
}

// ThrottledError is what a target may return from Push when the target
// refused the whole batch with a Retry-After (a 429 on a bulk upload): the
// worker then waits at least that long before the next batch, on top of its
// own exponential back-off.
type ThrottledError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled, retry after %s: %v", e.RetryAfter, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// errBatch marks a whole-batch failure: the cursor stays.
type errBatch struct{ err error }

func (e errBatch) Error() string { return "the target failed a whole batch: " + e.err.Error() }
func (e errBatch) Unwrap() error { return e.err }

// Pass does one unit of work: it reads the change log from the cursor,
// pushes what differs, retries what is due, confirms what is pending and
// reconciles when due, then saves the outcomes and moves the cursor in
// one step. The caller must lead the target (Step does that); two
// replicas passing at once cannot both move the cursor, the second one
// fails with store.ErrConflict.
func (w *Worker) Pass(ctx context.Context) (PassReport, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	now := w.now()
	w.mu.Lock()
	backoff := w.st.backoffUntil
	w.mu.Unlock()
	if now.Before(backoff) {
		return PassReport{BackingOff: backoff}, nil
	}
	w.setState(StatePushing)
	rep, err := w.pass(ctx, now)
	w.finishPass(now, rep, err)
	return rep, err
}

func (w *Worker) finishPass(now time.Time, rep PassReport, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.lastPass = now
	var be errBatch
	switch {
	case errors.As(err, &be):
		w.st.batchFailures++
		wait := w.batchBackoffLocked(w.st.batchFailures)
		var te *ThrottledError
		if errors.As(err, &te) {
			wait = max(wait, min(te.RetryAfter, maxRetryAfter))
		}
		w.st.backoffUntil = now.Add(wait)
		w.st.lastError = err.Error()
		w.st.state = StateBackoff
	case err != nil:
		w.st.lastError = err.Error()
		w.st.state = StateIdle
	default:
		w.st.batchFailures, w.st.backoffUntil, w.st.lastError = 0, time.Time{}, ""
		if rep.Failed == 0 && (rep.Done > 0 || rep.Rows > 0) {
			w.st.lastSuccess = now
		}
		w.st.state = StateIdle
	}
	if w.lead == nil && w.st.state != StateStopped {
		w.st.state = StateStandby
	}
	if rep.DryRun {
		w.st.lastDry = rep.Requests
	}
}

// batchBackoffLocked is the wait after the n-th consecutive whole-batch
// failure: exponential from one second, capped at one hour, with jitter so
// that targets and replicas do not retry in step. w.mu must be held.
func (w *Worker) batchBackoffLocked(n int) time.Duration {
	ceiling := min(time.Hour, time.Second<<min(n-1, 12))
	return ceiling/2 + time.Duration(w.rng.Int64N(int64(ceiling/2)+1))
}

func (w *Worker) pass(ctx context.Context, now time.Time) (PassReport, error) {
	live := w.opts.Config.Live
	rep := PassReport{DryRun: !live}
	ctrl, err := w.loadControl(ctx)
	if err != nil {
		return rep, err
	}
	from := w.dryCursor()
	if live {
		if from, err = w.ledger.PushCursor(ctx, w.name); err != nil {
			return rep, fmt.Errorf("read cursor: %w", err)
		}
	}
	rep.From, rep.To = from, from
	view, rows, err := w.readRows(ctx, from)
	if err != nil {
		return rep, err
	}
	rep.Rows = len(rows)
	if len(rows) > 0 {
		rep.To = rows[len(rows)-1].Seq
	}
	p := w.newPlanner(view)
	var idIDs, groupIDs []string
	// The first pass of a target reads the whole view rather than the whole
	// change log; later reconciles also resend what the ledger says the
	// target holds already, to repair drift on the target's side.
	lastReconcile := ctrl.LastReconcile
	if !live {
		lastReconcile = w.dryReconciled()
	}
	initial := from == 0 && lastReconcile.IsZero()
	reconcile := !initial && (ctrl.ReconcileRequested || now.Sub(lastReconcile) >= w.opts.Config.ReconcileEvery)
	if initial || reconcile {
		// A reconcile covers the whole view, so the cursor may jump to it.
		rep.Reconciled = true
		rep.To = max(rep.To, view.Seq())
		if err := p.loadAll(ctx); err != nil {
			return rep, err
		}
		idIDs, groupIDs = everyResource(view, p.recs)
	} else {
		idIDs, groupIDs = touched(rows)
	}
	forced := map[string]bool{}
	if live {
		retry, err := w.dueRetries(ctx, now)
		if err != nil {
			return rep, err
		}
		for _, r := range retry {
			forced[r.ResourceID] = true
			if r.Kind == store.KindGroup {
				groupIDs = append(groupIDs, r.ResourceID)
			} else {
				idIDs = append(idIDs, r.ResourceID)
			}
		}
	}
	approved := map[string]string{} // id → the fingerprint approved
	if ctrl.Hold != nil && ctrl.Hold.Approved {
		for _, it := range ctrl.Hold.Items {
			approved[it.ID] = it.Fingerprint
			idIDs = append(idIDs, it.ID)
		}
	}
	if w.info.Groups {
		for _, id := range idIDs {
			for _, g := range view.GroupsOf(id) {
				groupIDs = append(groupIDs, g.ID)
			}
		}
	} else {
		groupIDs = nil
	}
	idIDs, groupIDs = uniqueSorted(idIDs), uniqueSorted(groupIDs)
	if err := p.load(ctx, relatedIDs(view, idIDs, groupIDs)); err != nil {
		return rep, err
	}
	run := &passRun{w: w, p: p, now: now, live: live, from: from, rep: &rep}
	var upserts, deletes, groups []*desire
	var planned []*desire
	for _, id := range idIDs {
		if d := p.identity(id); d != nil {
			planned = append(planned, d)
		}
	}
	// The guard looks at the whole pass before anything is sent.
	newHold, err := w.guard(ctx, p, planned, ctrl.Hold, approved, initial || reconcile)
	if err != nil {
		return rep, err
	}
	for _, d := range planned {
		switch {
		case d.err != nil:
			run.invalid(d)
		case newHold.holds(d.item.ID, d.fp) && approved[d.item.ID] != d.fp:
			rep.Held++
		case unchanged(d, (reconcile || forced[d.item.ID]) && !d.item.Delete) && approved[d.item.ID] != d.fp:
			rep.Skipped++
		case d.drop:
			run.drop(d)
		case d.item.Delete:
			p.leaving[d.item.ID] = true
			deletes = append(deletes, d)
		default:
			upserts = append(upserts, d)
		}
	}
	orderIdentities(upserts)
	if err := run.identities(ctx, upserts); err != nil {
		return rep, err
	}
	for _, id := range groupIDs {
		d := p.group(id)
		if d == nil {
			continue
		}
		if unchanged(d, reconcile || forced[id]) {
			rep.Skipped++
			continue
		}
		groups = append(groups, d)
	}
	if err := run.push(ctx, groups); err != nil {
		return rep, err
	}
	if err := run.push(ctx, deletes); err != nil {
		return rep, err
	}
	if live {
		if err := w.confirm(ctx, run); err != nil {
			return rep, err
		}
	}
	nextCtrl := ctrl
	nextCtrl.Hold = newHold
	if ctrl.Hold != nil && ctrl.Hold.Approved {
		nextCtrl.Hold = nil
		if newHold != ctrl.Hold {
			nextCtrl.Hold = newHold
		}
	}
	if initial || reconcile {
		nextCtrl.ReconcileRequested, nextCtrl.LastReconcile = false, now
	}
	if err := run.finish(ctx, rep.To, ctrl, nextCtrl); err != nil {
		return rep, err
	}
	if live && (initial || reconcile) {
		// The pass holds every record: count them again, so that the counts
		// cannot drift for longer than a reconcile.
		w.setCounts(p.recs)
	}
	return rep, nil
}

// readRows reads the change log after the cursor, but only as far as the
// directory's view reaches: the worker pushes the view's state, so a row the
// view does not include yet must wait for the next pass.
func (w *Worker) readRows(ctx context.Context, from int64) (*store.View, []store.Change, error) {
	dir := w.opts.Directory
	rows, err := w.opts.Store.Changes(ctx, store.ChangeQuery{AfterSeq: from, Limit: w.opts.RowsPerPass})
	if err != nil {
		return nil, nil, fmt.Errorf("read the change log after %d: %w", from, err)
	}
	view := dir.View()
	if len(rows) > 0 && rows[len(rows)-1].Seq > view.Seq() {
		if err := dir.Refresh(ctx); err != nil {
			return nil, nil, fmt.Errorf("bring the directory up to date: %w", err)
		}
		view = dir.View()
	}
	cut := len(rows)
	for cut > 0 && rows[cut-1].Seq > view.Seq() {
		cut--
	}
	return view, rows[:cut], nil
}

func touched(rows []store.Change) (ids, groups []string) {
	for _, c := range rows {
		switch c.Kind {
		case store.KindIdentity:
			ids = append(ids, c.ResourceID)
		case store.KindGroup:
			groups = append(groups, c.ResourceID)
		}
	}
	return ids, groups
}

func everyResource(view *store.View, recs map[string]store.PushRecord) (ids, groups []string) {
	for _, i := range view.Identities() {
		ids = append(ids, i.ID)
	}
	for _, g := range view.Groups() {
		groups = append(groups, g.ID)
	}
	for id, r := range recs {
		if id == controlID || !held(r) {
			continue
		}
		if r.Kind == store.KindGroup {
			groups = append(groups, id)
		} else {
			ids = append(ids, id)
		}
	}
	return ids, groups
}

// relatedIDs are the resources whose records items refer to: managers,
// group members, and the groups of identities.
func relatedIDs(view *store.View, ids, groups []string) []string {
	out := slices.Clone(ids)
	out = append(out, groups...)
	for _, id := range ids {
		if i, ok := view.Identity(id); ok && i.Manager != "" {
			out = append(out, i.Manager)
		}
		for _, g := range view.GroupsOf(id) {
			out = append(out, g.ID)
		}
	}
	for _, id := range groups {
		if g, ok := view.Group(id); ok {
			out = append(out, g.Members...)
		}
	}
	return out
}

func uniqueSorted(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// dueRetries lists failed records whose retry time has come, and released
// ones. Every failed record is looked at, so that many waiting ones cannot
// hide a due one.
func (w *Worker) dueRetries(ctx context.Context, now time.Time) ([]store.PushRecord, error) {
	var due []store.PushRecord
	after := ""
	for {
		recs, err := w.ledger.ListPushRecords(ctx, w.name, store.PushQuery{Status: store.PushFailed, AfterID: after, Limit: scanPage})
		if err != nil {
			return nil, fmt.Errorf("list failed records: %w", err)
		}
		for _, r := range recs {
			if !now.Before(decodeDetail(r.Detail).RetryAt) {
				due = append(due, r)
			}
		}
		if len(recs) < scanPage || len(due) >= ledgerPage {
			return due, nil
		}
		after = recs[len(recs)-1].ResourceID
	}
}

// guard decides which deprovisions of this pass to hold. It returns the
// hold to keep: the previous one (what is already held stays held), with
// this pass's held changes added.
func (w *Worker) guard(ctx context.Context, p *planner, planned []*desire, prev *Hold, approved map[string]string, reconcile bool) (*Hold, error) {
	var candidates []*desire
	for _, d := range planned {
		if d.err == nil && deprovisions(d) && approved[d.item.ID] != d.fp && !unchanged(d, false) && !prev.holds(d.item.ID, d.fp) {
			candidates = append(candidates, d)
		}
	}
	hold := prev
	if prev != nil && prev.Approved {
		hold = nil
	}
	if len(candidates) == 0 {
		return hold, nil
	}
	reason := ""
	if hold != nil {
		reason = "changes are held for approval already: " + hold.Reason
	} else {
		total, err := w.heldIdentities(ctx, p, reconcile)
		if err != nil {
			return nil, err
		}
		reason = w.exceeds(len(candidates), total)
	}
	if reason == "" {
		return hold, nil
	}
	next := &Hold{Since: w.now(), Reason: reason}
	if hold != nil {
		next = &Hold{Since: hold.Since, Reason: hold.Reason, Items: slices.Clone(hold.Items)}
	}
	for _, d := range candidates {
		next.Items = append(next.Items, HeldItem{Kind: d.item.Kind, ID: d.item.ID, Fingerprint: d.fp, Delete: d.item.Delete})
	}
	w.log.Warn("push guard holds deactivations and removals for approval", "held", len(candidates), "reason", reason)
	return next, nil
}

// exceeds words why n deprovisions out of total held identities trip the
// guard, or returns "". One deprovision never trips the percentage: a
// single leaver is not a mass deprovisioning, whatever the size.
func (w *Worker) exceeds(n, total int) string {
	g := w.opts.Config.Guard
	if g.MaxCount > 0 && n > g.MaxCount {
		return fmt.Sprintf("%d deactivations or removals exceed guard.max_count %d", n, g.MaxCount)
	}
	if g.MaxPercent < 100 && n > 1 && float64(n)*100 > float64(total)*g.MaxPercent {
		pct := 100.0
		if total > 0 {
			pct = float64(n) * 100 / float64(total)
		}
		return fmt.Sprintf("%d deactivations or removals are %.1f%% of the %d identities the target holds, above guard.max_percent %g", n, pct, total, g.MaxPercent)
	}
	return ""
}

// heldIdentities counts the identities the target holds. A reconcile has
// every record already; otherwise the ledger is paged once.
func (w *Worker) heldIdentities(ctx context.Context, p *planner, all bool) (int, error) {
	count := func(recs []store.PushRecord) int {
		n := 0
		for _, r := range recs {
			if r.Kind == store.KindIdentity && r.ResourceID != controlID && held(r) && r.Status != store.PushSkipped {
				n++
			}
		}
		return n
	}
	if all {
		n := 0
		for _, r := range p.recs {
			n += count([]store.PushRecord{r})
		}
		return n, nil
	}
	n, after := 0, ""
	for {
		recs, err := w.ledger.ListPushRecords(ctx, w.name, store.PushQuery{Kind: store.KindIdentity, AfterID: after, Limit: scanPage})
		if err != nil {
			return 0, fmt.Errorf("count the identities the target holds: %w", err)
		}
		n += count(recs)
		if len(recs) < scanPage {
			return n, nil
		}
		after = recs[len(recs)-1].ResourceID
	}
}

func (w *Worker) dryReconciled() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dryLastReconcile
}

func (w *Worker) dryCursor() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dryCur
}

// describe words an item for logs without personal data.
func describe(it Item) string {
	what := "update"
	switch {
	case it.Delete:
		what = "removal"
	case it.Identity != nil && !it.Identity.Active:
		what = "deactivation"
	}
	return fmt.Sprintf("%s of %s %s", what, it.Kind, it.ID)
}
