package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// changeView is a change-log row as the admin API shows it.
type changeView struct {
	Seq            int64             `json:"seq"`
	Time           time.Time         `json:"time"`
	Actor          string            `json:"actor"`
	Cause          string            `json:"cause,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Kind           string            `json:"kind"`
	ResourceID     string            `json:"resource_id"`
	Op             string            `json:"op"`
	Before         map[string]string `json:"before,omitempty"`
	After          map[string]string `json:"after,omitempty"`
	MembersAdded   []string          `json:"members_added,omitempty"`
	MembersRemoved []string          `json:"members_removed,omitempty"`
}

func viewChange(c store.Change) changeView {
	return changeView{Seq: c.Seq, Time: c.Time, Actor: c.Actor, Cause: c.Cause, Reason: c.Reason, Kind: string(c.Kind),
		ResourceID: c.ResourceID, Op: string(c.Op), Before: c.Before, After: c.After,
		MembersAdded: c.MembersAdded, MembersRemoved: c.MembersRemoved}
}

// audit serves the change log, filtered and paged by cursor (the last seq
// seen), as JSON or as CSV for auditors.
func (rt *router) audit(w http.ResponseWriter, r *http.Request) {
	q, format, err := auditQuery(r)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	changes, err := rt.opts.Store.Changes(r.Context(), q)
	if err != nil {
		rt.storeError(w, r, err)
		return
	}
	next := ""
	if len(changes) == q.Limit {
		next = strconv.FormatInt(changes[len(changes)-1].Seq, 10)
	}
	if format == "csv" {
		writeAuditCSV(w, changes, next)
		return
	}
	items := make([]changeView, 0, len(changes))
	for _, c := range changes {
		items = append(items, viewChange(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

func auditQuery(r *http.Request) (store.ChangeQuery, string, error) {
	var q store.ChangeQuery
	var err error
	if q.Limit, err = queryInt(r, "limit", 100, 1, 5000); err != nil {
		return q, "", err
	}
	if q.Since, err = queryTime(r, "since"); err != nil {
		return q, "", err
	}
	if q.Until, err = queryTime(r, "until"); err != nil {
		return q, "", err
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		if q.AfterSeq, err = strconv.ParseInt(c, 10, 64); err != nil || q.AfterSeq < 0 {
			return q, "", errBadCursor
		}
	}
	params := r.URL.Query()
	q.Actor, q.ResourceID = params.Get("actor"), params.Get("resource")
	switch kind := params.Get("kind"); kind {
	case "", string(store.KindIdentity), string(store.KindGroup):
		q.Kind = store.ResourceKind(kind)
	default:
		return q, "", errBadKind
	}
	format := params.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return q, "", errBadFormat
	}
	return q, format, nil
}

var (
	errBadCursor = errorString("cursor must be a sequence number from a previous page's next_cursor")
	errBadKind   = errorString("kind must be identity or group")
	errBadFormat = errorString("format must be json or csv")
)

type errorString string

func (e errorString) Error() string { return string(e) }

func writeAuditCSV(w http.ResponseWriter, changes []store.Change, next string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="personio-scim-audit.csv"`)
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "actor", "cause", "reason", "kind", "resource_id", "op", "before", "after", "members_added", "members_removed"})
	for _, c := range changes {
		before, _ := json.Marshal(c.Before)
		after, _ := json.Marshal(c.After)
		cw.Write([]string{strconv.FormatInt(c.Seq, 10), c.Time.Format(time.RFC3339Nano), csvSafe(c.Actor), csvSafe(c.Cause), csvSafe(c.Reason),
			string(c.Kind), c.ResourceID, string(c.Op), csvSafe(string(before)), csvSafe(string(after)),
			strings.Join(c.MembersAdded, " "), strings.Join(c.MembersRemoved, " ")})
	}
	cw.Flush()
}

// csvSafe defuses values a spreadsheet would run as a formula; HR data can
// contain anything, and auditors open these files in Excel.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
