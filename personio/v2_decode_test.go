package personio

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeV2Page(t *testing.T) {
	tests := []struct {
		body    string
		items   int
		next    string
		malform bool
	}{
		{`{"_data":[{"id":"1"},{"id":2}],"_meta":{"links":{"next":{"href":"https://api.personio.de/v2/persons?cursor=cur_x"}}}}`, 2, "https://api.personio.de/v2/persons?cursor=cur_x", false},
		{`{"_data":[],"_meta":{"links":{"self":{"href":"/v2/persons"}}}}`, 0, "", false},
		{`{"_data":[{"id":"1"}]}`, 1, "", false},
		{`{"_meta":{}}`, 0, "", true},
		{`{"_data":{"id":"1"}}`, 0, "", true},
		{`{"_data":[`, 0, "", true},
		{`[]`, 0, "", true},
	}
	for _, tt := range tests {
		items, next, err := decodeV2Page([]byte(tt.body))
		if tt.malform {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: got %v, want ErrMalformed", tt.body, err)
			}
			continue
		}
		if err != nil || len(items) != tt.items || next != tt.next {
			t.Errorf("%s: %d items, next %q, %v", tt.body, len(items), next, err)
		}
	}
}

func employment(t *testing.T, raw string) v2Employment {
	t.Helper()
	e, err := decodeV2Employment(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCurrentEmployment(t *testing.T) {
	old := `{"id":"old","status":"INACTIVE","employment_start_date":"2015-01-01"}`
	rehire := `{"id":"new","status":"ONBOARDING","employment_start_date":"2026-12-01"}`
	active := `{"id":"act","status":"ACTIVE","employment_start_date":"2020-01-01"}`
	later := `{"id":"later","status":"INACTIVE","employment_start_date":"2022-01-01"}`
	tests := []struct {
		emps []string
		want string
	}{
		{[]string{rehire, old}, "new"},
		{[]string{old, rehire}, "new"},
		{[]string{later, active}, "act"},
		{[]string{old, later}, "later"},
		{[]string{old}, "old"},
	}
	for _, tt := range tests {
		var emps []v2Employment
		for _, e := range tt.emps {
			emps = append(emps, employment(t, e))
		}
		if got := currentEmployment(emps); string(got.ID) != tt.want {
			t.Errorf("currentEmployment(%v) = %s, want %s", tt.emps, got.ID, tt.want)
		}
	}
	if currentEmployment(nil) != nil {
		t.Errorf("currentEmployment(nil) is not nil")
	}
}

func testLookups(useIDs bool) *v2Lookups {
	return &v2Lookups{
		departments: map[string]string{"401": "Engineering"}, teams: map[string]string{"4502": "Plattform"},
		offices: map[string]string{"60302": "Zürich"}, legalEntities: map[string]string{"170": "Alpenwerk Schweiz AG"},
		costCenters: map[string]string{"1000": "2000 Entwicklung"}, useIDs: useIDs,
	}
}

const v2PersonJSON = `{"id":"3003","email":"jen.doe@example.com","first_name":"Jen","last_name":"Doe","preferred_name":null,
 "status":"ACTIVE","updated_at":"2026-01-01T10:00:00Z",
 "custom_attributes":[{"id":"dynamic_305","type":"string","global_id":null,"label":"Colour","value":"Red"},
  {"id":"dynamic_306","type":"STRING_LIST","global_id":null,"label":"Sprachen","value":["Deutsch","Englisch"]},
  {"id":"dynamic_307","type":"DATE","global_id":null,"value":"2024-05-01"},
  {"id":"dynamic_9","type":"string","global_id":"iban","label":"Konto","value":"DE00"}],
 "employments":[{"id":"e1"}]}`

const v2EmploymentJSON = `{"id":"e1","status":"LEAVE","type":"EXTERNAL","position":{"title":"Engineer"},
 "employment_start_date":"2023-01-01","contract_end_date":"2027-01-01","updated_at":"2026-02-01T10:00:00Z",
 "supervisor":{"id":"5005"},"office":{"id":60302},"org_units":[{"type":"team","id":"4502"},{"type":"department","id":"401"}],
 "cost_centers":[{"id":"1000","weight":100}],"legal_entity":{"id":"170"},
 "termination":{"termination_date":"2027-01-31","last_working_date":"2027-01-29"}}`

func TestDecodeV2Record(t *testing.T) {
	attrs, _ := resolveAttributes(append(StandardFields(), "dynamic_305", "dynamic_306", "dynamic_307", "dynamic_9", "dynamic_400"))
	dec := v2Decoder{attrs: attrs, zone: time.UTC, missing: MissingError, lookups: testLookups(false)}
	p, err := decodeV2Person(json.RawMessage(v2PersonJSON))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dec.record(p, []v2Employment{employment(t, v2EmploymentJSON)})
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		ID: "3003", FirstName: "Jen", LastName: "Doe", Email: "jen.doe@example.com", Status: "leave",
		HireDate: Date{2023, 1, 1}, ContractEndDate: Date{2027, 1, 1}, TerminationDate: Date{2027, 1, 31},
		LastWorkingDay: Date{2027, 1, 29}, Position: "Engineer", Department: "Engineering", Team: "Plattform",
		Office: "Zürich", LegalEntity: "Alpenwerk Schweiz AG", CostCenters: []string{"2000 Entwicklung"},
		SupervisorID: "5005", EmploymentType: "external", UpdatedAt: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC),
		Custom: map[string]CustomAttribute{
			"dynamic_305": {"Colour", "Red"}, "dynamic_306": {"Sprachen", "Deutsch,Englisch"},
			"dynamic_307": {"", "2024-05-01"}, "dynamic_400": {},
		},
	}
	if !reflect.DeepEqual(got.record, want) {
		t.Errorf("record:\n got %+v\nwant %+v", got.record, want)
	}
	if got.droppedSensitive != 1 {
		t.Errorf("droppedSensitive = %d, want 1", got.droppedSensitive)
	}
}

func TestDecodeV2Unresolved(t *testing.T) {
	attrs, _ := resolveAttributes([]string{"office"})
	p, _ := decodeV2Person(json.RawMessage(`{"id":"1"}`))
	emp := employment(t, `{"id":"e","status":"ACTIVE","office":{"id":"999"}}`)
	strict := v2Decoder{attrs: attrs, zone: time.UTC, lookups: testLookups(false)}
	if _, err := strict.record(p, []v2Employment{emp}); !errors.Is(err, ErrUnresolved) {
		t.Errorf("unknown office with the error policy: %v", err)
	}
	lenient := v2Decoder{attrs: attrs, zone: time.UTC, lookups: testLookups(true)}
	got, err := lenient.record(p, []v2Employment{emp})
	if err != nil || got.record.Office != "999" {
		t.Errorf("unknown office with the id policy: %+v, %v", got.record, err)
	}
}

func TestDecodeV2Missing(t *testing.T) {
	// What forum users see when nothing is whitelisted.
	bare, _ := decodeV2Person(json.RawMessage(`{"id":"7","employments":[{"id":"e"}],"_meta":{}}`))
	emp := employment(t, `{"id":"e","person":{"id":"7"},"status":"ACTIVE"}`)
	attrs, _ := resolveAttributes(nil)
	strict := v2Decoder{attrs: attrs, zone: time.UTC, missing: MissingError, lookups: testLookups(false)}
	if _, err := strict.record(bare, []v2Employment{emp}); !errors.Is(err, ErrMissingAttribute) {
		t.Errorf("person without names with the error policy: %v", err)
	}
	lenient := strict
	lenient.missing = MissingEmpty
	got, err := lenient.record(bare, []v2Employment{emp})
	if err != nil || !reflect.DeepEqual(got.record, Record{ID: "7", Status: "active"}) {
		t.Errorf("with the empty policy: %+v, %v", got.record, err)
	}
	noEmployment, _ := decodeV2Person(json.RawMessage(`{"id":"8","first_name":"A","last_name":"B","preferred_name":null,"email":"a@b","status":"INACTIVE","employments":[]}`))
	if !noEmployment.hasNoEmployments() {
		t.Errorf("an empty employments list was not recognised")
	}
	got, err = strict.record(noEmployment, nil)
	if err != nil || got.record.Status != "inactive" {
		t.Errorf("person without employments: %+v, %v", got.record, err)
	}
	customs, _ := resolveAttributes([]string{"dynamic_1"})
	withCustoms := v2Decoder{attrs: customs, zone: time.UTC, missing: MissingError, lookups: testLookups(false)}
	if _, err := withCustoms.record(bare, nil); !errors.Is(err, ErrMissingAttribute) {
		t.Errorf("absent custom_attributes with the error policy: %v", err)
	}
}

func FuzzDecodeV2(f *testing.F) {
	f.Add([]byte(`{"_data":[`+v2PersonJSON+`],"_meta":{"links":{"next":{"href":"/v2/persons?cursor=x"}}}}`), []byte(v2EmploymentJSON))
	f.Add([]byte(`{"_data":[{"id":1,"custom_attributes":[{"id":"dynamic_1","value":[1,true,null]}]}]}`), []byte(`{"id":"e","status":"ACTIVE","termination":{"last_working_day":"2026-01-01"}}`))
	f.Add([]byte(`{"_data":[{"id":"1","custom_attributes":{"id":"x"}}]}`), []byte(`{"id":"e","org_units":[{"type":"department","id":null}]}`))
	attrs, _ := resolveAttributes(append(StandardFields(), "dynamic_1", "dynamic_305"))
	dec := v2Decoder{attrs: attrs, zone: time.UTC, missing: MissingEmpty, lookups: testLookups(true)}
	f.Fuzz(func(t *testing.T, page, emp []byte) {
		items, _, err := decodeV2Page(page)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("page error %v does not match ErrMalformed", err)
			}
			return
		}
		var emps []v2Employment
		if e, err := decodeV2Employment(emp); err == nil {
			emps = append(emps, e)
		}
		for _, item := range items {
			if _, err := itemID(item); err != nil {
				continue
			}
			p, err := decodeV2Person(item)
			if err != nil {
				continue
			}
			if d, err := dec.record(p, emps); err == nil && d.record.ID == "" {
				t.Fatalf("record without id")
			}
		}
	})
}

// FuzzDecodeV2Employment holds decodeV2Employment to the decoding it
// replaced, which read the keys present through a second encoding/json
// decode into a map.
func FuzzDecodeV2Employment(f *testing.F) {
	for _, s := range []string{v2EmploymentJSON, `{"id":"e","status":"ACTIVE","termination":{"last_working_day":"2026-01-01"}}`,
		`{"id":"e","termination":null,"termination":{"termination_date":"2026-01-01"}}`, `{"id":"e","Termination":{"last_working_date":"x"}}`,
		`{"id":"e","termin\u0061tion":{},"st\u0061tus":"A","sub_company":{"id":3}}`, `null`, `{}`, `[]`, `{"id":5,"status":7}`,
		"{\"id\":\"e\",\"\xff\":1}", `{"termination":{"termination_date":"2026-01-01","termination_date":null}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeV2Employment(raw)
		want, wantErr := decodeV2EmploymentByMaps(raw)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%q: error %v, by maps %v", raw, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

func decodeV2EmploymentByMaps(raw json.RawMessage) (v2Employment, error) {
	var e v2Employment
	if err := json.Unmarshal(raw, &e); err != nil {
		return v2Employment{}, malformed("employment: %v", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return v2Employment{}, malformed("employment: %v", err)
	}
	e.present = make(map[string]bool, len(keys))
	for k := range keys {
		e.present[k] = true
	}
	if t := keys["termination"]; e.Termination != nil {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(t, &inner); err != nil {
			return v2Employment{}, malformed("employment termination: %v", err)
		}
		e.terminationKeys = make(map[string]bool, len(inner))
		for k := range inner {
			e.terminationKeys[k] = true
		}
	}
	return e, nil
}

// FuzzDecodeV2Page holds the single-pass page walk to the decoding it
// replaced: json.Valid, then splitting the page and its _data.
func FuzzDecodeV2Page(f *testing.F) {
	for _, s := range []string{
		`{"_data":[{"id":"1"},{"id":2}],"_meta":{"links":{"next":{"href":"https://api.personio.de/v2/persons?cursor=cur_x"}}}}`,
		`{"_data":[],"_meta":{"links":{"self":{"href":"/v2/persons"}}}}`, `{"_data":[{"id":"1"}]}`, `{"_meta":{}}`,
		`{"_data":{"id":"1"}}`, `{"_data":[`, `[]`, `{"_data":[1,[2],{"a":[]}],"_data":5,"_m\u0065ta":{"links":{"next":{"href":5}}}}`,
		`{"_meta":{"links":{"next":{"href":" /x "}}},"_data":[ ],"_meta":null} `, `{"_data":null}`, `{"_data":[1,]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, next, err := decodeV2Page(body)
		wantItems, wantNext, wantErr := decodeV2PageBySplitting(body)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%q: error %v, splitting says %v", body, err, wantErr)
		}
		if next != wantNext || !reflect.DeepEqual(items, wantItems) {
			t.Fatalf("%q: %q next %q, splitting says %q next %q", body, items, next, wantItems, wantNext)
		}
	})
}

func decodeV2PageBySplitting(body []byte) ([]json.RawMessage, string, error) {
	if !json.Valid(body) {
		return nil, "", malformed("list page: not valid JSON")
	}
	top, err := objectMembers(body)
	if err != nil {
		return nil, "", malformed("list page: not a JSON object")
	}
	data, ok := find(top, "_data")
	if data = bytes.TrimSpace(data); !ok || len(data) == 0 || data[0] != '[' {
		return nil, "", malformed("list page: _data is not a list")
	}
	elems, err := arrayElements(data)
	if err != nil {
		return nil, "", malformed("list page: _data is not a list")
	}
	items := make([]json.RawMessage, len(elems))
	for i, e := range elems {
		items[i] = e
	}
	meta, _ := find(top, "_meta")
	links, _ := lookup(meta, "links")
	next, _ := lookup(links, "next")
	href, _ := lookup(next, "href")
	nextText, err := jsonText(href)
	if err != nil {
		return nil, "", malformed("list page: next link is not text")
	}
	return items, strings.TrimSpace(nextText), nil
}
