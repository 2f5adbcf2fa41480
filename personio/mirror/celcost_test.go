package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/personio-scim/personio-scim/personio"
)

// scenarioExpr is one expression of a configuration and the type its
// place wants.
type scenarioExpr struct {
	where, text string
	want        *cel.Type
}

// configExprs lists every expression of a configuration.
func configExprs(name string, cfg Config) []scenarioExpr {
	out := []scenarioExpr{{name + " scope", cfg.Scope.Text, cel.BoolType}}
	for attr, rule := range cfg.Mapping {
		want := cel.StringType
		if attr == "active" {
			want = cel.BoolType
		}
		out = append(out, scenarioExpr{name + " mapping." + attr, rule.Expr.Text, want})
	}
	for _, r := range cfg.Groups.Rules {
		out = append(out, scenarioExpr{name + " group " + r.Name, r.When.Text, cel.BoolType})
	}
	return out
}

func compileScenario(t *testing.T, env *cel.Env, e scenarioExpr) program {
	t.Helper()
	prg, _, err := compileExpr(env, e.text, e.want)
	if err != nil {
		t.Fatalf("%s: %v", e.where, err)
	}
	return prg
}

// largestRecord fills every field up to the size bounds, with the letter
// translit spells longest, so that the helpers' results are as large as
// they get.
func largestRecord() personio.Record {
	long := strings.Repeat("щ", maxFieldBytes/2) // two bytes each
	rec := personio.Record{ID: long, FirstName: long, LastName: long, PreferredName: long, Email: long, Status: long,
		HireDate: personio.Date{Year: 2020, Month: 1, Day: 1}, Position: long, Department: long, Office: long, Team: long,
		LegalEntity: long, SupervisorID: long, EmploymentType: long, Custom: map[string]personio.CustomAttribute{}}
	for range maxListItems {
		rec.CostCenters = append(rec.CostCenters, long)
	}
	for i := range maxCustomAttrs / 2 {
		key := fmt.Sprintf("dynamic_%d", i)
		rec.Custom[key] = personio.CustomAttribute{Label: key + "x", Value: long}
	}
	return rec
}

func scenarioExprs(t *testing.T) []scenarioExpr {
	t.Helper()
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exampleCfg, err := ParseConfig("example.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	helpersCfg, err := ParseConfig("helpers.yaml", []byte(`mapping:
  title: 'translit(upper(position)) + format_date(hire_date, "DD.MM.YYYY") + join(cost_centers, "/")'
  division: 'custom[?"Team lead"].orValue(trim(team))'
  nickName: 'unique([login(preferred_name), login(first_name)])'
scope: 'cost_centers.exists(c, c.startsWith("CC")) || status == "active"'
groups: {rules: [{name: many, when: 'cost_centers.all(c, c.size() < 100)'}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return slices.Concat(configExprs("default", DefaultConfig()), configExprs("example", exampleCfg), configExprs("helpers", helpersCfg))
}

// TestDefaultMappingSkipsTheTracker: the expressions most companies run
// are the ones the fast path exists for.
func TestDefaultMappingSkipsTheTracker(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range configExprs("default", DefaultConfig()) {
		if prg := compileScenario(t, env, e); prg.fast == nil || prg.loops {
			t.Errorf("%s: fast %v, loops %v; want a plain program", e.where, prg.fast != nil, prg.loops)
		}
	}
}

// TestStaticCostBoundHolds: for a record at the size bounds, what the
// runtime tracker charges stays within the limit for every expression the
// fast path takes; otherwise the fast path could let a rule run away.
func TestStaticCostBoundHolds(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	rec := largestRecord()
	if !fitsSizeBounds(&rec) {
		t.Fatal("the largest record does not fit the size bounds")
	}
	for _, e := range scenarioExprs(t) {
		if compileScenario(t, env, e).fast == nil {
			continue
		}
		checked, iss := env.Compile(e.text)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		tracked, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize, cel.OptTrackCost))
		if err != nil {
			t.Fatal(err)
		}
		for _, attempt := range []int{0, 1, 5} {
			act := newRecordActivation(&rec)
			act.attempt = attempt
			_, det, _ := tracked.Eval(act)
			if c := det.ActualCost(); c == nil || *c > costLimit {
				t.Errorf("%s: actual cost %v, want at most %d", e.where, c, costLimit)
			}
		}
	}
}

// TestFastAndGuardedPathsAgree: both forms of every scenario expression
// give the same value or the same error for every person.
func TestFastAndGuardedPathsAgree(t *testing.T) {
	recs := append(staff(4), employee(t), largestRecord(), personio.Record{ID: "empty"},
		personio.Record{ID: "9", FirstName: "Юрий", LastName: "Ødegård", Email: "y@example.com", Status: "leave",
			EmploymentType: "internal", CostCenters: []string{"CC-1", "X"}, Team: " Core ", Position: "Head of Sales",
			Custom: map[string]personio.CustomAttribute{"dynamic_1": {Label: "Language", Value: "en"}, "dynamic_2": {Label: "Team lead", Value: "Ann"}}})
	ctx := context.Background()
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	fast := 0
	for _, e := range scenarioExprs(t) {
		prg := compileScenario(t, env, e)
		if prg.fast == nil {
			continue
		}
		fast++
		guarded := prg
		guarded.fast = nil
		for i := range recs {
			for _, attempt := range []int{0, 1, 3} {
				a, b := newRecordActivation(&recs[i]), newRecordActivation(&recs[i])
				a.attempt, b.attempt = attempt, attempt
				v1, err1 := prg.eval(ctx, a)
				v2, err2 := guarded.eval(ctx, b)
				if fmt.Sprint(err1) != fmt.Sprint(err2) || (err1 == nil && v1.Equal(v2) != types.True) {
					t.Errorf("%s person %.20s attempt %d: fast %v, %v; guarded %v, %v", e.where, recs[i].ID, attempt, v1, err1, v2, err2)
				}
			}
		}
	}
	if fast < 10 {
		t.Fatalf("only %d expressions took the fast path", fast)
	}
}

// TestOversizedRecordKeepsTheCostLimit: an expression cheap for records
// within the bounds takes the fast path, and a record past them still
// fails it with the cost limit's error.
func TestOversizedRecordKeepsTheCostLimit(t *testing.T) {
	concat := "first_name"
	for range 4 {
		concat = "(" + concat + " + " + concat + ")"
	}
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	prg, _, err := compileExpr(env, "string("+concat+".size())", cel.StringType)
	if err != nil {
		t.Fatal(err)
	}
	if prg.fast == nil || prg.loops {
		t.Fatalf("fast %v, loops %v; want a plain program", prg.fast != nil, prg.loops)
	}
	small := personio.Record{FirstName: "Ann"}
	if got, err := evalString(context.Background(), prg, newRecordActivation(&small)); err != nil || got != "48" {
		t.Fatalf("small record: %q, %v", got, err)
	}
	huge := personio.Record{FirstName: strings.Repeat("a", 200_000)}
	_, err = evalString(context.Background(), prg, newRecordActivation(&huge))
	want := fmt.Sprintf("the expression exceeds the cost limit of %d", costLimit)
	if err == nil || err.Error() != want {
		t.Fatalf("huge record: %v, want %q", err, want)
	}
}

// TestCancelStopsAFastLoop: a loop cheap enough to skip the tracker still
// checks for cancellation.
func TestCancelStopsAFastLoop(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	prg, _, err := compileExpr(env, `cost_centers.all(a, cost_centers.exists(b, b == a + "x")) ? "y" : "n"`, cel.StringType)
	if err != nil {
		t.Fatal(err)
	}
	if prg.fast == nil || !prg.loops {
		// the nested loop is over the limit for 256 cost centers: try a flat one
		prg, _, err = compileExpr(env, `cost_centers.all(a, a != "") ? "y" : "n"`, cel.StringType)
		if err != nil || prg.fast == nil || !prg.loops {
			t.Fatalf("fast %v, loops %v, %v; want a fast loop", prg.fast != nil, prg.loops, err)
		}
	}
	rec := personio.Record{}
	for i := range maxListItems {
		rec.CostCenters = append(rec.CostCenters, fmt.Sprint("CC-", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = evalString(ctx, prg, newRecordActivation(&rec))
	if !errors.Is(err, context.Canceled) || !strings.HasSuffix(err.Error(), ": evaluation cancelled") {
		t.Fatalf("cancelled: %v", err)
	}
	if got, err := evalString(context.Background(), prg, newRecordActivation(&rec)); err != nil || got != "y" && got != "n" {
		t.Fatalf("not cancelled: %q, %v", got, err)
	}
}

// TestEveryTextFieldIsBounded: a text field past the bound sends the
// record down the tracked path, whichever field it is.
func TestEveryTextFieldIsBounded(t *testing.T) {
	for _, f := range personio.RecordFields() {
		if !f.Mapped || f.Kind != personio.KindText {
			continue
		}
		var rec personio.Record
		if err := f.Set(&rec, strings.Repeat("a", maxFieldBytes+1)); err != nil {
			t.Fatal(err)
		}
		if fitsSizeBounds(&rec) {
			t.Errorf("%s past the bound: the record still fits", f.Name)
		}
	}
}

// TestHelperExpansion: no helper makes more than helperExpansion
// characters of one, as the size estimate assumes.
func TestHelperExpansion(t *testing.T) {
	for r := rune(0); r <= 0x2FFFF; r++ {
		s := string(r)
		in := len([]rune(s))
		for name, f := range map[string]func(string) string{"translit": translit, "login": login, "lower": strings.ToLower, "upper": strings.ToUpper} {
			if out := len([]rune(f(s))); out > helperExpansion*in {
				t.Fatalf("%s(%U) has %d characters", name, r, out)
			}
		}
	}
}
