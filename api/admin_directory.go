package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/store"
)

// status answers what an administrator checks first.
func (rt *router) status(w http.ResponseWriter, r *http.Request) {
	v := rt.opts.Directory.View()
	out := map[string]any{
		"version":         rt.opts.Version,
		"store":           rt.opts.Store.Backend(),
		"syncing_enabled": rt.opts.Scheduler != nil,
		"identities":      countStates(v),
		"groups":          len(v.Groups()),
	}
	replica := map[string]any{"directory_seq": v.Seq(), "leading": rt.opts.Scheduler != nil && rt.opts.Scheduler.Leading()}
	if seq, err := rt.opts.Store.LastSeq(r.Context()); err == nil {
		replica["change_log_seq"], replica["lag"] = seq, seq-v.Seq()
	} else {
		replica["store_error"] = "store unreachable"
	}
	out["replica"] = replica
	if runs, err := rt.opts.Store.Runs(r.Context(), 50); err == nil {
		rt.describeRuns(out, runs)
	}
	writeJSON(w, http.StatusOK, out)
}

func (rt *router) describeRuns(out map[string]any, runs []store.Run) {
	for _, run := range runs {
		if run.DryRun || run.Status == store.RunRunning {
			continue
		}
		if _, seen := out["latest_run"]; !seen {
			out["latest_run"] = viewRun(run)
			if run.Status == store.RunHeld {
				out["held_run"] = run.ID
			}
		}
		if run.Status == store.RunSucceeded || run.Status == store.RunHeld {
			out["last_sync"] = map[string]any{
				"run":         run.ID,
				"finished_at": run.FinishedAt,
				"duration_ms": run.FinishedAt.Sub(run.StartedAt).Milliseconds(),
				"counts":      run.Counts,
			}
			out["staleness_seconds"] = int(rt.opts.Now().Sub(run.FinishedAt).Seconds())
			return
		}
	}
}

// identityCounts splits the identities by the active flag identity
// providers see and by lifecycle state.
type identityCounts struct {
	Total    int            `json:"total"`
	Active   int            `json:"active"`
	Inactive int            `json:"inactive"`
	ByState  map[string]int `json:"by_state"`
}

func countStates(v *store.View) identityCounts {
	c := identityCounts{ByState: map[string]int{}}
	for _, i := range v.Identities() {
		c.Total++
		if i.Active {
			c.Active++
		} else {
			c.Inactive++
		}
		c.ByState[string(i.Lifecycle.State)]++
	}
	return c
}

// identityView is one identity in a listing.
type identityView struct {
	ID          string    `json:"id"`
	PersonioID  string    `json:"personio_id"`
	UserName    string    `json:"userName"`
	DisplayName string    `json:"displayName"`
	Email       string    `json:"email"`
	Department  string    `json:"department"`
	Active      bool      `json:"active"`
	State       string    `json:"state"`
	Modified    time.Time `json:"modified"`
}

func viewIdentity(i *store.Identity) identityView {
	return identityView{ID: i.ID, PersonioID: i.PersonioID, UserName: i.UserName, DisplayName: i.DisplayName, Email: i.Email,
		Department: i.Department, Active: i.Active, State: string(i.Lifecycle.State), Modified: i.Modified}
}

// identityFilter selects identities for GET /identities.
type identityFilter struct {
	q, department, status string
}

func (f identityFilter) matches(i *store.Identity) bool {
	if f.department != "" && !strings.EqualFold(i.Department, f.department) {
		return false
	}
	switch f.status {
	case "":
	case "active":
		if !i.Active {
			return false
		}
	case "inactive":
		if i.Active {
			return false
		}
	default:
		if string(i.Lifecycle.State) != f.status {
			return false
		}
	}
	if f.q == "" {
		return true
	}
	for _, s := range []string{i.UserName, i.DisplayName, i.Email, i.GivenName, i.FamilyName, i.PersonioID} {
		if containsFold(s, f.q) {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// pageByID pages a list sorted by id: the cursor is the id of the last item
// of the previous page, so pages stay stable while data changes. It returns
// the page, how many items match in all, and the next cursor ("" at the end).
func pageByID[T any](all []*T, cursor string, limit int, match func(*T) bool, id func(*T) string) (page []*T, total int, next string) {
	for _, item := range all {
		if !match(item) {
			continue
		}
		total++
		switch {
		case id(item) <= cursor:
		case len(page) < limit:
			page = append(page, item)
		case next == "":
			next = id(page[len(page)-1])
		}
	}
	return page, total, next
}

// listIdentities searches the directory, paged by cursor.
func (rt *router) listIdentities(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	f := identityFilter{q: q.Get("q"), department: q.Get("department"), status: q.Get("status")}
	switch f.status {
	case "", "active", "inactive", string(store.StatePrehire), string(store.StateLeaver):
	default:
		writeProblem(w, r, http.StatusBadRequest, "status must be active, inactive, prehire or leaver")
		return
	}
	page, total, next := pageByID(rt.opts.Directory.View().Identities(), q.Get("cursor"), limit, f.matches,
		func(i *store.Identity) string { return i.ID })
	items := make([]identityView, 0, len(page))
	for _, i := range page {
		items = append(items, viewIdentity(i))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": total, "next_cursor": next})
}

// getIdentity shows everything known about one person: the mirrored source
// (already minimized), the mapped identity, groups, overrides and history.
func (rt *router) getIdentity(w http.ResponseWriter, r *http.Request) {
	v := rt.opts.Directory.View()
	i, ok := v.Identity(chi.URLParam(r, "id"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no identity with this id")
		return
	}
	history, err := rt.opts.Store.Changes(r.Context(), store.ChangeQuery{ResourceID: i.ID, Limit: 200})
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	groups := []map[string]string{}
	for _, g := range v.GroupsOf(i.ID) {
		groups = append(groups, map[string]string{"id": g.ID, "displayName": g.DisplayName, "kind": g.Kind})
	}
	changes := make([]changeView, 0, len(history))
	for _, c := range history {
		changes = append(changes, viewChange(c))
	}
	attrs := map[string]string{}
	for _, name := range store.AttributeNames() {
		if val, _ := i.Get(name); val != "" {
			attrs[name] = val
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": i.ID, "personio_id": i.PersonioID, "version": i.Version, "created": i.Created, "modified": i.Modified,
		"attributes": attrs, "lifecycle": i.Lifecycle, "overrides": orEmpty(i.Overrides), "source": orEmpty(i.Source),
		"groups": groups, "history": changes,
	})
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

type groupView struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	Kind        string    `json:"kind"`
	Key         string    `json:"key"`
	Members     int       `json:"members"`
	Modified    time.Time `json:"modified"`
}

func (rt *router) listGroups(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	search, kind := q.Get("q"), q.Get("kind")
	match := func(g *store.Group) bool {
		return (kind == "" || g.Kind == kind) && (search == "" || containsFold(g.DisplayName, search))
	}
	page, total, next := pageByID(rt.opts.Directory.View().Groups(), q.Get("cursor"), limit, match, func(g *store.Group) string { return g.ID })
	items := make([]groupView, 0, len(page))
	for _, g := range page {
		items = append(items, groupView{ID: g.ID, DisplayName: g.DisplayName, Kind: g.Kind, Key: g.Key, Members: len(g.Members), Modified: g.Modified})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": total, "next_cursor": next})
}

func (rt *router) getGroup(w http.ResponseWriter, r *http.Request) {
	v := rt.opts.Directory.View()
	g, ok := v.Group(chi.URLParam(r, "id"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no group with this id")
		return
	}
	members := make([]identityView, 0, len(g.Members))
	for _, id := range g.Members {
		if i, ok := v.Identity(id); ok {
			members = append(members, viewIdentity(i))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": g.ID, "displayName": g.DisplayName, "kind": g.Kind, "key": g.Key, "version": g.Version,
		"created": g.Created, "modified": g.Modified, "members": members,
	})
}
