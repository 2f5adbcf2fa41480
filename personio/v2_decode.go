package personio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeV2Page returns the items of a v2 list page, {"_data": [...],
// "_meta": {"links": {"next": {"href": ...}}}}, and its next link ("" on the
// last page). There is no total. Like v1 pages it is validated while it is
// walked and split without decoding; items are decoded one by one later.
func decodeV2Page(body []byte) ([]json.RawMessage, string, error) {
	items, meta, err := walkV2Page(body)
	if err != nil {
		if !json.Valid(body) {
			// Invalid JSON anywhere is what a broken page is reported as,
			// as before any other check.
			return nil, "", malformed("list page: not valid JSON")
		}
		return nil, "", err
	}
	links, _ := lookup(meta, "links")
	next, _ := lookup(links, "next")
	href, _ := lookup(next, "href")
	nextText, err := jsonText(href)
	if err != nil {
		return nil, "", malformed("list page: next link is not text")
	}
	return items, strings.TrimSpace(nextText), nil
}

// walkV2Page splits a page into the elements of its first _data and its
// first _meta, checking every value as json.Valid would.
func walkV2Page(body []byte) (items []json.RawMessage, meta []byte, err error) {
	seenData, dataIsList, seenMeta := false, false, false
	end, err := walkObject(body, 0, func(key []byte, start int) (int, error) {
		if !seenData && keyIs(key, "_data") {
			seenData = true
			if start < len(body) && body[start] == '[' {
				dataIsList = true
				items = []json.RawMessage{} // a list, if an empty one
				return walkArray(body, start, func(at int) (int, error) {
					end, err := validValueAt(body, at, 2)
					if err == nil {
						items = append(items, body[at:end])
					}
					return end, err
				})
			}
			return validValueAt(body, start, 1)
		}
		end, err := validValueAt(body, start, 1)
		if err == nil && !seenMeta && keyIs(key, "_meta") {
			seenMeta, meta = true, body[start:end]
		}
		return end, err
	})
	if err != nil || skipSpace(body, end) != len(body) {
		return nil, nil, malformed("list page: not a JSON object")
	}
	if !dataIsList {
		return nil, nil, malformed("list page: _data is not a list")
	}
	return items, meta, nil
}

// itemID reads the id of a list item for de-duplication.
func itemID(raw json.RawMessage) (string, error) {
	value, ok := lookup(raw, "id")
	if !ok {
		return "", malformed("list item without id")
	}
	id, err := jsonID(value)
	if err != nil || id == "" {
		return "", malformed("list item id is not an id")
	}
	return id, nil
}

// v2Person is a person as /v2/persons sends it. Fields a credential may not
// read are absent; json.RawMessage keeps absent (nil) apart from null.
type v2Person struct {
	ID               looseID         `json:"id"`
	Email            json.RawMessage `json:"email"`
	FirstName        json.RawMessage `json:"first_name"`
	LastName         json.RawMessage `json:"last_name"`
	PreferredName    json.RawMessage `json:"preferred_name"`
	Status           string          `json:"status"`
	UpdatedAt        string          `json:"updated_at"`
	CustomAttributes json.RawMessage `json:"custom_attributes"`
	Employments      *[]struct {
		ID looseID `json:"id"`
	} `json:"employments"`
}

type v2Custom struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	GlobalID *string         `json:"global_id"`
	Label    string          `json:"label"`
	Value    json.RawMessage `json:"value"`
}

type v2Ref struct {
	ID looseID `json:"id"`
}

// v2Employment is one employment; org data comes as ids only.
type v2Employment struct {
	ID       looseID         `json:"id"`
	Status   json.RawMessage `json:"status"`
	Type     string          `json:"type"`
	Position *struct {
		Title string `json:"title"`
	} `json:"position"`
	StartDate       string `json:"employment_start_date"`
	ContractEndDate string `json:"contract_end_date"`
	UpdatedAt       string `json:"updated_at"`
	Supervisor      *v2Ref `json:"supervisor"`
	Office          *v2Ref `json:"office"`
	OrgUnits        []struct {
		Type string  `json:"type"`
		ID   looseID `json:"id"`
	} `json:"org_units"`
	CostCenters []v2Ref `json:"cost_centers"`
	LegalEntity *v2Ref  `json:"legal_entity"`
	SubCompany  *v2Ref  `json:"sub_company"`
	Termination *struct {
		TerminationDate string `json:"termination_date"`
		LastWorkingDay  string `json:"last_working_day"`
		LastWorkingDate string `json:"last_working_date"` // the spec's examples spell it so
	} `json:"termination"`

	// present holds the keys the answer carries, with a value or null;
	// terminationKeys those of a termination object (nil when there is
	// none). Whitelisting leaves out what the credential may not read, so
	// an absent key is a hidden attribute while null is an unset one.
	present         map[string]bool
	terminationKeys map[string]bool
}

func decodeV2Person(raw json.RawMessage) (v2Person, error) {
	var p v2Person
	if err := json.Unmarshal(raw, &p); err != nil {
		return v2Person{}, malformed("person: %v", err)
	}
	if p.ID == "" {
		return v2Person{}, malformed("person without id")
	}
	return p, nil
}

func decodeV2Employment(raw json.RawMessage) (v2Employment, error) {
	var e v2Employment
	if err := json.Unmarshal(raw, &e); err != nil {
		return v2Employment{}, malformed("employment: %v", err)
	}
	// raw is valid JSON now, an object or null: its keys are read without
	// decoding it a second time.
	e.present = make(map[string]bool, 16)
	var t json.RawMessage // the last, as a decoded map would keep it
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '{' {
		_, _ = walkObject(raw, 0, func(key []byte, start int) (int, error) {
			end, err := skipValue(raw, start)
			k := v2Key(key)
			e.present[k] = true
			if k == "termination" {
				t = raw[start:end]
			}
			return end, err
		})
	}
	if e.Termination != nil {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(t, &inner); err != nil {
			return v2Employment{}, malformed("employment termination: %v", err)
		}
		e.terminationKeys = make(map[string]bool, len(inner))
		for k := range inner {
			e.terminationKeys[k] = true
		}
	}
	return e, nil
}

// v2Key is a raw member key as encoding/json decodes it; the keys
// Personio sends come back as constants, without an allocation each.
func v2Key(raw []byte) string {
	if hasEscape(raw) || !utf8.Valid(raw) {
		return unquoteKey(raw)
	}
	switch string(raw) {
	case "id":
		return "id"
	case "status":
		return "status"
	case "type":
		return "type"
	case "position":
		return "position"
	case "employment_start_date":
		return "employment_start_date"
	case "contract_end_date":
		return "contract_end_date"
	case "updated_at":
		return "updated_at"
	case "supervisor":
		return "supervisor"
	case "office":
		return "office"
	case "org_units":
		return "org_units"
	case "cost_centers":
		return "cost_centers"
	case "legal_entity":
		return "legal_entity"
	case "termination":
		return "termination"
	}
	return string(raw)
}

// v2Aliases are other keys Personio has used for a v2 field: the
// deprecated sub_company, and the spelling of the spec's examples.
func v2Aliases(key string) []string {
	switch key {
	case "legal_entity":
		return []string{"sub_company"}
	case "last_working_day":
		return []string{"last_working_date"}
	}
	return nil
}

// carries reports whether the employment answer has the field, with a
// value or null. A null termination means "not terminated" and hides
// nothing; inside a termination object each date is checked on its own.
func (e v2Employment) carries(f Field) bool {
	top, nested, _ := strings.Cut(f.V2Key, ".")
	top, _, _ = strings.Cut(top, "[")
	has := func(keys map[string]bool, key string) bool {
		return keys[key] || slices.ContainsFunc(v2Aliases(key), func(k string) bool { return keys[k] })
	}
	if !has(e.present, top) {
		return false
	}
	if top != "termination" || e.terminationKeys == nil {
		return true
	}
	return has(e.terminationKeys, nested)
}

// hasNoEmployments reports whether the person lists its employments and
// that list is empty, which spares the employments call.
func (p v2Person) hasNoEmployments() bool {
	return p.Employments != nil && len(*p.Employments) == 0
}

// checkEmployments makes sure the employments listing holds every
// employment the person names; a listing that lost one would make a
// record from the wrong contract, or from none.
func (p v2Person) checkEmployments(emps []v2Employment) error {
	if p.Employments == nil {
		return nil
	}
	for _, want := range *p.Employments {
		if !slices.ContainsFunc(emps, func(e v2Employment) bool { return e.ID == want.ID }) {
			return fmt.Errorf("person %s: %w: the employments listing lacks employment %s the person names", p.ID, ErrTruncated, want.ID)
		}
	}
	return nil
}

// currentEmployment picks the employment a record describes: a running one
// (active, on leave, onboarding) before an ended one, and among equals the
// latest start. Personio lists the most recent first, which breaks ties.
func currentEmployment(emps []v2Employment) *v2Employment {
	if len(emps) == 0 {
		return nil
	}
	best := 0
	for i := 1; i < len(emps); i++ {
		if employmentRank(emps[i]) > employmentRank(emps[best]) {
			best = i
		}
	}
	return &emps[best]
}

// employmentRank orders employments by running-ness, then by start date
// (YYYY-MM-DD compares as text).
func employmentRank(e v2Employment) string {
	running := "0"
	status, _ := jsonText(e.Status)
	switch strings.ToUpper(status) {
	case "ACTIVE", "LEAVE", "ONBOARDING":
		running = "1"
	}
	start := e.StartDate
	if len(start) > len(time.DateOnly) {
		start = start[:len(time.DateOnly)]
	}
	return running + start
}

// v2Lookups turns org ids into names.
type v2Lookups struct {
	departments, teams, offices, legalEntities, costCenters map[string]string
	useIDs                                                  bool
}

func (l *v2Lookups) name(kind string, names map[string]string, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if name, ok := names[id]; ok {
		return name, nil
	}
	if l.useIDs {
		return id, nil
	}
	return "", fmt.Errorf("%w: %s %s", ErrUnresolved, kind, id)
}

// v2Decoder turns a person and its employments into a Record.
type v2Decoder struct {
	attrs   attributeSet
	zone    *time.Location
	missing MissingPolicy
	lookups *v2Lookups
	// employments reports whether a selected field lives on employments,
	// so that each person's are fetched.
	employments bool
}

// v2Decoded is a record plus the latest change Personio reports for it,
// which the full-read incremental mode filters on.
type v2Decoded struct {
	decoded
	changedAt time.Time
}

func (d v2Decoder) record(p v2Person, emps []v2Employment) (v2Decoded, error) {
	out := v2Decoded{decoded: decoded{record: Record{ID: string(p.ID)}}}
	if err := d.personFields(&out.record, p); err != nil {
		return v2Decoded{}, fmt.Errorf("person %s: %w", p.ID, err)
	}
	changed, err := parseTimestamp(p.UpdatedAt, d.zone)
	if err != nil {
		return v2Decoded{}, fmt.Errorf("person %s: %w", p.ID, malformed("updated_at: %v", err))
	}
	emp := currentEmployment(emps)
	if emp != nil {
		if err := d.employmentFields(&out.record, *emp); err != nil {
			return v2Decoded{}, fmt.Errorf("person %s: employment %s: %w", p.ID, emp.ID, err)
		}
		empChanged, err := parseTimestamp(emp.UpdatedAt, d.zone)
		if err != nil {
			return v2Decoded{}, fmt.Errorf("person %s: %w", p.ID, malformed("employment updated_at: %v", err))
		}
		if empChanged.After(changed) {
			changed = empChanged
		}
	} else if d.attrs.has(FieldStatus) {
		out.record.Status = strings.ToLower(p.Status) // no employment: the person's own ACTIVE/INACTIVE
	}
	if d.attrs.has(FieldUpdatedAt) {
		out.record.UpdatedAt = changed
	}
	out.changedAt = changed
	dropped, err := d.customFields(&out.record, p)
	if err != nil {
		return v2Decoded{}, fmt.Errorf("person %s: %w", p.ID, err)
	}
	out.droppedSensitive = dropped
	return out, nil
}

// personFields reads names and email. Each is checked for presence: a
// person without them is almost always a whitelisting gap, and a mirror fed
// empty names would rename everyone.
func (d v2Decoder) personFields(r *Record, p v2Person) error {
	raws := map[string]json.RawMessage{
		FieldFirstName: p.FirstName, FieldLastName: p.LastName,
		FieldEmail: p.Email, FieldPreferredName: p.PreferredName,
	}
	for _, f := range recordFields {
		raw, known := raws[f.Name]
		if f.V2Resource != V2Person || !known || !d.attrs.has(f.Name) {
			continue
		}
		if raw == nil {
			if d.missing == MissingError && !f.Optional {
				return missingV2(f, "person")
			}
			continue
		}
		s, err := jsonText(raw)
		if err != nil {
			return malformed("%s: %v", f.Name, err)
		}
		*f.text(r) = s
	}
	return nil
}

func missingV2(f Field, resource string) error {
	return fmt.Errorf("%w: %s (v2 %s field %s; is it readable by this credential?)", ErrMissingAttribute, f.Name, resource, f.V2Key)
}

// checkEmploymentFields fails on selected fields the employment answer
// does not carry, naming all of them, as v1 fails on an absent attribute:
// read as empty, a hidden termination date would reactivate leavers and a
// hidden department would empty every department group.
func (d v2Decoder) checkEmploymentFields(e v2Employment) error {
	if d.missing != MissingError {
		return nil
	}
	var names, keys []string
	for _, f := range recordFields {
		if f.V2Resource == V2Employment && !f.Optional && d.attrs.has(f.Name) && !e.carries(f) {
			names, keys = append(names, f.Name), append(keys, f.V2Key)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s (v2 employment fields %s; are they readable by this credential?)",
		ErrMissingAttribute, strings.Join(names, ", "), strings.Join(keys, ", "))
}

func (d v2Decoder) employmentFields(r *Record, e v2Employment) error {
	if err := d.checkEmploymentFields(e); err != nil {
		return err
	}
	if d.attrs.has(FieldStatus) {
		s, err := jsonText(e.Status)
		if err != nil {
			return malformed("status: %v", err)
		}
		r.Status = normalizeV2Enum(s)
	}
	if d.attrs.has(FieldEmploymentType) {
		r.EmploymentType = normalizeV2Enum(e.Type)
	}
	if d.attrs.has(FieldPosition) && e.Position != nil {
		r.Position = e.Position.Title
	}
	if d.attrs.has(FieldSupervisorID) && e.Supervisor != nil {
		r.SupervisorID = string(e.Supervisor.ID)
	}
	if err := d.employmentDates(r, e); err != nil {
		return err
	}
	return d.orgNames(r, e)
}

// normalizeV2Enum maps v2's upper-case enums to v1's lower-case values;
// UNSPECIFIED means unset.
func normalizeV2Enum(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "unspecified" {
		return ""
	}
	return s
}

func (d v2Decoder) employmentDates(r *Record, e v2Employment) error {
	var termination, lastDay string
	if e.Termination != nil {
		termination = e.Termination.TerminationDate
		lastDay = firstNonEmpty(e.Termination.LastWorkingDay, e.Termination.LastWorkingDate)
	}
	dates := []struct {
		field string
		value string
	}{
		{FieldHireDate, e.StartDate},
		{FieldContractEndDate, e.ContractEndDate},
		{FieldTerminationDate, termination},
		{FieldLastWorkingDay, lastDay},
	}
	for _, dt := range dates {
		if !d.attrs.has(dt.field) {
			continue
		}
		date, err := parseCalendarDate(dt.value, d.zone)
		if err != nil {
			return malformed("%s: %v", dt.field, err)
		}
		f, _ := LookupField(dt.field)
		*f.date(r) = date
	}
	return nil
}

func (d v2Decoder) orgNames(r *Record, e v2Employment) error {
	l := d.lookups
	var err error
	set := func(field, kind string, names map[string]string, id string) {
		if err != nil || !d.attrs.has(field) {
			return
		}
		f, _ := LookupField(field)
		*f.text(r), err = l.name(kind, names, id)
	}
	set(FieldOffice, "office", l.offices, refID(e.Office))
	set(FieldLegalEntity, "legal entity", l.legalEntities, firstNonEmpty(refID(e.LegalEntity), refID(e.SubCompany)))
	for _, unit := range e.OrgUnits {
		switch strings.ToLower(unit.Type) {
		case "department":
			set(FieldDepartment, "department", l.departments, string(unit.ID))
		case "team":
			set(FieldTeam, "team", l.teams, string(unit.ID))
		}
	}
	if err != nil || !d.attrs.has(FieldCostCenters) {
		return err
	}
	for _, cc := range e.CostCenters {
		name, err := l.name("cost center", l.costCenters, string(cc.ID))
		if err != nil {
			return err
		}
		r.CostCenters = append(r.CostCenters, name)
	}
	return nil
}

func refID(ref *v2Ref) string {
	if ref == nil {
		return ""
	}
	return string(ref.ID)
}

// customFields keeps the allowed custom attributes. A person whose
// custom_attributes list is absent cannot say anything about them, which
// the missing policy judges; an attribute absent from a present list is
// taken as unset and kept empty, as v1 sends unset attributes.
func (d v2Decoder) customFields(r *Record, p v2Person) (dropped int, err error) {
	keys := d.attrs.custom()
	if !d.attrs.hasCustom() {
		return 0, nil
	}
	if p.CustomAttributes == nil {
		if d.missing == MissingError {
			return 0, fmt.Errorf("%w: custom_attributes (is it readable by this credential?)", ErrMissingAttribute)
		}
		return 0, nil
	}
	var list []v2Custom
	if err := json.Unmarshal(p.CustomAttributes, &list); err != nil {
		return 0, malformed("custom_attributes: %v", err)
	}
	found := map[string]bool{}
	for _, c := range list {
		if !d.attrs.keepsCustom(c.ID, c.Label) || found[c.ID] {
			continue
		}
		found[c.ID] = true
		globalID := ""
		if c.GlobalID != nil {
			globalID = *c.GlobalID
		}
		if isSensitiveCustom(globalID, c.Label) {
			dropped++
			continue
		}
		value, err := customValue(c.Type, c.Value, d.zone)
		if err != nil {
			return 0, malformed("custom attribute %s: %v", c.ID, err)
		}
		if r.Custom == nil {
			r.Custom = map[string]CustomAttribute{}
		}
		r.Custom[c.ID] = CustomAttribute{Label: c.Label, Value: value}
	}
	for _, key := range keys {
		if !found[key] {
			if r.Custom == nil {
				r.Custom = map[string]CustomAttribute{}
			}
			r.Custom[key] = CustomAttribute{}
		}
	}
	return dropped, nil
}
