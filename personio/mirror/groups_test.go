package mirror

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

func TestGeneratedGroups(t *testing.T) {
	spaced := employee(t)
	spaced.Department, spaced.Office, spaced.Team = "  Engineering ", "", "   "
	twice := employee(t)
	twice.CostCenters = []string{"CC-100", "CC-100", ""}

	tests := []struct {
		name string
		cfg  string
		rec  personio.Record
		want []groupRef
	}{
		{"defaults: department, office, team", "", employee(t), []groupRef{
			{"department:Engineering", kindDepartment, "Engineering"},
			{"office:Berlin", kindOffice, "Berlin"},
			{"team:Platform", kindTeam, "Platform"},
		}},
		{"templates and every kind", `groups:
  department: {display_name: 'Dept {value}'}
  office: {enabled: false}
  team: {display_name: '{value} ({value})'}
  legal_entity: {enabled: true, display_name: 'Entity {value}'}
  cost_center: {enabled: true, display_name: 'CC {value}'}
`, employee(t), []groupRef{
			{"department:Engineering", kindDepartment, "Dept Engineering"},
			{"team:Platform", kindTeam, "Platform (Platform)"},
			{"legal_entity:Example GmbH", kindLegalEntity, "Entity Example GmbH"},
			{"cost_center:CC-100", kindCostCenter, "CC CC-100"},
			{"cost_center:CC-200", kindCostCenter, "CC CC-200"},
		}},
		{"empty values make no group, spaces are trimmed", "", spaced, []groupRef{
			{"department:Engineering", kindDepartment, "Engineering"},
		}},
		{"a cost center listed twice is one group", "groups:\n  department: {enabled: false}\n  office: {enabled: false}\n  team: {enabled: false}\n  cost_center: {enabled: true}\n", twice, []groupRef{
			{"cost_center:CC-100", kindCostCenter, "CC-100"},
		}},
		{"everything off", "groups:\n  department: {enabled: false}\n  office: {enabled: false}\n  team: {enabled: false}\n", employee(t), nil},
	}
	for _, tt := range tests {
		out, err := compileYAML(t, tt.cfg).evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(out.Groups, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.name, out.Groups, tt.want)
		}
	}
}

func TestRuleGroups(t *testing.T) {
	p := compileYAML(t, `groups:
  department: {enabled: false}
  office: {enabled: false}
  team: {enabled: false}
  rules:
    - name: berlin-engineering
      display_name: Berlin Engineering
      when: 'department == "Engineering" && office == "Berlin"'
    - name: everyone
      description: all staff
      when: 'true'
    - name: externals
      when: 'employment_type == "external"'
`)
	munich := employee(t)
	munich.Office = "Munich"
	tests := []struct {
		name string
		rec  personio.Record
		want []groupRef
	}{
		{"Berlin engineer", employee(t), []groupRef{
			{"rule:berlin-engineering", kindRule, "Berlin Engineering"},
			{"rule:everyone", kindRule, "everyone"},
		}},
		{"Munich engineer", munich, []groupRef{{"rule:everyone", kindRule, "everyone"}}},
	}
	for _, tt := range tests {
		out, err := p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(out.Groups, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.name, out.Groups, tt.want)
		}
	}
}

func TestRuleGroupError(t *testing.T) {
	p := compileYAML(t, "groups:\n  rules:\n    - name: github\n      when: 'custom[\"GitHub\"] != \"\"'\n")
	_, err := p.evaluate(context.Background(), employee(t), date(t, "2026-04-01"), nil)
	var pe *personError
	if !errors.As(err, &pe) || pe.PersonID != "1042" || pe.Attribute != "group rule:github" {
		t.Fatalf("error %v, want a PersonError for person 1042 and group rule:github", err)
	}
	if !strings.Contains(err.Error(), "person 1042: group rule:github: ") {
		t.Errorf("error %q", err)
	}
}

func TestGroupMembershipFollowsLifecycle(t *testing.T) {
	const rules = "  rules:\n    - name: all\n      when: 'true'\n"
	withPrehires := compileYAML(t, "groups:\n"+rules)
	withoutPrehires := compileYAML(t, "groups:\n  include_prehire: false\n"+rules)
	prehire := employee(t)
	prehire.HireDate = date(t, "2026-04-10")
	leaver := employee(t)
	leaver.LastWorkingDay = date(t, "2026-03-15")
	allGroups := []groupRef{
		{"department:Engineering", kindDepartment, "Engineering"},
		{"office:Berlin", kindOffice, "Berlin"},
		{"team:Platform", kindTeam, "Platform"},
		{"rule:all", kindRule, "all"},
	}
	tests := []struct {
		name   string
		p      *Policy
		rec    personio.Record
		state  store.LifecycleState
		groups []groupRef
	}{
		{"active", withPrehires, employee(t), store.StateActive, allGroups},
		{"prehire, included", withPrehires, prehire, store.StatePrehire, allGroups},
		{"prehire, not included", withoutPrehires, prehire, store.StatePrehire, nil},
		{"leaver in retention", withPrehires, leaver, store.StateLeaver, nil},
	}
	for _, tt := range tests {
		out, err := tt.p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !out.Present || out.Lifecycle.State != tt.state || !slices.Equal(out.Groups, tt.groups) {
			t.Errorf("%s: present %v, state %s, groups %v; want present, %s, %v", tt.name, out.Present, out.Lifecycle.State, out.Groups, tt.state, tt.groups)
		}
	}
}
