package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// leaverInLog stores a person who joined, moved and left, and a held run
// whose report names them, as a Postgres-backed service would have.
func leaverInLog(t *testing.T, pg *postgres.Store, personioID, userName string) string {
	t.Helper()
	ctx := context.Background()
	id := store.DefaultNamespace.IdentityID(personioID)
	ident := store.Identity{ID: id, PersonioID: personioID, Attributes: store.Attributes{
		UserName: userName, DisplayName: "Erika Mustermann", GivenName: "Erika", FamilyName: "Mustermann", Email: userName, Active: true,
	}}
	moved := ident
	moved.Department = "Sales"
	for _, cs := range []store.ChangeSet{
		{Actor: "sync", Cause: "run 1", Identities: []store.IdentityChange{{Op: store.OpCreate, Identity: ident, Reason: "joiner"}}},
		{Actor: "sync", Cause: "run 2", Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: moved, Reason: "mover"}}},
		{Actor: "sync", Cause: "run 3", Identities: []store.IdentityChange{{Op: store.OpDelete, Identity: store.Identity{ID: id}, Reason: "retention"}}},
	} {
		if _, err := pg.Apply(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	report := `{"run_id":"r-` + personioID + `","guard":{"held":[{"change":"remove","personio_id":"` + personioID +
		`","scim_id":"` + id + `","user_name":"` + userName + `","rule":"vanished"}]}}`
	if err := pg.SaveRun(ctx, store.Run{ID: "r-" + personioID, Trigger: "schedule", Mode: "full", Status: store.RunHeld, Report: []byte(report)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEraseOnPostgres(t *testing.T) {
	pg, url := pgtest.Open(t, postgres.Options{})
	t.Setenv("DATABASE_URL", url)
	t.Setenv("SCIM_ID_NAMESPACE", "")
	ctx := context.Background()
	erika := leaverInLog(t, pg, "4711", "erika@example.com")
	max := leaverInLog(t, pg, "4712", "max@example.com")

	refusals := []struct {
		name string
		args []string
	}{
		{"no id", []string{"erase", "--yes"}},
		{"not an id", []string{"erase", "--personio-id", "erika", "--yes"}},
		{"stray argument", []string{"erase", "--personio-id", "4711", "--yes", "now"}},
	}
	for _, tt := range refusals {
		if err := run(ctx, tt.args, io.Discard, io.Discard); err == nil {
			t.Errorf("%s: erase went ahead", tt.name)
		}
	}
	if err := run(ctx, []string{"erase", "--personio-id", "erika"}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("a malformed id: %v, want usage", err)
	}
	if cs, _ := pg.Changes(ctx, store.ChangeQuery{ResourceID: erika}); len(cs) != 3 || cs[0].After[store.AttrUserName] != "erika@example.com" {
		t.Fatalf("a refused erase changed the log: %+v", cs)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"erase", "--personio-id", "4711", "--yes"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "erased: 3 change-log rows, 1 run reports\n" {
		t.Fatalf("erase printed %q", got)
	}
	cs, err := pg.Changes(ctx, store.ChangeQuery{ResourceID: erika})
	if err != nil || len(cs) != 3 {
		t.Fatalf("erika's rows = %d, %v; want all 3 kept", len(cs), err)
	}
	for _, c := range cs {
		for _, v := range []map[string]string{c.Before, c.After} {
			for k, val := range v {
				if val != store.Erased {
					t.Errorf("row %d %s = %q after erasure", c.Seq, k, val)
				}
			}
		}
		if c.Actor != "sync" || !strings.HasPrefix(c.Cause, "run ") {
			t.Errorf("row %d lost its actor or cause: %+v", c.Seq, c)
		}
	}
	if cs[1].After[store.AttrDepartment] != store.Erased {
		t.Errorf("the move no longer names the attribute that changed: %+v", cs[1])
	}
	run1, err := pg.Run(ctx, "r-4711")
	if err != nil || strings.Contains(string(run1.Report), "erika") {
		t.Fatalf("erika's run report = %s, %v", run1.Report, err)
	}
	if others, _ := pg.Changes(ctx, store.ChangeQuery{ResourceID: max}); len(others) != 3 || others[0].After[store.AttrUserName] != "max@example.com" {
		t.Fatalf("another person's rows changed: %+v", others)
	}
	if run2, _ := pg.Run(ctx, "r-4712"); !strings.Contains(string(run2.Report), "max@example.com") {
		t.Fatalf("another person's report changed: %s", run2.Report)
	}
}

func TestEraseNeedsALastingStore(t *testing.T) {
	t.Setenv("DATABASE_URL", memoryURL)
	err := run(context.Background(), []string{"erase", "--personio-id", "1", "--yes"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("erase on the memory store: %v", err)
	}
}

func TestEraseConfirmation(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		typed    string
		ok       bool
	}{
		{"no terminal", false, "yes\n", false},
		{"typed yes", true, "yes\n", true},
		{"typed no", true, "no\n", false},
		{"nothing typed", true, "", false},
	}
	for _, tt := range tests {
		if err := confirmErase(strings.NewReader(tt.typed), tt.terminal, io.Discard); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
