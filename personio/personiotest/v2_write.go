package personiotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// v2Body reads a JSON object body keeping null apart from absent.
func v2Body(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&body); err != nil || body == nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", "The request body is not a JSON object.")
		return nil, false
	}
	return body, true
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// badRequest is a 400 with a detail for the client.
type badRequest string

func (b badRequest) Error() string { return string(b) }

// v2PatchPerson is PATCH /v2/persons/{id}: email, names, gender, language
// and custom attributes; 204 on success.
func (s *Server) v2PatchPerson(w http.ResponseWriter, r *http.Request, cred *Credential) {
	body, ok := v2Body(w, r)
	if !ok {
		return
	}
	p, ok := s.personByPathID(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	ed := s.co.edit(p, s.now(), s.opts.V2EmploymentBumpsPerson)
	if err := s.patchPerson(ed, cred, body); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	ed.finish()
	w.WriteHeader(http.StatusNoContent)
}

// patchPerson validates everything before it changes anything, so that a
// refused request leaves the person untouched.
func (s *Server) patchPerson(ed *edit, cred *Credential, body map[string]json.RawMessage) error {
	attrs := Attrs{}
	for key, raw := range body {
		switch key {
		case "email", "first_name", "last_name", "preferred_name":
			var v *string
			if err := json.Unmarshal(raw, &v); err != nil {
				return badRequest(key + " must be a string")
			}
			if v == nil {
				attrs[key] = nil
			} else {
				attrs[key] = *v
			}
		case "gender":
			g, err := v2Gender(raw)
			if err != nil {
				return err
			}
			attrs[key] = g
		case "language_code":
			var code *string
			if json.Unmarshal(raw, &code) != nil || (code != nil && !slices.Contains([]string{"en", "de", "es", "fr", "nl", "it", "sv", "fi"}, *code)) {
				return badRequest("language_code is not supported")
			}
		case "custom_attributes":
			if err := s.v2CustomPatch(attrs, raw); err != nil {
				return err
			}
		}
	}
	for key := range attrs {
		if cred.Writable != nil && !slices.Contains(cred.Writable, key) {
			return badRequest("The attribute " + key + " is not writable with this credential.")
		}
	}
	if v, ok := attrs["email"]; ok {
		email, _ := v.(string)
		if owner, taken := s.co.emails[strings.ToLower(email)]; taken && owner != ed.p.ID {
			return badRequest("The email is already in use by another person.")
		}
	}
	if err := s.co.applyAttrs(ed, attrs, s.today()); err != nil {
		return badRequest(err.Error())
	}
	return nil
}

// v2Gender maps the write enum to the stored value; UNKNOWN and UNDEFINED
// are stored as diverse, the simulator's only other value.
func v2Gender(raw json.RawMessage) (string, error) {
	var g *string
	if json.Unmarshal(raw, &g) != nil {
		return "", badRequest("gender must be a string")
	}
	if g == nil {
		return "diverse", nil
	}
	switch *g {
	case "MALE":
		return "male", nil
	case "FEMALE":
		return "female", nil
	case "DIVERSE", "UNKNOWN", "UNDEFINED":
		return "diverse", nil
	}
	return "", badRequest("gender is not supported")
}

func (s *Server) v2CustomPatch(attrs Attrs, raw json.RawMessage) error {
	var items []struct {
		ID    string          `json:"id"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return badRequest("custom_attributes must be a list of {id, value}")
	}
	for _, item := range items {
		if s.co.customIndex(item.ID) < 0 {
			return badRequest("The custom attribute " + item.ID + " does not exist.")
		}
		var list []string
		if json.Unmarshal(item.Value, &list) == nil {
			attrs[item.ID] = strings.Join(list, ",")
			continue
		}
		var v any
		if json.Unmarshal(item.Value, &v) != nil {
			return badRequest("custom attribute value is not valid")
		}
		attrs[item.ID] = v
	}
	return nil
}

// v2PatchEmployment is PATCH /v2/persons/{id}/employments/{eid}; 204 on
// success. Org data is given by id.
func (s *Server) v2PatchEmployment(w http.ResponseWriter, r *http.Request, cred *Credential) {
	body, ok := v2Body(w, r)
	if !ok {
		return
	}
	p, e, ok := s.employmentByPath(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified id.")
		return
	}
	if _, hasEnd := body["probation_end_date"]; hasEnd {
		if _, hasLength := body["probation_period_length"]; hasLength {
			writeProblem(w, http.StatusBadRequest, "Bad request", "Send probation_end_date or probation_period_length, not both.")
			return
		}
	}
	ed := s.co.edit(p, s.now(), s.opts.V2EmploymentBumpsPerson)
	ed.e = e
	changes, err := s.employmentChanges(cred, body)
	if err == nil {
		err = changes(ed)
	}
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	ed.finish()
	w.WriteHeader(http.StatusNoContent)
}

// employmentChanges validates an employment body and returns the change to
// apply, so that nothing changes when any field is refused.
func (s *Server) employmentChanges(cred *Credential, body map[string]json.RawMessage) (func(*edit) error, error) {
	var steps []func(*edit) error
	for key, raw := range body {
		if cred.Writable != nil && !slices.Contains(cred.Writable, v1KeyOfEmploymentField(key)) {
			return nil, badRequest("The attribute " + key + " is not writable with this credential.")
		}
		step, err := s.employmentStep(key, raw)
		if err != nil {
			return nil, err
		}
		if step != nil {
			steps = append(steps, step)
		}
	}
	return func(ed *edit) error {
		for _, step := range steps {
			if err := step(ed); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func v1KeyOfEmploymentField(field string) string {
	switch field {
	case "employment_start_date":
		return "hire_date"
	case "type":
		return "employment_type"
	case "legal_entity", "subcompany":
		return "subcompany"
	case "probation_end_date", "probation_period_length":
		return "probation_period_end"
	case "org_units":
		return "department"
	case "full_time_weekly_working_hours":
		return "weekly_working_hours"
	}
	return field
}

// employmentStep validates one field; nil means accepted and not modelled.
func (s *Server) employmentStep(key string, raw json.RawMessage) (func(*edit) error, error) {
	switch key {
	case "supervisor":
		id, err := s.refID(raw, "supervisor", func(id int) bool { _, ok := s.co.byID[id]; return ok })
		if err != nil {
			return nil, err
		}
		return func(ed *edit) error {
			if err := ed.supervisor(id, false); err != nil {
				return badRequest(err.Error())
			}
			return nil
		}, nil
	case "office", "legal_entity", "subcompany":
		kind, attr := kindOffice, "office"
		if key != "office" {
			kind, attr = kindLegalEntity, "subcompany"
		}
		id, err := s.refID(raw, key, func(id int) bool { _, ok := s.co.orgs[kind].byID[id]; return ok })
		if err != nil {
			return nil, err
		}
		return func(ed *edit) error {
			field := &ed.e.OfficeID
			if kind == kindLegalEntity {
				field = &ed.e.LegalEntityID
			}
			ed.employmentRef(attr, field, id)
			return nil
		}, nil
	case "org_units":
		return s.orgUnitsStep(raw)
	case "cost_centers":
		return s.costCentersStep(raw)
	case "position":
		var pos *struct {
			Title string `json:"title"`
		}
		if json.Unmarshal(raw, &pos) != nil {
			return nil, badRequest("position must be {title}")
		}
		title := ""
		if pos != nil {
			title = pos.Title
		}
		return func(ed *edit) error { ed.employmentText("position", &ed.e.Position, title); return nil }, nil
	case "status", "type":
		return enumStep(key, raw)
	case "employment_start_date", "contract_end_date", "probation_end_date":
		return dateStep(key, raw)
	case "weekly_working_hours", "full_time_weekly_working_hours", "probation_period_length", "job":
		return nil, nil
	}
	return nil, badRequest("Parameter [" + key + "] is invalid")
}

// refID reads {"id": …} or null (0) and checks the id exists.
func (s *Server) refID(raw json.RawMessage, key string, exists func(int) bool) (int, error) {
	if isNull(raw) {
		return 0, nil
	}
	var ref struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &ref) != nil {
		return 0, badRequest(key + " must be {id}")
	}
	var text string
	if json.Unmarshal(ref.ID, &text) != nil {
		text = string(ref.ID)
	}
	id, err := strconv.Atoi(text)
	if err != nil || !exists(id) {
		return 0, badRequest(fmt.Sprintf("The %s does not exist.", key))
	}
	return id, nil
}

func (s *Server) orgUnitsStep(raw json.RawMessage) (func(*edit) error, error) {
	var units []struct {
		Type string          `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if !isNull(raw) && json.Unmarshal(raw, &units) != nil {
		return nil, badRequest("org_units must be a list of {type, id}")
	}
	department, team := 0, 0
	for _, u := range units {
		kind, ok := orgUnitKind(u.Type)
		if !ok {
			return nil, badRequest("org unit type must be department or team")
		}
		id, err := s.refID(json.RawMessage(`{"id":`+string(u.ID)+`}`), u.Type, func(id int) bool { _, ok := s.co.orgs[kind].byID[id]; return ok })
		if err != nil {
			return nil, err
		}
		if kind == kindDepartment {
			department = id
		} else {
			team = id
		}
	}
	return func(ed *edit) error {
		ed.employmentRef("department", &ed.e.DepartmentID, department)
		ed.employmentRef("team", &ed.e.TeamID, team)
		return nil
	}, nil
}

func (s *Server) costCentersStep(raw json.RawMessage) (func(*edit) error, error) {
	var items []struct {
		ID     json.RawMessage `json:"id"`
		Weight int             `json:"weight"`
	}
	if !isNull(raw) && json.Unmarshal(raw, &items) != nil {
		return nil, badRequest("cost_centers must be a list of {id, weight}")
	}
	var shares []costShare
	for _, item := range items {
		id, err := s.refID(json.RawMessage(`{"id":`+string(item.ID)+`}`), "cost center", func(id int) bool { _, ok := s.co.orgs[kindCostCenter].byID[id]; return ok })
		if err != nil {
			return nil, err
		}
		shares = append(shares, costShare{ID: id, Percent: item.Weight})
	}
	return func(ed *edit) error { ed.costCenters(shares); return nil }, nil
}

func enumStep(key string, raw json.RawMessage) (func(*edit) error, error) {
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return nil, badRequest(key + " must be a string")
	}
	v = strings.ToLower(v)
	if key == "status" {
		if !validStatus(v) {
			return nil, badRequest("status must be ACTIVE, INACTIVE, ONBOARDING or LEAVE")
		}
		return func(ed *edit) error { ed.employmentText("status", &ed.e.Status, v); return nil }, nil
	}
	if v != "internal" && v != "external" {
		return nil, badRequest("type must be INTERNAL or EXTERNAL")
	}
	return func(ed *edit) error { ed.employmentText("employment_type", &ed.e.Type, v); return nil }, nil
}

func dateStep(key string, raw json.RawMessage) (func(*edit) error, error) {
	var d personio.Date
	if !isNull(raw) {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			return nil, badRequest(key + " must be YYYY-MM-DD")
		}
		t, err := time.Parse(time.DateOnly, text)
		if err != nil {
			return nil, badRequest(key + " must be YYYY-MM-DD")
		}
		d = personio.DateOf(t)
	}
	return func(ed *edit) error {
		switch key {
		case "employment_start_date":
			ed.employmentDate("hire_date", &ed.e.HireDate, d)
		case "contract_end_date":
			ed.employmentDate("contract_end_date", &ed.e.ContractEnd, d)
		default:
			ed.employmentDate("probation_period_end", &ed.e.ProbationEnd, d)
		}
		return nil
	}, nil
}
