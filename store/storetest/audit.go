package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// auditTests are the retention and erasure cases; Run runs them with the rest.
var auditTests = []struct {
	name string
	fn   func(t *testing.T, open Factory)
}{
	{"PruneAuditKeepsNewestRowAndUnreadRows", testPruneAuditRows},
	{"PruneAuditKeepsNewestRunningAndHeldRuns", testPruneAuditRuns},
	{"ErasePersonKeepsTheFactsDropsTheData", testErasePerson},
}

// day is how far apart the audit cases' changes are.
const day = 24 * time.Hour

// fourDays logs one row a day: alice, bob and carol joining, then alice
// moving, at seqs 1 to 4.
func fourDays(t *testing.T, a store.Store, clock *Clock) {
	t.Helper()
	alice := person("1", "alice@example.com")
	for _, p := range []store.Identity{alice, person("2", "bob@example.com"), person("3", "carol@example.com")} {
		mustApply(t, a, create(p))
		clock.Advance(day)
	}
	alice.Department = "Sales"
	mustApply(t, a, store.ChangeSet{Actor: "sync", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: alice, Reason: "mover"}}})
}

func seqs(cs []store.Change) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}

func testPruneAuditRows(t *testing.T, open Factory) {
	tests := []struct {
		name       string
		afterDays  int   // prune rows older than the first row's time plus this many days
		pushCursor int64 // -1: no push target
		feedCursor int64 // -1: no event feed
		want       []int64
	}{
		{"nothing old enough", 0, -1, -1, []int64{1, 2, 3, 4}},
		{"two days of rows", 2, -1, -1, []int64{3, 4}},
		{"never the newest row", 100, -1, -1, []int64{4}},
		{"not past a push target's cursor", 100, 1, -1, []int64{2, 3, 4}},
		{"not past the event feed's cursor", 100, -1, 2, []int64{3, 4}},
		{"not past the slowest cursor", 100, 3, 2, []int64{3, 4}},
		{"cursors past the retention do not matter", 1, 4, 4, []int64{2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := NewClock()
			start := clock.Now()
			a, b := open(t, clock.Now)
			fourDays(t, a, clock)
			if tt.pushCursor >= 0 {
				if err := a.SavePush(ctx, "okta", 0, tt.pushCursor, nil); err != nil {
					t.Fatal(err)
				}
			}
			if tt.feedCursor >= 0 {
				if _, err := a.EnqueueOutbox(ctx, store.OutboxEnqueue{Cursor: "changes", From: 0, To: tt.feedCursor}); err != nil {
					t.Fatal(err)
				}
			}
			rows, _, err := b.PruneAudit(ctx, start.Add(time.Duration(tt.afterDays)*day))
			if err != nil {
				t.Fatal(err)
			}
			got := seqs(mustChanges(t, a, store.ChangeQuery{}))
			if !slices.Equal(got, tt.want) || rows != 4-len(tt.want) {
				t.Fatalf("pruned %d, left %v; want %v", rows, got, tt.want)
			}
			if last, err := a.LastSeq(ctx); err != nil || last != 4 {
				t.Fatalf("last seq %d, %v after pruning; want 4", last, err)
			}
			res := mustApply(t, a, create(person("9", "dan@example.com")))
			if res.FirstSeq != 5 {
				t.Fatalf("next row got seq %d, want 5: the sequence must go on after pruning", res.FirstSeq)
			}
			if after := seqs(mustChanges(t, b, store.ChangeQuery{AfterSeq: 3})); !slices.Equal(after, []int64{4, 5}) {
				t.Fatalf("rows after 3 = %v, want [4 5]", after)
			}
		})
	}
}

func testPruneAuditRuns(t *testing.T, open Factory) {
	ctx := context.Background()
	clock := NewClock()
	a, b := open(t, clock.Now)
	old := clock.Now().Add(-30 * day)
	runs := []store.Run{
		{ID: "old-ok", Trigger: "schedule", Mode: "full", Status: store.RunSucceeded, StartedAt: old, FinishedAt: old.Add(time.Minute)},
		{ID: "old-failed", Trigger: "schedule", Mode: "full", Status: store.RunFailed, StartedAt: old.Add(time.Hour)},
		{ID: "old-running", Trigger: "schedule", Mode: "full", Status: store.RunRunning, StartedAt: old},
		{ID: "old-held", Trigger: "schedule", Mode: "full", Status: store.RunHeld, StartedAt: old},
		{ID: "recent", Trigger: "schedule", Mode: "full", Status: store.RunSucceeded, StartedAt: clock.Now()},
	}
	for _, r := range runs {
		if err := a.SaveRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	_, n, err := b.PruneAudit(ctx, clock.Now().Add(-day))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d runs, %v; want 2", n, err)
	}
	if got := runIDs(t, a); !slices.Equal(got, []string{"old-held", "old-running", "recent"}) {
		t.Fatalf("runs left %v", got)
	}
	// The newest run stays even when it is old: it is what the service last did.
	_, n, err = b.PruneAudit(ctx, clock.Now().Add(day))
	if err != nil || n != 0 {
		t.Fatalf("pruned %d runs, %v; want none", n, err)
	}
	if got := runIDs(t, a); !slices.Contains(got, "recent") {
		t.Fatalf("the newest run went: %v", got)
	}
}

func runIDs(t *testing.T, s store.Store) []string {
	t.Helper()
	runs, err := s.Runs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func testErasePerson(t *testing.T, open Factory) {
	ctx := context.Background()
	clock := NewClock()
	a, b := open(t, clock.Now)
	fourDays(t, a, clock)
	alice, bob := person("1", "alice@example.com"), person("2", "bob@example.com")
	mustApply(t, a, store.ChangeSet{Actor: "sync", Cause: "leaver", Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: alice.ID}, Reason: "retention"}}})

	naming := `{"run_id":"r1","people":1,"guard":{"held":[` +
		`{"change":"remove","personio_id":"1","scim_id":"` + alice.ID + `","user_name":"alice@example.com","rule":"vanished"},` +
		`{"change":"remove","personio_id":"2","scim_id":"` + bob.ID + `","user_name":"bob@example.com","rule":"vanished"}]},` +
		`"changes":[{"op":"delete","kind":"identity","id":"` + alice.ID + `","name":"alice@example.com"}]}`
	unrelated := `{"run_id":"r2","people":1,"changes":[{"op":"update","kind":"identity","id":"` + bob.ID + `","name":"bob@example.com"}]}`
	for _, r := range []store.Run{
		{ID: "r1", Trigger: "schedule", Mode: "full", Status: store.RunHeld, StartedAt: clock.Now(), Report: []byte(naming)},
		{ID: "r2", Trigger: "schedule", Mode: "full", Status: store.RunSucceeded, StartedAt: clock.Now(), Report: []byte(unrelated)},
	} {
		if err := a.SaveRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	rows, runs, err := b.ErasePerson(ctx, "1", alice.ID)
	if err != nil || rows != 3 || runs != 1 {
		t.Fatalf("erased %d rows and %d runs, %v; want 3 and 1", rows, runs, err)
	}
	for _, c := range mustChanges(t, a, store.ChangeQuery{}) {
		erased := c.ResourceID == alice.ID
		for _, values := range []map[string]string{c.Before, c.After} {
			for k, v := range values {
				if (v == store.Erased) != erased {
					t.Fatalf("row %d (%s) %s = %q", c.Seq, c.ResourceID, k, v)
				}
			}
		}
		if erased && (c.Actor == "" || (c.Op == store.OpDelete && (c.Cause != "leaver" || c.Reason != "retention" || len(c.Before) == 0))) {
			t.Fatalf("erasure lost the facts of row %+v", c)
		}
	}
	moved := mustChanges(t, a, store.ChangeQuery{AfterSeq: 3, Limit: 1})[0]
	if moved.Before[store.AttrDepartment] != store.Erased || moved.Actor != "sync" || moved.Reason != "mover" {
		t.Fatalf("alice's move = %+v; want its attribute named, its value erased", moved)
	}

	r1, err := a.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		People int `json:"people"`
		Guard  struct {
			Held []struct {
				UserName string `json:"user_name"`
				Rule     string `json:"rule"`
			} `json:"held"`
		} `json:"guard"`
		Changes []struct{ ID, Name string } `json:"changes"`
	}
	if err := json.Unmarshal(r1.Report, &rep); err != nil {
		t.Fatalf("erased report is not JSON: %v", err)
	}
	if rep.People != 1 || len(rep.Guard.Held) != 2 || rep.Guard.Held[0].UserName != "" || rep.Guard.Held[0].Rule != "vanished" ||
		rep.Guard.Held[1].UserName != "bob@example.com" || len(rep.Changes) != 1 || rep.Changes[0].Name != "" || rep.Changes[0].ID != alice.ID {
		t.Fatalf("erased report = %s", r1.Report)
	}
	if r2, err := a.Run(ctx, "r2"); err != nil || string(r2.Report) != unrelated {
		t.Fatalf("a report not naming the person changed: %s, %v", r2.Report, err)
	}
}
