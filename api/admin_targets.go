package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// targetRoutes mounts /targets: the push targets' state and the
// administrator's levers (release, reconcile, preview, push now, approve).
func (rt *router) targetRoutes(r chi.Router) {
	r.Get("/targets", rt.listTargets)
	r.Get("/targets/{name}", rt.getTarget)
	r.Get("/targets/{name}/records", rt.listTargetRecords)
	r.Get("/targets/{name}/records/{id}", rt.getTargetRecord)
	r.Post("/targets/{name}/records/{id}/release", rt.releaseTargetRecord)
	r.Post("/targets/{name}/reconcile", rt.reconcileTarget)
	r.Post("/targets/{name}/preview", rt.previewTarget)
	r.Post("/targets/{name}/push/{id}", rt.pushTargetNow)
	r.Post("/targets/{name}/approve", rt.approveTarget)
}

type targetView struct {
	Name         string         `json:"name"`
	Type         string         `json:"type"`
	Live         bool           `json:"live"`
	State        string         `json:"state"`
	Leader       bool           `json:"leader"`
	Cursor       int64          `json:"cursor"`
	LagRows      int64          `json:"lag_rows"`
	LagSeconds   float64        `json:"lag_seconds"`
	LastPass     *time.Time     `json:"last_pass,omitempty"`
	LastSuccess  *time.Time     `json:"last_success,omitempty"`
	LastError    string         `json:"last_error,omitempty"`
	BackoffUntil *time.Time     `json:"backoff_until,omitempty"`
	Counts       map[string]int `json:"counts"`
	Held         int            `json:"held"`
	HoldReason   string         `json:"hold_reason,omitempty"`
	Pushed       int64          `json:"pushed"`
	Failed       int64          `json:"failed"`
	Quarantined  int64          `json:"quarantined"`
	Undelivered  int64          `json:"undelivered_deprovisions"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewTarget(s push.Status) targetView {
	counts := map[string]int{}
	for k, v := range s.Counts {
		counts[string(k)] = v
	}
	return targetView{
		Name: s.Name, Type: s.Type, Live: s.Live, State: s.State, Leader: s.Leader, Cursor: s.Cursor,
		LagRows: s.LagRows, LagSeconds: s.LagSeconds, LastPass: timePtr(s.LastPass), LastSuccess: timePtr(s.LastSuccess),
		LastError: s.LastError, BackoffUntil: timePtr(s.BackoffUntil), Counts: counts, Held: s.Held, HoldReason: s.HoldReason,
		Pushed: s.Pushed, Failed: s.Failed, Quarantined: s.Quarantined, Undelivered: s.Undelivered,
	}
}

func (rt *router) listTargets(w http.ResponseWriter, r *http.Request) {
	items := []targetView{}
	for _, t := range rt.opts.Targets.All() {
		s, err := t.Status(r.Context())
		if err != nil {
			rt.storeError(w, r, err)
			return
		}
		items = append(items, viewTarget(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// target finds the {name} target or answers 404.
func (rt *router) target(w http.ResponseWriter, r *http.Request) (*push.Worker, bool) {
	t, ok := rt.opts.Targets.Get(chi.URLParam(r, "name"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no such target; GET /api/v1/targets lists them")
	}
	return t, ok
}

type holdView struct {
	Since  time.Time       `json:"since"`
	Reason string          `json:"reason"`
	Items  []push.HeldItem `json:"items"`
}

func (rt *router) getTarget(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	s, err := t.Status(r.Context())
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	hold, err := t.CurrentHold(r.Context())
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	cfg := t.Config()
	out := map[string]any{"target": viewTarget(s), "config": map[string]any{
		"scope": orTrue(cfg.Scope), "reconcile_every": cfg.ReconcileEvery.String(), "quarantine_after": cfg.QuarantineAfter,
		"guard":     map[string]any{"max_percent": cfg.Guard.MaxPercent, "max_count": cfg.Guard.MaxCount},
		"max_batch": t.Info().MaxBatch, "groups": t.Info().Groups, "delete_on_removal": t.Info().DeleteOnRemoval,
	}}
	if hold != nil && !hold.Approved {
		out["hold"] = holdView{Since: hold.Since, Reason: hold.Reason, Items: hold.Items}
	}
	if !s.Live {
		out["last_dry_run"] = orNoItems(t.LastDryRun())
	}
	writeJSON(w, http.StatusOK, out)
}

func orTrue(s string) string {
	if s == "" {
		return "true"
	}
	return s
}

func orNoItems(items []push.ItemReport) []push.ItemReport {
	if items == nil {
		return []push.ItemReport{}
	}
	return items
}

type recordView struct {
	ID          string             `json:"id"`
	Kind        store.ResourceKind `json:"kind"`
	TargetID    string             `json:"target_id,omitempty"`
	Status      store.PushStatus   `json:"status"`
	Attempts    int                `json:"attempts"`
	LastError   string             `json:"last_error,omitempty"`
	LastAttempt *time.Time         `json:"last_attempt,omitempty"`
	LastSuccess *time.Time         `json:"last_success,omitempty"`
	RetryAt     *time.Time         `json:"retry_at,omitempty"`
	Fingerprint string             `json:"fingerprint,omitempty"`
	// Requests are the last attempt's requests and answers (record detail only).
	Requests []push.Request `json:"requests,omitempty"`
}

func viewRecord(rec store.PushRecord, withRequests bool) recordView {
	_, retryAt, requests := push.DecodeDetail(rec.Detail)
	v := recordView{
		ID: rec.ResourceID, Kind: rec.Kind, TargetID: rec.TargetID, Status: rec.Status, Attempts: rec.Attempts,
		LastError: rec.LastError, LastAttempt: timePtr(rec.LastAttempt), LastSuccess: timePtr(rec.LastSuccess),
		Fingerprint: rec.Fingerprint,
	}
	if rec.Status == store.PushFailed {
		v.RetryAt = timePtr(retryAt)
	}
	if withRequests {
		v.Requests = requests
		if v.Requests == nil {
			v.Requests = []push.Request{}
		}
	}
	return v
}

var recordStatuses = []store.PushStatus{store.PushSynced, store.PushPending, store.PushFailed, store.PushQuarantined, store.PushSkipped, store.PushGone}

func (rt *router) listTargetRecords(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q := store.PushQuery{AfterID: r.URL.Query().Get("cursor"), Limit: limit}
	if s := r.URL.Query().Get("status"); s != "" {
		q.Status = store.PushStatus(s)
		if !containsStatus(q.Status) {
			writeProblem(w, r, http.StatusBadRequest, "status must be one of synced, pending, failed, quarantined, skipped, gone")
			return
		}
	}
	switch k := store.ResourceKind(r.URL.Query().Get("kind")); k {
	case "", store.KindIdentity, store.KindGroup:
		q.Kind = k
	default:
		writeProblem(w, r, http.StatusBadRequest, "kind must be identity or group")
		return
	}
	recs, err := t.Records(r.Context(), q)
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	items := make([]recordView, 0, len(recs))
	for _, rec := range recs {
		items = append(items, viewRecord(rec, false))
	}
	out := map[string]any{"items": items}
	if len(recs) == limit {
		out["next_cursor"] = recs[len(recs)-1].ResourceID
	}
	writeJSON(w, http.StatusOK, out)
}

func containsStatus(s store.PushStatus) bool {
	for _, k := range recordStatuses {
		if k == s {
			return true
		}
	}
	return false
}

func (rt *router) getTargetRecord(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	rec, err := t.Record(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewRecord(rec, true))
}

func (rt *router) releaseTargetRecord(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	rec, err := t.Release(context.WithoutCancel(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	rt.opts.Logger.Info("push record released", "target", t.Name(), "id", rec.ResourceID, "by", adminActor(r))
	writeJSON(w, http.StatusOK, viewRecord(rec, false))
}

func (rt *router) reconcileTarget(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	if err := t.RequestReconcile(context.WithoutCancel(r.Context())); err != nil {
		rt.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"target": t.Name(), "reconcile": "requested; the replica leading the target runs it on its next pass"})
}

func (rt *router) previewTarget(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	limit, err := queryInt(r, "limit", 1000, 1, 10000)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	items, truncated, err := t.Preview(r.Context(), r.URL.Query().Get("id"), limit)
	if err != nil {
		rt.pushError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"target": t.Name(), "items": orNoItems(items), "truncated": truncated})
}

func (rt *router) pushTargetNow(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	res, err := t.PushNow(context.WithoutCancel(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		rt.pushError(w, r, err)
		return
	}
	rt.opts.Logger.Info("push on demand", "target", t.Name(), "id", res.ID, "outcome", res.Outcome, "by", adminActor(r))
	writeJSON(w, http.StatusOK, map[string]any{"target": t.Name(), "live": t.Config().Live, "result": res})
}

func (rt *router) approveTarget(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.target(w, r)
	if !ok {
		return
	}
	hold, err := t.Approve(context.WithoutCancel(r.Context()), adminActor(r))
	if errors.Is(err, push.ErrNothingHeld) {
		writeProblem(w, r, http.StatusConflict, "target "+t.Name()+" holds nothing for approval")
		return
	}
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	rt.opts.Logger.Info("push hold approved", "target", t.Name(), "items", len(hold.Items), "by", adminActor(r))
	writeJSON(w, http.StatusOK, map[string]any{"target": t.Name(), "approved": holdView{Since: hold.Since, Reason: hold.Reason, Items: hold.Items},
		"approved_by": hold.ApprovedBy})
}

// pushError maps an engine error: unknown resources 404, a target's own
// failure 502 with its reason (which carries no personal data).
func (rt *router) pushError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, push.ErrUnknownResource), errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "no such identity or group")
	case errors.Is(err, store.ErrConflict):
		writeProblem(w, r, http.StatusConflict, err.Error())
	default:
		rt.opts.Logger.Warn("push request failed", "path", r.URL.Path, "error", err)
		writeProblem(w, r, http.StatusBadGateway, err.Error())
	}
}
