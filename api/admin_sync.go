package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// syncWait is how long POST /sync waits for its run before answering 202;
// the run goes on either way.
const syncWait = 50 * time.Second

// runView is a sync run as the admin API shows it.
type runView struct {
	ID         string          `json:"id"`
	Trigger    string          `json:"trigger"`
	Mode       string          `json:"mode"`
	DryRun     bool            `json:"dry_run"`
	Status     store.RunStatus `json:"status"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Counts     map[string]int  `json:"counts"`
	Error      string          `json:"error,omitempty"`
	ApprovedBy string          `json:"approved_by,omitempty"`
	ApprovedAt *time.Time      `json:"approved_at,omitempty"`
	// PlanDigest and Held come from the report of a run the guard held:
	// what an approval of it applies.
	PlanDigest string              `json:"plan_digest,omitempty"`
	Held       []mirror.HeldChange `json:"held,omitempty"`
}

func viewRun(r store.Run) runView {
	v := runView{ID: r.ID, Trigger: r.Trigger, Mode: r.Mode, DryRun: r.DryRun, Status: r.Status, StartedAt: r.StartedAt,
		Counts: r.Counts, Error: r.Error, ApprovedBy: r.ApprovedBy}
	if !r.FinishedAt.IsZero() {
		v.FinishedAt = &r.FinishedAt
	}
	if !r.ApprovedAt.IsZero() {
		v.ApprovedAt = &r.ApprovedAt
	}
	return v
}

func (rt *router) triggerSync(w http.ResponseWriter, r *http.Request) {
	if rt.opts.Scheduler == nil {
		writeProblem(w, r, http.StatusConflict, "syncing is off: PERSONIO_CLIENT_ID and PERSONIO_CLIENT_SECRET are not set")
		return
	}
	dryRun, err := queryBool(r, "dry_run")
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	opts := mirror.RunOptions{Trigger: "api", DryRun: dryRun}
	switch mode := r.URL.Query().Get("mode"); mode {
	case "":
	case string(mirror.ModeFull), string(mirror.ModeIncremental):
		opts.Mode = mirror.Mode(mode)
	default:
		writeProblem(w, r, http.StatusBadRequest, "mode must be full or incremental")
		return
	}
	type result struct {
		rep mirror.Report
		err error
	}
	done := make(chan result, 1)
	// The run must not stop half-way because the caller hung up.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		rep, err := rt.opts.Scheduler.RunNow(ctx, opts, false)
		done <- result{rep, err}
	}()
	select {
	case res := <-done:
		rt.syncResult(w, r, res.rep, res.err)
	case <-time.After(syncWait):
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "running", "detail": "the run continues; see GET /api/v1/sync/runs"})
	}
}

func (rt *router) syncResult(w http.ResponseWriter, r *http.Request, rep mirror.Report, err error) {
	switch {
	case errors.Is(err, mirror.ErrBusy):
		writeProblem(w, r, http.StatusConflict, "another replica is syncing right now; try again shortly")
	case err != nil && rep.RunID != "":
		// The run failed and was recorded; its report says why.
		writeJSON(w, http.StatusBadGateway, rep)
	case err != nil:
		rt.storeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

func (rt *router) listRuns(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	runs, err := rt.opts.Store.Runs(r.Context(), limit)
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	items := make([]runView, 0, len(runs))
	for _, run := range runs {
		items = append(items, viewRun(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// getRun shows a run with its report, the changes the guard held, and the
// change-log rows it wrote.
func (rt *router) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := rt.opts.Store.Run(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	var rep mirror.Report
	if len(run.Report) > 0 {
		if err := json.Unmarshal(run.Report, &rep); err != nil {
			rt.storeError(w, r, err)
			return
		}
	}
	changes := []changeView{}
	if first, last := rep.ChangeSeqs[0], rep.ChangeSeqs[1]; first > 0 {
		rows, err := rt.opts.Store.Changes(r.Context(), store.ChangeQuery{AfterSeq: first - 1, Limit: int(min(last-first+1, 1000))})
		if err != nil {
			rt.storeError(w, r, err)
			return
		}
		for _, c := range rows {
			changes = append(changes, viewChange(c))
		}
	}
	view := viewRun(run)
	view.PlanDigest, view.Held = rep.Guard.PlanDigest, rep.Guard.Held
	writeJSON(w, http.StatusOK, map[string]any{"run": view, "report": json.RawMessage(orEmptyObject(run.Report)), "changes": changes})
}

func orEmptyObject(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// approveRun releases a held run. The optional plan_digest query parameter
// must be the held run's plan digest, so that an approval applies the plan
// its approver reviewed and nothing else.
func (rt *router) approveRun(w http.ResponseWriter, r *http.Request) {
	if rt.opts.Scheduler == nil {
		writeProblem(w, r, http.StatusConflict, "syncing is off: PERSONIO_CLIENT_ID and PERSONIO_CLIENT_SECRET are not set")
		return
	}
	digest := r.URL.Query().Get("plan_digest")
	rep, err := rt.opts.Scheduler.Approve(context.WithoutCancel(r.Context()), chi.URLParam(r, "id"), adminActor(r), digest)
	if errors.Is(err, mirror.ErrDigestMismatch) {
		writeProblem(w, r, http.StatusConflict, "plan_digest does not match the held run's plan digest: the plan you reviewed is not this run's; read the run again")
		return
	}
	rt.syncResult(w, r, rep, err)
}

// adminActor names the administrator behind a request (an approval, a
// quarantine release): "admin:<token name>" for a
// token made with `token create`, the variable's name for the bootstrap
// ADMIN_TOKEN.
func adminActor(r *http.Request) string {
	p, ok := PrincipalFrom(r.Context())
	switch {
	case !ok:
		return "unknown"
	case p.TokenID != "":
		return "admin:" + p.Name
	}
	return p.Name
}
