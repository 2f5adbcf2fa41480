package personiotest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// v2 field visibility follows the credential's v1 attribute allow list:
// a v2 field is shown when the v1 attribute carrying the same data is
// readable.

func (s *Server) v2Shows(cred *Credential, drop map[string]bool, v1Key string) bool {
	return v1View{cred: cred, drop: drop}.shows(v1Key)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func dateOrNil(d personio.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func ref(id int) any {
	if id == 0 {
		return nil
	}
	return map[string]string{"id": strconv.Itoa(id)}
}

// personStatus is v2's person status: ACTIVE while the latest employment
// is active, on leave or onboarding.
func (s *Server) personStatus(p *person) string {
	switch status(p.current(), s.today(), s.opts.StatusFollowsDates) {
	case "active", "leave", "onboarding":
		return "ACTIVE"
	}
	return "INACTIVE"
}

// v2PersonJSON renders a person as /v2/persons does.
func (s *Server) v2PersonJSON(r *http.Request, p *person, cred *Credential, drop map[string]bool) map[string]any {
	shows := func(key string) bool { return s.v2Shows(cred, drop, key) }
	id := strconv.Itoa(p.ID)
	base := baseFor(r)
	out := map[string]any{"id": id}
	text := func(key, value string) {
		if shows(key) {
			out[key] = value
		}
	}
	if shows("email") {
		out["email"] = nullIfEmpty(p.Email)
	}
	text("first_name", p.FirstName)
	text("last_name", p.LastName)
	if shows("preferred_name") {
		out["preferred_name"] = nullIfEmpty(p.PreferredName)
	}
	if shows("gender") {
		out["gender"] = strings.ToUpper(p.Gender)
	}
	if shows("profile_picture") {
		out["profile_picture"] = map[string]string{"url": "https://api.personio.de/v1/company/employees/" + id + "/profile-picture"}
	}
	if shows("status") {
		out["status"] = s.personStatus(p)
	}
	if shows("created_at") {
		out["created_at"] = timeOrNil(p.CreatedAt)
	}
	if shows("last_modified_at") {
		out["updated_at"] = timeOrNil(p.UpdatedAt)
	}
	if customs := s.v2Customs(p, shows); customs != nil {
		out["custom_attributes"] = customs
	}
	emps := make([]map[string]string, 0, len(p.Employments))
	for _, e := range p.Employments {
		emps = append(emps, map[string]string{"id": e.ID})
	}
	out["employments"] = emps
	out["_meta"] = map[string]any{"links": map[string]any{
		"employments": map[string]string{"href": base + "/v2/persons/" + id + "/employments"},
	}}
	return out
}

// v2Customs renders the readable custom attributes; nil when none is.
func (s *Server) v2Customs(p *person, shows func(string) bool) []map[string]any {
	var out []map[string]any
	for i, def := range s.co.customs {
		if !shows(def.Key) {
			continue
		}
		item := map[string]any{"id": def.Key, "type": s.v2CustomType(def.Type), "global_id": nullIfEmpty(def.UniversalID)}
		if !s.opts.V2OmitCustomLabels {
			item["label"] = def.Label
		}
		item["value"] = p.Custom[i]
		if def.Type == "tags" {
			item["value"] = tagList(p.Custom[i])
		}
		if out == nil {
			out = []map[string]any{}
		}
		out = append(out, item)
	}
	return out
}

func tagList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s *Server) v2CustomType(v1Type string) string {
	t := "string"
	switch v1Type {
	case "integer":
		t = "int"
	case "decimal":
		t = "double"
	case "date":
		t = "date"
	case "tags":
		t = "string_list"
	}
	if s.opts.V2UpperCaseCustomTypes {
		return strings.ToUpper(t)
	}
	return t
}

// v2EmploymentJSON renders an employment; org data as ids only.
func (s *Server) v2EmploymentJSON(r *http.Request, p *person, e *employment, cred *Credential, drop map[string]bool) map[string]any {
	shows := func(key string) bool { return s.v2Shows(cred, drop, key) }
	base := baseFor(r)
	out := map[string]any{
		"id":     e.ID,
		"status": strings.ToUpper(status(e, s.today(), s.opts.StatusFollowsDates)),
		"person": map[string]string{"id": strconv.Itoa(p.ID)},
	}
	put := func(key, field string, value any) {
		if shows(key) {
			out[field] = value
		}
	}
	put("employment_type", "type", strings.ToUpper(e.Type))
	put("position", "position", map[string]any{"title": nullIfEmpty(e.Position)})
	put("weekly_working_hours", "weekly_working_hours", e.WeeklyHours)
	put("weekly_working_hours", "full_time_weekly_working_hours", 40)
	put("hire_date", "employment_start_date", dateOrNil(e.HireDate))
	put("contract_end_date", "contract_end_date", dateOrNil(e.ContractEnd))
	put("probation_period_end", "probation_end_date", dateOrNil(e.ProbationEnd))
	put("created_at", "created_at", timeOrNil(e.CreatedAt))
	put("last_modified_at", "updated_at", timeOrNil(e.UpdatedAt))
	put("supervisor", "supervisor", ref(e.SupervisorID))
	put("office", "office", ref(e.OfficeID))
	put("subcompany", "legal_entity", ref(e.LegalEntityID))
	put("subcompany", "sub_company", ref(e.LegalEntityID))
	if units, ok := s.v2OrgUnitsOf(e, shows); ok {
		out["org_units"] = units
	}
	if shows("cost_centers") {
		ccs := []map[string]any{}
		for _, cc := range e.CostCenters {
			ccs = append(ccs, map[string]any{"id": strconv.Itoa(cc.ID), "weight": cc.Percent})
		}
		out["cost_centers"] = ccs
	}
	if shows("termination_date") || shows("last_working_day") {
		out["termination"] = s.v2Termination(e, shows)
	}
	links := map[string]any{"person": map[string]string{"href": base + "/v2/persons/" + strconv.Itoa(p.ID)}}
	if e.SupervisorID != 0 && shows("supervisor") {
		links["supervisor"] = map[string]string{"href": base + "/v2/persons/" + strconv.Itoa(e.SupervisorID)}
	}
	out["_meta"] = map[string]any{"links": links}
	return out
}

// v2OrgUnitsOf renders an employment's org units. The list is one v2
// field carrying two v1 attributes, and how Personio's whitelisting applies
// to it is not documented: by default it is shown only when both team and
// department are readable (a hidden attribute is then an absent key, as
// everywhere else); V2OrgUnitsPerType shows it when either is and leaves
// out the units of the hidden type.
func (s *Server) v2OrgUnitsOf(e *employment, shows func(string) bool) ([]map[string]string, bool) {
	team, dept := shows("team"), shows("department")
	if !s.opts.V2OrgUnitsPerType {
		team, dept = team && dept, team && dept
	}
	if !team && !dept {
		return nil, false
	}
	units := []map[string]string{}
	if team && e.TeamID != 0 {
		units = append(units, map[string]string{"type": "team", "id": strconv.Itoa(e.TeamID)})
	}
	if dept && e.DepartmentID != 0 {
		units = append(units, map[string]string{"type": "department", "id": strconv.Itoa(e.DepartmentID)})
	}
	return units, true
}

func (s *Server) v2Termination(e *employment, shows func(string) bool) any {
	if e.TerminationDate.IsZero() && e.LastWorkingDay.IsZero() {
		return nil
	}
	t := map[string]any{}
	if shows("termination_date") {
		t["termination_date"] = dateOrNil(e.TerminationDate)
		t["type"] = nullIfEmpty(e.TerminationType)
		t["reason"] = nullIfEmpty(e.TerminationReason)
	}
	if shows("last_working_day") {
		key := "last_working_day"
		if s.opts.V2LastWorkingDateKey {
			key = "last_working_date"
		}
		t[key] = dateOrNil(e.LastWorkingDay)
	}
	return t
}

// v2Persons is GET /v2/persons.
func (s *Server) v2Persons(w http.ResponseWriter, r *http.Request, cred *Credential) {
	req, ok := readV2List(w, r, 10, 50, "id", "email", "first_name", "last_name", "preferred_name",
		"created_at", "created_at.gt", "created_at.lt", "updated_at", "updated_at.gt", "updated_at.lt", "status")
	if !ok {
		return
	}
	match, err := s.personFilter(req.query)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", "Provided request parameters are invalid.")
		return
	}
	// Keyset paging by id: people hired or removed between pages neither
	// shift nor repeat the others.
	start, _ := slices.BinarySearchFunc(s.co.persons, req.cursor.Pos+1, func(p *person, id int) int { return p.ID - id })
	var picked []*person
	var next *v2Cursor
	for _, p := range s.co.persons[start:] {
		if !match(p) {
			continue
		}
		if len(picked) == req.cursor.Limit {
			c := req.cursor
			c.Pos, c.Nonce = picked[len(picked)-1].ID, 0
			next = &c
			break
		}
		picked = append(picked, p)
	}
	drop, hide := dropSet(faultFrom(r)), omitted(faultFrom(r))
	items := make([]any, 0, len(picked))
	for _, p := range picked {
		if !hide[p.ID] {
			items = append(items, s.v2PersonJSON(r, p, cred, drop))
		}
	}
	s.writeV2Page(w, r, req, items, next)
}

// personFilter turns the persons filters into a predicate.
func (s *Server) personFilter(q url.Values) (func(*person) bool, error) {
	var preds []func(*person) bool
	for key, values := range q {
		v := values[0]
		field, op, _ := strings.Cut(key, ".")
		switch field {
		case "id":
			ids := map[int]bool{}
			for _, part := range strings.Split(v, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(part))
				if err != nil {
					return nil, err
				}
				ids[n] = true
			}
			preds = append(preds, func(p *person) bool { return ids[p.ID] })
		case "email":
			emails := map[string]bool{}
			for _, part := range strings.Split(v, ",") {
				emails[strings.ToLower(strings.TrimSpace(part))] = true
			}
			preds = append(preds, func(p *person) bool { return emails[strings.ToLower(p.Email)] })
		case "first_name", "last_name", "preferred_name":
			preds = append(preds, func(p *person) bool { return personText(p, field) == v })
		case "status":
			if v != "ACTIVE" && v != "INACTIVE" {
				return nil, fmt.Errorf("bad status")
			}
			preds = append(preds, func(p *person) bool { return s.personStatus(p) == v })
		case "created_at", "updated_at":
			pred, err := timeFilter(field, op, v)
			if err != nil {
				return nil, err
			}
			preds = append(preds, pred)
		}
	}
	return func(p *person) bool {
		for _, pred := range preds {
			if !pred(p) {
				return false
			}
		}
		return true
	}, nil
}

func personText(p *person, field string) string {
	switch field {
	case "first_name":
		return p.FirstName
	case "last_name":
		return p.LastName
	}
	return p.PreferredName
}

func timeFilter(field, op, v string) (func(*person) bool, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, err
	}
	get := func(p *person) time.Time { return p.CreatedAt }
	if field == "updated_at" {
		get = func(p *person) time.Time { return p.UpdatedAt }
	}
	switch op {
	case "gt":
		return func(p *person) bool { return get(p).After(t) }, nil
	case "lt":
		return func(p *person) bool { return get(p).Before(t) }, nil
	}
	return func(p *person) bool { return get(p).Equal(t) }, nil
}

// v2Person is GET /v2/persons/{id}: the bare person.
func (s *Server) v2Person(w http.ResponseWriter, r *http.Request, cred *Credential) {
	p, ok := s.personByPathID(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	writeJSON(w, http.StatusOK, s.v2PersonJSON(r, p, cred, dropSet(faultFrom(r))))
}

// v2Employments is GET /v2/persons/{id}/employments, most recent first.
func (s *Server) v2Employments(w http.ResponseWriter, r *http.Request, cred *Credential) {
	req, ok := readV2List(w, r, 10, 50, "id", "updated_at", "updated_at.gt", "updated_at.lt")
	if !ok {
		return
	}
	p, ok := s.personByPathID(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	emps, err := filterEmployments(p.Employments, req.query)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", "Provided request parameters are invalid.")
		return
	}
	page, next := pageByIndex(emps, req)
	drop := dropSet(faultFrom(r))
	items := make([]any, 0, len(page))
	for _, e := range page {
		items = append(items, s.v2EmploymentJSON(r, p, e, cred, drop))
	}
	s.writeV2Page(w, r, req, items, next)
}

func filterEmployments(all []*employment, q url.Values) ([]*employment, error) {
	out := all
	for key, values := range q {
		v := values[0]
		field, op, _ := strings.Cut(key, ".")
		var keep func(*employment) bool
		switch field {
		case "id":
			ids := strings.Split(v, ",")
			keep = func(e *employment) bool { return slices.Contains(ids, e.ID) }
		case "updated_at":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, err
			}
			keep = func(e *employment) bool {
				switch op {
				case "gt":
					return e.UpdatedAt.After(t)
				case "lt":
					return e.UpdatedAt.Before(t)
				}
				return e.UpdatedAt.Equal(t)
			}
		default:
			continue
		}
		out = slices.DeleteFunc(slices.Clone(out), func(e *employment) bool { return !keep(e) })
	}
	return out, nil
}

// v2Employment is GET /v2/persons/{id}/employments/{eid}.
func (s *Server) v2Employment(w http.ResponseWriter, r *http.Request, cred *Credential) {
	p, e, ok := s.employmentByPath(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	writeJSON(w, http.StatusOK, s.v2EmploymentJSON(r, p, e, cred, dropSet(faultFrom(r))))
}

func (s *Server) employmentByPath(r *http.Request) (*person, *employment, bool) {
	p, ok := s.personByPathID(r)
	if !ok {
		return nil, nil, false
	}
	for _, e := range p.Employments {
		if e.ID == r.PathValue("eid") {
			return p, e, true
		}
	}
	return nil, nil, false
}

// orgGate answers 404 where a company without the beta would get one.
func (s *Server) orgGate(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.V2OrgEndpointsMissing {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified path.")
		return false
	}
	return true
}

// v2OrgUnits is GET /v2/org-units?type=department|team (beta in Personio).
func (s *Server) v2OrgUnits(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.authorize(w, r) == nil || !s.orgGate(w, r) {
		return
	}
	req, ok := readV2List(w, r, 10, 100, "type", "include_parent_chain", "sort")
	if !ok {
		return
	}
	kind, ok := orgUnitKind(req.query.Get("type"))
	if !ok {
		writeProblem(w, http.StatusBadRequest, "Bad request", "Provided request parameters are invalid.")
		return
	}
	units := slices.Clone(s.co.orgs[kind].units)
	switch req.query.Get("sort") {
	case "name":
		slices.SortFunc(units, func(a, b *orgUnit) int { return strings.Compare(a.Name, b.Name) })
	case "-name":
		slices.SortFunc(units, func(a, b *orgUnit) int { return strings.Compare(b.Name, a.Name) })
	case "-id":
		slices.Reverse(units)
	}
	page, next := pageByIndex(units, req)
	items := make([]any, 0, len(page))
	for _, u := range page {
		items = append(items, orgUnitJSON(u, req.query.Get("type")))
	}
	s.writeV2Page(w, r, req, items, next)
}

func orgUnitKind(t string) (orgKind, bool) {
	switch t {
	case "department":
		return kindDepartment, true
	case "team":
		return kindTeam, true
	}
	return 0, false
}

func orgUnitJSON(u *orgUnit, typ string) map[string]any {
	var parent any
	if u.ParentID != 0 {
		parent = strconv.Itoa(u.ParentID)
	}
	return map[string]any{"id": strconv.Itoa(u.ID), "type": typ, "name": u.Name,
		"abbreviation": nullIfEmpty(u.Abbreviation), "description": nil, "parent_id": parent}
}

// v2OrgUnit is GET /v2/org-units/{id}?type=….
func (s *Server) v2OrgUnit(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.authorize(w, r) == nil || !s.orgGate(w, r) {
		return
	}
	typ := r.URL.Query().Get("type")
	kind, ok := orgUnitKind(typ)
	if !ok {
		writeProblem(w, http.StatusBadRequest, "Bad request", "Provided request parameters are invalid.")
		return
	}
	id, _ := strconv.Atoi(r.PathValue("id"))
	u, ok := s.co.orgs[kind].byID[id]
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	writeJSON(w, http.StatusOK, orgUnitJSON(u, typ))
}

// v2LegalEntities is GET /v2/legal-entities, newest first.
func (s *Server) v2LegalEntities(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.authorize(w, r) == nil || !s.orgGate(w, r) {
		return
	}
	req, ok := readV2List(w, r, 20, 100, "id", "country")
	if !ok {
		return
	}
	var units []*orgUnit
	for _, u := range slices.Backward(s.co.orgs[kindLegalEntity].units) {
		if legalEntityMatches(u, req.query) {
			units = append(units, u)
		}
	}
	page, next := pageByIndex(units, req)
	items := make([]any, 0, len(page))
	for _, u := range page {
		items = append(items, legalEntityJSON(u))
	}
	s.writeV2Page(w, r, req, items, next)
}

func legalEntityMatches(u *orgUnit, q url.Values) bool {
	if ids := q.Get("id"); ids != "" && !slices.Contains(strings.Split(ids, ","), strconv.Itoa(u.ID)) {
		return false
	}
	if countries := q.Get("country"); countries != "" && !slices.Contains(strings.Split(countries, ","), u.Country) {
		return false
	}
	return true
}

func legalEntityJSON(u *orgUnit) map[string]any {
	return map[string]any{"id": strconv.Itoa(u.ID), "name": u.Name, "country": nullIfEmpty(u.Country)}
}

// v2LegalEntity is GET /v2/legal-entities/{id}.
func (s *Server) v2LegalEntity(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.authorize(w, r) == nil || !s.orgGate(w, r) {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("id"))
	u, ok := s.co.orgs[kindLegalEntity].byID[id]
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	writeJSON(w, http.StatusOK, legalEntityJSON(u))
}

// v2CostCenters is GET /v2/cost-centers, gated behind "Beta: true" when
// configured so.
func (s *Server) v2CostCenters(w http.ResponseWriter, r *http.Request) {
	if s.opts.V2CostCentersNeedBeta && !strings.EqualFold(r.Header.Get("Beta"), "true") {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified path.")
		return
	}
	s.simpleOrgList(w, r, kindCostCenter)
}

// v2Workplaces is GET /v2/workplaces (offices).
func (s *Server) v2Workplaces(w http.ResponseWriter, r *http.Request) {
	s.simpleOrgList(w, r, kindOffice)
}

func (s *Server) simpleOrgList(w http.ResponseWriter, r *http.Request, kind orgKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.authorize(w, r) == nil || !s.orgGate(w, r) {
		return
	}
	req, ok := readV2List(w, r, 10, 100)
	if !ok {
		return
	}
	page, next := pageByIndex(s.co.orgs[kind].units, req)
	items := make([]any, 0, len(page))
	for _, u := range page {
		items = append(items, map[string]any{"id": strconv.Itoa(u.ID), "name": u.Name})
	}
	s.writeV2Page(w, r, req, items, next)
}
