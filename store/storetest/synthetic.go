package storetest

import (
	"fmt"

	"github.com/personio-scim/personio-scim/store"
)

// Synthetic returns n identities shaped like the mirror writes them, with a
// minimized source record of the default mapping's size, and the department
// groups they belong to. Benchmarks use it to load stores at scale.
func Synthetic(ns store.Namespace, n int) ([]store.Identity, []store.Group) {
	departments := []string{"Engineering", "Sales", "Finance", "People", "Marketing", "Legal", "Customer Success", "Operations"}
	ids := make([]store.Identity, n)
	members := make(map[string][]string, len(departments))
	for i := range ids {
		pid := fmt.Sprint(1000 + i)
		first, last := fmt.Sprintf("Jürgen%d", i), fmt.Sprintf("Groß-Müller%d", i)
		email := fmt.Sprintf("juergen%d.gross-mueller%d@alpenwerk.example", i, i)
		dept := departments[i%len(departments)]
		ids[i] = store.Identity{
			ID:         ns.IdentityID(pid),
			PersonioID: pid,
			Attributes: store.Attributes{
				UserName: email, ExternalID: pid, DisplayName: first + " " + last, GivenName: first, FamilyName: last,
				Title: "Senior Software Engineer", UserType: "internal", Email: email, Active: i%20 != 0,
				EmployeeNumber: pid, Department: dept, Organization: "Alpenwerk GmbH", CostCenter: "CC-4711",
				Division: "Platform", Manager: ns.IdentityID(fmt.Sprint(1000 + i/10)),
			},
			Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2021-04-01", Rule: "hire-date"},
			Source: map[string]string{
				"id": pid, "first_name": first, "last_name": last, "email": email, "status": "active",
				"hire_date": "2021-04-01", "position": "Senior Software Engineer", "department": dept,
				"office": "Berlin", "team": "Platform", "legal_entity": "Alpenwerk GmbH", "cost_centers": "CC-4711",
				"supervisor_id": fmt.Sprint(1000 + i/10), "employment_type": "internal",
			},
			SourceHash: fmt.Sprintf("%032x", i),
		}
		members[dept] = append(members[dept], ids[i].ID)
	}
	var groups []store.Group
	for _, d := range departments {
		groups = append(groups, store.Group{ID: ns.GroupID("department:" + d), Key: "department:" + d, Kind: "department", DisplayName: d, Members: members[d]})
	}
	return ids, groups
}

// CreateAll is a change set that creates every identity and group.
func CreateAll(ids []store.Identity, groups []store.Group) store.ChangeSet {
	cs := store.ChangeSet{Actor: "bench", Cause: "load"}
	for _, i := range ids {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: i})
	}
	for _, g := range groups {
		cs.Groups = append(cs.Groups, store.GroupChange{Op: store.OpCreate, Group: g})
	}
	return cs
}
