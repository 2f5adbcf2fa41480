package console

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// pages are the console's page handlers.
type pages struct {
	c *Console
	b Backend
}

func (h *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	var refusal Refusal
	switch {
	case errors.Is(err, ErrNotFound):
		h.c.renderError(w, r, http.StatusNotFound, "Nothing with this id exists (any more).")
	case errors.Is(err, ErrUnsupported):
		h.c.renderError(w, r, http.StatusConflict, "This is not available here: "+err.Error()+".")
	case errors.As(err, &refusal):
		h.c.renderError(w, r, http.StatusConflict, refusal.Error())
	default:
		h.c.log.Error("console request failed", "path", r.URL.Path, "error", err)
		h.c.renderError(w, r, http.StatusInternalServerError, "Something went wrong; the server log has details.")
	}
}

// admin refuses viewers; it is checked before every action.
func (h *pages) admin(w http.ResponseWriter, r *http.Request) (User, bool) {
	u, _ := UserFrom(r.Context())
	if !u.CanAct() {
		h.c.renderError(w, r, http.StatusForbidden, "Viewers can read everything but change nothing. Ask an administrator.")
		return u, false
	}
	return u, true
}

func (h *pages) overview(w http.ResponseWriter, r *http.Request) {
	o, err := h.b.Overview(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "overview", "Overview", o)
}

func (h *pages) runs(w http.ResponseWriter, r *http.Request) {
	runs, err := h.b.Runs(r.Context(), 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "runs", "Sync runs", runs)
}

func (h *pages) run(w http.ResponseWriter, r *http.Request) {
	run, err := h.b.Run(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "run", "Run "+run.ID, run)
}

func (h *pages) approve(w http.ResponseWriter, r *http.Request) {
	u, ok := h.admin(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	if _, err := h.b.Approve(r.Context(), id, r.PostFormValue("digest"), u.Email); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Path+"/runs/"+url.PathEscape(id)+"?done=approved", http.StatusSeeOther)
}

func (h *pages) people(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	people, total, err := h.b.People(r.Context(), truncate(q, 200), 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "people", "People", map[string]any{"Q": q, "People": people, "Total": total})
}

func (h *pages) person(w http.ResponseWriter, r *http.Request) {
	p, err := h.b.Person(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "person", p.DisplayName, p)
}

func (h *pages) pushNow(w http.ResponseWriter, r *http.Request) {
	u, ok := h.admin(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	if _, err := h.b.PushNow(r.Context(), r.PostFormValue("target"), id, u.Email); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Path+"/people/"+url.PathEscape(id)+"?done=pushed", http.StatusSeeOther)
}

func (h *pages) groups(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	groups, total, err := h.b.Groups(r.Context(), truncate(q, 200), 500)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "groups", "Groups", map[string]any{"Q": q, "Groups": groups, "Total": total})
}

func (h *pages) group(w http.ResponseWriter, r *http.Request) {
	g, err := h.b.Group(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "group", g.DisplayName, g)
}

// auditFilter reads the audit page's filters; bad dates are ignored with a
// note rather than failing the page.
func auditFilter(r *http.Request, limit int) (AuditFilter, url.Values, string) {
	q := r.URL.Query()
	f := AuditFilter{Actor: q.Get("actor"), Resource: q.Get("resource"), Kind: q.Get("kind"), Limit: limit}
	if f.Kind != "identity" && f.Kind != "group" {
		f.Kind = ""
	}
	note := ""
	for _, d := range []struct {
		name string
		to   *time.Time
		add  time.Duration
	}{{"since", &f.Since, 0}, {"until", &f.Until, 24 * time.Hour}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				note = "Dates are YYYY-MM-DD; " + d.name + " was ignored."
				continue
			}
			*d.to = t.Add(d.add)
		}
	}
	if c, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && c > 0 {
		f.AfterSeq = c
	}
	keep := url.Values{}
	for _, k := range []string{"actor", "resource", "kind", "since", "until"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	return f, keep, note
}

func (h *pages) audit(w http.ResponseWriter, r *http.Request) {
	f, keep, note := auditFilter(r, 100)
	rows, err := h.b.Audit(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := ""
	if len(rows) == f.Limit {
		n := url.Values{}
		for k, v := range keep {
			n[k] = v
		}
		n.Set("after", strconv.FormatInt(rows[len(rows)-1].Seq, 10))
		next = n.Encode()
	}
	h.c.render(w, r, http.StatusOK, "audit", "Audit log", map[string]any{
		"Rows": rows, "F": f, "Since": r.URL.Query().Get("since"), "Until": r.URL.Query().Get("until"),
		"CSV": keep.Encode(), "Next": next, "Note": note,
	})
}

// auditCSV exports up to 5,000 rows of the filtered change log.
func (h *pages) auditCSV(w http.ResponseWriter, r *http.Request) {
	f, _, _ := auditFilter(r, 5000)
	rows, err := h.b.Audit(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="personio-scim-audit.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "actor", "cause", "reason", "kind", "resource_id", "op", "changes"})
	for _, c := range rows {
		cw.Write([]string{strconv.FormatInt(c.Seq, 10), c.Time.UTC().Format(time.RFC3339), csvSafe(c.Actor), csvSafe(c.Cause),
			csvSafe(c.Reason), c.Kind, c.Resource, c.Op, csvSafe(c.Summary)})
	}
	cw.Flush()
}

// csvSafe defuses values a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (h *pages) targets(w http.ResponseWriter, r *http.Request) {
	ts, err := h.b.Targets(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "targets", "Targets", ts)
}

func recordStatuses() []string {
	return []string{"quarantined", "failed", "pending", "synced", "skipped", "gone"}
}

func (h *pages) target(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "quarantined"
	}
	valid := false
	for _, s := range recordStatuses() {
		valid = valid || s == status
	}
	if !valid {
		h.c.renderError(w, r, http.StatusBadRequest, "Unknown record status.")
		return
	}
	ts, err := h.b.Targets(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var t *Target
	for i := range ts {
		if ts[i].Name == name {
			t = &ts[i]
		}
	}
	if t == nil {
		h.fail(w, r, ErrNotFound)
		return
	}
	recs, err := h.b.TargetRecords(r.Context(), name, status, 500)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "target", "Target "+name, map[string]any{"T": t, "Records": recs, "Status": status, "Statuses": recordStatuses()})
}

func (h *pages) release(w http.ResponseWriter, r *http.Request) {
	u, ok := h.admin(w, r)
	if !ok {
		return
	}
	name := chi.URLParam(r, "name")
	if err := h.b.Release(r.Context(), name, chi.URLParam(r, "id"), u.Email); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Path+"/targets/"+url.PathEscape(name)+"?done=released", http.StatusSeeOther)
}

func (h *pages) previewForm(w http.ResponseWriter, r *http.Request) {
	h.c.render(w, r, http.StatusOK, "preview", "Configuration preview", map[string]any{})
}

// preview reads nothing into the store: it is a POST only because a
// configuration is too long for a URL.
func (h *pages) preview(w http.ResponseWriter, r *http.Request) {
	cfg, person := r.PostFormValue("config"), strings.TrimSpace(r.PostFormValue("person"))
	p, err := h.b.Preview(r.Context(), cfg, person)
	var refusal Refusal
	switch {
	case errors.As(err, &refusal), errors.Is(err, ErrUnsupported), errors.Is(err, ErrNotFound):
		h.c.render(w, r, http.StatusUnprocessableEntity, "preview", "Configuration preview",
			map[string]any{"Config": cfg, "Person": person, "Error": err.Error()})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.c.render(w, r, http.StatusOK, "preview", "Configuration preview", map[string]any{"Config": cfg, "Person": person, "Result": p})
}
