package mirror

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// roundTripValues gives every field of the table a value the simulator
// accepts, none of them empty, so that a field lost anywhere shows. The id
// and the modification time are Personio's own.
func roundTripValues(supervisor string) personiotest.Attrs {
	return personiotest.Attrs{
		personio.FieldFirstName: "Zoë", personio.FieldLastName: "Weiß-Øster", personio.FieldPreferredName: "Zo",
		personio.FieldEmail: "zoe.weiss@alpenwerk.example", personio.FieldStatus: "leave",
		personio.FieldHireDate: "2024-02-01", personio.FieldTerminationDate: "2026-09-30",
		personio.FieldLastWorkingDay: "2026-09-25", personio.FieldContractEndDate: "2026-12-31",
		personio.FieldPosition: "Lagerist:in", personio.FieldDepartment: "Forschung & Entwicklung",
		personio.FieldOffice: "Linz", personio.FieldTeam: "Labor Süd", personio.FieldLegalEntity: "Alpenwerk Forschung GmbH",
		personio.FieldCostCenters: []any{"7000 Forschung", "2000 Entwicklung"}, personio.FieldSupervisorID: supervisor,
		personio.FieldEmploymentType: "external",
	}
}

// allFieldsScope is a scope expression that reads every field expressions
// may read, so that the policy keeps all of them.
func allFieldsScope() string {
	var terms []string
	for _, f := range personio.RecordFields() {
		if !f.Mapped {
			continue
		}
		if f.Kind == personio.KindList {
			terms = append(terms, fmt.Sprintf("size(%s) >= 0", f.Name))
		} else {
			terms = append(terms, fmt.Sprintf("%s != \"\\u0000\"", f.Name))
		}
	}
	return strings.Join(terms, " && ")
}

// TestFieldsRoundTrip pushes every field of personio's field table through
// decoding (v1 and v2, from the simulator over HTTP), minimization, the CEL
// activation and the flat view and back. A field that any of these places
// stops deriving from the table loses its value on the way and fails here.
func TestFieldsRoundTrip(t *testing.T) {
	cfg, err := ParseConfig("roundtrip.yaml", []byte("scope: '"+allFieldsScope()+"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range personio.RecordFields() {
		if f.Mapped && !slices.Contains(policy.SourceFields(), f.Name) {
			t.Errorf("the policy reads %s but does not ask for it", f.Name)
		}
	}
	for _, version := range []personio.APIVersion{personio.APIv1, personio.APIv2} {
		t.Run(string(version), func(t *testing.T) {
			clock := personiotest.NewClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
			sim := personiotest.Start(t, personiotest.Options{Employees: 12, Now: clock.Now,
				Credentials: []personiotest.Credential{{ClientID: "rt", ClientSecret: "rt-secret", NoRateLimit: true}}})
			id := sim.Records()[5].ID
			values := roundTripValues(sim.Records()[1].ID)
			if err := sim.Update(id, values); err != nil {
				t.Fatal(err)
			}
			for name := range values {
				if _, ok := personio.LookupField(name); !ok {
					t.Errorf("%s is a record field but not in the field table", name)
				}
			}
			for _, f := range personio.RecordFields() {
				if _, ok := values[f.Name]; !ok && f.Name != personio.FieldID && f.Name != personio.FieldUpdatedAt {
					t.Errorf("field %s has no value to push through: add one to roundTripValues", f.Name)
				}
			}
			truth, _ := sim.Record(id)
			client, err := personio.NewClient(personio.Config{BaseURL: sim.URL(), ClientID: "rt", ClientSecret: "rt-secret",
				APIVersion: version, Attributes: append(policy.SourceFields(), personio.FieldUpdatedAt), NoRateLimit: true, Now: clock.Now, Sleep: clock.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			records, _, err := client.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(records, func(r personio.Record) bool { return r.ID == id })
			if i < 0 {
				t.Fatalf("person %s not fetched", id)
			}
			minimized := policy.Minimize(records[i])
			back, err := personio.RecordFromFields(minimized.Fields())
			if err != nil {
				t.Fatal(err)
			}
			activation := newRecordActivation(&minimized)
			for _, f := range personio.RecordFields() {
				want := f.Value(&truth)
				if _, set := values[f.Name]; set && want == "" {
					t.Errorf("%s: the simulator did not take the value", f.Name)
				}
				if got := f.Value(&minimized); got != want {
					t.Errorf("%s after decoding and minimization: %q, want %q", f.Name, got, want)
				}
				if got := f.Value(&back); got != want {
					t.Errorf("%s after the flat view: %q, want %q", f.Name, got, want)
				}
				checkActivation(t, activation, f, &truth)
			}
			if !reflect.DeepEqual(back, minimized) {
				t.Errorf("flat view round trip:\n got %+v\nwant %+v", back, minimized)
			}
		})
	}
}

// checkActivation compares what CEL sees of a field with the record.
func checkActivation(t *testing.T, a *recordActivation, f personio.Field, want *personio.Record) {
	t.Helper()
	v, ok := a.ResolveName(f.Name)
	if ok != f.Mapped {
		t.Errorf("CEL variable %s resolves %v, want %v", f.Name, ok, f.Mapped)
		return
	}
	if !ok {
		return
	}
	native, err := v.(interface {
		ConvertToNative(reflect.Type) (any, error)
	}).ConvertToNative(reflect.TypeFor[any]())
	if err != nil {
		t.Errorf("CEL variable %s: %v", f.Name, err)
		return
	}
	var got string
	switch x := native.(type) {
	case string:
		got = x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		got = strings.Join(parts, ",")
	default:
		got = fmt.Sprint(x)
	}
	if got != f.Value(want) {
		t.Errorf("CEL variable %s = %q, want %q", f.Name, got, f.Value(want))
	}
}
