package personiotest

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// orgSeed is one department with its teams, cost center and positions.
type orgSeed struct {
	name, abbreviation, costCenter string
	teams, positions               []string
	weight                         int // relative headcount
}

func orgSeeds() []orgSeed {
	return []orgSeed{
		{"Geschäftsführung", "GF", "1000 Geschäftsführung", []string{"Vorstandsbüro"}, []string{"Geschäftsführer:in", "Assistenz der Geschäftsführung"}, 1},
		{"Engineering", "ENG", "2000 Entwicklung", []string{"Plattform", "Mobile", "Daten & KI", "Qualitätssicherung"}, []string{"Softwareentwickler:in", "Senior Software Engineer", "Engineering Manager", "DevOps Engineer", "QA Engineer"}, 8},
		{"Produkt", "PRD", "2100 Produkt", []string{"Produktmanagement", "UX & Design"}, []string{"Product Manager", "UX-Designer:in", "Product Owner"}, 3},
		{"Vertrieb", "VT", "3000 Vertrieb", []string{"Außendienst", "Innendienst", "Partnergeschäft"}, []string{"Account Executive", "Vertriebsleiter:in", "Sales Development Representative"}, 6},
		{"Marketing", "MKT", "3100 Marketing", []string{"Performance Marketing", "Kommunikation"}, []string{"Marketing Manager", "Content-Redakteur:in"}, 3},
		{"Kundenservice", "KS", "4000 Kundenservice", []string{"Support DACH", "Support International"}, []string{"Kundenbetreuer:in", "Teamleiter:in Support"}, 6},
		{"Personal", "HR", "5000 Verwaltung", []string{"Recruiting", "People Operations"}, []string{"HR Business Partner", "Recruiter:in", "Personalsachbearbeiter:in"}, 2},
		{"Finanzen", "FIN", "5000 Verwaltung", []string{"Buchhaltung", "Controlling"}, []string{"Buchhalter:in", "Controller:in"}, 2},
		{"Recht & Compliance", "LEG", "5000 Verwaltung", nil, []string{"Syndikusrechtsanwält:in", "Datenschutzbeauftragte:r"}, 1},
		{"Einkauf & Logistik", "LOG", "6000 Logistik", []string{"Einkauf", "Lager Süd"}, []string{"Einkäufer:in", "Lagerist:in", "Fachkraft für Lagerlogistik"}, 4},
	}
}

// officeSeed is an office with the country that picks its legal entity.
type officeSeed struct{ name, country string }

func officeSeeds() []officeSeed {
	return []officeSeed{
		{"Berlin", "DE"}, {"München", "DE"}, {"Hamburg", "DE"}, {"Köln", "DE"}, {"Frankfurt am Main", "DE"},
		{"Wien", "AT"}, {"Graz", "AT"}, {"Zürich", "CH"}, {"Basel", "CH"}, {"Remote", "DE"},
	}
}

func legalEntitySeeds() []officeSeed {
	return []officeSeed{
		{"Alpenwerk GmbH", "DE"}, {"Alpenwerk Services GmbH", "DE"},
		{"Alpenwerk Österreich GmbH", "AT"}, {"Alpenwerk Schweiz AG", "CH"},
	}
}

// lifecycle is the state a generated person is in.
type lifecycle int

const (
	stateActive lifecycle = iota
	stateOnboarding
	stateLeave
	stateInactive
	stateLeaving // termination date in the next weeks
	stateRehired
	stateFixedTerm
	stateExternal
)

// firstStates makes sure a company of a few dozen people already shows
// every lifecycle state; the rest are drawn at random.
func firstStates() []lifecycle {
	return []lifecycle{stateActive, stateOnboarding, stateLeave, stateInactive, stateLeaving, stateRehired, stateFixedTerm, stateExternal}
}

func drawState(rng *rand.Rand) lifecycle {
	switch n := rng.IntN(100); {
	case n < 4:
		return stateOnboarding
	case n < 8:
		return stateLeave
	case n < 17:
		return stateInactive
	case n < 21:
		return stateLeaving
	case n < 23:
		return stateRehired
	case n < 28:
		return stateFixedTerm
	case n < 32:
		return stateExternal
	}
	return stateActive
}

// seeder generates a deterministic company.
type seeder struct {
	c       *company
	rng     *rand.Rand
	now     time.Time
	today   personio.Date
	orgs    []orgSeed
	depts   []*orgUnit
	teams   [][]*orgUnit // by department index
	ccs     []*orgUnit   // by department index
	offices []*orgUnit
	legal   map[string][]*orgUnit // by country
	weights []int                 // cumulative department weights
	female  []name
	male    []name
	family  []name
	other   [][2]name
	emailN  map[string]int
}

// seedCompany builds a company of n people from seed; dates are relative to
// now's day in loc, and times to that day's start, so that every start on
// one day draws the same company whatever the time of day. It allocates in bulk so that 100,000 people take well
// under a second.
func seedCompany(n int, seed int64, now time.Time, loc *time.Location, domain string) *company {
	s := &seeder{
		c:      newCompany(loc, domain, seed),
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x5eed)),
		now:    startOfDay(now, loc),
		today:  personio.DateOf(now.In(loc)),
		orgs:   orgSeeds(),
		female: femaleNames(),
		male:   maleNames(),
		family: familyNames(),
		other:  nonLatinNames(),
		emailN: make(map[string]int, n),
	}
	s.seedOrgs()
	s.seedPeople(n)
	return s.c
}

// startOfDay is the instant the day of now begins in loc, in UTC.
func startOfDay(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
}

func (s *seeder) seedOrgs() {
	c := s.c
	ccByName := map[string]*orgUnit{}
	total := 0
	for _, o := range s.orgs {
		dept, _ := c.orgByName(kindDepartment, o.name, true)
		dept.Abbreviation = o.abbreviation
		s.depts = append(s.depts, dept)
		var teams []*orgUnit
		for _, t := range o.teams {
			team, _ := c.orgByName(kindTeam, t, true)
			team.ParentID = dept.ID
			teams = append(teams, team)
		}
		s.teams = append(s.teams, teams)
		cc, ok := ccByName[o.costCenter]
		if !ok {
			cc, _ = c.orgByName(kindCostCenter, o.costCenter, true)
			ccByName[o.costCenter] = cc
		}
		s.ccs = append(s.ccs, cc)
		total += o.weight
		s.weights = append(s.weights, total)
	}
	s.legal = map[string][]*orgUnit{}
	for _, l := range legalEntitySeeds() {
		u, _ := c.orgByName(kindLegalEntity, l.name, true)
		u.Country = l.country
		s.legal[l.country] = append(s.legal[l.country], u)
	}
	for _, o := range officeSeeds() {
		u, _ := c.orgByName(kindOffice, o.name, true)
		u.Country = o.country
		s.offices = append(s.offices, u)
	}
}

func (s *seeder) seedPeople(n int) {
	c := s.c
	people := make([]person, n)
	jobs := make([]employment, n)
	custom := make([]string, n*len(c.customs))
	c.persons = make([]*person, 0, n)
	firsts := firstStates()
	for i := range n {
		state := drawState(s.rng)
		if i < len(firsts) {
			state = firsts[i]
		}
		p := &people[i]
		p.ID = c.nextPersonID
		c.nextPersonID += 1 + s.rng.IntN(3) // ids with gaps, as in a real tenant
		p.Custom = custom[i*len(c.customs) : (i+1)*len(c.customs) : (i+1)*len(c.customs)]
		s.seedName(p)
		e := &jobs[i]
		p.Employments = []*employment{e}
		s.seedEmployment(p, e, i)
		s.seedLifecycle(p, e, state)
		s.seedCustom(p, e)
		c.persons = append(c.persons, p)
		c.byID[p.ID] = p
		c.emails[strings.ToLower(p.Email)] = p.ID
	}
}

func (s *seeder) seedName(p *person) {
	var first, last name
	switch r := s.rng.IntN(100); {
	case r < 3:
		pair := s.other[s.rng.IntN(len(s.other))]
		first, last, p.Gender = pair[0], pair[1], "diverse"
	case r < 51:
		first, p.Gender = s.female[s.rng.IntN(len(s.female))], "female"
		last = s.family[s.rng.IntN(len(s.family))]
	default:
		first, p.Gender = s.male[s.rng.IntN(len(s.male))], "male"
		last = s.family[s.rng.IntN(len(s.family))]
	}
	p.FirstName, p.LastName = first.text, last.text
	if s.rng.IntN(3) == 0 {
		p.PreferredName = nickname(first.text)
	}
	p.Email = s.email(first.ascii, last.ascii)
}

// email makes first.last@domain unique by numbering repeats.
func (s *seeder) email(first, last string) string {
	local := strings.ReplaceAll(first+"."+last, " ", "")
	s.emailN[local]++
	if k := s.emailN[local]; k > 1 {
		local += strconv.Itoa(k)
	}
	return local + "@" + s.c.domain
}

// uniqueEmail is the same rule for people hired later through the control
// API, checked against the emails in use.
func (c *company) uniqueEmail(first, last string) string {
	local := strings.ReplaceAll(first+"."+last, " ", "")
	for k := 1; ; k++ {
		candidate := local
		if k > 1 {
			candidate += strconv.Itoa(k)
		}
		candidate += "@" + c.domain
		if _, taken := c.emails[candidate]; !taken {
			return candidate
		}
	}
}

func (s *seeder) pickDepartment() int {
	w := s.rng.IntN(s.weights[len(s.weights)-1])
	for i, cum := range s.weights {
		if w < cum {
			return i
		}
	}
	return 0
}

func (s *seeder) seedEmployment(p *person, e *employment, index int) {
	c := s.c
	d := s.pickDepartment()
	if index == 0 {
		d = 0 // the first person runs the company
	}
	e.ID = c.newEmploymentID()
	e.Status, e.Type = "active", "internal"
	e.DepartmentID = s.depts[d].ID
	if teams := s.teams[d]; len(teams) > 0 && s.rng.IntN(10) > 0 {
		e.TeamID = teams[s.rng.IntN(len(teams))].ID
	}
	positions := s.orgs[d].positions
	e.Position = positions[s.rng.IntN(len(positions))]
	office := s.offices[s.rng.IntN(len(s.offices))]
	e.OfficeID = office.ID
	entities := s.legal[office.Country]
	e.LegalEntityID = entities[s.rng.IntN(len(entities))].ID
	e.CostCenters = []costShare{{ID: s.ccs[d].ID, Percent: 100}}
	if s.rng.IntN(10) == 0 {
		other := s.ccs[s.rng.IntN(len(s.ccs))]
		if other.ID != s.ccs[d].ID {
			e.CostCenters = []costShare{{ID: s.ccs[d].ID, Percent: 50}, {ID: other.ID, Percent: 50}}
		}
	}
	e.WeeklyHours = 40
	if s.rng.IntN(5) == 0 {
		e.WeeklyHours = float64(20 + 4*s.rng.IntN(5))
	}
	if index > 0 {
		// Supervisors come from people generated earlier, so the tree has no
		// cycles; drawing from the first sixth keeps it a few levels deep.
		e.SupervisorID = c.persons[s.rng.IntN(max(1, (index+5)/6))].ID
	}
	p.FixSalary = 3000 + 100*s.rng.IntN(90)
	p.HourlySalary = float64(p.FixSalary) / 173
}

// seedLifecycle sets dates and status for the person's state.
func (s *seeder) seedLifecycle(p *person, e *employment, state lifecycle) {
	days := func(lo, hi int) int { return lo + s.rng.IntN(hi-lo+1) }
	today := s.today
	e.HireDate = today.AddDays(-days(30, 3650))
	switch state {
	case stateOnboarding:
		e.Status = "onboarding"
		e.HireDate = today.AddDays(days(1, 45))
	case stateLeave:
		e.Status = "leave"
	case stateInactive:
		e.HireDate = today.AddDays(-days(400, 3650))
		e.Status = "inactive"
		s.terminate(e, today.AddDays(-days(1, 365)))
	case stateLeaving:
		s.terminate(e, today.AddDays(days(1, 42)))
	case stateRehired:
		s.rehire(p, e)
	case stateFixedTerm:
		e.ContractEnd = today.AddDays(days(30, 365))
	case stateExternal:
		e.Type = "external"
		e.ContractEnd = today.AddDays(days(30, 200))
	}
	if !e.HireDate.IsZero() {
		e.ProbationEnd = e.HireDate.AddDays(182)
	}
	s.seedTimes(p, e)
}

func (s *seeder) terminate(e *employment, termination personio.Date) {
	e.TerminationDate = termination
	e.LastWorkingDay = termination.AddDays(-s.rng.IntN(4))
	e.TerminationType = "EMPLOYEE"
	e.TerminationReason = "Neue berufliche Herausforderung"
}

// rehire gives the person an earlier, ended employment and a new one that
// started recently or starts soon.
func (s *seeder) rehire(p *person, e *employment) {
	old := *e
	old.ID = s.c.newEmploymentID()
	old.CostCenters = slices.Clone(e.CostCenters)
	old.HireDate = s.today.AddDays(-1500 - s.rng.IntN(1500))
	old.Status = "inactive"
	s.terminate(&old, s.today.AddDays(-200-s.rng.IntN(800)))
	if s.rng.IntN(2) == 0 {
		e.HireDate = s.today.AddDays(-1 - s.rng.IntN(150))
	} else {
		e.HireDate = s.today.AddDays(1 + s.rng.IntN(20))
		e.Status = "onboarding"
	}
	p.Employments = append(p.Employments, &old)
}

// seedTimes sets creation and modification times: created some weeks
// before the (first) hire date, modified at some point since.
func (s *seeder) seedTimes(p *person, e *employment) {
	first := p.Employments[len(p.Employments)-1].HireDate
	created := time.Date(first.Year, first.Month, first.Day, 9, s.rng.IntN(60), s.rng.IntN(60), 0, s.c.loc).
		AddDate(0, 0, -7-s.rng.IntN(50)).UTC()
	if created.After(s.now) {
		created = s.now.Add(-time.Duration(1+s.rng.IntN(72)) * time.Hour)
	}
	span := s.now.Sub(created)
	modified := created.Add(time.Duration(s.rng.Int64N(int64(span) + 1))).Truncate(time.Second)
	p.CreatedAt, p.UpdatedAt, p.LastModified = created, modified, modified
	for _, emp := range p.Employments {
		emp.CreatedAt, emp.UpdatedAt = created, modified
	}
	e.UpdatedAt = modified
}

func (s *seeder) seedCustom(p *person, e *employment) {
	c := s.c
	for i, def := range c.customs {
		p.Custom[i] = s.customValue(def, p, e)
	}
}

func (s *seeder) customValue(def customDef, p *person, e *employment) string {
	switch def.Key {
	case "dynamic_1001":
		if s.rng.IntN(12) == 0 {
			return def.Options[s.rng.IntN(len(def.Options))]
		}
		return ""
	case "dynamic_1002":
		if e.DepartmentID == s.depts[1].ID {
			return strings.ReplaceAll(strings.SplitN(p.Email, "@", 2)[0], ".", "-")
		}
		return ""
	case "dynamic_1003":
		return strconv.Itoa(10000 + p.ID)
	case "dynamic_1004":
		return def.Options[min(1, s.rng.IntN(6))]
	case "dynamic_1005":
		langs := []string{"Deutsch"}
		if s.rng.IntN(2) == 0 {
			langs = append(langs, "Englisch")
		}
		if s.rng.IntN(6) == 0 {
			langs = append(langs, def.Options[2+s.rng.IntN(4)])
		}
		return strings.Join(langs, ",")
	case "dynamic_1006":
		if e.HireDate.Before(s.today) {
			return e.HireDate.AddDays(s.rng.IntN(30)).String()
		}
		return ""
	case "dynamic_1007":
		return strconv.FormatFloat(e.WeeklyHours/40, 'f', -1, 64)
	case "dynamic_9001":
		return "DE" + strconv.Itoa(10+s.rng.IntN(89)) + "5001" + strconv.FormatInt(1e13+s.rng.Int64N(9e13), 10)
	case "dynamic_9002":
		return "ALPWDEM1XXX"
	}
	return ""
}
