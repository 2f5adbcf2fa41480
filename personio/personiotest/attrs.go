package personiotest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// Attrs is a flat change to a person, the body of the /_sim/employees
// endpoints and the argument of Server.Hire and Server.Update. Keys are the
// names of personio.Record.Fields: first_name, last_name, preferred_name,
// email, status, position, employment_type, hire_date, termination_date,
// last_working_day, contract_end_date (YYYY-MM-DD), department, office,
// team, legal_entity (names; an unknown name creates the unit),
// cost_centers (names, a list or comma-separated), supervisor_id, and
// custom dynamic_N keys; plus gender (male, female, diverse) and rehire
// (YYYY-MM-DD: start a new employment on that day). A nil value clears.
type Attrs map[string]any

// applyAttrs applies a flat change through ed. A rehire comes first so
// that the other keys land on the new employment.
func (c *company) applyAttrs(ed *edit, attrs Attrs, today personio.Date) error {
	if v, ok := attrs["rehire"]; ok {
		start, err := dateValue(v)
		if err != nil || start.IsZero() {
			return fmt.Errorf("rehire: want YYYY-MM-DD")
		}
		ed.rehire(start, today)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if k != "rehire" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := c.applyAttr(ed, k, attrs[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func (c *company) applyAttr(ed *edit, key string, v any) error {
	if i := c.customIndex(key); i >= 0 {
		s, err := textValue(v)
		if err == nil {
			ed.custom(i, s)
		}
		return err
	}
	switch key {
	case "first_name", "last_name", "preferred_name", "position", "gender", "status", "employment_type":
		return c.applyText(ed, key, v)
	case "email":
		if v == nil {
			ed.clearEmail()
			return nil
		}
		s, err := textValue(v)
		if err != nil {
			return err
		}
		return ed.email(s)
	case "hire_date", "termination_date", "last_working_day", "contract_end_date":
		d, err := dateValue(v)
		if err == nil {
			ed.employmentDate(key, employmentDateField(ed.e, key), d)
		}
		return err
	case "department", "office", "team", "legal_entity":
		return c.applyOrg(ed, key, v)
	case "cost_centers":
		names, err := listValue(v)
		if err == nil {
			ed.costCenters(c.costShares(names, true))
		}
		return err
	case "supervisor_id":
		id, err := idValue(v)
		if err != nil {
			return err
		}
		return ed.supervisor(id, true)
	}
	return fmt.Errorf("unknown attribute")
}

func (c *company) applyText(ed *edit, key string, v any) error {
	s, err := textValue(v)
	if err != nil {
		return err
	}
	switch key {
	case "first_name":
		ed.personText(key, &ed.p.FirstName, s)
	case "last_name":
		ed.personText(key, &ed.p.LastName, s)
	case "preferred_name":
		ed.personText(key, &ed.p.PreferredName, s)
	case "gender":
		if s != "male" && s != "female" && s != "diverse" {
			return fmt.Errorf("want male, female or diverse")
		}
		ed.personText(key, &ed.p.Gender, s)
	case "position":
		ed.employmentText(key, &ed.e.Position, s)
	case "status":
		if !validStatus(s) {
			return fmt.Errorf("want active, onboarding, leave or inactive")
		}
		ed.employmentText(key, &ed.e.Status, s)
	case "employment_type":
		if s != "internal" && s != "external" {
			return fmt.Errorf("want internal or external")
		}
		ed.employmentText(key, &ed.e.Type, s)
	}
	return nil
}

func employmentDateField(e *employment, key string) *personio.Date {
	switch key {
	case "hire_date":
		return &e.HireDate
	case "termination_date":
		return &e.TerminationDate
	case "last_working_day":
		return &e.LastWorkingDay
	}
	return &e.ContractEnd
}

// applyOrg sets a department, office, team or legal entity by name.
func (c *company) applyOrg(ed *edit, key string, v any) error {
	name, err := textValue(v)
	if err != nil {
		return err
	}
	kind, field, attr := orgField(ed.e, key)
	id := 0
	if name != "" {
		u, _ := c.orgByName(kind, name, true)
		id = u.ID
		if kind == kindTeam && u.ParentID == 0 {
			u.ParentID = ed.e.DepartmentID
		}
	}
	ed.employmentRef(attr, field, id)
	return nil
}

// orgField maps a flat key to its org table, the employment field and the
// v1 attribute name.
func orgField(e *employment, key string) (orgKind, *int, string) {
	switch key {
	case "department":
		return kindDepartment, &e.DepartmentID, "department"
	case "office":
		return kindOffice, &e.OfficeID, "office"
	case "team":
		return kindTeam, &e.TeamID, "team"
	}
	return kindLegalEntity, &e.LegalEntityID, "subcompany"
}

// costShares turns cost center names into equal shares; unknown names are
// created when create is set and skipped otherwise.
func (c *company) costShares(names []string, create bool) []costShare {
	var shares []costShare
	for _, name := range names {
		if u, ok := c.orgByName(kindCostCenter, name, create); ok {
			shares = append(shares, costShare{ID: u.ID})
		}
	}
	for i := range shares {
		shares[i].Percent = 100 / len(shares)
	}
	if len(shares) > 0 {
		shares[0].Percent += 100 % len(shares)
	}
	return shares
}

// hire creates a person from flat attributes: first_name and last_name are
// required; email defaults to first.last@domain, hire_date to today, status
// to onboarding or active by the hire date.
func (c *company) hire(attrs Attrs, now time.Time, today personio.Date, bumpPerson bool) (*person, error) {
	first, err1 := textValue(attrs["first_name"])
	last, err2 := textValue(attrs["last_name"])
	if err1 != nil || err2 != nil || first == "" || last == "" {
		return nil, fmt.Errorf("first_name and last_name are required")
	}
	now = now.UTC().Truncate(time.Second)
	p := &person{
		ID: c.nextPersonID, FirstName: first, LastName: last, Gender: "diverse",
		Custom: make([]string, len(c.customs)), CreatedAt: now, UpdatedAt: now, LastModified: now,
		Employments: []*employment{{
			ID: c.newEmploymentID(), Status: "active", Type: "internal", HireDate: today,
			WeeklyHours: 40, CreatedAt: now, UpdatedAt: now,
		}},
	}
	if _, ok := attrs["email"]; !ok {
		p.Email = c.uniqueEmail(asciiFold(first), asciiFold(last))
	}
	if _, ok := attrs["hire_date"]; ok {
		if d, err := dateValue(attrs["hire_date"]); err == nil && today.Before(d) {
			p.current().Status = "onboarding"
		}
	}
	c.nextPersonID++
	ed := c.edit(p, now, bumpPerson)
	rest := Attrs{}
	for k, v := range attrs {
		if k != "first_name" && k != "last_name" && k != "rehire" {
			rest[k] = v
		}
	}
	if p.Email != "" {
		c.emails[strings.ToLower(p.Email)] = p.ID
	}
	if err := c.applyAttrs(ed, rest, today); err != nil {
		delete(c.emails, strings.ToLower(p.Email))
		return nil, err
	}
	if p.Email == "" {
		return nil, fmt.Errorf("email: must be an address")
	}
	c.addPerson(p)
	c.emitHire(p)
	return p, nil
}

// textValue reads a JSON scalar as text; nil is "".
func textValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("want text, got %T", v)
}

func dateValue(v any) (personio.Date, error) {
	s, err := textValue(v)
	if err != nil || s == "" {
		return personio.Date{}, err
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return personio.Date{}, fmt.Errorf("want YYYY-MM-DD")
	}
	return personio.DateOf(t), nil
}

func listValue(v any) ([]string, error) {
	var items []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		items = strings.Split(x, ",")
	case []string:
		items = x
	case []any:
		for _, item := range x {
			s, err := textValue(item)
			if err != nil {
				return nil, err
			}
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("want a list of names")
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func idValue(v any) (int, error) {
	s, err := textValue(v)
	if err != nil || s == "" {
		return 0, err
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("want a person id")
	}
	return id, nil
}
