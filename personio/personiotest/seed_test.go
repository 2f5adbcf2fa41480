package personiotest

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/personio-scim/personio-scim/personio"
)

var seedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestSeedIsDeterministic(t *testing.T) {
	a := New(Options{Employees: 300, Seed: 7, Now: func() time.Time { return seedNow }}).Records()
	b := New(Options{Employees: 300, Seed: 7, Now: func() time.Time { return seedNow }}).Records()
	c := New(Options{Employees: 300, Seed: 8, Now: func() time.Time { return seedNow }}).Records()
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed made two different companies")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("two seeds made the same company")
	}
}

// TestSeedCompanyShape checks the generated company has what the mirror's
// tests and demos need: every lifecycle state, unique emails, names beyond
// ASCII, an acyclic supervisor tree, spread over org units.
func TestSeedCompanyShape(t *testing.T) {
	s := New(Options{Employees: 500, Now: func() time.Time { return seedNow }})
	today := personio.DateOf(seedNow.In(s.opts.Location))
	records := s.Records()
	if len(records) != 500 {
		t.Fatalf("%d people, want 500", len(records))
	}
	count := map[string]int{}
	emails := map[string]bool{}
	byID := map[string]personio.Record{}
	offices, departments, entities := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range records {
		byID[r.ID] = r
		offices[r.Office], departments[r.Department], entities[r.LegalEntity] = true, true, true
		count["status "+r.Status]++
		switch {
		case r.Status == "onboarding" && today.Before(r.HireDate):
			count["future hire"]++
		case r.Status == "inactive" && r.TerminationDate.Before(today):
			count["left"]++
		case r.Status == "active" && today.Before(r.TerminationDate):
			count["leaving soon"]++
		}
		if !r.ContractEndDate.IsZero() {
			count["fixed term"]++
		}
		if r.EmploymentType == "external" {
			count["external"]++
		}
		if r.PreferredName != "" {
			count["preferred name"]++
		}
		if len(r.CostCenters) > 1 {
			count["split cost centers"]++
		}
		name := r.FirstName + r.LastName
		if strings.ContainsAny(name, "äöüÄÖÜß") {
			count["umlaut or ß"]++
		}
		if strings.IndexFunc(name, func(c rune) bool { return c > unicode.MaxLatin1 && !unicode.In(c, unicode.Latin) }) >= 0 {
			count["non-Latin"]++
		}
		if emails[strings.ToLower(r.Email)] {
			t.Errorf("email %s used twice", r.Email)
		}
		emails[strings.ToLower(r.Email)] = true
		for _, c := range r.Email {
			if c > unicode.MaxASCII || unicode.IsUpper(c) {
				t.Errorf("email %q is not lower-case ASCII", r.Email)
				break
			}
		}
	}
	for _, want := range []string{"status active", "status onboarding", "status leave", "status inactive", "future hire",
		"left", "leaving soon", "fixed term", "external", "preferred name", "split cost centers", "umlaut or ß", "non-Latin"} {
		if count[want] == 0 {
			t.Errorf("no one in the company has %q (counts %v)", want, count)
		}
	}
	if len(offices) < 8 || len(departments) < 8 || len(entities) != 4 {
		t.Errorf("%d offices, %d departments, %d legal entities", len(offices), len(departments), len(entities))
	}
	rehired := 0
	for _, p := range s.co.persons {
		if len(p.Employments) > 1 {
			rehired++
		}
	}
	if rehired == 0 {
		t.Error("no rehires")
	}
	roots := 0
	for _, r := range records {
		if r.SupervisorID == "" {
			roots++
			continue
		}
		seen := map[string]bool{}
		for id := r.SupervisorID; id != ""; id = byID[id].SupervisorID {
			if seen[id] {
				t.Fatalf("supervisor cycle through %s", id)
			}
			seen[id] = true
			if _, ok := byID[id]; !ok {
				t.Fatalf("supervisor %s does not exist", id)
			}
		}
	}
	if roots != 1 {
		t.Errorf("%d people without supervisor, want 1", roots)
	}
}

func TestSeedSmallCompanyHasEveryState(t *testing.T) {
	statuses := map[string]bool{}
	for _, r := range New(Options{Employees: 8, Now: func() time.Time { return seedNow }}).Records() {
		statuses[r.Status] = true
	}
	for _, s := range []string{"active", "onboarding", "leave", "inactive"} {
		if !statuses[s] {
			t.Errorf("8 people, no one %s", s)
		}
	}
	if got := New(Options{Employees: -1}).Records(); len(got) != 0 {
		t.Errorf("Employees -1 made %d people", len(got))
	}
}

func BenchmarkSeed100k(b *testing.B) {
	for b.Loop() {
		seedCompany(100_000, 1, seedNow, berlin(), "alpenwerk.example")
	}
}
