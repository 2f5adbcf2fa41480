package scim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// fixtureTime is when the fixture's store says everything was created.
var fixtureTime = time.Date(2024, 5, 2, 8, 30, 0, 0, time.UTC)

// person is one row of the fixture company, written the way the mirror
// engine would map a Personio employee.
type person struct {
	personioID, given, family, email, department, title, manager string
	active                                                       bool
}

// company is a small German company: umlauts, a leaver and a pre-hire
// (inactive), two levels of managers, departments and one group name with
// characters that need care in URLs.
func company() []person {
	return []person{
		{"1001", "Jürgen", "Müller", "juergen.mueller@example.de", "Engineering", "Head of Engineering", "", true},
		{"1002", "Zoë", "Schäfer", "zoe.schaefer@example.de", "Engineering", "Backend Engineer", "1001", true},
		{"1003", "Björn", "Weiß", "bjoern.weiss@example.de", "Sales", "Account Executive", "1004", true},
		{"1004", "Ömer", "Yıldız", "oemer.yildiz@example.de", "Sales", "Head of Sales", "", true},
		{"1005", "Änne", "Köhler", "aenne.koehler@example.de", "People", "HR Generalist", "1001", false},
		{"1006", "Fritz", "Groß", "fritz.gross@example.de", "Engineering", "Working Student", "1002", false},
		{"1007", "Léa", "Dubois", "lea.dubois@example.de", "Sales", "Sales Development", "1004", true},
		{"1008", "Øyvind", "Hansen", "oyvind.hansen@example.de", "Engineering", "SRE", "1001", true},
	}
}

func personID(personioID string) string { return store.DefaultNamespace.IdentityID(personioID) }

func (p person) identity() store.Identity {
	i := store.Identity{ID: personID(p.personioID), PersonioID: p.personioID}
	i.UserName = p.email
	i.ExternalID = p.personioID
	i.EmployeeNumber = p.personioID
	i.GivenName, i.FamilyName = p.given, p.family
	i.DisplayName = p.given + " " + p.family
	i.Email = p.email
	i.Active = p.active
	i.Department = p.department
	i.Title = p.title
	i.Organization = "Beispiel GmbH"
	i.CostCenter = "CC-" + p.department
	i.Division = "Operations"
	i.PreferredLanguage = "de-DE"
	i.Locale = "de-DE"
	i.Timezone = "Europe/Berlin"
	if p.manager != "" {
		i.Manager = personID(p.manager)
	}
	if p.personioID == "1001" {
		i.Phone = "+49 30 1234567"
	}
	i.Lifecycle.State = store.StateActive
	if !p.active {
		i.Lifecycle.State = store.StateLeaver
	}
	i.Source = map[string]string{"first_name": p.given}
	return i
}

// groupsOf builds department groups, an office group with everyone, and a
// team whose name has "&" and ";".
func groupsOf(people []person) []store.Group {
	byDept := map[string][]string{}
	var everyone, platform []string
	for _, p := range people {
		byDept[p.department] = append(byDept[p.department], personID(p.personioID))
		everyone = append(everyone, personID(p.personioID))
		if p.personioID == "1002" || p.personioID == "1006" {
			platform = append(platform, personID(p.personioID))
		}
	}
	var groups []store.Group
	for _, dept := range []string{"Engineering", "Sales", "People"} {
		key := "department:" + dept
		groups = append(groups, store.Group{ID: store.DefaultNamespace.GroupID(key), Key: key, Kind: "department",
			DisplayName: dept, Members: byDept[dept]})
	}
	groups = append(groups,
		store.Group{ID: store.DefaultNamespace.GroupID("office:Berlin"), Key: "office:Berlin", Kind: "office",
			DisplayName: "Office Berlin", Members: everyone},
		store.Group{ID: store.DefaultNamespace.GroupID("team:R&D; Platform"), Key: "team:R&D; Platform", Kind: "team",
			DisplayName: "R&D; Platform", Members: platform},
		store.Group{ID: store.DefaultNamespace.GroupID("team:Empty"), Key: "team:Empty", Kind: "team",
			DisplayName: "Empty Team"},
	)
	return groups
}

// syntheticPeople adds n generated employees (ids 20000…) for paging and
// benchmarks; every tenth is inactive and each reports to one of the
// company's heads.
func syntheticPeople(n int) []person {
	given := []string{"Anna", "Jörg", "Sören", "Maria", "Ülkü", "Hans", "Käthe", "Lukas", "Mia", "Paul"}
	family := []string{"Schmidt", "Schröder", "Meyer", "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Bauer"}
	depts := []string{"Engineering", "Sales", "People"}
	out := make([]person, 0, n)
	for i := range n {
		id := fmt.Sprintf("%d", 20000+i)
		out = append(out, person{
			personioID: id,
			given:      given[i%len(given)],
			family:     family[(i/len(given))%len(family)],
			email:      fmt.Sprintf("user%05d@example.de", i),
			department: depts[i%len(depts)],
			title:      "Specialist",
			manager:    []string{"1001", "1004"}[i%2],
			active:     i%10 != 0,
		})
	}
	return out
}

// newFixtureStore fills a memory store through Apply, as a sync would, and
// opens a directory on it.
func newFixtureStore(tb testing.TB, people []person) (*memory.Store, *store.Directory) {
	tb.Helper()
	ctx := context.Background()
	clock := fixtureTime
	st := memory.New(memory.Options{Now: func() time.Time { return clock }})
	tb.Cleanup(st.Close)
	cs := store.ChangeSet{Actor: "sync", Cause: "fixture"}
	for _, p := range people {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: p.identity()})
	}
	for _, g := range groupsOf(people) {
		cs.Groups = append(cs.Groups, store.GroupChange{Op: store.OpCreate, Group: g})
	}
	if _, err := st.Apply(ctx, cs); err != nil {
		tb.Fatalf("fill fixture store: %v", err)
	}
	dir, err := store.NewDirectory(ctx, st, store.DirectoryOptions{})
	if err != nil {
		tb.Fatalf("open directory: %v", err)
	}
	return st, dir
}
