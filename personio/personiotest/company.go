package personiotest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// company is the simulated tenant: one dataset behind both API versions, so
// a person has the same id in v1 and v2. Server guards it with its mutex.
type company struct {
	loc     *time.Location
	domain  string
	persons []*person // ascending id
	byID    map[int]*person
	emails  map[string]int // lower-cased work email → person id
	orgs    [orgKinds]*orgTable
	customs []customDef
	hub     *webhookHub // nil until a webhook is registered or asked about

	nextPersonID  int
	nextOrgID     int
	employmentSeq uint64
	idSeed        uint64
}

type orgKind int

const (
	kindDepartment orgKind = iota
	kindTeam
	kindOffice
	kindLegalEntity
	kindCostCenter
	orgKinds
)

// orgUnit is a department, team, office (workplace), legal entity
// (subcompany) or cost center.
type orgUnit struct {
	ID           int
	Name         string
	Abbreviation string
	ParentID     int    // a team's department
	Country      string // offices and legal entities
}

type orgTable struct {
	units  []*orgUnit // ascending id
	byID   map[int]*orgUnit
	byName map[string]*orgUnit
}

func newOrgTable() *orgTable {
	return &orgTable{byID: map[int]*orgUnit{}, byName: map[string]*orgUnit{}}
}

func (t *orgTable) add(u *orgUnit) {
	t.units = append(t.units, u)
	t.byID[u.ID] = u
	t.byName[u.Name] = u
}

func (t *orgTable) name(id int) string {
	if u, ok := t.byID[id]; ok {
		return u.Name
	}
	return ""
}

// customDef is a company-defined attribute (dynamic_N).
type customDef struct {
	Key         string
	Label       string
	Type        string // v1 type: standard, date, integer, decimal, list, tags
	UniversalID string // "" is sent as null
	Options     []string
	Sensitive   bool // bank data: present for credentials that may read it
}

type costShare struct {
	ID      int
	Percent int
}

// employment is one contract of a person; the current one is what v1 shows.
type employment struct {
	ID                string
	Status            string // active, onboarding, leave, inactive
	Type              string // internal, external
	Position          string
	HireDate          personio.Date
	ContractEnd       personio.Date
	TerminationDate   personio.Date
	LastWorkingDay    personio.Date
	ProbationEnd      personio.Date
	TerminationType   string
	TerminationReason string
	SupervisorID      int
	OfficeID          int
	DepartmentID      int
	TeamID            int
	LegalEntityID     int
	CostCenters       []costShare
	WeeklyHours       float64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// person is one Personio person with its employments, most recent first.
type person struct {
	ID            int
	FirstName     string
	LastName      string
	PreferredName string
	Email         string
	Gender        string // male, female, diverse
	FixSalary     int    // monthly, EUR: present so that clients prove they drop it
	HourlySalary  float64
	Custom        []string // by index of company.customs, as flat text
	CreatedAt     time.Time
	UpdatedAt     time.Time // the person's own fields (v2 person updated_at)
	LastModified  time.Time // anything about the person (v1 last_modified_at)
	// changed holds when each v1 attribute last changed, for updated_since
	// with attributes[]; an attribute never changed dates from CreatedAt.
	changed     map[string]time.Time
	Employments []*employment
}

func (p *person) current() *employment { return p.Employments[0] }

func (p *person) changedAt(attr string) time.Time {
	if t, ok := p.changed[attr]; ok {
		return t
	}
	return p.CreatedAt
}

func newCompany(loc *time.Location, domain string, seed int64) *company {
	c := &company{
		loc:          loc,
		domain:       domain,
		byID:         map[int]*person{},
		emails:       map[string]int{},
		customs:      customDefs(),
		nextPersonID: 1001,
		nextOrgID:    100,
		idSeed:       uint64(seed),
	}
	for k := range c.orgs {
		c.orgs[k] = newOrgTable()
	}
	return c
}

// customDefs are the simulated company's custom attributes, one of each
// v1 type plus two bank fields.
func customDefs() []customDef {
	return []customDef{
		{Key: "dynamic_1001", Label: "Titel", Type: "list", Options: []string{"Dr.", "Prof. Dr.", "Dipl.-Ing."}},
		{Key: "dynamic_1002", Label: "GitHub-Benutzername", Type: "standard"},
		{Key: "dynamic_1003", Label: "Laptop-Inventarnummer", Type: "integer"},
		{Key: "dynamic_1004", Label: "Zugang Rechenzentrum", Type: "list", Options: []string{"Ja", "Nein"}},
		{Key: "dynamic_1005", Label: "Sprachen", Type: "tags", Options: []string{"Deutsch", "Englisch", "Französisch", "Italienisch", "Rätoromanisch", "Türkisch"}},
		{Key: "dynamic_1006", Label: "Sicherheitsunterweisung am", Type: "date"},
		{Key: "dynamic_1007", Label: "FTE-Anteil", Type: "decimal"},
		{Key: "dynamic_9001", Label: "IBAN", Type: "standard", UniversalID: "iban", Sensitive: true},
		{Key: "dynamic_9002", Label: "BIC", Type: "standard", UniversalID: "bic", Sensitive: true},
	}
}

func (c *company) customIndex(key string) int {
	return slices.IndexFunc(c.customs, func(d customDef) bool { return d.Key == key })
}

// addPerson inserts p keeping the id order.
func (c *company) addPerson(p *person) {
	i, _ := slices.BinarySearchFunc(c.persons, p.ID, func(q *person, id int) int { return cmp.Compare(q.ID, id) })
	c.persons = slices.Insert(c.persons, i, p)
	c.byID[p.ID] = p
	c.emails[strings.ToLower(p.Email)] = p.ID
}

func (c *company) removePerson(id int) bool {
	p, ok := c.byID[id]
	if !ok {
		return false
	}
	delete(c.byID, id)
	delete(c.emails, strings.ToLower(p.Email))
	c.persons = slices.DeleteFunc(c.persons, func(q *person) bool { return q.ID == id })
	for _, q := range c.persons {
		for _, e := range q.Employments {
			if e.SupervisorID == id {
				e.SupervisorID = 0
			}
		}
	}
	return true
}

// orgByName finds a unit by name, creating it when create is set.
func (c *company) orgByName(kind orgKind, name string, create bool) (*orgUnit, bool) {
	t := c.orgs[kind]
	if u, ok := t.byName[name]; ok {
		return u, true
	}
	if !create {
		return nil, false
	}
	u := &orgUnit{ID: c.nextOrgID, Name: name}
	c.nextOrgID++
	t.add(u)
	return u, true
}

// newEmploymentID makes a deterministic UUID-shaped id.
func (c *company) newEmploymentID() string {
	c.employmentSeq++
	hi := splitmix(c.idSeed ^ c.employmentSeq*0x9e3779b97f4a7c15)
	lo := splitmix(hi ^ c.employmentSeq)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(hi>>32), uint16(hi>>16), uint16(hi)&0xfff, uint16(lo>>48)&0x3fff|0x8000, lo&0xffffffffffff)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// status is the status the simulator serves for an employment today.
func status(e *employment, today personio.Date, followDates bool) string {
	if !followDates {
		return e.Status
	}
	switch {
	case e.Status == "onboarding" && !e.HireDate.IsZero() && !today.Before(e.HireDate):
		return "active"
	case (e.Status == "active" || e.Status == "leave") && !e.TerminationDate.IsZero() && e.TerminationDate.Before(today):
		return "inactive"
	}
	return e.Status
}

// record is the ground truth of a person as a personio.Record: what a
// client with every attribute readable and every non-sensitive custom
// attribute allowed must produce.
func (c *company) record(p *person, today personio.Date, followDates bool) personio.Record {
	e := p.current()
	r := personio.Record{
		ID:              fmt.Sprint(p.ID),
		FirstName:       p.FirstName,
		LastName:        p.LastName,
		PreferredName:   p.PreferredName,
		Email:           p.Email,
		Status:          status(e, today, followDates),
		HireDate:        e.HireDate,
		TerminationDate: e.TerminationDate,
		LastWorkingDay:  e.LastWorkingDay,
		ContractEndDate: e.ContractEnd,
		Position:        e.Position,
		Department:      c.orgs[kindDepartment].name(e.DepartmentID),
		Office:          c.orgs[kindOffice].name(e.OfficeID),
		Team:            c.orgs[kindTeam].name(e.TeamID),
		LegalEntity:     c.orgs[kindLegalEntity].name(e.LegalEntityID),
		EmploymentType:  e.Type,
		UpdatedAt:       p.LastModified,
		Custom:          map[string]personio.CustomAttribute{},
	}
	if e.SupervisorID != 0 {
		r.SupervisorID = fmt.Sprint(e.SupervisorID)
	}
	for _, cc := range e.CostCenters {
		r.CostCenters = append(r.CostCenters, c.orgs[kindCostCenter].name(cc.ID))
	}
	for i, def := range c.customs {
		if !def.Sensitive {
			r.Custom[def.Key] = personio.CustomAttribute{Label: def.Label, Value: p.Custom[i]}
		}
	}
	return r
}
