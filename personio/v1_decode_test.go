package personio

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// v1Page wraps employee attribute objects into a list page.
func v1Page(total int, employees ...string) []byte {
	items := make([]string, len(employees))
	for i, e := range employees {
		items[i] = `{"type":"Employee","attributes":{` + e + `}}`
	}
	return []byte(fmt.Sprintf(`{"success":true,"metadata":{"total_elements":%d,"current_page":0,"total_pages":1},"offset":0,"limit":100,"data":[%s]}`,
		total, strings.Join(items, ",")))
}

func attr(key, value string) string {
	return fmt.Sprintf(`%q:{"label":"L","value":%s,"type":"standard","universal_id":%q}`, key, value, key)
}

const fullEmployee = `"id":{"label":"ID","value":42,"type":"integer","universal_id":"id"},` +
	`"first_name":{"label":"Vorname","value":"Jürgen","type":"standard","universal_id":"first_name"},` +
	`"last_name":{"label":"Nachname","value":"Gro\u00df","type":"standard","universal_id":"last_name"},` +
	`"preferred_name":{"label":"Rufname","value":null,"type":"standard","universal_id":"preferred_name"},` +
	`"email":{"label":"E-Mail","value":"j.gross@example.com","type":"standard","universal_id":"email"},` +
	`"status":{"label":"Status","value":"Active","type":"standard","universal_id":"status"},` +
	`"hire_date":{"label":"Eintritt","value":"2021-03-01T00:00:00+01:00","type":"date","universal_id":"hire_date"},` +
	`"termination_date":{"label":"Austritt","value":"2026-06-30T00:00:00+0200","type":"date","universal_id":"termination_date"},` +
	`"last_working_day":{"label":"LAT","value":"2026-06-25T22:00:00.000Z","type":"date","universal_id":"last_working_day"},` +
	`"contract_end_date":{"label":"Vertragsende","value":null,"type":"date","universal_id":"contract_end_date"},` +
	`"position":{"label":"Position","value":"Lagerist:in","type":"standard","universal_id":"position"},` +
	`"department":{"label":"Abteilung","value":{"type":"Department","attributes":{"id":7,"name":"Einkauf & Logistik"}},"type":"standard","universal_id":"department"},` +
	`"office":{"label":"Standort","value":{"type":"Office","attributes":{"id":8,"name":"München"}},"type":"standard","universal_id":"office"},` +
	`"team":{"label":"Team","value":"","type":"standard","universal_id":"team"},` +
	`"subcompany":{"label":"Firma","value":{"type":"Subcompany","attributes":{"id":9,"name":"Alpenwerk GmbH"}},"type":"standard","universal_id":"subcompany"},` +
	`"cost_centers":{"label":"KST","value":[{"type":"CostCenter","attributes":{"id":1,"name":"2000 Entwicklung","percentage":50}},{"type":"CostCenter","attributes":{"id":2,"name":"3000 Vertrieb","percentage":50}}],"type":"standard","universal_id":"cost_centers"},` +
	`"supervisor":{"label":"Vorgesetzte","value":{"type":"Employee","attributes":{"id":{"label":"ID","value":3,"type":"integer","universal_id":"id"}}},"type":"standard","universal_id":"supervisor"},` +
	`"employment_type":{"label":"Art","value":"internal","type":"standard","universal_id":"employment_type"},` +
	`"last_modified_at":{"label":"Geändert","value":"2026-01-02T10:04:05+01:00","type":"date","universal_id":"last_modified_at"},` +
	`"fix_salary":{"label":"Fixgehalt","value":5000,"type":"decimal","universal_id":"fix_salary","currency":"EUR"},` +
	`"dynamic_1":{"label":"Titel","value":"Dr.","type":"list","universal_id":null},` +
	`"dynamic_2":{"label":"Sicherheitsunterweisung","value":"2024-05-01T00:00:00+02:00","type":"date","universal_id":null},` +
	`"dynamic_3":{"label":"FTE","value":0.8,"type":"decimal","universal_id":null},` +
	`"dynamic_4":{"label":"Sprachen","value":["Deutsch","Englisch"],"type":"tags","universal_id":null},` +
	`"dynamic_9":{"label":"Konto","value":"DE89370400440532013000","type":"standard","universal_id":"iban"},` +
	`"dynamic_10":{"label":"Bankverbindung","value":"x","type":"standard","universal_id":null}`

func testDecoder(t *testing.T, names []string, missing MissingPolicy) v1Decoder {
	t.Helper()
	attrs, err := resolveAttributes(names)
	if err != nil {
		t.Fatal(err)
	}
	return v1Decoder{attrs: attrs, zone: mustZone(t, "Europe/Berlin"), missing: missing}
}

// page decodes a list page with the decoder's index, as a listing does.
func (d v1Decoder) page(body []byte) ([]v1Employee, int, error) {
	return d.indexed().decodeV1Page(body, nil)
}

// one decodes the only employee of a list page.
func (d v1Decoder) one(t *testing.T, body []byte) (decoded, error) {
	t.Helper()
	items, _, err := d.page(body)
	if err != nil || len(items) != 1 {
		t.Fatalf("page: %d items, %v", len(items), err)
	}
	return d.employee(items[0])
}

func TestDecodeV1Employee(t *testing.T) {
	names := append(StandardFields(), "dynamic_1", "dynamic_2", "dynamic_3", "dynamic_4", "dynamic_9", "dynamic_10")
	dec := testDecoder(t, names, MissingError)
	items, total, err := dec.page(v1Page(1, fullEmployee))
	if err != nil || total != 1 || len(items) != 1 {
		t.Fatalf("decodeV1Page: %v, total %d, %d items", err, total, len(items))
	}
	got, err := dec.employee(items[0])
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		ID: "42", FirstName: "Jürgen", LastName: "Groß", Email: "j.gross@example.com", Status: "active",
		HireDate: Date{2021, 3, 1}, TerminationDate: Date{2026, 6, 30}, LastWorkingDay: Date{2026, 6, 26},
		Position: "Lagerist:in", Department: "Einkauf & Logistik", Office: "München", LegalEntity: "Alpenwerk GmbH",
		CostCenters: []string{"2000 Entwicklung", "3000 Vertrieb"}, SupervisorID: "3", EmploymentType: "internal",
		UpdatedAt: time.Date(2026, 1, 2, 9, 4, 5, 0, time.UTC),
		Custom: map[string]CustomAttribute{
			"dynamic_1": {"Titel", "Dr."}, "dynamic_2": {"Sicherheitsunterweisung", "2024-05-01"},
			"dynamic_3": {"FTE", "0.8"}, "dynamic_4": {"Sprachen", "Deutsch,Englisch"},
		},
	}
	if !reflect.DeepEqual(got.record, want) {
		t.Errorf("employee:\n got %+v\nwant %+v", got.record, want)
	}
	if got.droppedSensitive != 2 {
		t.Errorf("droppedSensitive = %d, want 2 (IBAN and Bankverbindung)", got.droppedSensitive)
	}
}

func TestDecodeV1EmptyRelations(t *testing.T) {
	for _, empty := range []string{`null`, `""`, `[]`, `{}`} {
		emp := strings.Join([]string{attr("id", "5"), attr("department", empty), attr("office", empty), attr("team", empty),
			attr("subcompany", empty), attr("cost_centers", empty), attr("supervisor", empty)}, ",")
		dec := testDecoder(t, []string{"department", "office", "team", "legal_entity", "cost_centers", "supervisor_id"}, MissingError)
		items, _, err := dec.page(v1Page(1, emp))
		if err != nil {
			t.Fatalf("%s: %v", empty, err)
		}
		got, err := dec.employee(items[0])
		if err != nil {
			t.Fatalf("%s: %v", empty, err)
		}
		if want := (Record{ID: "5"}); !reflect.DeepEqual(got.record, want) {
			t.Errorf("%s: got %+v, want an empty record", empty, got.record)
		}
	}
}

func TestDecodeV1LooseValues(t *testing.T) {
	emp := strings.Join([]string{attr("id", `"77"`), attr("supervisor", `{"type":"Employee","attributes":{"id":12}}`),
		attr("department", `"Vertrieb"`), attr("first_name", `"A\u00e4\"b"`)}, ",")
	dec := testDecoder(t, []string{"supervisor_id", "department", "first_name"}, MissingError)
	items, _, err := dec.page(v1Page(1, emp))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dec.employee(items[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := (Record{ID: "77", SupervisorID: "12", Department: "Vertrieb", FirstName: `Aä"b`}); !reflect.DeepEqual(got.record, want) {
		t.Errorf("got %+v, want %+v", got.record, want)
	}
}

func TestDecodeV1Missing(t *testing.T) {
	page := v1Page(1, attr("id", "5")+","+attr("first_name", `"A"`))
	if _, err := testDecoder(t, []string{"first_name", "email"}, MissingError).one(t, page); !errors.Is(err, ErrMissingAttribute) || !strings.Contains(err.Error(), "email") {
		t.Errorf("missing email with the error policy: %v", err)
	}
	got, err := testDecoder(t, []string{"first_name", "email", "updated_at"}, MissingEmpty).one(t, page)
	if err != nil || !reflect.DeepEqual(got.record, Record{ID: "5", FirstName: "A"}) {
		t.Errorf("missing email with the empty policy: %+v, %v", got.record, err)
	}
	if _, err := testDecoder(t, []string{"first_name", "updated_at"}, MissingError).one(t, page); err != nil {
		t.Errorf("absent last_modified_at is optional, got %v", err)
	}
	if _, err := testDecoder(t, nil, MissingEmpty).one(t, v1Page(1, attr("first_name", `"A"`))); !errors.Is(err, ErrMissingAttribute) {
		t.Errorf("employee without id: %v", err)
	}
}

func TestDecodeV1Malformed(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"garbage", `{"success":true,"data":[{"type":"Employee","attributes":{"id":{"label":"ID","val`},
		{"not success", `{"success":false,"error":{"code":500,"message":"x"}}`},
		{"no metadata", `{"success":true,"data":[]}`},
		{"no total", `{"success":true,"metadata":{"current_page":0},"data":[]}`},
		{"negative total", `{"success":true,"metadata":{"total_elements":-1},"data":[]}`},
		{"data not a list", `{"success":true,"metadata":{"total_elements":1},"data":{}}`},
		{"item not an object", `{"success":true,"metadata":{"total_elements":1},"data":[5]}`},
		{"attributes not an object", `{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":[1]}]}`},
		{"trailing garbage", `{"success":true,"metadata":{"total_elements":0},"data":[]} x`},
	}
	dec := testDecoder(t, nil, MissingEmpty)
	for _, tt := range tests {
		if _, _, err := dec.page([]byte(tt.body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", tt.name, err)
		}
	}
	bad := []struct {
		name, emp string
	}{
		{"id not a number", attr("id", `{"x":1}`)},
		{"attribute not an object", `"id":{"label":"ID","value":1},"email":"x@example.com"`},
		{"date", attr("id", "1") + "," + attr("hire_date", `"01.03.2021"`)},
		{"relation", attr("id", "1") + "," + attr("department", `5`)},
		{"cost centers", attr("id", "1") + "," + attr("cost_centers", `{"a":1}`)},
	}
	dec = testDecoder(t, []string{"email", "hire_date", "department", "cost_centers"}, MissingEmpty)
	for _, tt := range bad {
		items, _, err := dec.page(v1Page(1, tt.emp))
		if err == nil {
			_, err = dec.employee(items[0])
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestDecodeV1TotalAsString(t *testing.T) {
	_, total, err := testDecoder(t, nil, MissingEmpty).page([]byte(`{"success":true,"metadata":{"total_elements":"12"},"data":null}`))
	if err != nil || total != 12 {
		t.Errorf("total as string: %d, %v", total, err)
	}
}

func FuzzDecodeV1Page(f *testing.F) {
	f.Add(v1Page(1, fullEmployee))
	f.Add(v1Page(2, attr("id", "1"), attr("id", `"2"`)+","+attr("department", `[]`)))
	f.Add([]byte(`{"success":true,"metadata":{"total_elements":"3"},"data":[{"attributes":null}]}`))
	f.Add([]byte(`{"success":true,"data":[{"type":"Employee","attributes":{"id":{"label":"ID","val`))
	attrs, _ := resolveAttributes(append(StandardFields(), "dynamic_1", "dynamic_4"))
	dec := v1Decoder{attrs: attrs, zone: time.UTC, missing: MissingEmpty}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, total, err := dec.page(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("page error %v does not match ErrMalformed", err)
			}
			return
		}
		if total < 0 {
			t.Fatalf("negative total %d", total)
		}
		for _, item := range items {
			d, err := dec.employee(item)
			if err == nil && d.record.ID == "" {
				t.Fatalf("record without id from %q", body)
			}
		}
	})
}
