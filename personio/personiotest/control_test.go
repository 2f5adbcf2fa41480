package personiotest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestControlEmployees(t *testing.T) {
	s := Start(t, Options{Employees: 3, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	base := s.URL() + "/_sim/employees"
	status, _, body := call(t, "POST", base, `{"first_name":"Zoë","last_name":"Weiß","hire_date":"2026-04-01","department":"Forschung",
		"team":"Quanten","cost_centers":["9000 Forschung","2000 Entwicklung"],"dynamic_1002":"zoe"}`, jsonHeader())
	if status != 201 || body["status"] != "onboarding" || body["email"] != "zoe.weiss@alpenwerk.example" ||
		body["department"] != "Forschung" || body["cost_centers"] != "9000 Forschung,2000 Entwicklung" || body["dynamic_1002"] != "zoe" {
		t.Fatalf("hire: %d %v", status, body)
	}
	id := body["id"].(string)
	status, _, body = call(t, "PATCH", base+"/"+id, `{"status":"inactive","termination_date":"2026-05-31","last_working_day":"2026-05-29","team":null}`, jsonHeader())
	if status != 200 || body["status"] != "inactive" || body["termination_date"] != "2026-05-31" || body["team"] != "" {
		t.Errorf("terminate: %d %v", status, body)
	}
	status, _, body = call(t, "PATCH", base+"/"+id, `{"rehire":"2026-07-01","position":"Forscherin"}`, jsonHeader())
	if status != 200 || body["status"] != "onboarding" || body["hire_date"] != "2026-07-01" || body["termination_date"] != "" || body["position"] != "Forscherin" {
		t.Errorf("rehire: %d %v", status, body)
	}
	s.mu.Lock()
	employments := len(s.co.byID[mustAtoi(t, id)].Employments)
	s.mu.Unlock()
	if employments != 2 {
		t.Errorf("rehire left %d employments, want 2", employments)
	}
	for _, bad := range []string{`{"shoe_size":44}`, `{"status":"retired"}`, `{"hire_date":"1.4.2026"}`, `{"supervisor_id":"` + id + `"}`, `[1]`} {
		if status, _, _ := call(t, "PATCH", base+"/"+id, bad, jsonHeader()); status != 400 {
			t.Errorf("%s: %d, want 400", bad, status)
		}
	}
	if status, _, _ := call(t, "PATCH", base+"/77", `{"status":"active"}`, jsonHeader()); status != 404 {
		t.Errorf("unknown person: %d, want 404", status)
	}
	if status, _, _ := call(t, "DELETE", base+"/"+id, "", nil); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _, _ := call(t, "GET", base+"/"+id, "", nil); status != 404 {
		t.Errorf("deleted person still there: %d", status)
	}
	if err := s.Remove(id); !errors.Is(err, ErrUnknownPerson) {
		t.Errorf("second remove: %v", err)
	}
}

func TestControlFaultsCallsClock(t *testing.T) {
	s := Start(t, Options{Employees: 3, Credentials: noLimits()})
	if status, _, _ := call(t, "POST", s.URL()+"/_sim/faults", `[{"path":"/v1/company/employees","status":503,"count":2},{"path":"/v2/persons","garbage":true,"after":1}]`, jsonHeader()); status != 204 {
		t.Fatalf("post faults: %d", status)
	}
	if faults := s.Faults(); len(faults) != 2 || faults[0].Count != 2 || faults[1].After != 1 {
		t.Errorf("faults = %+v", faults)
	}
	h := bearer(v1Token(t, s))
	statuses := []int{}
	for range 3 {
		status, _, _ := call(t, "GET", s.URL()+"/v1/company/employees", "", h)
		statuses = append(statuses, status)
	}
	if statuses[0] != 503 || statuses[1] != 503 || statuses[2] != 200 {
		t.Errorf("statuses with a fault of count 2: %v", statuses)
	}
	if status, _, _ := call(t, "POST", s.URL()+"/_sim/faults", `{"status":500}`, jsonHeader()); status != 400 {
		t.Errorf("fault without path: %d, want 400", status)
	}
	call(t, "DELETE", s.URL()+"/_sim/faults", "", nil)
	if len(s.Faults()) != 0 {
		t.Error("faults survived DELETE")
	}
	_, _, calls := call(t, "GET", s.URL()+"/_sim/calls", "", nil)
	if calls["GET /v1/company/employees"] != float64(3) || calls["POST /v1/auth"] != float64(1) {
		t.Errorf("calls = %v", calls)
	}
	call(t, "DELETE", s.URL()+"/_sim/calls", "", nil)
	if len(s.CallCounts()) != 0 {
		t.Error("calls survived DELETE")
	}
	before := s.Today()
	status, _, body := call(t, "POST", s.URL()+"/_sim/clock", `{"advance":"48h"}`, jsonHeader())
	if status != 200 || body["today"] != before.AddDays(2).String() {
		t.Errorf("advance: %d %v (today was %s)", status, body, before)
	}
	if status, _, _ := call(t, "POST", s.URL()+"/_sim/clock", `{"advance":"-1h"}`, jsonHeader()); status != 400 {
		t.Errorf("negative advance: %d", status)
	}
}

func TestStatusFollowsDates(t *testing.T) {
	clock := NewClock(seedNow)
	for _, follow := range []bool{false, true} {
		s := New(Options{Employees: -1, Now: clock.Now, StatusFollowsDates: follow})
		joiner, err := s.Hire(Attrs{"first_name": "A", "last_name": "B", "hire_date": s.Today().AddDays(3).String()})
		if err != nil {
			t.Fatal(err)
		}
		leaver, err := s.Hire(Attrs{"first_name": "C", "last_name": "D", "hire_date": "2020-01-01", "termination_date": s.Today().AddDays(1).String()})
		if err != nil {
			t.Fatal(err)
		}
		s.Advance(4 * 24 * time.Hour)
		j, _ := s.Record(joiner)
		l, _ := s.Record(leaver)
		wantJ, wantL := "onboarding", "active"
		if follow {
			wantJ, wantL = "active", "inactive"
		}
		if j.Status != wantJ || l.Status != wantL {
			t.Errorf("follow=%v: joiner %s, leaver %s; want %s, %s", follow, j.Status, l.Status, wantJ, wantL)
		}
	}
}

func TestHireValidation(t *testing.T) {
	s := New(Options{Employees: -1})
	for _, attrs := range []Attrs{{"first_name": "A"}, {"first_name": "A", "last_name": "B", "email": "nope"}, {"first_name": "A", "last_name": "B", "status": "x"}} {
		if _, err := s.Hire(attrs); err == nil {
			t.Errorf("Hire(%v) accepted", attrs)
		}
	}
	first, _ := s.Hire(Attrs{"first_name": "Jörg", "last_name": "Müller"})
	second, _ := s.Hire(Attrs{"first_name": "Jörg", "last_name": "Müller"})
	a, _ := s.Record(first)
	b, _ := s.Record(second)
	if a.Email != "joerg.mueller@alpenwerk.example" || b.Email != "joerg.mueller2@alpenwerk.example" || !strings.HasPrefix(b.ID, "100") {
		t.Errorf("emails %s, %s; ids %s, %s", a.Email, b.Email, a.ID, b.ID)
	}
	if len(s.Records()) != 2 {
		t.Errorf("failed hires left people behind: %d", len(s.Records()))
	}
}
