package mirror

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// TestPartialPlanMatchesCompletePlan holds an incremental run's plan, which
// looks only at the changed people and their groups, to the plan of the
// same changes computed over the whole company (every other identity kept
// as stored, every group recomputed).
func TestPartialPlanMatchesCompletePlan(t *testing.T) {
	base := func() []personio.Record {
		people := staff(30)
		for i := range people {
			if i > 0 {
				people[i].SupervisorID = "1"
			}
			people[i].Team = []string{"Blue", "Green", "Red"}[i%3]
		}
		people[29].Department = "Legal"   // the only one in Legal
		people[28].Office = "Engineering" // an office named like a department
		return people
	}
	tests := []struct {
		name   string
		change func(people []personio.Record) []personio.Record
	}{
		{"moves to another department", func(p []personio.Record) []personio.Record {
			p[4].Department = "Engineering" // from Sales
			p[5].Department = "Sales"       // from Engineering
			return []personio.Record{p[4], p[5]}
		}},
		{"joins a new department", func(p []personio.Record) []personio.Record {
			p[6].Department = "Finance"
			return []personio.Record{p[6]}
		}},
		{"last member leaves a group", func(p []personio.Record) []personio.Record {
			p[29].Department = "Sales"
			return []personio.Record{p[29]}
		}},
		{"group named like an office", func(p []personio.Record) []personio.Record {
			p[7].Team = "Engineering"
			p[28].Position = "Lead"
			return []personio.Record{p[7], p[28]}
		}},
		{"joiner takes a stored userName", func(p []personio.Record) []personio.Record {
			return []personio.Record{worker("31", "First9", "Last9", "Sales")}
		}},
		{"changed person takes another's userName", func(p []personio.Record) []personio.Record {
			p[12].Email = p[3].Email
			return []personio.Record{p[12]}
		}},
		{"two changed people swap userNames", func(p []personio.Record) []personio.Record {
			p[10].Email, p[11].Email = p[11].Email, p[10].Email
			return []personio.Record{p[10], p[11]}
		}},
		{"the manager leaves", func(p []personio.Record) []personio.Record {
			p[0].Status = "inactive"
			p[0].TerminationDate = personio.Date{Year: 2026, Month: 4, Day: 1}
			return []personio.Record{p[0]}
		}},
		{"the manager drops out of scope", func(p []personio.Record) []personio.Record {
			p[0].EmploymentType = "external"
			return []personio.Record{p[0]}
		}},
		{"unmappable record", func(p []personio.Record) []personio.Record {
			p[8].Email = ""
			return []personio.Record{p[8]}
		}},
		{"nothing changed", func(p []personio.Record) []personio.Record { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) }, "")
			people := base()
			h.src.set(people...)
			h.sync(RunOptions{Trigger: "test"})
			in := planInput{ctx: context.Background(), records: tt.change(people), view: h.dir.View(), today: h.engine.policy.today(h.now)}

			taken := in // plan lets its input's records go
			got := h.engine.policy.plan(store.DefaultNamespace, &taken)

			whole := h.engine.policy.newPlanner(store.DefaultNamespace, in)
			whole.evaluateAll()
			whole.keepUntouched()
			want := whole.finish()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("partial plan\n%+v\ncomplete plan\n%+v", got, want)
			}
		})
	}
}
