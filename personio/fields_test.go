package personio

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleRecord() Record {
	return Record{
		ID: "1234", FirstName: "Jürgen", LastName: "Groß", PreferredName: "Jü", Email: "juergen.gross@example.com",
		Status: "active", HireDate: Date{2021, time.March, 1}, TerminationDate: Date{2026, time.June, 30},
		LastWorkingDay: Date{2026, time.June, 26}, Position: "Engineer", Department: "Einkauf & Logistik",
		Office: "München", Team: "Lager Süd", LegalEntity: "Alpenwerk GmbH", CostCenters: []string{"2000 Entwicklung", "3000 Vertrieb"},
		SupervisorID: "1001", EmploymentType: "internal",
		Custom:    map[string]CustomAttribute{"dynamic_1002": {Label: "GitHub", Value: "jgross"}},
		UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestRecordFields(t *testing.T) {
	want := map[string]string{
		"id": "1234", "first_name": "Jürgen", "last_name": "Groß", "preferred_name": "Jü",
		"email": "juergen.gross@example.com", "status": "active", "hire_date": "2021-03-01",
		"termination_date": "2026-06-30", "last_working_day": "2026-06-26", "contract_end_date": "",
		"position": "Engineer", "department": "Einkauf & Logistik", "office": "München", "team": "Lager Süd",
		"legal_entity": "Alpenwerk GmbH", "cost_centers": "2000 Entwicklung,3000 Vertrieb", "supervisor_id": "1001",
		"employment_type": "internal", "updated_at": "2026-01-02T03:04:05Z", "dynamic_1002": "jgross",
	}
	if got := sampleRecord().Fields(); !maps.Equal(got, want) {
		t.Errorf("Fields() =\n%v\nwant\n%v", got, want)
	}
	empty := Record{}.Fields()
	for _, name := range StandardFields() {
		if v, ok := empty[name]; !ok || v != "" {
			t.Errorf("empty record: field %s = %q, %v; want present and empty", name, v, ok)
		}
	}
}

func TestRecordFromFieldsRoundTrip(t *testing.T) {
	in := sampleRecord()
	got, err := RecordFromFields(in.Fields())
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Custom = map[string]CustomAttribute{"dynamic_1002": {Value: "jgross"}} // labels are not in the flat view
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRecordFromFieldsRejects(t *testing.T) {
	for _, m := range []map[string]string{
		{"salary": "1"},
		{"hire_date": "01.03.2021"},
		{"updated_at": "yesterday"},
		{"dynamic_": "x"},
	} {
		if _, err := RecordFromFields(m); err == nil {
			t.Errorf("RecordFromFields(%v) accepted", m)
		}
	}
}

func TestIsCustomField(t *testing.T) {
	for name, want := range map[string]bool{"dynamic_1": true, "dynamic_24407": true, "dynamic_": false,
		"dynamic_x1": false, "Dynamic_1": false, "first_name": false} {
		if got := IsCustomField(name); got != want {
			t.Errorf("IsCustomField(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestResolveAttributes(t *testing.T) {
	set, err := resolveAttributes([]string{"email", "dynamic_7"})
	if err != nil {
		t.Fatal(err)
	}
	if !set.has("id") || !set.has("email") || set.has("first_name") || !reflect.DeepEqual(set.custom(), []string{"dynamic_7"}) {
		t.Errorf("resolveAttributes: got %v", set.fields)
	}
	if got, want := set.v1Projection(), []string{"dynamic_7", "email", "id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("v1Projection = %v, want %v", got, want)
	}
	all, _ := resolveAttributes(nil)
	if got := all.v1Projection(); !strings.Contains(strings.Join(got, ","), "subcompany") || !strings.Contains(strings.Join(got, ","), "last_modified_at") {
		t.Errorf("default projection lacks the v1 names: %v", got)
	}
	for _, bad := range [][]string{{"fix_salary"}, {"iban"}, {"Email"}} {
		if _, err := resolveAttributes(bad); err == nil {
			t.Errorf("resolveAttributes(%v) accepted", bad)
		}
	}
}

func TestIsSensitiveCustom(t *testing.T) {
	tests := []struct {
		globalID, label string
		want            bool
	}{
		{"iban", "Konto", true},
		{"", "IBAN", true},
		{"", "BIC / SWIFT", true},
		{"", "Bankverbindung", true},
		{"", "Kontonummer", true},
		{"", "Stundenlohn", true},
		{"", "Jahresgehalt (brutto)", true},
		{"", "Salary band", true},
		{"", "Datenbank-Zugang", false},
		{"", "Public key", false},
		{"", "GitHub account", false},
		{"", "Titel", false},
		{"color", "Colour", false},
	}
	for _, tt := range tests {
		if got := isSensitiveCustom(tt.globalID, tt.label); got != tt.want {
			t.Errorf("isSensitiveCustom(%q, %q) = %v, want %v", tt.globalID, tt.label, got, tt.want)
		}
	}
}

func TestAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		code, msg string
		trace     string
		is        error
	}{
		{"v1", 404, `{"success":false,"error":{"code":404,"message":"Es ist ein Problem aufgetreten"}}`, "404", "Es ist ein Problem aufgetreten", "", ErrNotFound},
		{"v2 problem", 429, `{"personio_trace_id":"abc","errors":[{"title":"Too Many Requests","detail":"slow down"}]}`, "", "slow down", "abc", ErrRateLimited},
		{"oauth", 400, `{"error":"unauthorized_client","error_description":"The credentials were not correct","trace_id":"t1"}`, "unauthorized_client", "The credentials were not correct", "t1", nil},
		{"not json", 502, `<html>Bad Gateway</html>`, "", "", "", nil},
		{"v2 401", 401, `{"errors":[{"title":"Unauthorized Request"}]}`, "", "Unauthorized Request", "", ErrAuth},
	}
	for _, tt := range tests {
		e := newAPIError("GET /x", tt.status, []byte(tt.body))
		if e.Code != tt.code || e.Message != tt.msg || e.TraceID != tt.trace {
			t.Errorf("%s: got code %q message %q trace %q", tt.name, e.Code, e.Message, e.TraceID)
		}
		if tt.is != nil && !errors.Is(e, tt.is) {
			t.Errorf("%s: %v is not %v", tt.name, e, tt.is)
		}
	}
	long := newAPIError("GET /x", 500, []byte(`{"success":false,"error":{"message":"`+strings.Repeat("ä", 300)+`"}}`))
	if len(long.Message) > maxErrorMessage+len("…") || !strings.HasSuffix(long.Message, "…") {
		t.Errorf("long message not clipped: %d bytes", len(long.Message))
	}
}

// TestFieldTableCoversRecord: every attribute of a Record (but the custom
// map) is in the field table exactly once, so that everything deriving from
// the table (decoding, the flat view, the mirror's expressions and
// minimization) sees it. A field dropped from the table stays zero here.
func TestFieldTableCoversRecord(t *testing.T) {
	flat := map[string]string{}
	for i, f := range RecordFields() {
		switch f.Kind {
		case KindDate:
			flat[f.Name] = Date{2020, time.January, 1 + i}.String()
		case KindTime:
			flat[f.Name] = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339)
		case KindList:
			flat[f.Name] = fmt.Sprintf("v%d,w%d", i, i)
		default:
			flat[f.Name] = fmt.Sprintf("v%d", i)
		}
	}
	rec, err := RecordFromFields(flat)
	if err != nil {
		t.Fatal(err)
	}
	rv := reflect.ValueOf(rec)
	covered := 0
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		if name == "Custom" {
			continue
		}
		covered++
		if rv.Field(i).IsZero() {
			t.Errorf("Record.%s is set by no entry of the field table", name)
		}
	}
	if n := len(RecordFields()); n != covered {
		t.Errorf("the table has %d entries for %d record attributes", n, covered)
	}
	if got := rec.Fields(); !maps.Equal(got, flat) {
		t.Errorf("flat view after the round trip:\n got %v\nwant %v", got, flat)
	}
	for _, f := range RecordFields() {
		var copied Record
		f.Copy(&copied, &rec)
		if f.Value(&copied) != flat[f.Name] {
			t.Errorf("Copy of %s: %q, want %q", f.Name, f.Value(&copied), flat[f.Name])
		}
		if g, ok := LookupField(f.Name); !ok || g.Name != f.Name {
			t.Errorf("LookupField(%s) = %v, %v", f.Name, g.Name, ok)
		}
		if (f.Kind == KindList) != (f.Strings(&rec) != nil) {
			t.Errorf("Strings of %s = %v", f.Name, f.Strings(&rec))
		}
	}
	if !reflect.DeepEqual(employmentFields(), []string{
		FieldStatus, FieldHireDate, FieldTerminationDate, FieldLastWorkingDay, FieldContractEndDate, FieldPosition,
		FieldDepartment, FieldOffice, FieldTeam, FieldLegalEntity, FieldCostCenters, FieldSupervisorID, FieldEmploymentType,
	}) {
		t.Errorf("employment fields = %v", employmentFields())
	}
}
