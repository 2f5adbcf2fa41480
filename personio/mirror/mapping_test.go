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

// employee is an active person with every field the default mapping reads.
func employee(t testing.TB) personio.Record {
	return personio.Record{
		ID: "1042", FirstName: "Jürgen", LastName: "Groß", Email: "Juergen.Gross@Example.com",
		Status: "active", HireDate: date(t, "2020-02-01"), Position: "Backend Engineer",
		Department: "Engineering", Office: "Berlin", Team: "Platform", LegalEntity: "Example GmbH",
		CostCenters: []string{"CC-100", "CC-200"}, SupervisorID: "1001", EmploymentType: "internal",
	}
}

func compileYAML(t testing.TB, in string) *Policy {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultMappingAttributes(t *testing.T) {
	p := compileYAML(t, "")
	preferred := employee(t)
	preferred.PreferredName = "Jo"
	noLastName := employee(t)
	noLastName.LastName = ""
	noCostCenter := employee(t)
	noCostCenter.CostCenters = nil

	base := store.Attributes{
		UserName: "juergen.gross@example.com", ExternalID: "1042", DisplayName: "Jürgen Groß",
		GivenName: "Jürgen", FamilyName: "Groß", Title: "Backend Engineer", UserType: "internal",
		Email: "juergen.gross@example.com", Active: true, EmployeeNumber: "1042", Department: "Engineering",
		Organization: "Example GmbH", CostCenter: "CC-100", Division: "Platform", Manager: "1001",
	}
	withPreferred := base
	withPreferred.DisplayName, withPreferred.NickName = "Jo Groß", "Jo"
	withoutLast := base
	withoutLast.DisplayName, withoutLast.FamilyName = "Jürgen", ""
	withoutCostCenter := base
	withoutCostCenter.CostCenter = ""

	tests := []struct {
		name string
		rec  personio.Record
		want store.Attributes
	}{
		{"every field", employee(t), base},
		{"preferred name", preferred, withPreferred},
		{"no last name", noLastName, withoutLast},
		{"no cost center", noCostCenter, withoutCostCenter},
	}
	for _, tt := range tests {
		out, err := p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.Attributes != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, out.Attributes, tt.want)
		}
		if !slices.Equal(out.OnCreateOnly, []string{"userName"}) {
			t.Errorf("%s: OnCreateOnly = %v, want [userName]", tt.name, out.OnCreateOnly)
		}
	}
}

func TestCustomMapping(t *testing.T) {
	p := compileYAML(t, `mapping:
  userName: 'login(first_name + " " + last_name) + "@corp.example"'
  title: {expr: 'upper(position)', on_create_only: true}
  nickName:
  locale: '"de-DE"'
  phoneNumbers.work: 'custom[?"Work phone"].orValue("")'
`)
	rec := employee(t)
	rec.PreferredName = "Jo"
	rec.Custom = map[string]personio.CustomAttribute{"dynamic_5": {Label: "Work phone", Value: "+49 30 1234"}}
	out, err := p.evaluate(context.Background(), rec, date(t, "2026-04-01"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := out.Attributes
	if a.UserName != "juergen.gross@corp.example" || a.Title != "BACKEND ENGINEER" || a.NickName != "" || a.Locale != "de-DE" || a.Phone != "+49 30 1234" {
		t.Errorf("attributes = %+v", a)
	}
	if !slices.Equal(out.OnCreateOnly, []string{"userName", "title"}) {
		t.Errorf("OnCreateOnly = %v, want [userName title]", out.OnCreateOnly)
	}
}

func TestMappingErrorsNamePersonByIDOnly(t *testing.T) {
	noEmail := employee(t)
	noEmail.Email = ""
	tests := []struct {
		name     string
		cfg      string
		rec      personio.Record
		attr     string
		contains string
	}{
		{"missing work email", "", noEmail, "userName", "userName is empty"},
		{"index out of range", "mapping:\n  title: 'cost_centers[5]'\n", employee(t), "title", "a list index is out of range"},
		{"missing custom attribute", "mapping:\n  title: 'custom[\"Job title\"]'\n", employee(t), "title", "1:7: a map key is missing"},
		{"timestamp of a name", "mapping:\n  title: 'string(timestamp(first_name))'\n", employee(t), "title", "1:17: a value is not a valid timestamp"},
		{"int of a name", "mapping:\n  title: 'string(int(last_name))'\n", employee(t), "title", "1:11: a value cannot be converted"},
		{"active expression fails", "mapping:\n  active: 'custom[\"Access\"] == \"yes\"'\n", employee(t), "active", "1:7: a map key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compileYAML(t, tt.cfg)
			out, err := p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
			var pe *personError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *PersonError", err)
			}
			if pe.PersonID != "1042" || pe.Attribute != tt.attr {
				t.Errorf("PersonError = %+v, want person 1042, attribute %s", pe, tt.attr)
			}
			msg := err.Error()
			if !strings.Contains(msg, "person 1042") || !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q, want it to name person 1042 and contain %q", msg, tt.contains)
			}
			for _, personal := range []string{"Jürgen", "Groß", "Juergen.Gross", "Example.com"} {
				if strings.Contains(msg, personal) {
					t.Errorf("error %q contains personal data %q", msg, personal)
				}
			}
			if !out.InScope || !out.Present || out.Lifecycle.State != store.StateActive {
				t.Errorf("outcome with the error = %+v, want scope, presence and lifecycle kept", out)
			}
		})
	}
	var pe *personError
	_, err := compileYAML(t, "").evaluate(context.Background(), noEmail, date(t, "2026-04-01"), nil)
	if !errors.As(err, &pe) || !errors.Is(err, errEmptyUserName) {
		t.Errorf("missing email: error %v, want ErrEmptyUserName", err)
	}
}

// TestActiveIsLifecycleAndMapping checks that the active expression can
// only narrow the lifecycle's decision, and is not even run for someone the
// lifecycle keeps inactive.
func TestActiveIsLifecycleAndMapping(t *testing.T) {
	p := compileYAML(t, "mapping:\n  active: 'status != \"leave\" && custom[\"Access\"] == \"yes\"'\n")
	withAccess := func(status, hire string) personio.Record {
		r := employee(t)
		r.Status, r.HireDate = status, date(t, hire)
		r.Custom = map[string]personio.CustomAttribute{"dynamic_1": {Label: "Access", Value: "yes"}}
		return r
	}
	prehireWithoutCustom := employee(t)
	prehireWithoutCustom.HireDate = date(t, "2026-04-10")
	tests := []struct {
		name   string
		rec    personio.Record
		active bool
	}{
		{"employed, expression true", withAccess("active", "2020-01-01"), true},
		{"on leave", withAccess("leave", "2020-01-01"), false},
		{"prehire, expression true", withAccess("onboarding", "2026-04-10"), false},
		{"prehire, expression would fail", prehireWithoutCustom, false},
	}
	for _, tt := range tests {
		out, err := p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.Attributes.Active != tt.active {
			t.Errorf("%s: active = %v, want %v", tt.name, out.Attributes.Active, tt.active)
		}
	}
}

func TestActiveUnmappedFollowsLifecycle(t *testing.T) {
	p := compileYAML(t, "mapping:\n  active:\n")
	out, err := p.evaluate(context.Background(), employee(t), date(t, "2026-04-01"), nil)
	if err != nil || !out.Attributes.Active {
		t.Errorf("active unmapped: Active = %v, %v; want true", out.Attributes.Active, err)
	}
	leaver := employee(t)
	leaver.Status = "inactive"
	out, err = p.evaluate(context.Background(), leaver, date(t, "2026-04-01"), nil)
	if err != nil || out.Attributes.Active {
		t.Errorf("active unmapped, leaver: Active = %v, %v; want false", out.Attributes.Active, err)
	}
}
