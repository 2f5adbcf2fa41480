package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// healthz answers whether the process is alive; it checks nothing else so
// that an orchestrator never restarts a replica for a database outage.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers whether this replica should get traffic: the store is
// reachable and a sync has completed on any replica, so that its directory,
// loaded from the store at start, holds real data. A restarted replica is
// therefore ready at once during a Personio outage.
func (rt *router) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := rt.opts.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "store unreachable"})
		return
	}
	if reason := rt.readiness.reason(ctx, rt.opts.Store, rt.opts.Ready); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// readiness remembers that a completed sync was seen: once one exists it
// stays, so readyz stops asking the store for runs.
type readiness struct {
	synced atomic.Bool
}

// recentRunsChecked is how many of the newest runs readyz looks through for
// a completed one; a Personio outage long enough to fill it with failures
// (days at the default interval) leaves a restarted replica unready.
const recentRunsChecked = 200

// reason says why the replica is not ready ("" when it is). local is this
// replica's own view (the scheduler's first sync); a sync completed by any
// replica, as the store records it, is enough.
func (rd *readiness) reason(ctx context.Context, st store.Store, local func() string) string {
	if local == nil || rd.synced.Load() {
		return ""
	}
	why := local()
	if why == "" {
		rd.synced.Store(true)
		return ""
	}
	runs, err := st.Runs(ctx, recentRunsChecked)
	if err != nil {
		return "store unreachable"
	}
	for _, run := range runs {
		if completedSync(run) {
			rd.synced.Store(true)
			return ""
		}
	}
	return why
}

// completedSync reports whether a run left the store holding a synced
// directory: it applied, or applied all but what the guard held.
func completedSync(r store.Run) bool {
	if r.DryRun {
		return false
	}
	switch r.Status {
	case store.RunSucceeded, store.RunHeld, store.RunApproved:
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
