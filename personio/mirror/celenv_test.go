package mirror

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"

	"github.com/personio-scim/personio-scim/personio"
)

func TestTranslit(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Jürgen Groß", "Juergen Gross"},
		{"Äöü ÄÖÜ ẞ", "Aeoeue AeOeUe SS"},
		{"Zoë", "Zoe"},
		{"Ørjan Sæther", "Orjan Saether"},
		{"Łukasz Żółć", "Lukasz Zolc"},
		{"Çelik Şahin Ğ", "Celik Sahin G"},
		{"François Lefèvre", "Francois Lefevre"},
		{"Ángel Muñoz", "Angel Munoz"},
		{"Þór Ðórðarson", "Thor Dordarson"},
		{"Œuvre Ĳssel", "Oeuvre IJssel"},
		{"Ștefan Țiriac", "Stefan Tiriac"},
		{"Dmitri Дмитрий", "Dmitri Dmitrii"},
		{"Юрий Гагарин", "Iurii Gagarin"},
		{"Щукин Ольга Їжак", "Shchukin Olga Izhak"},
		{"Подъём", "Podieem"}, // ъ is ie, ё is e,
		{"山田 太郎", "山田 太郎"},    // other scripts are left alone
		{"محمد علي", "محمد علي"},
		{"Ju\u0308rgen", "Juergen"}, // decomposed ü, as macOS input sends it
		{"Jose\u0301", "Jose"},      // decomposed é
		{"O'Brien-Smith", "O'Brien-Smith"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := translit(tt.in); got != tt.want {
			t.Errorf("Translit(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLogin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Jürgen Groß", "juergen.gross"},
		{"Zoë Ørjan", "zoe.orjan"},
		{"Łukasz Çelik", "lukasz.celik"},
		{"Anna-Lena  Müller", "anna-lena.mueller"},
		{"O'Brien", "obrien"},
		{" .Jean-  Pierre. ", "jean-pierre"},
		{"van der Berg", "van.der.berg"},
		{"Дмитрий Ivanov", "dmitrii.ivanov"},
		{"山田", ""}, // other scripts are dropped
		{"محمد علي", ""},
		{"ann_marie.2", "ann_marie.2"},
		{"A..B--C", "a.b-c"},
	}
	for _, tt := range tests {
		if got := login(tt.in); got != tt.want {
			t.Errorf("Login(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		date, layout, want string
		wantErr            bool
	}{
		{"2026-03-31", "DD.MM.YYYY", "31.03.2026", false},
		{"2026-03-01", "YYYYMMDD", "20260301", false},
		{"2026-03-01", "MM/DD", "03/01", false},
		{"", "DD.MM.YYYY", "", false},
		{"31.03.2026", "YYYY", "", true},
		{"2026-02-30", "YYYY", "", true},
	}
	for _, tt := range tests {
		got, err := formatDate(tt.date, tt.layout)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("FormatDate(%q, %q) = %q, %v; want %q, error %v", tt.date, tt.layout, got, err, tt.want, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), tt.date) {
			t.Errorf("FormatDate error %q repeats the value", err)
		}
	}
}

// evalOn compiles a string expression and evaluates it on rec.
func evalOn(t *testing.T, expr string, rec personio.Record) (string, error) {
	t.Helper()
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	prg, _, err := compileExpr(env, expr, cel.StringType)
	if err != nil {
		t.Fatalf("compile %q: %v", expr, err)
	}
	return evalString(context.Background(), prg, newRecordActivation(&rec))
}

func TestHelperFunctions(t *testing.T) {
	rec := personio.Record{
		ID: "7", FirstName: "Jürgen", LastName: "Groß", PreferredName: "", Email: " Juergen.Gross@Example.COM ",
		HireDate: personio.Date{Year: 2026, Month: 4, Day: 1}, CostCenters: []string{"CC-1", "CC-2"},
		Custom: map[string]personio.CustomAttribute{
			"dynamic_1": {Label: "GitHub handle", Value: "jgross"},
			"dynamic_2": {Label: "Shirt", Value: "L"},
			"dynamic_3": {Label: "Shirt", Value: "M"}, // same label: the smaller key wins
		},
	}
	tests := []struct{ expr, want string }{
		{`lower(trim(email))`, "juergen.gross@example.com"},
		{`upper(last_name)`, "GROß"}, // Go's simple case mapping: ß has no one-letter capital
		{`trim("  a b  ")`, "a b"},
		{`translit(first_name + " " + last_name)`, "Juergen Gross"},
		{`login(first_name + " " + last_name)`, "juergen.gross"},
		{`login(first_name) + "." + login(last_name)`, "juergen.gross"},
		{`join(cost_centers, ", ")`, "CC-1, CC-2"},
		{`join([], ", ")`, ""},
		{`first(cost_centers)`, "CC-1"},
		{`first([])`, ""},
		{`default(preferred_name, first_name)`, "Jürgen"},
		{`default("  ", "x")`, "x"},
		{`default("Jay", first_name)`, "Jay"},
		{`format_date(hire_date, "DD.MM.YYYY")`, "01.04.2026"},
		{`format_date(termination_date, "DD.MM.YYYY")`, ""},
		{`hire_date`, "2026-04-01"},
		{`last_working_day`, ""},
		{`lower(trim(email)).split("@")[0]`, "juergen.gross"},
		{`custom["GitHub handle"]`, "jgross"},
		{`custom.dynamic_1`, "jgross"},
		{`custom["Shirt"]`, "L"},
		{`custom[?"missing"].orValue("none")`, "none"},
		{`"dynamic_2" in custom ? "yes" : "no"`, "yes"},
	}
	for _, tt := range tests {
		got, err := evalOn(t, tt.expr, rec)
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.expr, got, err, tt.want)
		}
	}
}

func TestHelperRuntimeErrors(t *testing.T) {
	rec := personio.Record{ID: "7"}
	for _, expr := range []string{
		`cost_centers[0]`,                   // no cost centers
		`custom["GitHub handle"]`,           // no such attribute
		`format_date("2026-13-01", "YYYY")`, // not a date
		`lower(dyn(1))`,                     // a helper meets a value of the wrong type
		`first(dyn([1]))`,
	} {
		if got, err := evalOn(t, expr, rec); err == nil {
			t.Errorf("%s = %q, want an error", expr, got)
		}
	}
}

func TestCompileExprErrors(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want string
	}{
		{``, "1:1: the expression is empty"},
		{`lower(emial)`, "1:7: undeclared reference to 'emial'"},
		{`first_name +`, "1:13: Syntax error"},
		{`hire_date > 3`, "1:11: found no matching overload for '_>_'"},
		{`first_name == "a"`, "1:1: the expression yields bool, want string"},
		{"first_name +\n  nope", "2:3: undeclared reference to 'nope'"},
	}
	for _, tt := range tests {
		_, _, err := compileExpr(env, tt.expr, cel.StringType)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compile %q: error %v, want it to contain %q", tt.expr, err, tt.want)
		}
	}
}

func TestFieldRefs(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr       string
		fields     []string
		customKeys []string
		allCustom  bool
	}{
		{`"first_name"`, nil, nil, false}, // a string is not a reference
		{`first_name + " " + last_name`, []string{"first_name", "last_name"}, nil, false},
		{`cost_centers.exists(c, c == "x") ? "" : ""`, []string{"cost_centers"}, nil, false},
		{`custom["GitHub handle"]`, []string{"custom"}, []string{"GitHub handle"}, false},
		{`custom.dynamic_7 + custom[?"dynamic_8"].orValue("")`, []string{"custom"}, []string{"dynamic_7", "dynamic_8"}, false},
		{`has(custom.dynamic_9) ? "" : ""`, []string{"custom"}, []string{"dynamic_9"}, false},
		{`"dynamic_4" in custom ? "" : ""`, []string{"custom"}, []string{"dynamic_4"}, false},
		{`custom[department]`, []string{"custom", "department"}, nil, true},
		{`custom.exists(k, k == "x") ? "" : ""`, []string{"custom"}, nil, true},
	}
	for _, tt := range tests {
		prg, checked, err := compileExpr(env, tt.expr, cel.StringType)
		if err != nil || prg.prg == nil {
			t.Fatalf("compile %q: %v", tt.expr, err)
		}
		refs := newFieldRefs()
		refs.add(checked)
		if got := slices.Sorted(maps.Keys(refs.fields)); !slices.Equal(got, tt.fields) {
			t.Errorf("%s: fields %v, want %v", tt.expr, got, tt.fields)
		}
		if got := slices.Sorted(maps.Keys(refs.customKeys)); !slices.Equal(got, tt.customKeys) {
			t.Errorf("%s: custom keys %v, want %v", tt.expr, got, tt.customKeys)
		}
		if refs.allCustom != tt.allCustom {
			t.Errorf("%s: all custom %v, want %v", tt.expr, refs.allCustom, tt.allCustom)
		}
	}
}
