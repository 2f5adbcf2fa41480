package personiotest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// attrDef describes a v1 employee attribute.
type attrDef struct {
	Key         string
	Label       string
	Type        string
	UniversalID string // "" is sent as null
}

// standardAttrDefs are the standard v1 attributes the simulator serves,
// with German labels as a German company would see them.
func standardAttrDefs() []attrDef {
	std := func(key, label, typ string) attrDef { return attrDef{key, label, typ, key} }
	return []attrDef{
		std("id", "ID", "integer"),
		std("first_name", "Vorname", "standard"),
		std("last_name", "Nachname", "standard"),
		std("preferred_name", "Rufname", "standard"),
		std("email", "E-Mail", "standard"),
		std("gender", "Geschlecht", "standard"),
		std("status", "Status", "standard"),
		std("position", "Position", "standard"),
		std("supervisor", "Vorgesetzte:r", "standard"),
		std("employment_type", "Beschäftigungsart", "standard"),
		std("weekly_working_hours", "Wochenarbeitszeit", "standard"),
		std("hire_date", "Eintrittsdatum", "date"),
		std("contract_end_date", "Vertragsende", "date"),
		std("termination_date", "Kündigungsdatum", "date"),
		std("termination_type", "Kündigungsart", "standard"),
		std("termination_reason", "Kündigungsgrund", "standard"),
		std("probation_period_end", "Ende der Probezeit", "date"),
		std("created_at", "Erstellt am", "date"),
		std("last_modified_at", "Zuletzt geändert", "date"),
		std("subcompany", "Firma", "standard"),
		std("office", "Standort", "standard"),
		std("department", "Abteilung", "standard"),
		std("team", "Team", "standard"),
		std("cost_centers", "Kostenstellen", "standard"),
		std("last_working_day", "Letzter Arbeitstag", "date"),
		std("profile_picture", "Profilbild", "standard"),
		std("fix_salary", "Fixgehalt", "decimal"),
		std("fix_salary_interval", "Gehaltsintervall", "standard"),
		std("hourly_salary", "Stundenlohn", "decimal"),
	}
}

// v1View decides which attributes one answer shows.
type v1View struct {
	cred       *Credential
	projection map[string]bool // nil: every readable attribute
	drop       map[string]bool // injected fault
	today      personio.Date
}

func (v v1View) shows(key string) bool {
	if v.drop[key] {
		return false
	}
	if key == "id" {
		return true
	}
	if v.cred.Readable != nil && !slices.Contains(v.cred.Readable, key) {
		return false
	}
	return v.projection == nil || v.projection[key]
}

func dropSet(f Fault) map[string]bool {
	if len(f.DropAttributes) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, k := range f.DropAttributes {
		m[k] = true
	}
	return m
}

func (s *Server) v1Def(key string) attrDef {
	if d, ok := s.v1Defs[key]; ok {
		return d
	}
	return attrDef{Key: key, Label: key, Type: "standard"}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// v1List is GET /v1/company/employees.
func (s *Server) v1List(w http.ResponseWriter, r *http.Request, cred *Credential) {
	q := queryValues(r)
	limit, offset, ok := s.v1Paging(w, q)
	if !ok {
		return
	}
	view := v1View{cred: cred, projection: projection(q), drop: dropSet(faultFrom(r)), today: s.today()}
	selected, ok := s.v1Select(w, q, view)
	if !ok {
		return
	}
	start := offset
	if s.opts.V1OffsetPages {
		start = offset * limit
	}
	if q.Get("updated_since") != "" && s.opts.V1UpdatedSinceAllInOne {
		start, limit = 0, max(1, len(selected))
	}
	f := faultFrom(r)
	if hide := omitted(f); hide != nil {
		selected = slices.DeleteFunc(slices.Clone(selected), func(p *person) bool { return hide[p.ID] })
	}
	total := len(selected) + f.TotalDelta
	page := selected[min(start, len(selected)):min(start+limit, len(selected))]
	if f.Empty {
		page = nil
	}
	b := make([]byte, 0, 2600*len(page)+200)
	b = append(b, `{"success":true,"metadata":{"total_elements":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"current_page":`...)
	b = strconv.AppendInt(b, int64(start/limit), 10)
	b = append(b, `,"total_pages":`...)
	b = strconv.AppendInt(b, int64((total+limit-1)/limit), 10)
	b = append(b, `},"offset":`...)
	b = strconv.AppendInt(b, int64(offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"data":[`...)
	for i, p := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendV1Employee(b, p, view)
	}
	b = append(b, "]}"...)
	writeRaw(w, http.StatusOK, b)
}

// v1Paging reads limit and offset; Personio enforces 1 ≤ limit ≤ 100 since
// January 2025.
func (s *Server) v1Paging(w http.ResponseWriter, q map[string][]string) (limit, offset int, ok bool) {
	limit = s.opts.V1DefaultLimit
	if v := first(q, "limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeV1Error(w, http.StatusBadRequest, "The limit must be between 1 and 100.")
			return 0, 0, false
		}
		limit = n
	}
	if v := first(q, "offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeV1Error(w, http.StatusBadRequest, "The offset must be a positive number.")
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func first(q map[string][]string, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// projection reads attributes[] (also accepted without brackets).
func projection(q map[string][]string) map[string]bool {
	keys := append(slices.Clone(q["attributes[]"]), q["attributes"]...)
	if len(keys) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// v1Select applies email and updated_since. updated_since only sees
// readable attributes, and with attributes[] only those.
func (s *Server) v1Select(w http.ResponseWriter, q map[string][]string, view v1View) ([]*person, bool) {
	if raw := first(q, "updated_since"); raw != "" {
		since, err := s.parseUpdatedSince(raw)
		if err != nil {
			writeV1Error(w, http.StatusBadRequest, "The updated_since parameter is not a valid date.")
			return nil, false
		}
		var out []*person
		for _, p := range s.co.persons {
			if s.changedSince(p, since, view) {
				out = append(out, p)
			}
		}
		return out, true
	}
	if email := first(q, "email"); email != "" {
		id, ok := s.co.emails[strings.ToLower(email)]
		if !ok {
			return nil, true
		}
		return []*person{s.co.byID[id]}, true
	}
	return s.co.persons, true
}

func (s *Server) parseUpdatedSince(raw string) (time.Time, error) {
	loc := s.opts.V1UpdatedSinceLocation
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, raw); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown format")
}

// changedSince reports whether an attribute the view may see changed after
// since. Comparisons are at whole seconds: updated_since has no fractions.
func (s *Server) changedSince(p *person, since time.Time, view v1View) bool {
	if !p.LastModified.After(since) {
		return false
	}
	if view.cred.Readable == nil && view.projection == nil {
		return true
	}
	for _, def := range standardAttrDefs() {
		if view.shows(def.Key) && p.changedAt(def.Key).After(since) {
			return true
		}
	}
	for _, def := range s.co.customs {
		if view.shows(def.Key) && p.changedAt(def.Key).After(since) {
			return true
		}
	}
	return false
}

// v1Get is GET /v1/company/employees/{id}.
func (s *Server) v1Get(w http.ResponseWriter, r *http.Request, cred *Credential) {
	p, ok := s.personByPathID(r)
	if !ok {
		writeV1Error(w, http.StatusNotFound, "Es ist ein Problem aufgetreten")
		return
	}
	view := v1View{cred: cred, drop: dropSet(faultFrom(r)), today: s.today()}
	b := append([]byte(`{"success":true,"data":`), s.appendV1Employee(nil, p, view)...)
	writeRaw(w, http.StatusOK, append(b, '}'))
}

func (s *Server) personByPathID(r *http.Request) (*person, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return nil, false
	}
	p, ok := s.co.byID[id]
	return p, ok
}

// v1Attributes is GET /v1/company/employees/attributes (and the
// custom-attributes alias): what the credential may read.
func (s *Server) v1Attributes(w http.ResponseWriter, r *http.Request, cred *Credential) {
	view := v1View{cred: cred}
	var data []map[string]any
	add := func(key, label, typ, uid string, options []string) {
		if !view.shows(key) {
			return
		}
		item := map[string]any{"key": key, "label": label, "type": typ, "universal_id": nullIfEmpty(uid)}
		if typ == "list" || typ == "tags" {
			item["options"] = options
		}
		data = append(data, item)
	}
	for _, d := range standardAttrDefs() {
		add(d.Key, d.Label, d.Type, d.UniversalID, nil)
	}
	for _, d := range s.co.customs {
		add(d.Key, d.Label, d.Type, d.UniversalID, d.Options)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": data})
}

// onePixelPNG is a valid 1×1 PNG, the picture of everyone.
const onePixelPNG = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"

// v1Picture serves the profile picture; images carry no token header.
func (s *Server) v1Picture(w http.ResponseWriter, r *http.Request, cred *Credential) {
	w.Header().Del("Authorization")
	if _, ok := s.personByPathID(r); !ok || !(v1View{cred: cred}).shows("profile_picture") {
		writeV1Error(w, http.StatusNotFound, "Es ist ein Problem aufgetreten")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write([]byte(onePixelPNG))
}
