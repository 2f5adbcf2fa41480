package personio_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// TestMissingAttributeNamed: an answer lacking an attribute the
// configuration reads (Personio's whitelisting drops the key) fails the
// fetch, naming the attribute, on v1 and v2 alike; read as empty, a hidden
// termination date would reactivate leavers and a hidden department would
// empty every department group.
func TestMissingAttributeNamed(t *testing.T) {
	tests := []struct {
		dropped []string // v1 attribute keys the answer leaves out
		field   string   // the record field the error must name
	}{
		{[]string{"termination_date"}, personio.FieldTerminationDate},
		{[]string{"last_working_day"}, personio.FieldLastWorkingDay},
		{[]string{"termination_date", "last_working_day"}, personio.FieldTerminationDate},
		{[]string{"contract_end_date"}, personio.FieldContractEndDate},
		{[]string{"hire_date"}, personio.FieldHireDate},
		{[]string{"department"}, personio.FieldDepartment},
		{[]string{"team"}, personio.FieldTeam},
		{[]string{"office"}, personio.FieldOffice},
		{[]string{"subcompany"}, personio.FieldLegalEntity},
		{[]string{"cost_centers"}, personio.FieldCostCenters},
		{[]string{"supervisor"}, personio.FieldSupervisorID},
		{[]string{"position"}, personio.FieldPosition},
		{[]string{"employment_type"}, personio.FieldEmploymentType},
		{[]string{"email"}, personio.FieldEmail},
		{[]string{"preferred_name"}, personio.FieldPreferredName},
	}
	for _, v := range versions() {
		for _, tt := range tests {
			t.Run(string(v)+" "+strings.Join(tt.dropped, "+"), func(t *testing.T) {
				srv := startSim(t, personiotest.Options{Employees: 60})
				srv.InjectFault(personiotest.Fault{Path: listPath(v), DropAttributes: tt.dropped, Count: -1})
				c, _ := newClient(t, srv, v, nil)
				got, _, err := c.FetchAll(context.Background())
				if !errors.Is(err, personio.ErrMissingAttribute) || got != nil {
					t.Fatalf("%d records, %v; want ErrMissingAttribute", len(got), err)
				}
				if !strings.Contains(err.Error(), tt.field) {
					t.Errorf("error %q does not name %s", err, tt.field)
				}
			})
		}
	}
}

// TestNullIsNotMissing: a present attribute without a value (null) is an
// unset value, not a whitelisting gap.
func TestNullIsNotMissing(t *testing.T) {
	for _, v := range versions() {
		t.Run(string(v), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 30})
			id := srv.Records()[4].ID
			if err := srv.Update(id, personiotest.Attrs{"preferred_name": nil, "contract_end_date": nil, "supervisor_id": nil}); err != nil {
				t.Fatal(err)
			}
			c, _ := newClient(t, srv, v, nil)
			got, _, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, srv.Records()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestV2OrgUnitsPerTypeUndetectable documents the one whitelisting reading
// a client cannot see through: org_units present without the hidden type.
func TestV2OrgUnitsPerTypeUndetectable(t *testing.T) {
	srv := startSim(t, personiotest.Options{Employees: 30, V2OrgUnitsPerType: true})
	srv.InjectFault(personiotest.Fault{Path: "/v2/persons", DropAttributes: []string{"department"}, Count: -1})
	c, _ := newClient(t, srv, personio.APIv2, nil)
	got, _, err := c.FetchAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Department != "" {
			t.Fatalf("record %s has department %q although it was hidden", r.ID, r.Department)
		}
	}
}

// TestUpdatedSinceAnyZone: whatever zone Personio reads updated_since in,
// a change just after since comes back.
func TestUpdatedSinceAnyZone(t *testing.T) {
	zones := []*time.Location{
		time.FixedZone("UTC-12", -12*3600), time.FixedZone("UTC-5", -5*3600), time.UTC,
		time.FixedZone("UTC+1", 3600), time.FixedZone("UTC+14", 14*3600),
	}
	for _, zone := range zones {
		t.Run(zone.String(), func(t *testing.T) {
			clock := personiotest.NewClock(time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC))
			srv := startSim(t, personiotest.Options{Employees: 40, Now: clock.Now, V1UpdatedSinceLocation: zone})
			c, _ := newClient(t, srv, personio.APIv1, func(c *personio.Config) { c.Now = clock.Now })
			clock.Advance(30 * time.Hour)
			since := clock.Now()
			clock.Advance(time.Minute)
			id := srv.Records()[7].ID
			if err := srv.Update(id, personiotest.Attrs{"termination_date": "2026-07-31"}); err != nil {
				t.Fatal(err)
			}
			got, _, err := c.FetchChanged(context.Background(), since)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameRecords(got, only(srv.Records(), id)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestListingGapsNeedConfirmation: a v2 listing that ends early (an empty
// last page without next link) or one that silently drops people, on either
// version, looks complete to the client; looking each missing person up by
// id tells the gap from a departure.
func TestListingGapsNeedConfirmation(t *testing.T) {
	tests := []struct {
		name    string
		version personio.APIVersion
		fault   func(omit []string) personiotest.Fault
	}{
		{"v2 empty last page without next link", personio.APIv2, func([]string) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons", After: 2, End: true}
		}},
		{"v2 listing drops people", personio.APIv2, func(omit []string) personiotest.Fault {
			return personiotest.Fault{Path: "/v2/persons", Omit: omit, Count: -1}
		}},
		{"v1 listing drops people and counts them out", personio.APIv1, func(omit []string) personiotest.Fault {
			return personiotest.Fault{Path: "/v1/company/employees", Omit: omit, Count: -1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 230})
			truth := srv.Records()
			left := truth[200].ID
			if err := srv.Remove(left); err != nil {
				t.Fatal(err)
			}
			srv.InjectFault(tt.fault([]string{truth[3].ID, truth[120].ID, truth[229].ID}))
			c, _ := newClient(t, srv, tt.version, nil)
			got, _, err := c.FetchAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			missing := missingIDs(truth, got)
			if len(missing) < 3 || !slices.Contains(missing, left) {
				t.Fatalf("missing %v: the fault did not cut the listing", missing)
			}
			srv.ClearFaults()
			gone, found, stats, err := c.ConfirmGone(context.Background(), missing, len(missing))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gone, []string{left}) || len(found) != len(missing)-1 {
				t.Errorf("gone %v, found %d of %d; want only %s gone", gone, len(found), len(missing), left)
			}
			if stats.Calls != len(missing) {
				t.Errorf("%d calls for %d lookups", stats.Calls, len(missing))
			}
			if _, _, _, err := c.ConfirmGone(context.Background(), missing, len(missing)-1); !errors.Is(err, personio.ErrTooManyMissing) {
				t.Errorf("over the bound: %v, want ErrTooManyMissing", err)
			}
		})
	}
}

func missingIDs(truth, got []personio.Record) []string {
	var out []string
	for _, r := range truth {
		if !slices.ContainsFunc(got, func(g personio.Record) bool { return g.ID == r.ID }) {
			out = append(out, r.ID)
		}
	}
	return out
}

// TestFetchOneNotFoundOnlyForThePerson: only a 404 of the person's own
// endpoint reads as "gone"; a 404 anywhere else on the way (the auth
// endpoint, v2's org lookups or employments) is an error like any other.
func TestFetchOneNotFoundOnlyForThePerson(t *testing.T) {
	tests := []struct {
		name    string
		version personio.APIVersion
		path    string
	}{
		{"v1 auth endpoint 404", personio.APIv1, "/v1/auth"},
		{"v2 token endpoint 404", personio.APIv2, "/v2/auth/token"},
		{"v2 org lookup 404", personio.APIv2, "/v2/org-units"},
		{"v2 employments 404", personio.APIv2, "/v2/persons/1001/employments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 5})
			srv.InjectFault(personiotest.Fault{Path: tt.path, Status: 404, Count: -1})
			c, _ := newClient(t, srv, tt.version, nil)
			_, err := c.FetchOne(context.Background(), "1001")
			if err == nil || errors.Is(err, personio.ErrNotFound) {
				t.Errorf("FetchOne: %v; want an error that is not ErrNotFound", err)
			}
			if tt.path != "/v2/org-units" && !strings.Contains(tt.path, "employments") {
				if ok, _, err := c.Exists(context.Background(), "1001"); err == nil || ok || errors.Is(err, personio.ErrNotFound) {
					t.Errorf("Exists: %v, %v; want an error that is not ErrNotFound", ok, err)
				}
			}
		})
	}
	for _, v := range versions() {
		t.Run(string(v)+" unknown person", func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 5})
			c, _ := newClient(t, srv, v, nil)
			if _, stats, err := c.FetchOneWithStats(context.Background(), "999999"); !errors.Is(err, personio.ErrNotFound) || stats.Calls != 2 {
				t.Errorf("unknown person: %v, %d calls; want ErrNotFound after auth and one lookup", err, stats.Calls)
			}
			if ok, _, err := c.Exists(context.Background(), "999999"); ok || err != nil {
				t.Errorf("Exists(unknown) = %v, %v", ok, err)
			}
		})
	}
}

// TestV1TotalOffByWholePages: total_elements short or long by whole pages
// must not end the listing early or pass unnoticed; the error names both
// numbers.
func TestV1TotalOffByWholePages(t *testing.T) {
	for _, delta := range []int{-100, -200, 100, 200} {
		t.Run(strconv.Itoa(delta), func(t *testing.T) {
			srv := startSim(t, personiotest.Options{Employees: 300})
			srv.InjectFault(personiotest.Fault{Path: "/v1/company/employees", TotalDelta: delta, Count: -1})
			c, _ := newClient(t, srv, personio.APIv1, nil)
			got, _, err := c.FetchAll(context.Background())
			if !errors.Is(err, personio.ErrCountMismatch) || got != nil {
				t.Fatalf("%d records, %v; want ErrCountMismatch", len(got), err)
			}
			if msg := err.Error(); !strings.Contains(msg, "read 300") || !strings.Contains(msg, strconv.Itoa(300+delta)) {
				t.Errorf("error %q does not name both counts", msg)
			}
		})
	}
}
