package mirror

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
	"github.com/personio-scim/personio-scim/store"
)

func TestScope(t *testing.T) {
	p := compileYAML(t, "scope: 'employment_type == \"internal\"'\n")
	external := employee(t)
	external.EmploymentType, external.Email = "external", "" // would fail the mapping
	out, err := p.evaluate(context.Background(), external, date(t, "2026-04-01"), nil)
	if err != nil || !reflect.DeepEqual(out, outcome{}) {
		t.Errorf("out of scope: %+v, %v; want the zero Outcome and no error", out, err)
	}
	out, err = p.evaluate(context.Background(), employee(t), date(t, "2026-04-01"), nil)
	if err != nil || !out.InScope || !out.Present {
		t.Errorf("in scope: %+v, %v", out, err)
	}

	failing := compileYAML(t, "scope: 'custom[\"Sync\"] == \"yes\"'\n")
	_, err = failing.evaluate(context.Background(), employee(t), date(t, "2026-04-01"), nil)
	var pe *personError
	if !errors.As(err, &pe) || pe.Attribute != "scope" || pe.PersonID != "1042" {
		t.Errorf("failing scope: %v, want a PersonError for scope", err)
	}
}

// TestNoIdentityNoMapping checks that people without an identity today are
// not mapped: an old leaver without a work email is no error.
func TestNoIdentityNoMapping(t *testing.T) {
	p := compileYAML(t, "")
	oldLeaver := employee(t)
	oldLeaver.Email, oldLeaver.Status, oldLeaver.LastWorkingDay = "", "inactive", date(t, "2019-12-31")
	oldLeaver.HireDate = date(t, "2015-01-01")
	farJoiner := employee(t)
	farJoiner.Email, farJoiner.Status, farJoiner.HireDate = "", "onboarding", date(t, "2026-09-01")
	tests := []struct {
		name string
		rec  personio.Record
		want store.Lifecycle
	}{
		{"old leaver", oldLeaver, store.Lifecycle{State: store.StateLeaver, HireDate: "2015-01-01", EndDate: "2019-12-31", InactiveSince: "2020-01-01", RemoveAfter: "2020-01-30", Rule: RuleRetention}},
		{"joiner months ahead", farJoiner, store.Lifecycle{State: store.StatePrehire, HireDate: "2026-09-01", Rule: RuleBeforePrehireWindow}},
	}
	for _, tt := range tests {
		out, err := p.evaluate(context.Background(), tt.rec, date(t, "2026-04-01"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := outcome{InScope: true, Lifecycle: tt.want, OnCreateOnly: []string{"userName"}}
		if !reflect.DeepEqual(out, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, out, want)
		}
	}
}

// TestLastWorkingDayAtCompanyMidnight follows one leaver through the
// evening of their last working day in two zones.
func TestLastWorkingDayAtCompanyMidnight(t *testing.T) {
	rec := employee(t)
	rec.LastWorkingDay = date(t, "2026-03-31")
	tests := []struct {
		zone, now string
		active    bool
	}{
		{"Europe/Berlin", "2026-03-31T21:59:59Z", true},
		{"Europe/Berlin", "2026-03-31T22:00:00Z", false},
		{"America/New_York", "2026-04-01T03:59:59Z", true},
		{"America/New_York", "2026-04-01T04:00:00Z", false},
	}
	for _, tt := range tests {
		p := compileYAML(t, "lifecycle:\n  timezone: "+tt.zone+"\n")
		now, err := time.Parse(time.RFC3339, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.evaluate(context.Background(), rec, p.today(now), nil)
		if err != nil {
			t.Fatal(err)
		}
		if out.Attributes.Active != tt.active || !out.Present {
			t.Errorf("%s at %s: active %v, present %v; want active %v, present", tt.zone, tt.now, out.Attributes.Active, out.Present, tt.active)
		}
		if !tt.active && (out.Lifecycle.InactiveSince != "2026-04-01" || out.Groups != nil) {
			t.Errorf("%s at %s: lifecycle %+v, groups %v", tt.zone, tt.now, out.Lifecycle, out.Groups)
		}
	}
}

func TestVanishedAndOutOfScope(t *testing.T) {
	p := compileYAML(t, "")
	prev := store.Identity{
		ID: "id-1", PersonioID: "1042",
		Attributes: store.Attributes{UserName: "jg@example.com", DisplayName: "Jürgen Groß", Department: "Engineering", Active: true},
		Lifecycle:  store.Lifecycle{State: store.StateActive, HireDate: "2020-02-01", Rule: RuleHireDate},
	}
	wantAttrs := store.Attributes{UserName: "jg@example.com", DisplayName: "Jürgen Groß", Department: "Engineering", Active: false}

	got := p.vanished(prev, date(t, "2026-04-10"))
	want := outcome{
		Present: true, Attributes: wantAttrs, OnCreateOnly: []string{"userName"},
		Lifecycle: store.Lifecycle{State: store.StateLeaver, HireDate: "2020-02-01", InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleVanished, VanishedSource: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Vanished:\n got %+v\nwant %+v", got, want)
	}

	// A day later the stored leaver keeps its first inactive day.
	prev.Attributes, prev.Lifecycle = got.Attributes, got.Lifecycle
	later := p.vanished(prev, date(t, "2026-04-11"))
	if later.Lifecycle.InactiveSince != "2026-04-10" || !later.Present {
		t.Errorf("Vanished a day later: %+v", later.Lifecycle)
	}
	gone := p.vanished(prev, date(t, "2026-05-10"))
	if gone.Present || gone.Lifecycle.Rule != RuleRetention {
		t.Errorf("Vanished after retention: present %v, rule %s", gone.Present, gone.Lifecycle.Rule)
	}

	prev.Lifecycle = store.Lifecycle{State: store.StateActive}
	out := p.outOfScope(prev, date(t, "2026-04-10"))
	if out.InScope || !out.Present || out.Attributes.Active || out.Groups != nil ||
		out.Lifecycle != (store.Lifecycle{State: store.StateLeaver, InactiveSince: "2026-04-10", RemoveAfter: "2026-05-09", Rule: RuleOutOfScope, ScopeExcluded: true}) {
		t.Errorf("OutOfScope: %+v", out)
	}
}

func TestSourceFields(t *testing.T) {
	lifecycle := []string{"id", "status", "hire_date", "termination_date", "last_working_day", "contract_end_date"}
	tests := []struct {
		name   string
		cfg    string
		fields []string
		labels []string
		all    bool
	}{
		{"defaults", "", []string{
			"id", "first_name", "last_name", "preferred_name", "email", "status", "hire_date", "termination_date",
			"last_working_day", "contract_end_date", "position", "department", "office", "team", "legal_entity",
			"cost_centers", "supervisor_id", "employment_type",
		}, nil, false},
		{"minimal", `mapping:
  userName: 'id + "@example.com"'
  externalId:
  employeeNumber:
  displayName:
  name.givenName:
  name.familyName:
  nickName:
  emails.work:
  title:
  userType:
  department:
  organization:
  costCenter:
  division:
  manager:
  active:
groups:
  department: {enabled: false}
  office: {enabled: false}
  team: {enabled: false}
`, lifecycle, nil, false},
		{"groups and custom attributes", `mapping:
  userName: 'id'
  externalId:
  employeeNumber:
  displayName: 'custom["Display"] + custom.dynamic_12'
  name.givenName:
  name.familyName:
  nickName:
  emails.work:
  title:
  userType:
  department:
  organization:
  costCenter:
  division:
  manager:
  active: '"dynamic_3" in custom'
scope: 'email != "x"'
groups:
  department: {enabled: false}
  office: {enabled: false}
  team: {enabled: true}
  cost_center: {enabled: true}
  rules:
    - name: r
      when: 'custom[?"Badge"].hasValue() && position == "x"'
`, slices.Concat(lifecycle[:1], []string{"email"}, lifecycle[1:], []string{"position", "team", "cost_centers", "dynamic_12", "dynamic_3"}),
			[]string{"Badge", "Display"}, false},
		{"custom read without a key", "mapping:\n  title: 'custom.exists(k, k == \"x\") ? \"y\" : \"\"'\n", nil, nil, true},
	}
	for _, tt := range tests {
		p := compileYAML(t, tt.cfg)
		labels, all := p.CustomLabels()
		if tt.fields != nil && !slices.Equal(p.SourceFields(), tt.fields) {
			t.Errorf("%s: SourceFields =\n %v\nwant\n %v", tt.name, p.SourceFields(), tt.fields)
		}
		if !slices.Equal(labels, tt.labels) || all != tt.all {
			t.Errorf("%s: CustomLabels = %v, %v; want %v, %v", tt.name, labels, all, tt.labels, tt.all)
		}
	}
}

func TestMinimize(t *testing.T) {
	p := compileYAML(t, `mapping:
  title: 'custom["Job title"]'
  nickName: 'custom[?"dynamic_7"].orValue("")'
groups:
  office: {enabled: false}
`)
	rec := employee(t)
	rec.PreferredName = "Jo"
	rec.UpdatedAt = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec.Custom = map[string]personio.CustomAttribute{
		"dynamic_1": {Label: "Job title", Value: "Engineer"},
		"dynamic_7": {Label: "Nick", Value: "JJ"},
		"dynamic_9": {Label: "IBAN", Value: "DE00 1234"},
	}
	got := p.Minimize(rec)
	want := rec
	want.Position = "" // title reads custom instead
	want.Office = ""   // office groups are off
	want.Custom = map[string]personio.CustomAttribute{
		"dynamic_1": {Label: "Job title", Value: "Engineer"},
		"dynamic_7": {Label: "Nick", Value: "JJ"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Minimize =\n %+v\nwant\n %+v", got, want)
	}
	for _, today := range []string{"2019-01-01", "2026-04-01"} {
		full, err1 := p.evaluate(context.Background(), rec, date(t, today), nil)
		min, err2 := p.evaluate(context.Background(), got, date(t, today), nil)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(full, min) {
			t.Errorf("on %s the minimized record evaluates differently:\n %+v %v\n %+v %v", today, full, err1, min, err2)
		}
	}
	all := compileYAML(t, "mapping:\n  title: 'custom.exists(k, k == \"x\") ? \"y\" : \"\"'\n")
	if m := all.Minimize(rec); len(m.Custom) != 3 {
		t.Errorf("custom read without a key: kept %v, want all three", m.Custom)
	}
}

func TestPolicyAccessors(t *testing.T) {
	p := compileYAML(t, "guard:\n  max_percent: 2.5\n  max_count: 20\nscim:\n  writable: [nickName]\nsync:\n  full_every: 6h\n")
	if p.guard != (GuardConfig{MaxPercent: 2.5, MaxCount: 20, MaxMembershipPercent: 10, MaxActivationPercent: 10, MaxLookups: 50}) || p.fullSyncEvery() != 6*time.Hour {
		t.Errorf("Guard = %+v, FullSyncEvery = %v", p.guard, p.fullSyncEvery())
	}
	w := p.Writable()
	w[0] = "active"
	if !p.isWritable("nickName") || p.isWritable("active") || p.isWritable("title") || !slices.Equal(p.Writable(), []string{"nickName"}) {
		t.Errorf("writable = %v", p.Writable())
	}
}

// TestEvaluateConcurrently lets the race detector check that a Policy is
// safe to share.
func TestEvaluateConcurrently(t *testing.T) {
	p := compileYAML(t, "mapping:\n  title: 'custom[?\"Job\"].orValue(position)'\ngroups:\n  rules:\n    - name: r\n      when: 'office == \"Berlin\"'\n")
	recs := syntheticRecords(t, 64)
	want := make([]outcome, len(recs))
	for i, r := range recs {
		var err error
		if want[i], err = p.evaluate(context.Background(), r, date(t, "2026-04-01"), nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i, r := range recs {
				got, err := p.evaluate(context.Background(), r, date(t, "2026-04-01"), nil)
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Errorf("record %d: %+v, %v", i, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// syntheticRecords makes varied, deterministic people.
func syntheticRecords(t testing.TB, n int) []personio.Record {
	firsts := []string{"Jürgen", "Zoë", "Ørjan", "Łukasz", "Ana", "Mia"}
	lasts := []string{"Groß", "Çelik", "Müller", "Nowak", "Smith", "Öztürk"}
	depts := []string{"Engineering", "Sales", "Finance", "People"}
	offices := []string{"Berlin", "Munich", "Vienna"}
	recs := make([]personio.Record, n)
	for i := range recs {
		first, last := firsts[i%len(firsts)], lasts[i/len(firsts)%len(lasts)]
		r := personio.Record{
			ID: fmt.Sprint(1000 + i), FirstName: first, LastName: last,
			Email: fmt.Sprintf("%s.%s%d@example.com", login(first), login(last), i), Status: "active",
			HireDate: date(t, "2020-01-01").AddDays(i % 2500), Position: "Engineer",
			Department: depts[i%len(depts)], Office: offices[i%len(offices)], Team: fmt.Sprintf("Team %d", i%20),
			LegalEntity: "Example GmbH", CostCenters: []string{fmt.Sprintf("CC-%d", i%7)},
			SupervisorID: "1000", EmploymentType: "internal",
			Custom: map[string]personio.CustomAttribute{"dynamic_1": {Label: "Job", Value: "Dev"}},
		}
		if i%10 == 0 {
			r.LastWorkingDay = date(t, "2026-03-20")
		}
		recs[i] = r
	}
	return recs
}

// BenchmarkEvaluate measures one person through scope, lifecycle, mapping
// and groups; the engine maps 100,000 people per full sync.
func BenchmarkEvaluate(b *testing.B) {
	example, err := LoadConfig(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	example.Scope = Expr{Text: "true"} // let every synthetic person through
	for name, cfg := range map[string]Config{"defaults": DefaultConfig(), "example": example} {
		p, err := Compile(cfg)
		if err != nil {
			b.Fatal(err)
		}
		recs := syntheticRecords(b, 1000)
		today := date(b, "2026-04-01")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.evaluate(context.Background(), recs[i%len(recs)], today, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestLeaverWhoseRecordNoLongerMaps checks that a mapping error leaves the
// engine what it needs to deactivate the identity anyway.
func TestLeaverWhoseRecordNoLongerMaps(t *testing.T) {
	rec := employee(t)
	rec.Email, rec.Status = "", "inactive"
	out, err := compileYAML(t, "").evaluate(context.Background(), rec, date(t, "2026-04-01"), &store.Lifecycle{State: store.StateActive})
	if !errors.Is(err, errEmptyUserName) {
		t.Fatalf("error %v, want ErrEmptyUserName", err)
	}
	want := store.Lifecycle{State: store.StateLeaver, HireDate: "2020-02-01", InactiveSince: "2026-04-01", RemoveAfter: "2026-04-30", Rule: RuleStatusInactive}
	if !out.InScope || !out.Present || out.Lifecycle != want || out.Attributes != (store.Attributes{}) || out.Groups != nil {
		t.Errorf("outcome %+v, want scope, presence and the leaver lifecycle without attributes or groups", out)
	}
}
