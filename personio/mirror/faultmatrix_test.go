package mirror

import (
	"context"
	"testing"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
)

// faultCase is one way Personio can answer wrongly. A new simulator fault
// is one more row.
type faultCase struct {
	name     string
	versions []personio.APIVersion // nil: both
	fault    func(list string) personiotest.Fault
	// hires says the fault adds real people to the company (someone hired
	// during the listing): identities created for them are the truth, and
	// later rows compare with the state that includes them.
	hires bool
}

func faultMatrix() []faultCase {
	return []faultCase{
		{name: "503 storm", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, Status: 503, Count: -1}
		}},
		{name: "garbage on page 2", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 1, Garbage: true}
		}},
		{name: "every page empty", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, Empty: true, Count: -1}
		}},
		{name: "an empty page in the middle", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 3, Empty: true}
		}},
		{name: "department dropped from every answer", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, DropAttributes: []string{"department"}, Count: -1}
		}},
		// v1 refuses an answer that lacks an attribute the configuration
		// reads; the v2 client's refusal is the fetch side's change, and this
		// row runs on v2 too once it is in (versions nil).
		{name: "end dates dropped from every answer", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, DropAttributes: []string{"termination_date", "last_working_day", "contract_end_date"}, Count: -1}
		}},
		{name: "total_elements short by a page", versions: []personio.APIVersion{personio.APIv1}, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, TotalDelta: -100, Count: -1}
		}},
		{name: "total_elements short by one", versions: []personio.APIVersion{personio.APIv1}, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, TotalDelta: -1, Count: -1}
		}},
		{name: "next link pointing at the same page", versions: []personio.APIVersion{personio.APIv2}, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 2, SelfNext: true}
		}},
		{name: "an empty last page without next link", versions: []personio.APIVersion{personio.APIv2}, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 3, End: true}
		}},
		{name: "ten people left out of the listing", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, Omit: []string{"1001", "1002", "1003", "1005", "1008", "1013", "1021", "1034", "1055", "1089"}, Count: -1}
		}},
		{name: "a hire during the listing", versions: nil, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 2, Hire: true}
		}, hires: true},
		{name: "a cursor that serves the page again", versions: []personio.APIVersion{personio.APIv2}, fault: func(list string) personiotest.Fault {
			return personiotest.Fault{Path: list, After: 2, CursorLoop: true}
		}},
	}
}

// TestFaultMatrix runs every simulator fault on both API versions against
// a company of 2,000 and compares every identity and membership with the
// state before the fault: a wrong answer from Personio must never take
// access away or grant it, and a refused run must say why.
func TestFaultMatrix(t *testing.T) {
	const company = 2000
	for _, version := range []personio.APIVersion{personio.APIv1, personio.APIv2} {
		t.Run(string(version), func(t *testing.T) {
			bothBackends(t, func(t *testing.T, open storeOpener) {
				w := newCompany(t, open, version, company)
				w.sync()
				if rep := w.sync(); rep.Counts != (Counts{}) {
					t.Fatalf("a second sync without change changed %+v", rep.Counts)
				}
				before := accessOf(w.dir.View())
				if len(before.active) < company*8/10 { // seeded joiners far ahead and long-gone leavers have none
					t.Fatalf("set-up: %d identities of %d people", len(before.active), company)
				}
				list := "/v1/company/employees"
				if version == personio.APIv2 {
					list = "/v2/persons"
				}
				for _, fc := range faultMatrix() {
					if fc.versions != nil && fc.versions[0] != version {
						continue
					}
					t.Run(fc.name, func(t *testing.T) {
						seq, serr := w.store.LastSeq(context.Background())
						if serr != nil {
							t.Fatal(serr)
						}
						w.sim.InjectFault(fc.fault(list))
						rep, err := w.engine.Run(context.Background(), RunOptions{Mode: ModeFull, Trigger: "test"})
						w.sim.ClearFaults()
						if lost := before.lostIn(accessOf(w.dir.View()), fc.hires); len(lost) > 0 {
							t.Errorf("wrongful access changes (%d): %v", len(lost), lost[:min(len(lost), 10)])
						}
						switch {
						case err != nil:
							if rep.Status != store.RunFailed || rep.Error == "" {
								t.Errorf("refused run: status %s, error %q; want failed with a reason", rep.Status, rep.Error)
							}
						case rep.Status == store.RunHeld:
							if rep.Guard.Reason == "" || len(rep.Guard.Held) == 0 {
								t.Errorf("held run without a reason or a list: %+v", rep.Guard)
							}
						}
						// Back to the truth: what a fault run applied besides
						// access (say, a cleared department) is repaired, and
						// the next row starts from the same state.
						if after, _ := w.store.LastSeq(context.Background()); after == seq {
							return
						}
						w.sync()
						if lost := before.lostIn(accessOf(w.dir.View()), fc.hires); len(lost) > 0 {
							t.Fatalf("after the fault cleared: %v", lost[:min(len(lost), 10)])
						}
						if fc.hires {
							before = accessOf(w.dir.View())
						}
					})
				}
			})
		})
	}
}

// newCompany is a world with a seeded company of n people read through
// one API version.
func newCompany(t *testing.T, open storeOpener, version personio.APIVersion, n int) *world {
	t.Helper()
	w := &world{t: t, clock: personiotest.NewClock(at("2026-03-30", 10, 0)), version: version}
	w.sim = personiotest.Start(t, personiotest.Options{Employees: n, Seed: 7, Now: w.clock.Now})
	w.store, _ = open(t, w.clock.Now)
	w.dir, w.engine = w.replica(w.store, "")
	return w
}
