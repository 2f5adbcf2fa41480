package personiotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// v1WritableFields are the fields v1 POST and PATCH understand; everything
// else is ignored silently, as Personio documents. email only on POST.
func v1WritableFields() []string {
	return []string{"email", "first_name", "last_name", "preferred_name", "gender", "position",
		"subcompany", "department", "office", "hire_date", "weekly_working_hours", "status",
		"supervisor_id", "custom_attributes"}
}

// v1Create is POST /v1/company/employees.
func (s *Server) v1Create(w http.ResponseWriter, r *http.Request, cred *Credential) {
	fields, err := v1EmployeeBody(r)
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, k := range []string{"email", "first_name", "last_name"} {
		if v, _ := textValue(fields[k]); strings.TrimSpace(v) == "" {
			writeV1Error(w, http.StatusUnprocessableEntity, fmt.Sprintf("The %s field is required.", k))
			return
		}
	}
	attrs, supervisor, meta, err := s.v1Attrs(cred, fields, true)
	if err != nil {
		writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	attrs["first_name"], attrs["last_name"] = fields["first_name"], fields["last_name"]
	p, err := s.co.hire(attrs, s.now(), s.today(), s.opts.V2EmploymentBumpsPerson)
	if err != nil {
		writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if supervisor != nil {
		if err := s.co.edit(p, s.now(), false).supervisor(*supervisor, false); err != nil {
			s.co.removePerson(p.ID)
			writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"id": p.ID, "message": "success"}, "meta": meta})
}

// v1Patch is PATCH /v1/company/employees/{id}.
func (s *Server) v1Patch(w http.ResponseWriter, r *http.Request, cred *Credential) {
	fields, err := v1EmployeeBody(r)
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, err.Error())
		return
	}
	p, ok := s.personByPathID(r)
	if !ok {
		writeV1Error(w, http.StatusNotFound, "Es ist ein Problem aufgetreten")
		return
	}
	if _, hasEmail := fields["email"]; hasEmail && s.opts.V1RejectEmailPatch {
		writeV1Error(w, http.StatusUnprocessableEntity, "The email cannot be changed through this endpoint.")
		return
	}
	attrs, supervisor, meta, err := s.v1Attrs(cred, fields, false)
	if err != nil {
		writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	ed := s.co.edit(p, s.now(), s.opts.V2EmploymentBumpsPerson)
	if supervisor != nil {
		if err := ed.supervisor(*supervisor, false); err != nil {
			writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	}
	if err := s.co.applyAttrs(ed, attrs, s.today()); err != nil {
		writeV1Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	ed.finish()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"id": p.ID}, "meta": meta})
}

// v1Attrs turns a v1 employee body into a flat change. Unknown fields are
// dropped silently; unknown department, office or subcompany names and
// attributes the credential may not write are dropped with a meta note.
func (s *Server) v1Attrs(cred *Credential, fields map[string]any, creating bool) (Attrs, *int, []string, error) {
	attrs := Attrs{}
	meta := []string{}
	var supervisor *int
	for _, key := range v1WritableFields() {
		v, ok := fields[key]
		if !ok {
			continue
		}
		if cred.Writable != nil && !slices.Contains(cred.Writable, key) && key != "custom_attributes" {
			meta = append(meta, fmt.Sprintf("The attribute %s is not writable and was ignored.", key))
			continue
		}
		switch key {
		case "email":
			if creating {
				attrs["email"] = v
			} else {
				meta = append(meta, "The email cannot be changed through this endpoint and was ignored.")
			}
		case "first_name", "last_name":
			if !creating {
				attrs[key] = v
			}
		case "department", "office", "subcompany":
			if note := s.v1OrgName(attrs, key, v); note != "" {
				meta = append(meta, note)
			}
		case "supervisor_id":
			id, err := idValue(v)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("supervisor_id must be a number")
			}
			supervisor = &id
		case "weekly_working_hours":
			// Accepted and ignored: weekly hours do not reach a Record.
		case "custom_attributes":
			meta = append(meta, s.v1CustomAttrs(cred, attrs, v)...)
		default:
			attrs[key] = v
		}
	}
	return attrs, supervisor, meta, nil
}

func (s *Server) v1OrgName(attrs Attrs, key string, v any) string {
	name, err := textValue(v)
	if err != nil || name == "" {
		return fmt.Sprintf("The %s was not changed: it cannot be set to an empty value.", key)
	}
	kind, flat := orgKindOf(key)
	if _, ok := s.co.orgByName(kind, name, false); !ok {
		return fmt.Sprintf("The %s %q does not exist and was ignored.", key, name)
	}
	attrs[flat] = name
	return ""
}

func orgKindOf(v1Key string) (orgKind, string) {
	switch v1Key {
	case "department":
		return kindDepartment, "department"
	case "office":
		return kindOffice, "office"
	}
	return kindLegalEntity, "legal_entity"
}

func (s *Server) v1CustomAttrs(cred *Credential, attrs Attrs, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{"custom_attributes must be an object and was ignored."}
	}
	var meta []string
	for key, value := range m {
		switch {
		case s.co.customIndex(key) < 0:
			meta = append(meta, fmt.Sprintf("The custom attribute %s does not exist and was ignored.", key))
		case cred.Writable != nil && !slices.Contains(cred.Writable, key):
			meta = append(meta, fmt.Sprintf("The attribute %s is not writable and was ignored.", key))
		default:
			attrs[key] = value
		}
	}
	return meta
}

// v1EmployeeBody reads {"employee": {...}} as JSON or employee[...] as a
// form (employee[custom_attributes][dynamic_1]=… included).
func v1EmployeeBody(r *http.Request) (map[string]any, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Employee map[string]any `json:"employee"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, fmt.Errorf("The request body is not valid JSON.")
		}
		if body.Employee == nil {
			return nil, fmt.Errorf("The request body needs an employee object.")
		}
		return body.Employee, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("The request body could not be read.")
	}
	out := map[string]any{}
	custom := map[string]any{}
	for key, values := range r.PostForm {
		inner, ok := strings.CutPrefix(key, "employee[")
		if !ok || len(values) == 0 {
			continue
		}
		if attr, ok := strings.CutPrefix(inner, "custom_attributes]["); ok {
			custom[strings.TrimSuffix(attr, "]")] = values[0]
			continue
		}
		out[strings.TrimSuffix(inner, "]")] = values[0]
	}
	if len(custom) > 0 {
		out["custom_attributes"] = custom
	}
	return out, nil
}
