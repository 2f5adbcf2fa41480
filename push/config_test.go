package push_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

func parseTargets(t *testing.T, text string) ([]push.TargetConfig, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	return push.ParseTargets("c.yaml", doc.Content[0].Content[1], []string{"entra", "scim"})
}

func TestParseTargetsDefaultsAndValues(t *testing.T) {
	got, err := parseTargets(t, `targets:
  - name: okta
    type: scim
    scim: {base_url: "https://example.okta.com/scim/v2", token_env: OKTA_TOKEN}
  - name: entra-prod
    type: entra
    live: true
    scope: department == "Engineering"
    mapping: {upn: userName}
    reconcile_every: 6h
    rate_limit: {requests_per_second: 2.5, burst: 5}
    guard: {max_percent: 5, max_count: 20}
    quarantine_after: 3
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d targets", len(got))
	}
	okta, entra := got[0], got[1]
	if okta.Live || okta.ReconcileEvery != 24*time.Hour || okta.Guard.MaxPercent != 10 || okta.Guard.MaxCount != 0 ||
		okta.QuarantineAfter != 5 || okta.Section == nil || okta.Line != 2 {
		t.Errorf("defaults: %+v", okta)
	}
	if !entra.Live || entra.Scope != `department == "Engineering"` || entra.Mapping["upn"] != "userName" || entra.ReconcileEvery != 6*time.Hour ||
		entra.RateLimit != (push.RateLimit{Rate: 2.5, Burst: 5}) || entra.Guard != (push.Guard{MaxPercent: 5, MaxCount: 20}) || entra.QuarantineAfter != 3 || entra.Section != nil {
		t.Errorf("values: %+v", entra)
	}
}

func TestParseTargetsErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"not a list", "targets: {name: x}\n", []string{"c.yaml:1: targets: want a list"}},
		{"unknown key", "targets:\n  - name: a\n    type: scim\n    liev: true\n", []string{`c.yaml:4: targets[0]: unknown key "liev"`}},
		{"unknown type", "targets:\n  - name: a\n    type: okta\n", []string{`c.yaml:3: targets[0].type: unknown target type "okta" (known: entra, scim)`}},
		{"another type's section", "targets:\n  - name: a\n    type: scim\n    entra: {}\n", []string{"c.yaml:4: targets[0].entra: this section belongs to type entra"}},
		{"missing name and type", "targets:\n  - live: true\n", []string{"c.yaml:2: targets[0]: name is required", "c.yaml:2: targets[0]: type is required"}},
		{"duplicate name", "targets:\n  - {name: a, type: scim}\n  - {name: a, type: entra}\n", []string{`c.yaml:3: targets[1].name: "a" is already the name of targets[0]`}},
		{"bad name", "targets:\n  - {name: 'Okta Prod', type: scim}\n", []string{`targets[0].name: "Okta Prod": want lower-case`}},
		{"bad live", "targets:\n  - {name: a, type: scim, live: maybe}\n", []string{"targets[0].live: want true or false"}},
		{"bad reconcile", "targets:\n  - {name: a, type: scim, reconcile_every: 10s}\n", []string{"targets[0].reconcile_every: want a duration of at least 1m"}},
		{"bad guard", "targets:\n  - {name: a, type: scim, guard: {max_percent: 150, max_cnt: 1}}\n", []string{"targets[0].guard.max_percent: want a number from 0 to 100", `targets[0].guard: unknown key "max_cnt"`}},
		{"bad rate", "targets:\n  - {name: a, type: scim, rate_limit: {requests_per_second: 0}}\n", []string{"targets[0].rate_limit.requests_per_second: want a number above 0"}},
		{"mapping not a map", "targets:\n  - {name: a, type: scim, mapping: [a]}\n", []string{"targets[0].mapping: want target attribute: CEL expression pairs"}},
		{"section not a map", "targets:\n  - {name: a, type: scim, scim: yes}\n", []string{"targets[0].scim: want a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTargets(t, tc.yaml)
			if err == nil {
				t.Fatalf("no error, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseTargetsEmpty(t *testing.T) {
	for _, text := range []string{"targets:\n", "targets: []\n"} {
		got, err := parseTargets(t, text)
		if err != nil || len(got) != 0 {
			t.Errorf("%q: %v, %v", text, got, err)
		}
	}
}

func TestRulesScopeAndMapping(t *testing.T) {
	id := &store.Identity{ID: "i1", PersonioID: "7", Attributes: store.Attributes{UserName: "Ada@Example.com", Department: "Engineering", Active: true},
		Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2024-01-01"}}
	groups := []*store.Group{{DisplayName: "Compilers"}}
	tests := []struct {
		name    string
		scope   string
		mapping map[string]string
		in      bool
		mapped  map[string]string
	}{
		{"everyone by default", "", nil, true, nil},
		{"scope on an attribute", `department == "Engineering"`, nil, true, nil},
		{"scope excludes", `department == "Sales"`, nil, false, nil},
		{"scope on lifecycle and groups", `state == "active" && "Compilers" in groups && hireDate < "2025-01-01"`, nil, true, nil},
		{"mapping", "", map[string]string{"upn": `userName.lowerAscii()`, "ou": `"OU=" + department`}, true,
			map[string]string{"upn": "ada@example.com", "ou": "OU=Engineering"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := push.CompileRules(tc.scope, tc.mapping)
			if err != nil {
				t.Fatal(err)
			}
			in, mapped, err := r.Evaluate(id, groups)
			if err != nil || in != tc.in || len(mapped) != len(tc.mapped) {
				t.Fatalf("got %v %v %v, want %v %v", in, mapped, err, tc.in, tc.mapped)
			}
			for k, v := range tc.mapped {
				if mapped[k] != v {
					t.Errorf("mapped[%s] = %q, want %q", k, mapped[k], v)
				}
			}
		})
	}
}

func TestRulesCompileErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		scope   string
		mapping map[string]string
		want    string
	}{
		{`departmnt == "x"`, nil, "scope: "},
		{`userName`, nil, "scope: want a bool expression"},
		{"", map[string]string{"upn": "active"}, "mapping.upn: want a string expression"},
		{"", map[string]string{"ou": `"OU=" +`}, "mapping.ou: "},
	}
	for _, tc := range tests {
		_, err := push.CompileRules(tc.scope, tc.mapping)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("CompileRules(%q, %v) = %v, want an error starting %q", tc.scope, tc.mapping, err, tc.want)
		}
	}
}

func TestRulesCostLimitStopsRunawayExpressions(t *testing.T) {
	r, err := push.CompileRules(`groups.all(a, groups.all(b, groups.all(c, a + b + c != "")))`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var groups []*store.Group
	for range 200 {
		groups = append(groups, &store.Group{DisplayName: "g"})
	}
	if _, _, err := r.Evaluate(&store.Identity{}, groups); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Errorf("a runaway expression evaluated: %v", err)
	}
}
