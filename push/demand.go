package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// confirm asks an asynchronous target about pending records and fails
// those it has not confirmed in UnconfirmedAfter.
func (w *Worker) confirm(ctx context.Context, run *passRun) error {
	after := ""
	for {
		pending, err := w.ledger.ListPushRecords(ctx, w.name, store.PushQuery{Status: store.PushPending, AfterID: after, Limit: ledgerPage})
		if err != nil {
			return fmt.Errorf("list pending records: %w", err)
		}
		if len(pending) == 0 {
			return nil
		}
		if err := w.confirmPage(ctx, run, pending); err != nil {
			return err
		}
		if len(pending) < ledgerPage {
			return nil
		}
		after = pending[len(pending)-1].ResourceID
	}
}

func (w *Worker) confirmPage(ctx context.Context, run *passRun, pending []store.PushRecord) error {
	var err error
	var results []Result
	if c, ok := w.target.(Confirmer); ok {
		if results, err = c.Confirm(ctx, pending); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("confirm stopped: %w", ctx.Err())
			}
			w.log.Warn("confirming pending pushes failed; asking again next pass", "error", err)
			results = nil
		}
	}
	byID := map[string]Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	var recs, prev []store.PushRecord
	for _, rec := range pending {
		det := decodeDetail(rec.Detail)
		d := &desire{item: Item{Kind: rec.Kind, ID: rec.ResourceID, Previous: rec, Delete: det.Delete}, fp: det.Fingerprint}
		res, ok := byID[rec.ResourceID]
		switch {
		case ok && res.Outcome != Pending:
			if len(res.Requests) == 0 {
				res.Requests = det.Requests
			}
		case run.now.Sub(rec.PendingSince) >= w.opts.UnconfirmedAfter:
			res = Result{ID: rec.ResourceID, Outcome: Failed, Retryable: true, Requests: det.Requests,
				Error: fmt.Sprintf("the target did not confirm the change within %s", w.opts.UnconfirmedAfter)}
		default:
			continue
		}
		next := w.recordFor(d, res, run.now)
		if res.Outcome == Pending {
			next.PendingSince = rec.PendingSince
		}
		run.rep.Confirmed++
		if res.Outcome == Failed && (det.Delete || (det.Kind == store.KindIdentity && !activeIn(det.Fingerprint) && activeIn(rec.Fingerprint))) {
			w.undelivered(d.item, res.Error)
		}
		recs, prev = append(recs, next), append(prev, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := w.ledger.SavePush(ctx, w.name, run.from, run.from, recs); err != nil {
		return fmt.Errorf("save confirmations: %w", err)
	}
	w.applyCounts(prev, recs)
	return nil
}

// ErrUnknownResource answers a request about a resource the directory does
// not hold.
var ErrUnknownResource = errors.New("no such identity or group")

// Preview computes, by dry run, the exact requests a push would send: for
// one identity or group (id) whatever its ledger says, or for everyone what
// differs from what the target acknowledged. limit caps the items (0: 1000).
func (w *Worker) Preview(ctx context.Context, id string, limit int) ([]ItemReport, bool, error) {
	if limit <= 0 {
		limit = 1000
	}
	w.passMu.Lock()
	defer w.passMu.Unlock()
	p := w.newPlanner(w.opts.Directory.View())
	var ds []*desire
	if id != "" {
		d, err := w.planOne(ctx, p, id)
		if err != nil {
			return nil, false, err
		}
		if d != nil {
			ds = append(ds, d)
		}
	} else {
		if err := p.loadAll(ctx); err != nil {
			return nil, false, err
		}
		ids, groups := everyResource(p.view, p.recs)
		ids, groups = uniqueSorted(ids), uniqueSorted(groups)
		var upserts, deletes []*desire
		for _, i := range ids {
			if d := p.identity(i); d != nil && d.err == nil && !d.drop && !unchanged(d, false) {
				if d.item.Delete {
					p.leaving[i] = true
					deletes = append(deletes, d)
				} else {
					upserts = append(upserts, d)
				}
			}
		}
		orderIdentities(upserts)
		ds = upserts
		if w.info.Groups {
			for _, g := range groups {
				if d := p.group(g); d != nil && !unchanged(d, false) {
					ds = append(ds, d)
				}
			}
		}
		ds = append(ds, deletes...)
	}
	truncated := len(ds) > limit
	ds = ds[:min(len(ds), limit)]
	var out []ItemReport
	for start := 0; start < len(ds); start += w.info.MaxBatch {
		batch := ds[start:min(len(ds), start+w.info.MaxBatch)]
		items := make([]Item, len(batch))
		for n, d := range batch {
			items[n] = d.item
		}
		results, err := w.target.Push(ctx, items, true)
		if err != nil {
			return out, truncated, fmt.Errorf("target %s: dry run: %w", w.name, err)
		}
		for n, it := range items {
			res := Result{ID: it.ID, Outcome: Failed, Error: "the target returned no result for this item"}
			if n < len(results) {
				res = results[n]
			}
			out = append(out, itemReport(it, res))
		}
	}
	return out, truncated, nil
}

func (w *Worker) planOne(ctx context.Context, p *planner, id string) (*desire, error) {
	view := p.view
	kind := store.KindIdentity
	if _, ok := view.Group(id); ok {
		kind = store.KindGroup
	}
	if kind == store.KindGroup && !w.info.Groups {
		return nil, fmt.Errorf("target %s holds no groups", w.name)
	}
	ids := []string{id}
	if kind == store.KindGroup {
		if err := p.load(ctx, relatedIDs(view, nil, ids)); err != nil {
			return nil, err
		}
		return p.group(id), nil
	}
	if err := p.load(ctx, relatedIDs(view, ids, nil)); err != nil {
		return nil, err
	}
	if _, ok := view.Identity(id); !ok && !held(p.recs[id]) {
		return nil, ErrUnknownResource
	}
	d := p.identity(id)
	if d != nil && d.err != nil {
		return nil, fmt.Errorf("target %s: %w", w.name, d.err)
	}
	return d, nil
}

// PushNow provisions one identity or group now, whatever its ledger says,
// and returns the target's answer. A target that is not live answers with
// a dry run. The guard does not apply: an administrator asked for exactly
// this change.
func (w *Worker) PushNow(ctx context.Context, id string) (ItemReport, error) {
	w.passMu.Lock()
	defer w.passMu.Unlock()
	p := w.newPlanner(w.opts.Directory.View())
	d, err := w.planOne(ctx, p, id)
	if err != nil {
		return ItemReport{}, err
	}
	if d == nil {
		return ItemReport{Kind: store.KindIdentity, ID: id, Outcome: Skipped, Error: "not in the target's scope and not held by it"}, nil
	}
	if d.drop {
		return ItemReport{Kind: d.item.Kind, ID: id, Delete: true, Outcome: Skipped, Error: "removed; the target keeps its record"}, nil
	}
	live := w.opts.Config.Live
	results, err := w.target.Push(ctx, []Item{d.item}, !live)
	if err != nil {
		return ItemReport{}, fmt.Errorf("target %s: %w", w.name, err)
	}
	res := Result{ID: id, Outcome: Failed, Error: "the target returned no result"}
	if len(results) > 0 {
		res = results[0]
	}
	if live {
		now := w.now()
		rec := w.recordFor(d, res, now)
		if err := w.updateRecords(ctx, func() ([]store.PushRecord, error) { return []store.PushRecord{rec}, nil }); err != nil {
			return itemReport(d.item, res), fmt.Errorf("target %s: save the outcome: %w", w.name, err)
		}
		w.applyCounts([]store.PushRecord{d.item.Previous}, []store.PushRecord{rec})
	}
	return itemReport(d.item, res), nil
}

// Release lets a quarantined or failed record be tried again on the next
// pass, with its failure count reset.
func (w *Worker) Release(ctx context.Context, id string) (store.PushRecord, error) {
	var out store.PushRecord
	var prev store.PushRecord
	err := w.updateRecords(ctx, func() ([]store.PushRecord, error) {
		recs, err := w.ledger.PushRecords(ctx, w.name, []string{id})
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 || id == controlID {
			return nil, store.ErrNotFound
		}
		rec := recs[0]
		prev = rec
		if rec.Status != store.PushQuarantined && rec.Status != store.PushFailed {
			return nil, fmt.Errorf("record %s is %s, not quarantined or failed: %w", id, rec.Status, store.ErrConflict)
		}
		det := decodeDetail(rec.Detail)
		det.RetryAt, det.Fingerprint = time.Time{}, ""
		rec.Status, rec.Attempts, rec.Detail = store.PushFailed, 0, encodeDetail(det)
		out = rec
		return []store.PushRecord{rec}, nil
	})
	if err != nil {
		return store.PushRecord{}, err
	}
	w.applyCounts([]store.PushRecord{prev}, []store.PushRecord{out})
	w.nudge()
	return out, nil
}

// Records pages through the target's ledger records.
func (w *Worker) Records(ctx context.Context, q store.PushQuery) ([]store.PushRecord, error) {
	recs, err := w.ledger.ListPushRecords(ctx, w.name, q)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r store.PushRecord) bool { return r.ResourceID == controlID }), nil
}

// Record reads one resource's ledger record.
func (w *Worker) Record(ctx context.Context, id string) (store.PushRecord, error) {
	if id == controlID {
		return store.PushRecord{}, store.ErrNotFound
	}
	recs, err := w.ledger.PushRecords(ctx, w.name, []string{id})
	if err != nil {
		return store.PushRecord{}, err
	}
	if len(recs) == 0 {
		return store.PushRecord{}, store.ErrNotFound
	}
	return recs[0], nil
}
