package personiotest

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestV1Patch(t *testing.T) {
	clock := NewClock(seedNow)
	s := Start(t, Options{Employees: 20, Now: clock.Now, Credentials: noLimits()})
	h := bearer(v1Token(t, s))
	before := s.Records()[4]
	clock.Advance(time.Hour)
	patch := `{"employee":{"first_name":"Anaïs","department":"Gibt es nicht","office":"Wien","email":"new@example.com",
		"shoe_size":44,"custom_attributes":{"dynamic_1002":"anais","dynamic_77":"x"}}}`
	status, _, body := call(t, "PATCH", s.URL()+"/v1/company/employees/"+before.ID, patch, h)
	if status != 200 || body["success"] != true {
		t.Fatalf("patch: %d %v", status, body)
	}
	meta := strings.Join(anyStrings(body["meta"]), " | ")
	for _, want := range []string{"Gibt es nicht", "email", "dynamic_77"} {
		if !strings.Contains(meta, want) {
			t.Errorf("meta %q does not mention %s", meta, want)
		}
	}
	after, _ := s.Record(before.ID)
	if after.FirstName != "Anaïs" || after.Office != "Wien" || after.Department != before.Department ||
		after.Email != before.Email || after.Custom["dynamic_1002"].Value != "anais" || !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("after patch: %+v", after)
	}
	since := url.QueryEscape(seedNow.Add(30 * time.Minute).In(s.opts.Location).Format("2006-01-02T15:04:05"))
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees?updated_since="+since, "", h)
	if data := body["data"].([]any); len(data) != 1 {
		t.Errorf("updated_since after the patch: %d people, want 1", len(data))
	}
	_, _, body = call(t, "GET", s.URL()+"/v1/company/employees?updated_since="+since+"&attributes[]=team", "", h)
	if data := body["data"].([]any); len(data) != 0 {
		t.Errorf("updated_since on an unchanged attribute: %d people, want 0", len(data))
	}
	status, _, body = call(t, "PATCH", s.URL()+"/v1/company/employees/"+before.ID, `{"employee":{"supervisor_id":1}}`, h)
	if status != 422 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "Supervisor with ID 1 not found") {
		t.Errorf("unknown supervisor: %d %v", status, body)
	}
	form := url.Values{"employee[last_name]": {"Grün"}, "employee[custom_attributes][dynamic_1001]": {"Dr."}}
	status, _, _ = call(t, "PATCH", s.URL()+"/v1/company/employees/"+before.ID, form.Encode(),
		map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/x-www-form-urlencoded"})
	if after, _ := s.Record(before.ID); status != 200 || after.LastName != "Grün" || after.Custom["dynamic_1001"].Value != "Dr." {
		t.Errorf("form patch: %d, %+v", status, after)
	}
}

func TestV1Create(t *testing.T) {
	s := Start(t, Options{Employees: 2, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	h := bearer(v1Token(t, s))
	status, _, body := call(t, "POST", s.URL()+"/v1/company/employees",
		`{"employee":{"email":"zoe@example.com","first_name":"Zoë","last_name":"Weiß","hire_date":"2026-04-01","department":"Vertrieb"}}`, h)
	if status != 200 || body["data"].(map[string]any)["message"] != "success" {
		t.Fatalf("create: %d %v", status, body)
	}
	id := strconv.Itoa(int(body["data"].(map[string]any)["id"].(float64)))
	got, ok := s.Record(id)
	if !ok || got.Status != "onboarding" || got.Department != "Vertrieb" || got.HireDate.String() != "2026-04-01" {
		t.Errorf("created person: %+v", got)
	}
	status, _, _ = call(t, "POST", s.URL()+"/v1/company/employees", `{"employee":{"first_name":"A","last_name":"B"}}`, h)
	if status != 422 {
		t.Errorf("create without email: %d, want 422", status)
	}
	status, _, _ = call(t, "POST", s.URL()+"/v1/company/employees", `{"employee":{"email":"ZOE@example.com","first_name":"A","last_name":"B"}}`, h)
	if status != 422 {
		t.Errorf("create with a used email: %d, want 422", status)
	}
}

func TestV2PatchPerson(t *testing.T) {
	clock := NewClock(seedNow)
	s := Start(t, Options{Employees: 5, Now: clock.Now, Credentials: noLimits()})
	h := bearer(v2Token(t, s))
	recs := s.Records()
	clock.Advance(time.Minute)
	status, _, _ := call(t, "PATCH", s.URL()+"/v2/persons/"+recs[0].ID,
		`{"email":"Neu@Example.com","preferred_name":null,"gender":"DIVERSE","custom_attributes":[{"id":"dynamic_1005","value":["Deutsch","Rätoromanisch"]}]}`, h)
	if status != 204 {
		t.Fatalf("patch person: %d", status)
	}
	got, _ := s.Record(recs[0].ID)
	if got.Email != "Neu@Example.com" || got.PreferredName != "" || got.Custom["dynamic_1005"].Value != "Deutsch,Rätoromanisch" || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("after patch: %+v", got)
	}
	tests := []struct{ body, detail string }{
		{`{"email":"` + recs[1].Email + `"}`, "already in use"},
		{`{"custom_attributes":[{"id":"dynamic_5","value":"x"}]}`, "does not exist"},
		{`{"gender":"OTHER"}`, "gender"},
		{`[]`, "JSON object"},
	}
	for _, tt := range tests {
		status, _, body := call(t, "PATCH", s.URL()+"/v2/persons/"+recs[0].ID, tt.body, h)
		if status != 400 || !strings.Contains(body["errors"].([]any)[0].(map[string]any)["detail"].(string), tt.detail) {
			t.Errorf("%s: %d %v", tt.body, status, body)
		}
	}
}

func TestV2PatchEmployment(t *testing.T) {
	clock := NewClock(seedNow)
	s := Start(t, Options{Employees: 5, Now: clock.Now, Credentials: noLimits()})
	h := bearer(v2Token(t, s))
	rec := s.Records()[2]
	s.mu.Lock()
	p := s.co.byID[mustAtoi(t, rec.ID)]
	eid := p.current().ID
	sales := s.co.orgs[kindDepartment].byName["Vertrieb"].ID
	zurich := s.co.orgs[kindOffice].byName["Zürich"].ID
	personBefore := p.UpdatedAt
	s.mu.Unlock()
	clock.Advance(time.Minute)
	body := `{"org_units":[{"type":"department","id":"` + strconv.Itoa(sales) + `"}],"office":{"id":` + strconv.Itoa(zurich) + `},
		"position":{"title":"Vertriebsleiter:in"},"status":"LEAVE","contract_end_date":"2027-01-31"}`
	if status, _, b := call(t, "PATCH", s.URL()+"/v2/persons/"+rec.ID+"/employments/"+eid, body, h); status != 204 {
		t.Fatalf("patch employment: %d %v", status, b)
	}
	got, _ := s.Record(rec.ID)
	if got.Department != "Vertrieb" || got.Team != "" || got.Office != "Zürich" || got.Position != "Vertriebsleiter:in" ||
		got.Status != "leave" || got.ContractEndDate.String() != "2027-01-31" {
		t.Errorf("after patch: %+v", got)
	}
	s.mu.Lock()
	if !p.UpdatedAt.Equal(personBefore) || !p.current().UpdatedAt.Equal(clock.Now()) {
		t.Errorf("employment change bumped the person (%v) or not the employment (%v)", p.UpdatedAt, p.current().UpdatedAt)
	}
	s.mu.Unlock()
	for _, bad := range []string{`{"office":{"id":"1"}}`, `{"supervisor":{"id":"` + rec.ID + `"}}`, `{"status":"RETIRED"}`,
		`{"probation_end_date":"2026-01-01","probation_period_length":6}`, `{"salary":1}`} {
		if status, _, _ := call(t, "PATCH", s.URL()+"/v2/persons/"+rec.ID+"/employments/"+eid, bad, h); status != 400 {
			t.Errorf("%s: %d, want 400", bad, status)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
