package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// knownCompany is a simulated Personio with four people whose fate the
// default policy makes plain: two get identities, two do not.
func knownCompany(t *testing.T) *personiotest.Server {
	sim := personiotest.Start(t, personiotest.Options{Employees: -1})
	today := sim.Today()
	people := []personiotest.Attrs{
		{"first_name": "Anna", "last_name": "Aktiv", "hire_date": "2024-01-01", "department": "Sales", "office": "Berlin"},
		{"first_name": "Bernd", "last_name": "Bald", "hire_date": today.AddDays(5).String(), "department": "Sales", "office": "Berlin"},
		{"first_name": "Carla", "last_name": "Später", "hire_date": today.AddDays(60).String(), "department": "Legal", "office": "Wien"},
		{"first_name": "Dieter", "last_name": "Damals", "hire_date": "2020-01-01", "termination_date": "2024-12-31",
			"last_working_day": "2024-12-31", "status": "inactive", "department": "Legal", "office": "Wien"},
	}
	for _, p := range people {
		if _, err := sim.Hire(p); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PERSONIO_BASE_URL", sim.URL())
	t.Setenv("PERSONIO_CLIENT_ID", sim.ClientID())
	t.Setenv("PERSONIO_CLIENT_SECRET", sim.ClientSecret())
	return sim
}

func countOf(t *testing.T, out, row string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(row) + `\s+(\d+)\s*$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q row in:\n%s", row, out)
	}
	return m[1]
}

func TestSyncDryRunPrintsThePlan(t *testing.T) {
	knownCompany(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sync", "--dry-run"}, &out, io.Discard); err != nil {
		t.Fatalf("sync --dry-run: %v\n%s", err, out.String())
	}
	got := out.String()
	// Anna (active) and Bernd (prehire) get identities; the groups are Sales and Berlin.
	if countOf(t, got, "created") != "2" || countOf(t, got, "group changes") != "2" || countOf(t, got, "deactivated") != "0" {
		t.Fatalf("plan:\n%s", got)
	}
	for _, want := range []string{"dry run (nothing applied)", "anna.aktiv@", "bernd.bald@", "joiner: prehire-window"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "carla") || strings.Contains(got, "dieter") {
		t.Fatalf("plan names people who should get no identity:\n%s", got)
	}
}

// TestSyncDryRunListsHeldChanges: the dry run names every change the guard
// would hold, with the person's ids, the rule and the limit.
func TestSyncDryRunListsHeldChanges(t *testing.T) {
	sim := knownCompany(t)
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	if err := run(context.Background(), []string{"sync"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var anna string
	for _, r := range sim.Records() {
		if r.FirstName == "Anna" {
			anna = r.ID
		}
	}
	if err := sim.Update(anna, personiotest.Attrs{"status": "inactive"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sync", "--dry-run"}, &out, io.Discard); err != nil {
		t.Fatalf("sync --dry-run: %v\n%s", err, out.String())
	}
	got := out.String()
	held := regexp.MustCompile(`(?m)^\s+held\s+deactivate\s+person ` + anna + `\s+[0-9a-f-]{36}\s+anna\.aktiv@\S+\s+rule status-inactive, limit max_percent$`)
	if !held.MatchString(got) || !strings.Contains(got, "1 changes held, plan digest ") {
		t.Fatalf("the dry run does not list the held deactivation:\n%s", got)
	}
}

func TestSecondSyncWritesNothing(t *testing.T) {
	knownCompany(t)
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	var first, second bytes.Buffer
	if err := run(context.Background(), []string{"sync"}, &first, io.Discard); err != nil {
		t.Fatalf("first sync: %v\n%s", err, first.String())
	}
	if countOf(t, first.String(), "created") != "2" {
		t.Fatalf("first sync:\n%s", first.String())
	}
	if err := run(context.Background(), []string{"sync"}, &second, io.Discard); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	for _, row := range []string{"created", "updated", "activated", "deactivated", "removed", "group changes"} {
		if n := countOf(t, second.String(), row); n != "0" {
			t.Fatalf("second sync with no change: %s = %s\n%s", row, n, second.String())
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("lifecycle:\n  prehire_days: 7\n"), 0o600)
	os.WriteFile(bad, []byte("lifecycle:\n  prehire_days: 7\nmapping:\n  userName: 'lower(emial)'\n"), 0o600)
	t.Setenv("PERSONIO_CLIENT_SECRET", "super-secret-value")

	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "--config", good}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "prehire_days: 7") || !strings.Contains(out.String(), "PERSONIO_CLIENT_SECRET=(set, redacted)") || strings.Contains(out.String(), "super-secret-value") {
		t.Fatalf("check-config output:\n%s", out.String())
	}
	err := run(context.Background(), []string{"check-config", "--config", bad}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4") || !strings.Contains(err.Error(), "mapping.userName") || !strings.Contains(err.Error(), "emial") {
		t.Fatalf("broken config: %v; want the file, line, key and the bad name", err)
	}
	t.Setenv("DATABASE_URL", memoryURL)
	if err := run(context.Background(), []string{"serve", "--config", bad}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "bad.yaml:4") {
		t.Fatalf("serve with a broken config: %v", err)
	}
}
