package googlesim

import (
	"net/http"
	"slices"
	"strings"
)

type orgUnit struct {
	id, name, path, description string
	version                     int
}

func (o *orgUnit) parent() string {
	i := strings.LastIndex(o.path, "/")
	if i <= 0 {
		return "/"
	}
	return o.path[:i]
}

func (s *Sim) orgUnitJSON(o *orgUnit) map[string]any {
	out := map[string]any{
		"kind": "admin#directory#orgUnit", "etag": s.etag(o.id, o.version),
		"name": o.name, "orgUnitPath": o.path, "orgUnitId": o.id,
	}
	if o.path != "/" {
		out["parentOrgUnitPath"] = o.parent()
		out["parentOrgUnitId"] = s.ous[lower(o.parent())].id
	}
	if o.description != "" {
		out["description"] = o.description
	}
	return out
}

// orgUnitByKey resolves the path parameter: the full path without its
// leading slash, or the OU's id.
func (s *Sim) orgUnitByKey(key string) *orgUnit {
	if strings.HasPrefix(key, "id:") {
		for _, o := range s.ous {
			if o.id == key {
				return o
			}
		}
		return nil
	}
	return s.ous[lower("/"+strings.TrimPrefix(key, "/"))]
}

func (s *Sim) getOrgUnit(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	if !s.customerOK(r.PathValue("customer")) {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	o := s.orgUnitByKey(r.PathValue("path"))
	if o == nil || o.path == "/" {
		writeError(w, http.StatusNotFound, "notFound", "Org unit not found")
		return
	}
	writeJSON(w, http.StatusOK, s.orgUnitJSON(o))
}

func (s *Sim) insertOrgUnit(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if !s.customerOK(r.PathValue("customer")) {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	name, _ := body["name"].(string)
	if strings.TrimSpace(name) == "" || strings.Contains(name, "/") {
		writeError(w, http.StatusBadRequest, "required", "Missing required field: name")
		return
	}
	parent := s.parentOf(body)
	if parent == nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Parent Orgunit Id")
		return
	}
	path := strings.TrimSuffix(parent.path, "/") + "/" + name
	if _, dup := s.ous[lower(path)]; dup {
		// What Google answers for a duplicate OU is not documented; GAM
		// users report a 400, so the simulator gives one.
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Ou Id")
		return
	}
	o := &orgUnit{id: "id:03ph" + s.nextID()[10:], name: name, path: path, version: 1}
	o.description, _ = body["description"].(string)
	s.ous[lower(path)] = o
	s.writes++
	writeJSON(w, http.StatusOK, s.orgUnitJSON(o))
}

func (s *Sim) parentOf(body map[string]any) *orgUnit {
	if p, _ := body["parentOrgUnitPath"].(string); p != "" {
		return s.ous[lower(p)]
	}
	if id, _ := body["parentOrgUnitId"].(string); id != "" {
		return s.orgUnitByKey(id)
	}
	return nil
}

func (s *Sim) listOrgUnits(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	if !s.customerOK(r.PathValue("customer")) {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	q := r.URL.Query()
	base := s.ous[lower("/"+strings.TrimPrefix(q.Get("orgUnitPath"), "/"))]
	if base == nil {
		writeError(w, http.StatusNotFound, "notFound", "Org unit not found")
		return
	}
	kind := q.Get("type")
	var list []*orgUnit
	for _, o := range s.ous {
		if o.path == "/" {
			continue
		}
		switch kind {
		case "all", "allIncludingParent":
			if base.path == "/" || strings.HasPrefix(lower(o.path), lower(base.path)+"/") ||
				(kind == "allIncludingParent" && o == base) {
				list = append(list, o)
			}
		case "", "children":
			if strings.EqualFold(o.parent(), base.path) {
				list = append(list, o)
			}
		default:
			writeError(w, http.StatusBadRequest, "invalid", "Invalid value for: type")
			return
		}
	}
	slices.SortFunc(list, func(a, b *orgUnit) int { return strings.Compare(a.path, b.path) })
	units := make([]any, 0, len(list))
	for _, o := range list {
		units = append(units, s.orgUnitJSON(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "admin#directory#orgUnits", "etag": s.etag("ous", len(s.ous)), "organizationUnits": units})
}
