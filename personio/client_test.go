package personio_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// TestFetchAllMatchesSimulator reads a company through both API versions,
// in every answer variant the simulator offers for behaviour Personio does
// not pin down, and expects exactly the simulator's ground truth.
func TestFetchAllMatchesSimulator(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    personiotest.Options
		version personio.APIVersion
		mod     func(*personio.Config)
	}{
		{name: "v1 default", version: personio.APIv1},
		{name: "v1 dates without colon", version: personio.APIv1, opts: personiotest.Options{V1DateFormat: personiotest.DateNoColon}},
		{name: "v1 dates in UTC", version: personio.APIv1, opts: personiotest.Options{V1DateFormat: personiotest.DateUTC}},
		{name: "v1 UTC dates west of Greenwich", version: personio.APIv1,
			opts: personiotest.Options{V1DateFormat: personiotest.DateUTC, Location: newYork},
			mod:  func(c *personio.Config) { c.Location = newYork }},
		{name: "v1 empty relations as strings", version: personio.APIv1, opts: personiotest.Options{V1EmptyValue: personiotest.EmptyString}},
		{name: "v1 empty relations as lists", version: personio.APIv1, opts: personiotest.Options{V1EmptyValue: personiotest.EmptyList}},
		{name: "v1 page offsets", version: personio.APIv1, opts: personiotest.Options{V1OffsetPages: true},
			mod: func(c *personio.Config) { c.V1OffsetMode = personio.OffsetPages }},
		{name: "v1 small pages", version: personio.APIv1, mod: func(c *personio.Config) { c.V1PageSize = 7 }},
		{name: "v2 default", version: personio.APIv2},
		{name: "v2 relative links", version: personio.APIv2, opts: personiotest.Options{V2RelativeLinks: true}},
		{name: "v2 upper-case custom types", version: personio.APIv2, opts: personiotest.Options{V2UpperCaseCustomTypes: true}},
		{name: "v2 last_working_date", version: personio.APIv2, opts: personiotest.Options{V2LastWorkingDateKey: true}},
		{name: "v2 cost centers behind the beta header", version: personio.APIv2, opts: personiotest.Options{V2CostCentersNeedBeta: true}},
		{name: "v2 small pages", version: personio.APIv2, mod: func(c *personio.Config) { c.V2PageSize = 9 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Employees = 230
			srv := startSim(t, tt.opts)
			c, _ := newClient(t, srv, tt.version, tt.mod)
			got, stats, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, srv.Records()); err != nil {
				t.Error(err)
			}
			if stats.Retries != 0 || stats.AuthCalls != 1 {
				t.Errorf("stats %+v: want one auth call and no retries", stats)
			}
		})
	}
}

func TestFetchAllCallCounts(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 230})
	c, _ := newClient(t, srv, personio.APIv1, nil)
	if _, stats, err := c.FetchAll(context.Background()); err != nil || stats.Pages != 3 || stats.Calls != 4 {
		t.Fatalf("v1: stats %+v, %v; want 3 pages and 4 calls", stats, err)
	}
	if got := srv.Calls("GET /v1/company/employees"); got != 3 {
		t.Errorf("v1 list calls = %d, want 3", got)
	}

	srv = startSim(t, personiotest.Options{Employees: 230})
	c, _ = newClient(t, srv, personio.APIv2, nil)
	if _, _, err := c.FetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"POST /v2/auth/token": 1, "GET /v2/persons": 5, "GET /v2/persons/{id}/employments": 230,
		"GET /v2/org-units": 2, "GET /v2/workplaces": 1, "GET /v2/legal-entities": 1, "GET /v2/cost-centers": 1,
	}
	for endpoint, n := range want {
		if got := srv.Calls(endpoint); got != n {
			t.Errorf("v2 %s called %d times, want %d", endpoint, got, n)
		}
	}
}

// TestDataMinimization asks for names and email only: v1 projects with
// attributes[], v2 skips employments and lookups, and no other field is
// filled.
func TestDataMinimization(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 60})
			c, _ := newClient(t, srv, v, func(c *personio.Config) { c.Attributes = []string{"first_name", "last_name", "email"} })
			got, _, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			truth := srv.Records()
			for i, r := range got {
				want := personio.Record{ID: truth[i].ID, FirstName: truth[i].FirstName, LastName: truth[i].LastName, Email: truth[i].Email}
				if err := sameRecords([]personio.Record{r}, []personio.Record{want}); err != nil {
					t.Fatal(err)
				}
			}
			if v == personio.APIv2 {
				for endpoint, n := range srv.CallCounts() {
					if endpoint != "GET /v2/persons" && endpoint != "POST /v2/auth/token" && n > 0 {
						t.Errorf("%s called %d times for names and emails only", endpoint, n)
					}
				}
			}
		})
	}
}

// TestSensitiveDataDropped lets the credential read salary and bank data
// and even asks for the bank custom attributes: none of it may reach a
// record.
func TestSensitiveDataDropped(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 40})
			c, _ := newClient(t, srv, v, func(c *personio.Config) {
				c.Attributes = append(allAttributes(), "dynamic_9001", "dynamic_9002")
			})
			got, stats, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, srv.Records()); err != nil {
				t.Error(err)
			}
			if stats.DroppedSensitive != 2*40 {
				t.Errorf("DroppedSensitive = %d, want %d", stats.DroppedSensitive, 2*40)
			}
			for _, r := range got {
				for key, value := range r.Fields() {
					if strings.HasPrefix(key, "dynamic_900") || strings.HasPrefix(value, "DE") && len(value) > 20 {
						t.Fatalf("record %s carries bank data in %s", r.ID, key)
					}
				}
			}
		})
	}
}

// TestCredentialWithoutEmail: an attribute the credential may not read is
// absent from answers; the client says so instead of returning people
// without emails, unless told to take absence as empty.
func TestCredentialWithoutEmail(t *testing.T) {
	readable := []string{"first_name", "last_name", "status", "hire_date", "termination_date", "last_working_day",
		"contract_end_date", "position", "department", "office", "team", "subcompany", "cost_centers", "supervisor",
		"employment_type", "last_modified_at", "preferred_name"}
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 30, Credentials: []personiotest.Credential{
				{ClientID: "c", ClientSecret: "s", NoRateLimit: true, Readable: readable}}})
			c, _ := newClient(t, srv, v, func(c *personio.Config) { c.Attributes = nil })
			got, _, err := c.FetchAll(context.Background())
			if !errors.Is(err, personio.ErrMissingAttribute) || got != nil {
				t.Fatalf("got %d records, %v; want none and ErrMissingAttribute", len(got), err)
			}
			c, _ = newClient(t, srv, v, func(c *personio.Config) { c.Attributes = nil; c.Missing = personio.MissingEmpty })
			got, _, err = c.FetchAll(context.Background())
			if err != nil || len(got) != 30 {
				t.Fatalf("with the empty policy: %d records, %v", len(got), err)
			}
			for _, r := range got {
				if r.Email != "" || r.LastName == "" {
					t.Fatalf("record %+v: want names without email", r)
				}
			}
		})
	}
}

func TestFetchOne(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 20})
			c, _ := newClient(t, srv, v, nil)
			want := srv.Records()[5]
			got, err := c.FetchOne(context.Background(), want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords([]personio.Record{got}, []personio.Record{want}); err != nil {
				t.Error(err)
			}
			if _, err := c.FetchOne(context.Background(), "999999"); !errors.Is(err, personio.ErrNotFound) {
				t.Errorf("unknown id: %v, want ErrNotFound", err)
			}
			if _, err := c.FetchOne(context.Background(), "../auth"); err == nil {
				t.Errorf("an id with a slash was accepted")
			}
		})
	}
}

func TestAttributesListing(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 1, Credentials: []personiotest.Credential{
		{ClientID: "c", ClientSecret: "s", NoRateLimit: true, Readable: []string{"first_name", "dynamic_1001", "dynamic_1002"}}}})
	c, _ := newClient(t, srv, personio.APIv1, nil)
	got, err := c.Attributes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range got {
		keys = append(keys, a.Key)
	}
	if want := []string{"id", "first_name", "dynamic_1001", "dynamic_1002"}; !slices.Equal(keys, want) {
		t.Errorf("attribute keys = %v, want %v", keys, want)
	}
	if got[2].Label != "Titel" || got[2].Type != "list" || !slices.Equal(got[2].Options, []string{"Dr.", "Prof. Dr.", "Dipl.-Ing."}) {
		t.Errorf("list attribute = %+v", got[2])
	}
	v2, _ := newClient(t, srv, personio.APIv2, nil)
	if _, err := v2.Attributes(context.Background()); err == nil {
		t.Errorf("v2 client listed attributes")
	}
}

func TestV2OrgLookupsMissing(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 10, V2OrgEndpointsMissing: true})
	c, _ := newClient(t, srv, personio.APIv2, nil)
	got, _, err := c.FetchAll(context.Background())
	if !errors.Is(err, personio.ErrNotFound) || got != nil {
		t.Fatalf("lookups answering 404: %d records, %v; want none and ErrNotFound", len(got), err)
	}
	c, _ = newClient(t, srv, personio.APIv2, func(c *personio.Config) { c.V2Unresolved = personio.UnresolvedUseID })
	got, _, err = c.FetchAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Department == "" || strings.Trim(r.Department, "0123456789") != "" {
			t.Fatalf("record %s: department %q, want the bare id", r.ID, r.Department)
		}
	}
}

// TestFetchChanged changes people in the simulator and reads only what
// changed since.
func TestFetchChanged(t *testing.T) {
	tests := []struct {
		name     string
		version  personio.APIVersion
		bump     bool // employment changes bump the person's updated_at
		mode     personio.ChangedMode
		wantMove bool // the department change is seen
	}{
		{"v1", personio.APIv1, false, "", true},
		{"v2 full", personio.APIv2, false, personio.ChangedFull, true},
		{"v2 persons, employment change not bumping the person", personio.APIv2, false, personio.ChangedPersons, false},
		{"v2 persons, employment change bumping the person", personio.APIv2, true, personio.ChangedPersons, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			srv := startSim(t, personiotest.Options{Employees: 80, Now: clock.Now, V2EmploymentBumpsPerson: tt.bump})
			c, _ := newClient(t, srv, tt.version, func(c *personio.Config) { c.V2Changed = tt.mode; c.Now = clock.Now })
			// Past the overlap updated_since is read with (see
			// TestUpdatedSinceAnyZone), so only the changes below are new.
			clock.Advance(27 * time.Hour)
			since := clock.Now()
			clock.Advance(time.Minute)
			truth := srv.Records()
			renamed, moved := truth[10].ID, truth[20].ID
			if err := srv.Update(renamed, personiotest.Attrs{"last_name": "Dvořák-Nußbaum"}); err != nil {
				t.Fatal(err)
			}
			if err := srv.Update(moved, personiotest.Attrs{"department": "Forschung"}); err != nil {
				t.Fatal(err)
			}
			got, _, err := c.FetchChanged(context.Background(), since)
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := []string{renamed}
			if tt.wantMove {
				wantIDs = append(wantIDs, moved)
			}
			if err := sameRecords(got, only(srv.Records(), wantIDs...)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFetchChangedSameSecond: Personio keeps whole seconds, so a change in
// the same second as since is stored at or before since; it must still be
// found.
func TestFetchChangedSameSecond(t *testing.T) {
	for _, mode := range []struct {
		version personio.APIVersion
		changed personio.ChangedMode
	}{{personio.APIv1, ""}, {personio.APIv2, personio.ChangedFull}, {personio.APIv2, personio.ChangedPersons}} {
		t.Run(string(mode.version)+" "+string(mode.changed), func(t *testing.T) {
			clock := personiotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 200_000_000, time.UTC))
			srv := startSim(t, personiotest.Options{Employees: 30, Now: clock.Now})
			c, _ := newClient(t, srv, mode.version, func(c *personio.Config) { c.V2Changed = mode.changed; c.Now = clock.Now })
			clock.Advance(27 * time.Hour)
			since := clock.Now()
			clock.Advance(300 * time.Millisecond)
			id := srv.Records()[3].ID
			if err := srv.Update(id, personiotest.Attrs{"first_name": "Änne"}); err != nil {
				t.Fatal(err)
			}
			got, _, err := c.FetchChanged(context.Background(), since)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != id || got[0].FirstName != "Änne" {
				t.Errorf("changed in the same second: got %d records %v", len(got), got)
			}
		})
	}
}

// TestEmptyCompany: an empty answer is a valid answer; judging it against
// earlier fetches is the mirror's guard's business, not the client's.
func TestEmptyCompany(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: -1})
			c, _ := newClient(t, srv, v, nil)
			got, stats, err := c.FetchAll(context.Background())
			if err != nil || len(got) != 0 || stats.Pages == 0 {
				t.Errorf("empty company: %d records, stats %+v, %v", len(got), stats, err)
			}
		})
	}
}
