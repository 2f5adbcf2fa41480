package personiotest

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestSameCompanyAllDay: the company depends on the seed and the day only;
// starts at different times of one day give the same people, ids and
// modification times (the wall clock once shifted 722 of 2,000 ids).
func TestSameCompanyAllDay(t *testing.T) {
	berlin := berlin()
	day := func(h, m, s int) func() time.Time {
		return func() time.Time { return time.Date(2026, 3, 10, h, m, s, 0, berlin) }
	}
	first := New(Options{Employees: 2000, Seed: 5, Now: day(0, 0, 1)}).Records()
	for _, now := range []func() time.Time{day(0, 0, 2), day(9, 41, 17), day(23, 59, 59)} {
		if got := New(Options{Employees: 2000, Seed: 5, Now: now}).Records(); !reflect.DeepEqual(got, first) {
			differ := 0
			for i := range got {
				if !reflect.DeepEqual(got[i], first[i]) {
					differ++
				}
			}
			t.Errorf("start at %s: %d of %d people differ from a start at 00:00:01", now().Format(time.TimeOnly), differ, len(got))
		}
	}
	nextDay := New(Options{Employees: 2000, Seed: 5, Now: func() time.Time { return time.Date(2026, 3, 11, 8, 0, 0, 0, berlin) }}).Records()
	if nextDay[0].HireDate == first[0].HireDate {
		t.Errorf("the next day's company has the same hire dates: dates must follow the day")
	}
}

// TestControlEmailNull: {"email": null} clears the email, as documented.
func TestControlEmailNull(t *testing.T) {
	s := Start(t, Options{Employees: 3, Now: func() time.Time { return seedNow }, Credentials: noLimits()})
	id := s.Records()[1].ID
	status, _, body := call(t, "PATCH", s.URL()+"/_sim/employees/"+id, `{"email":null}`, jsonHeader())
	if status != 200 || body["email"] != "" {
		t.Fatalf("email null: %d %v", status, body)
	}
	_, _, person := call(t, "GET", s.URL()+"/v2/persons/"+id, "", bearer(v2Token(t, s)))
	if v, ok := person["email"]; !ok || v != nil {
		t.Errorf("v2 person email = %v (present %v), want null", v, ok)
	}
	if status, _, _ := call(t, "PATCH", s.URL()+"/_sim/employees/"+id, `{"email":"neu@alpenwerk.example"}`, jsonHeader()); status != 200 {
		t.Errorf("setting an email again: %d", status)
	}
}

// listIDs reads every id a v2 persons listing serves, following next links.
func listIDs(t *testing.T, s *Server, token string) []string {
	t.Helper()
	var ids []string
	next := s.URL() + "/v2/persons?limit=50"
	for next != "" {
		_, _, page := call(t, "GET", next, "", bearer(token))
		for _, item := range page["_data"].([]any) {
			ids = append(ids, item.(map[string]any)["id"].(string))
		}
		next = ""
		if n, ok := page["_meta"].(map[string]any)["links"].(map[string]any)["next"]; ok {
			next = n.(map[string]any)["href"].(string)
		}
	}
	return ids
}

func TestListingFaults(t *testing.T) {
	s := Start(t, Options{Employees: 120, Credentials: noLimits()})
	token := v2Token(t, s)
	if ids := listIDs(t, s, token); len(ids) != 120 {
		t.Fatalf("plain listing: %d ids", len(ids))
	}
	omit := []string{s.Records()[0].ID, s.Records()[77].ID}
	post := func(body string) {
		t.Helper()
		if status, _, _ := call(t, "POST", s.URL()+"/_sim/faults", body, jsonHeader()); status != 204 {
			t.Fatalf("post fault %s: %d", body, status)
		}
	}
	post(fmt.Sprintf(`{"path":"/v2/persons","omit":[%q,%q],"count":-1}`, omit[0], omit[1]))
	if ids := listIDs(t, s, token); len(ids) != 118 {
		t.Errorf("omit: %d ids, want 118", len(ids))
	}
	if status, _, body := call(t, "GET", s.URL()+"/v2/persons/"+omit[1], "", bearer(token)); status != 200 || body["id"] != omit[1] {
		t.Errorf("an omitted person by id: %d %v", status, body)
	}
	h := bearer(v1Token(t, s))
	post(fmt.Sprintf(`{"path":"/v1/company/employees","omit":[%q,%q]}`, omit[0], omit[1]))
	_, _, page := call(t, "GET", s.URL()+"/v1/company/employees?limit=100", "", h)
	if total := page["metadata"].(map[string]any)["total_elements"]; total != float64(118) {
		t.Errorf("v1 total with two omitted: %v, want 118", total)
	}
	call(t, "DELETE", s.URL()+"/_sim/faults", "", nil)

	post(`{"path":"/v2/persons","after":1,"end":true}`)
	if ids := listIDs(t, s, token); len(ids) != 50 {
		t.Errorf("end on page 2: %d ids, want 50", len(ids))
	}

	before := len(s.Records())
	post(`{"path":"/v1/company/employees","after":1,"hire":true,"count":2}`)
	totals := []any{}
	for offset := 0; offset < 300; offset += 100 {
		_, _, page := call(t, "GET", s.URL()+"/v1/company/employees?limit=100&offset="+strconv.Itoa(offset), "", h)
		totals = append(totals, page["metadata"].(map[string]any)["total_elements"])
	}
	if want := []any{float64(before), float64(before + 1), float64(before + 2)}; !reflect.DeepEqual(totals, want) {
		t.Errorf("totals while hiring: %v, want %v", totals, want)
	}
}

// TestOrgUnitsWhitelisting: by default org_units is one field shown only
// when team and department are both readable; per type on request.
func TestOrgUnitsWhitelisting(t *testing.T) {
	for _, perType := range []bool{false, true} {
		s := Start(t, Options{Employees: 3, Credentials: noLimits(), V2OrgUnitsPerType: perType})
		s.InjectFault(Fault{Path: "/v2/persons", DropAttributes: []string{"department"}})
		id := s.Records()[1].ID
		_, _, page := call(t, "GET", s.URL()+"/v2/persons/"+id+"/employments", "", bearer(v2Token(t, s)))
		emp := page["_data"].([]any)[0].(map[string]any)
		units, present := emp["org_units"]
		switch {
		case !perType && present:
			t.Errorf("department hidden: org_units present: %v", units)
		case perType && (!present || len(units.([]any)) != 1):
			t.Errorf("department hidden per type: org_units %v, want the team alone", units)
		}
	}
}

func TestControlSettings(t *testing.T) {
	s := Start(t, Options{Employees: 1, Credentials: noLimits()})
	status, _, body := call(t, "PATCH", s.URL()+"/_sim/settings", `{"v1_updated_since_zone":"UTC"}`, jsonHeader())
	if status != 200 || body["v1_updated_since_zone"] != "UTC" {
		t.Errorf("change zone: %d %v", status, body)
	}
	for _, bad := range []string{`{"v1_updated_since_zone":"Mars/Olympus"}`, `{}`, `[`} {
		if status, _, _ := call(t, "PATCH", s.URL()+"/_sim/settings", bad, jsonHeader()); status != 400 {
			t.Errorf("%s: %d, want 400", bad, status)
		}
	}
	if _, _, body := call(t, "GET", s.URL()+"/_sim/settings", "", nil); body["v1_updated_since_zone"] != "UTC" {
		t.Errorf("settings = %v", body)
	}
}
