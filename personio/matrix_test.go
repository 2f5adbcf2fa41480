package personio_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
)

// matrixFault is one way Personio can answer too little, too much or
// garbage, for the versions it applies to.
type matrixFault struct {
	name     string
	versions []personio.APIVersion
	faults   func(v personio.APIVersion, truth []personio.Record) []personiotest.Fault
}

func bothVersions() []personio.APIVersion { return versions() }
func v1Only() []personio.APIVersion       { return []personio.APIVersion{personio.APIv1} }
func v2Only() []personio.APIVersion       { return []personio.APIVersion{personio.APIv2} }

func one(f personiotest.Fault) func(personio.APIVersion, []personio.Record) []personiotest.Fault {
	return func(personio.APIVersion, []personio.Record) []personiotest.Fault { return []personiotest.Fault{f} }
}

func onList(f personiotest.Fault) func(personio.APIVersion, []personio.Record) []personiotest.Fault {
	return func(v personio.APIVersion, _ []personio.Record) []personiotest.Fault {
		f.Path = listPath(v)
		return []personiotest.Fault{f}
	}
}

func matrixFaults() []matrixFault {
	return []matrixFault{
		{"total short by a page", v1Only(), one(personiotest.Fault{Path: "/v1/company/employees", TotalDelta: -100, Count: -1})},
		{"total short by five pages", v1Only(), one(personiotest.Fault{Path: "/v1/company/employees", TotalDelta: -500, Count: -1})},
		{"total long by two pages", v1Only(), one(personiotest.Fault{Path: "/v1/company/employees", TotalDelta: 200, Count: -1})},
		{"total moves on page 7", v1Only(), one(personiotest.Fault{Path: "/v1/company/employees", After: 6, TotalDelta: -1})},
		{"hire during the listing", bothVersions(), onList(personiotest.Fault{After: 3, Hire: true})},
		{"hire on every page", bothVersions(), onList(personiotest.Fault{After: 1, Hire: true, Count: -1})},
		{"empty page in the middle", bothVersions(), onList(personiotest.Fault{After: 4, Empty: true})},
		{"empty last page without next link", v2Only(), one(personiotest.Fault{Path: "/v2/persons", After: 9, End: true})},
		{"listing drops people", bothVersions(), func(v personio.APIVersion, truth []personio.Record) []personiotest.Fault {
			return []personiotest.Fault{{Path: listPath(v), Omit: []string{truth[0].ID, truth[999].ID, truth[1999].ID}, Count: -1}}
		}},
		{"termination dates hidden", bothVersions(), onList(personiotest.Fault{DropAttributes: []string{"termination_date", "last_working_day", "contract_end_date"}, Count: -1})},
		{"department hidden", bothVersions(), onList(personiotest.Fault{DropAttributes: []string{"department"}, Count: -1})},
		{"status hidden on page 12", bothVersions(), onList(personiotest.Fault{After: 11, DropAttributes: []string{"status"}})},
		{"garbage on page 3", bothVersions(), onList(personiotest.Fault{After: 2, Garbage: true})},
		{"503 storm", bothVersions(), onList(personiotest.Fault{After: 5, Status: 503, Count: -1})},
		{"429 storm", bothVersions(), onList(personiotest.Fault{After: 5, Status: 429, Count: -1})},
		{"auth down", bothVersions(), func(v personio.APIVersion, _ []personio.Record) []personiotest.Fault {
			return []personiotest.Fault{{Path: authPath(v), Status: 503, Count: -1}}
		}},
		{"next link to itself", v2Only(), one(personiotest.Fault{Path: "/v2/persons", After: 5, SelfNext: true})},
		{"cursor loop", v2Only(), one(personiotest.Fault{Path: "/v2/persons", After: 5, CursorLoop: true})},
		{"next link to another host", v2Only(), one(personiotest.Fault{Path: "/v2/persons", After: 5, ForeignNext: true})},
		{"employments of one person empty", v2Only(), one(personiotest.Fault{Path: "/v2/persons/", After: 300, Empty: true})},
	}
}

// TestFaultMatrix runs every simulator fault against a company of 2,000
// on both versions. The client either fails, returning nothing, or returns
// records that are exactly Personio's; and every person missing from a
// listing it calls complete is still found by id, so that confirming
// vanished people before deactivating them turns each gap into a refused
// run, never into a departure.
func TestFaultMatrix(t *testing.T) {
	for _, mf := range matrixFaults() {
		for _, v := range mf.versions {
			t.Run(fmt.Sprintf("%s %s", v, mf.name), func(t *testing.T) {
				srv := startSim(t, personiotest.Options{Employees: 2000})
				truth := srv.Records()
				for _, f := range mf.faults(v, truth) {
					srv.InjectFault(f)
				}
				c, _ := newClient(t, srv, v, func(c *personio.Config) { c.MaxAttempts = 3 })
				got, _, err := c.FetchAll(context.Background())
				srv.ClearFaults()
				if err != nil {
					if got != nil {
						t.Fatalf("an error (%v) came with %d records", err, len(got))
					}
					t.Logf("refused: %v", err)
					return
				}
				now := srv.Records()
				byID := map[string]personio.Record{}
				for _, r := range now {
					byID[r.ID] = r
				}
				for _, r := range got {
					if want, ok := byID[r.ID]; !ok || !reflect.DeepEqual(r, want) {
						t.Fatalf("record %s differs from Personio's:\n got %+v\nwant %+v", r.ID, r, want)
					}
				}
				missing := missingIDs(now, got)
				gone, found, _, err := c.ConfirmGone(context.Background(), missing, len(missing))
				if err != nil {
					t.Fatal(err)
				}
				if len(gone) > 0 {
					t.Errorf("%d people would be deactivated although Personio has them: %v", len(gone), gone)
				}
				t.Logf("listing of %d, %d missing, all found by id", len(got), len(found))
			})
		}
	}
}
