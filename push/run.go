package push

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// passRun sends one pass's items and collects the records to save.
type passRun struct {
	w     *Worker
	p     *planner
	now   time.Time
	live  bool
	from  int64
	rep   *PassReport
	total int // items to send, for progress
	done  int
	// unsaved are records of items that needed no request (a dropped
	// identity, a scope error); they are saved with the cursor.
	unsaved     []store.PushRecord
	unsavedPrev []store.PushRecord
	// created are identities that got a target id in this pass, so that
	// their reports can name them as manager.
	created map[string]bool
	sent    map[string]bool
}

// detail is what a record's Detail holds: the last attempt's requests and
// answer, the fingerprint attempted and when to retry.
type detail struct {
	Fingerprint string             `json:"fingerprint,omitempty"`
	RetryAt     time.Time          `json:"retryAt,omitzero"`
	Retryable   bool               `json:"retryable,omitempty"`
	Error       string             `json:"error,omitempty"`
	Code        string             `json:"code,omitempty"`
	Outcome     Outcome            `json:"outcome,omitempty"`
	Requests    []Request          `json:"requests,omitempty"`
	At          time.Time          `json:"at,omitzero"`
	Delete      bool               `json:"delete,omitempty"`
	Kind        store.ResourceKind `json:"kind,omitempty"`
}

// maxDetailBody caps each request and answer body kept in a record.
const maxDetailBody = 16 << 10

func decodeDetail(b []byte) detail {
	var d detail
	if len(b) > 0 {
		_ = json.Unmarshal(b, &d) // a record written by an older release reads as empty
	}
	return d
}

// DecodeDetail exposes a record's last attempt for the API.
func DecodeDetail(b []byte) (fingerprint string, retryAt time.Time, requests []Request) {
	d := decodeDetail(b)
	return d.Fingerprint, d.RetryAt, d.Requests
}

func encodeDetail(d detail) []byte {
	for n := range d.Requests {
		d.Requests[n].Body = capBytes(d.Requests[n].Body)
		d.Requests[n].Answer = capBytes(d.Requests[n].Answer)
		d.Requests[n].Header = nil
	}
	b, _ := json.Marshal(d) // plain data: cannot fail
	return b
}

func capBytes(b []byte) []byte {
	if len(b) > maxDetailBody {
		return b[:maxDetailBody]
	}
	return b
}

func attemptedFingerprint(r store.PushRecord) string { return decodeDetail(r.Detail).Fingerprint }

// identities pushes identity upserts, managers first: a batch never holds
// a manager and a report of theirs, so the report's item can name the
// manager's new target id. Reports of managers created in this pass that
// were not part of it follow in another round.
func (r *passRun) identities(ctx context.Context, ds []*desire) error {
	r.created = map[string]bool{}
	r.sent = map[string]bool{}
	for round := 0; len(ds) > 0 && round < 8; round++ {
		for start := 0; start < len(ds); {
			end := start + 1
			for end < len(ds) && end-start < r.w.info.MaxBatch && ds[end].depth == ds[start].depth {
				end++
			}
			batch := ds[start:end]
			for _, d := range batch {
				r.refresh(d)
			}
			if err := r.push(ctx, batch); err != nil {
				return err
			}
			start = end
		}
		var err error
		if ds, err = r.reportsOfCreated(ctx); err != nil {
			return err
		}
	}
	return nil
}

// refresh rebuilds an identity item against the records saved so far in
// the pass (a manager created in an earlier batch).
func (r *passRun) refresh(d *desire) {
	if d.item.Identity == nil || d.item.Delete {
		return
	}
	i, ok := r.p.view.Identity(d.item.ID)
	if !ok || i.Manager == "" || (d.item.Identity.Manager != nil && d.item.Identity.Manager.TargetID != "") {
		return // nothing an earlier batch can have changed
	}
	active := d.item.Identity.Active
	fresh := r.p.identityItem(i, d.item.Identity.Mapped)
	fresh.Active = active
	d.item.Identity = fresh
	d.item.Previous = r.p.recs[d.item.ID]
	d.fp = Fingerprint(d.item)
}

func (r *passRun) reportsOfCreated(ctx context.Context) ([]*desire, error) {
	if len(r.created) == 0 {
		return nil, nil
	}
	var reports []string
	for _, i := range r.p.view.Identities() {
		if r.created[i.Manager] && !r.sent[i.ID] {
			reports = append(reports, i.ID)
		}
	}
	r.created = map[string]bool{}
	if err := r.p.load(ctx, relatedIDs(r.p.view, reports, nil)); err != nil {
		return nil, err
	}
	var next []*desire
	for _, id := range reports {
		d := r.p.identity(id)
		if d == nil || d.item.Delete || d.err != nil || unchanged(d, false) || !held(d.item.Previous) {
			continue // not in the target yet: its own change brings it
		}
		next = append(next, d)
	}
	orderIdentities(next)
	return next, nil
}

// push sends desires in batches of the target's size and records each
// result. A whole-batch failure stops the pass.
func (r *passRun) push(ctx context.Context, ds []*desire) error {
	for start := 0; start < len(ds); start += r.w.info.MaxBatch {
		batch := ds[start:min(len(ds), start+r.w.info.MaxBatch)]
		if err := r.pushBatch(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

func (r *passRun) pushBatch(ctx context.Context, batch []*desire) error {
	items := make([]Item, len(batch))
	for n, d := range batch {
		items[n] = d.item
		if r.sent != nil {
			r.sent[d.item.ID] = true
		}
	}
	r.rep.Items += len(items)
	results, err := r.w.target.Push(ctx, items, !r.live)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		for _, d := range batch {
			if deprovisions(d) {
				r.w.undelivered(d.item, err.Error())
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("push stopped: %w", ctx.Err())
		}
		return errBatch{err}
	}
	byID := make(map[string]Result, len(results))
	for n, res := range results {
		if n < len(items) && res.ID == "" {
			res.ID = items[n].ID
		}
		byID[res.ID] = res
	}
	recs := make([]store.PushRecord, 0, len(batch))
	for _, d := range batch {
		res, ok := byID[d.item.ID]
		if !ok {
			res = Result{ID: d.item.ID, Outcome: Failed, Error: "the target returned no result for this item", Retryable: true}
		}
		if !r.live {
			r.rep.Requests = append(r.rep.Requests, itemReport(d.item, res))
			r.count(res.Outcome)
			continue
		}
		rec := r.w.recordFor(d, res, r.now)
		if rec.TargetID != "" && d.item.Previous.TargetID == "" && d.item.Kind == store.KindIdentity {
			r.created[d.item.ID] = true
		}
		r.p.recs[d.item.ID] = rec
		recs = append(recs, rec)
		r.count(res.Outcome)
		if res.Outcome == Failed && deprovisions(d) {
			r.w.undelivered(d.item, res.Error)
		}
	}
	r.done += len(batch)
	if r.w.opts.OnProgress != nil {
		r.w.opts.OnProgress(r.done, r.rep.Items)
	}
	if !r.live {
		return nil
	}
	if err := r.w.ledger.SavePush(ctx, r.w.name, r.from, r.from, recs); err != nil {
		return fmt.Errorf("save outcomes: %w", err)
	}
	r.w.applyCounts(batchPrevious(batch), recs)
	return nil
}

func batchPrevious(batch []*desire) []store.PushRecord {
	out := make([]store.PushRecord, len(batch))
	for n, d := range batch {
		out[n] = d.item.Previous
	}
	return out
}

func (r *passRun) count(o Outcome) {
	switch o {
	case Done:
		r.rep.Done++
	case Failed:
		r.rep.Failed++
	case Pending:
		r.rep.Pending++
	case Skipped:
		r.rep.Skipped++
	}
}

func itemReport(it Item, res Result) ItemReport {
	return ItemReport{Kind: it.Kind, ID: it.ID, Delete: it.Delete, Outcome: res.Outcome, TargetID: res.TargetID, Error: res.Error, Code: res.Code, Requests: res.Requests}
}

// recordFor turns a result into the item's ledger record.
func (w *Worker) recordFor(d *desire, res Result, now time.Time) store.PushRecord {
	prev := d.item.Previous
	rec := store.PushRecord{
		Target: w.name, Kind: d.item.Kind, ResourceID: d.item.ID,
		TargetID: prev.TargetID, Fingerprint: prev.Fingerprint, State: prev.State,
		Status: prev.Status, Attempts: prev.Attempts, LastAttempt: now, LastSuccess: prev.LastSuccess,
		PendingSince: prev.PendingSince,
	}
	if prev.Status == store.PushQuarantined && attemptedFingerprint(prev) != d.fp {
		rec.Attempts = 0 // the source changed: a fresh start
	}
	if res.TargetID != "" {
		rec.TargetID = res.TargetID
	}
	if res.State != nil {
		rec.State = res.State
	}
	det := detail{Fingerprint: d.fp, Outcome: res.Outcome, Requests: res.Requests, At: now, Delete: d.item.Delete, Kind: d.item.Kind}
	switch res.Outcome {
	case Done, Skipped:
		rec.Fingerprint, rec.Attempts, rec.LastError, rec.LastSuccess, rec.PendingSince = d.fp, 0, "", now, time.Time{}
		rec.Status = store.PushSynced
		if res.Outcome == Skipped {
			rec.Status = store.PushSkipped
		}
		if d.item.Delete {
			rec.Status = store.PushGone
		}
		w.mu.Lock()
		w.st.pushed++
		w.mu.Unlock()
	case Pending:
		rec.Status, rec.PendingSince, rec.LastError = store.PushPending, now, ""
	default:
		w.failRecord(&rec, &det, res, now)
	}
	rec.Detail = encodeDetail(det)
	return rec
}

// failRecord counts a failed attempt: the record is retried after a
// back-off, and quarantined after QuarantineAfter consecutive failures.
func (w *Worker) failRecord(rec *store.PushRecord, det *detail, res Result, now time.Time) {
	rec.Attempts++
	rec.LastError = res.Error
	if res.Code != "" {
		rec.LastError = res.Code + ": " + res.Error
	}
	if rec.LastError == "" {
		rec.LastError = "failed without a reason"
	}
	det.Error, det.Code, det.Retryable = res.Error, res.Code, res.Retryable
	det.RetryAt = now.Add(retryDelay(rec.Attempts, res))
	rec.Status = store.PushFailed
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.failed++
	if rec.Attempts >= quarantineAt(w.opts.Config.QuarantineAfter, res) {
		rec.Status = store.PushQuarantined
		w.st.quarantined++
		w.log.Warn("push record quarantined after repeated failures", "kind", rec.Kind, "id", rec.ResourceID, "attempts", rec.Attempts, "error", rec.LastError)
	}
}

// retryableQuarantineFactor stretches the quarantine bound for failures a
// target calls retryable: throttling and eventual consistency are the
// target's state, not the record's, so they slow a record down rather than
// park it, unless they go on for most of a day (twenty attempts with the
// back-off below, capped at an hour).
const retryableQuarantineFactor = 4

func quarantineAt(after int, res Result) int {
	if res.Retryable {
		return after * retryableQuarantineFactor
	}
	return after
}

// retryDelay is when a failed record is tried again: throttling and
// transient errors soon (never before the target's Retry-After), data
// errors later, both doubling with every attempt.
func retryDelay(attempts int, res Result) time.Duration {
	base, ceiling := 5*time.Minute, 6*time.Hour
	if res.Retryable {
		base, ceiling = 30*time.Second, time.Hour
	}
	d := min(ceiling, base<<min(attempts-1, 16))
	return max(d, res.RetryAfter)
}

func (w *Worker) undelivered(it Item, reason string) {
	w.mu.Lock()
	w.st.undelivered++
	w.mu.Unlock()
	w.log.Error("a deactivation or removal could not be delivered; the person keeps access in the target until it is", "what", describe(it), "reason", reason)
	if w.opts.OnUndelivered != nil {
		w.opts.OnUndelivered(w.name)
	}
}

// invalid records an identity whose scope or mapping failed: nothing is
// sent, the error is kept on its record.
func (r *passRun) invalid(d *desire) {
	r.rep.Failed++
	r.w.log.Warn("target rules failed on an identity; not sent", "id", d.item.ID, "error", d.err)
	if !r.live {
		r.rep.Requests = append(r.rep.Requests, ItemReport{Kind: d.item.Kind, ID: d.item.ID, Outcome: Failed, Error: d.err.Error()})
		return
	}
	rec := d.item.Previous
	rec.Target, rec.Kind, rec.ResourceID = r.w.name, d.item.Kind, d.item.ID
	rec.Status = store.PushQuarantined // retried when the identity or the configuration changes
	rec.LastError, rec.LastAttempt = d.err.Error(), r.now
	rec.Detail = encodeDetail(detail{Error: d.err.Error(), At: r.now, Kind: d.item.Kind})
	r.keep(d, rec)
}

// keep queues a record that needed no request, to be saved with the cursor.
func (r *passRun) keep(d *desire, rec store.PushRecord) {
	r.p.recs[d.item.ID] = rec
	r.unsaved = append(r.unsaved, rec)
	r.unsavedPrev = append(r.unsavedPrev, d.item.Previous)
}

// drop stops sending a removed identity to a target that keeps records.
func (r *passRun) drop(d *desire) {
	r.rep.Dropped++
	if !r.live {
		return
	}
	rec := d.item.Previous
	rec.Status, rec.Fingerprint, rec.LastAttempt = store.PushGone, fingerprintDeleted, r.now
	r.p.leaving[d.item.ID] = true
	r.keep(d, rec)
}

// finish saves what is left and moves the cursor, in one step.
func (r *passRun) finish(ctx context.Context, to int64, before, after control) error {
	if !r.live {
		r.w.mu.Lock()
		r.w.dryCur = max(r.w.dryCur, to)
		if !after.LastReconcile.IsZero() {
			r.w.dryLastReconcile = after.LastReconcile
		}
		r.w.mu.Unlock()
		return nil
	}
	recs := r.unsaved
	if controlChanged(before, after) {
		recs = append(recs, controlRecord(r.w.name, after))
	}
	if to == r.from && len(recs) == 0 {
		return nil
	}
	if err := r.w.ledger.SavePush(ctx, r.w.name, r.from, to, recs); err != nil {
		return fmt.Errorf("save outcomes and move the cursor from %d to %d: %w", r.from, to, err)
	}
	r.w.applyCounts(r.unsavedPrev, r.unsaved)
	r.rep.To = to
	return nil
}

func controlChanged(a, b control) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) != string(y)
}

// applyCounts moves the per-status counts from the records' old statuses to
// their new ones.
func (w *Worker) applyCounts(before, after []store.PushRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st.counts == nil {
		return // not counted yet: the count will include these
	}
	for _, r := range before {
		if r.ResourceID != "" && r.Status != "" {
			w.st.counts[r.Status]--
		}
	}
	for _, r := range after {
		w.st.counts[r.Status]++
	}
}
