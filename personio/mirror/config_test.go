package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/store"
)

func TestParseConfigExample(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"userName expr", cfg.Mapping[store.AttrUserName].Expr.Text, `unique([default(login(first_name + " " + last_name), "person" + id), login(first_name.substring(0, 1) + " " + last_name)]) + "@example.com"`},
		{"userName on_create_only", cfg.Mapping[store.AttrUserName].OnCreateOnly, true},
		{"displayName", cfg.Mapping[store.AttrDisplayName].Expr.Text, `default(preferred_name, first_name) + " " + last_name`},
		{"title unmapped", hasKey(cfg.Mapping, store.AttrTitle), false},
		{"default kept", cfg.Mapping[store.AttrGivenName].Expr.Text, "first_name"},
		{"preferredLanguage added", cfg.Mapping[store.AttrPreferredLanguage].Expr.Text, `custom[?"Language"].orValue("de")`},
		{"active", cfg.Mapping[store.AttrActive].Expr.Text, `status != "leave"`},
		{"scope", cfg.Scope.Text, `employment_type == "internal" && email.endsWith("@example.com")`},
		{"timezone", cfg.Lifecycle.Timezone, "Europe/Vienna"},
		{"prehire_days", cfg.Lifecycle.PrehireDays, 7},
		{"activate_days", cfg.Lifecycle.ActivateDays, 1},
		{"retention_days", cfg.Lifecycle.RetentionDays, 60},
		{"include_prehire", cfg.Groups.IncludePrehire, false},
		{"department", cfg.Groups.Department, GroupKindConfig{Enabled: true, DisplayName: "Dept {value}"}},
		{"office untouched", cfg.Groups.Office, GroupKindConfig{Enabled: true, DisplayName: "{value}"}},
		{"team off", cfg.Groups.Team, GroupKindConfig{Enabled: false, DisplayName: "{value}"}},
		{"cost_center on", cfg.Groups.CostCenter, GroupKindConfig{Enabled: true, DisplayName: "CC {value}"}},
		{"rules", len(cfg.Groups.Rules), 2},
		{"rule name", cfg.Groups.Rules[0].Name, "berlin-engineering"},
		{"rule display name", cfg.Groups.Rules[0].DisplayName, "Berlin Engineering"},
		{"rule description", cfg.Groups.Rules[0].Description, "Engineers in the Berlin office"},
		{"rule when", cfg.Groups.Rules[1].When.Text, `position.contains("Head of") || position.contains("Lead")`},
		{"guard", cfg.Guard, GuardConfig{MaxPercent: 5, MaxCount: 50, MaxMembershipPercent: 10, MaxActivationPercent: 10, MaxLookups: 50}},
		{"writable", strings.Join(cfg.SCIM.Writable, ","), "phoneNumbers.work,nickName"},
		{"full_every", cfg.Sync.FullEvery, 12 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := Compile(cfg); err != nil {
		t.Errorf("Compile(example) = %v", err)
	}
}

func hasKey(m Mapping, k string) bool { _, ok := m[k]; return ok }

func TestParseConfigDefaults(t *testing.T) {
	want := mustYAML(t, DefaultConfig())
	for _, in := range []string{"", "# nothing\n", "mapping:\nlifecycle:\ngroups:\nscope:\n", "{}"} {
		cfg, err := ParseConfig("config.yaml", []byte(in))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", in, err)
		}
		if got := mustYAML(t, cfg); got != want {
			t.Errorf("ParseConfig(%q) =\n%s\nwant the defaults\n%s", in, got, want)
		}
	}
	cfg, err := LoadConfig("")
	if err != nil || mustYAML(t, cfg) != want {
		t.Errorf("LoadConfig(\"\") = %v, want the defaults", err)
	}
}

func TestDefaultConfigValues(t *testing.T) {
	cfg := DefaultConfig()
	wantMapping := map[string]string{
		"userName": "lower(email)", "externalId": "id", "employeeNumber": "id",
		"name.givenName": "first_name", "name.familyName": "last_name", "nickName": "preferred_name",
		"displayName": `trim(default(preferred_name, first_name) + " " + last_name)`,
		"emails.work": "lower(email)", "title": "position", "department": "department",
		"organization": "legal_entity", "costCenter": "first(cost_centers)", "division": "team",
		"userType": "employment_type", "manager": "supervisor_id", "active": "true",
	}
	if len(cfg.Mapping) != len(wantMapping) {
		t.Errorf("default mapping has %d attributes, want %d", len(cfg.Mapping), len(wantMapping))
	}
	for attr, expr := range wantMapping {
		rule := cfg.Mapping[attr]
		if rule.Expr.Text != expr || rule.OnCreateOnly != (attr == "userName") {
			t.Errorf("default %s = %+v, want %q, on_create_only %v", attr, rule, expr, attr == "userName")
		}
	}
	if cfg.Scope.Text != "true" || cfg.Lifecycle != (LifecycleConfig{"Europe/Berlin", 14, 0, 30}) ||
		cfg.Guard != (GuardConfig{MaxPercent: 10, MaxMembershipPercent: 10, MaxActivationPercent: 10, MaxLookups: 50}) || cfg.Sync.FullEvery != 24*time.Hour || len(cfg.SCIM.Writable) != 0 {
		t.Errorf("defaults differ from design section 4: %+v", cfg)
	}
	g := cfg.Groups
	if !g.IncludePrehire || !g.Department.Enabled || !g.Office.Enabled || !g.Team.Enabled || g.LegalEntity.Enabled || g.CostCenter.Enabled {
		t.Errorf("default group kinds = %+v", g)
	}
}

func mustYAML(t *testing.T, cfg Config) string {
	t.Helper()
	b, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseConfigShortAndLongForm(t *testing.T) {
	tests := []struct {
		in           string
		attr         string
		expr         string
		onCreateOnly bool
	}{
		{"mapping:\n  displayName: 'first_name + \" \" + last_name'\n", "displayName", `first_name + " " + last_name`, false},
		{"mapping:\n  userName: lower(email)\n", "userName", "lower(email)", true}, // the short form keeps userName's default
		{"mapping:\n  userName: {expr: 'lower(email)', on_create_only: false}\n", "userName", "lower(email)", false},
		{"mapping:\n  title: {expr: position, on_create_only: true}\n", "title", "position", true},
		{"mapping:\n  title: {expr: position}\n", "title", "position", false},
		{"mapping:\n  active: true\n", "active", "true", false},
		{"mapping:\n  locale: &l '\"de-DE\"'\n  preferredLanguage: *l\n", "preferredLanguage", `"de-DE"`, false},
		{"mapping:\n  locale: &l '\"de-DE\"'\n  title: {expr: *l}\n", "title", `"de-DE"`, false},
	}
	for _, tt := range tests {
		cfg, err := ParseConfig("c.yaml", []byte(tt.in))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", tt.in, err)
		}
		rule := cfg.Mapping[tt.attr]
		if rule.Expr.Text != tt.expr || rule.OnCreateOnly != tt.onCreateOnly {
			t.Errorf("%q: %s = %+v, want %q on_create_only %v", tt.in, tt.attr, rule, tt.expr, tt.onCreateOnly)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // each must appear in the error
	}{
		{"not YAML", "mapping: [\n", []string{"c.yaml:"}},
		{"unknown top-level key", "scope: 'true'\nmappings:\n  title: position\n", []string{"c.yaml:2: unknown key mappings in the top level"}},
		{"unknown lifecycle key", "lifecycle:\n  prehire_dayz: 3\n", []string{"c.yaml:2: unknown key prehire_dayz in lifecycle"}},
		{"unknown group kind key", "groups:\n  office:\n    enable: true\n", []string{"c.yaml:3: unknown key enable in a group kind"}},
		{"unknown rule key", "groups:\n  rules:\n    - name: x\n      if: 'true'\n", []string{"c.yaml:4: unknown key if in a rule group"}},
		{"unknown attribute", "mapping:\n  title: position\n  titel: position\n", []string{`c.yaml:3: mapping: unknown attribute "titel"`}},
		{"attribute twice", "mapping:\n  title: position\n  title: team\n", []string{"c.yaml:3: mapping: title is already mapped on line 2"}},
		{"unknown long-form key", "mapping:\n  title: {expr: position, once: true}\n", []string{`c.yaml:2: mapping.title: unknown key "once"`}},
		{"long form without expr", "mapping:\n  title: {on_create_only: true}\n", []string{"c.yaml:2: mapping.title: expr is missing"}},
		{"on_create_only not a bool", "mapping:\n  title: {expr: position, on_create_only: sometimes}\n", []string{"c.yaml:2: mapping.title.on_create_only: want true or false"}},
		{"expression is a list", "mapping:\n  title: [position]\n", []string{"c.yaml:2: mapping.title: want an expression"}},
		{"mapping is a list", "mapping: [title]\n", []string{"c.yaml:1: mapping: want attribute: expression entries"}},
		{"scope is a map", "scope: {a: b}\n", []string{"c.yaml:1: want a CEL expression as a string"}},
		{"wrong type", "lifecycle:\n  prehire_days: soon\n", []string{`c.yaml:2: lifecycle.prehire_days: want a whole number (for example 30), got "soon"`}},
		{"negative prehire", "lifecycle:\n  prehire_days: -1\n", []string{"c.yaml:2: lifecycle.prehire_days: must be between 0 and 3650 days, got -1"}},
		{"negative activate", "lifecycle:\n  activate_days: -2\n", []string{"c.yaml:2: lifecycle.activate_days: must be between 0"}},
		{"negative retention", "lifecycle:\n  retention_days: -30\n", []string{"c.yaml:2: lifecycle.retention_days: must be between 0"}},
		{"huge retention", "lifecycle:\n  retention_days: 100000\n", []string{"lifecycle.retention_days: must be between 0 and 3650 days"}},
		{"unknown zone", "lifecycle:\n  timezone: Europe/Berlyn\n", []string{`c.yaml:2: lifecycle.timezone: unknown time zone "Europe/Berlyn"`}},
		{"host zone", "lifecycle:\n  timezone: Local\n", []string{"c.yaml:2: lifecycle.timezone: must name an IANA time zone"}},
		{"several at once", "lifecycle:\n  prehire_days: -1\n  retention_days: -1\n", []string{"c.yaml:2: lifecycle.prehire_days", "c.yaml:3: lifecycle.retention_days"}},
		{"template without value", "groups:\n  office:\n    display_name: Office\n", []string{"c.yaml:3: groups.office.display_name: must contain {value}"}},
		{"rule without name", "groups:\n  rules:\n    - when: 'true'\n", []string{"c.yaml: groups.rules[0].name: name is missing"}},
		{"rule name with spaces around", "groups:\n  rules:\n    - name: ' x'\n      when: 'true'\n", []string{"c.yaml:3: groups.rules[0].name: name must not start or end with spaces"}},
		{"rule twice", "groups:\n  rules:\n    - name: x\n      when: 'true'\n    - name: x\n      when: 'false'\n", []string{`c.yaml:5: groups.rules[1].name: rule group "x" is defined twice`}},
		{"rule without when", "groups:\n  rules:\n    - name: x\n", []string{"c.yaml:3: groups.rules[0]: when is missing"}},
		{"max_percent zero", "guard:\n  max_percent: 0\n", []string{"c.yaml:2: guard.max_percent: must be more than 0 and at most 100"}},
		{"max_percent over 100", "guard:\n  max_percent: 150\n", []string{"guard.max_percent"}},
		{"negative max_count", "guard:\n  max_count: -1\n", []string{"c.yaml:2: guard.max_count: must not be negative"}},
		{"unknown writable", "scim:\n  writable: [nickName, nickname]\n", []string{`c.yaml:2: scim.writable[1]: unknown attribute "nickname"`}},
		{"writable active", "scim:\n  writable:\n    - active\n", []string{"c.yaml:3: scim.writable[0]: active cannot be writable"}},
		{"writable twice", "scim:\n  writable: [title, title]\n", []string{"scim.writable[1]: title is listed twice"}},
		{"negative full_every", "sync:\n  full_every: -1h\n", []string{"c.yaml:2: sync.full_every: must not be negative"}},
		{"full_every not a duration", "sync:\n  full_every: daily\n", []string{`c.yaml:2: sync.full_every: want a duration such as 24h`}},
		{"two documents", "scope: 'true'\n---\nscope: 'false'\n", []string{"c.yaml: want one YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("ParseConfig(%q) succeeded, want an error", tt.in)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"undeclared variable", "mapping:\n  userName: lower(emial)\n", []string{"c.yaml:2: mapping.userName: 1:7: undeclared reference to 'emial'"}},
		{"string for a bool", "mapping:\n  title: position\n  active: first_name\n", []string{"c.yaml:3: mapping.active: 1:1: the expression yields string, want bool"}},
		{"bool for a string", "mapping:\n  title: 'position == \"x\"'\n", []string{"c.yaml:2: mapping.title: 1:1: the expression yields bool, want string"}},
		{"syntax", "mapping:\n  title: '(position'\n", []string{"c.yaml:2: mapping.title: 1:10: Syntax error"}},
		{"empty expression", "mapping:\n  title: ''\n", []string{"c.yaml:2: mapping.title: 1:1: the expression is empty"}},
		{"scope not bool", "scope: department\n", []string{"c.yaml:1: scope: 1:1: the expression yields string, want bool"}},
		{"scope on the second line", "scope: |\n  true &&\n    nope\n", []string{"c.yaml:1: scope: 2:3: undeclared reference to 'nope'"}},
		{"rule when", "groups:\n  rules:\n    - name: x\n      when: 'departement == \"x\"'\n", []string{"c.yaml:4: groups.rules[0].when: 1:1: undeclared reference to 'departement'"}},
		{"userName unmapped", "mapping:\n  userName:\n", []string{"c.yaml: mapping.userName: must be mapped"}},
		{"all at once", "scope: x\nmapping:\n  title: y\n", []string{"c.yaml:1: scope:", "c.yaml:3: mapping.title:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("c.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			_, err = Compile(cfg)
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}

func TestCompileChecksConfigBuiltInGo(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lifecycle.RetentionDays = -1
	cfg.Guard.MaxPercent = 0
	_, err := Compile(cfg)
	if err == nil || !strings.Contains(err.Error(), "lifecycle.retention_days") || !strings.Contains(err.Error(), "guard.max_percent") {
		t.Errorf("Compile = %v, want errors for retention_days and max_percent", err)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read configuration") {
		t.Errorf("LoadConfig(missing) = %v", err)
	}
}

// TestConfigYAMLRoundTrip checks that check-config's output reads back as
// the same configuration.
func TestConfigYAMLRoundTrip(t *testing.T) {
	example, err := LoadConfig(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	notOnCreate := DefaultConfig()
	notOnCreate.Mapping[store.AttrUserName] = MappingRule{Expr: Expr{Text: "lower(email)"}}
	for name, cfg := range map[string]Config{"defaults": DefaultConfig(), "example": example, "userName not on_create_only": notOnCreate} {
		first := mustYAML(t, cfg)
		back, err := ParseConfig("out.yaml", []byte(first))
		if err != nil {
			t.Fatalf("%s: reading back\n%s\n%v", name, first, err)
		}
		if again := mustYAML(t, back); again != first {
			t.Errorf("%s: round trip changed\n%s\ninto\n%s", name, first, again)
		}
		if withoutLine(back.Mapping[store.AttrUserName]) != withoutLine(cfg.Mapping[store.AttrUserName]) {
			t.Errorf("%s: userName %+v came back as %+v", name, cfg.Mapping[store.AttrUserName], back.Mapping[store.AttrUserName])
		}
	}
}

func withoutLine(r MappingRule) MappingRule {
	r.Expr.line = 0
	return r
}

func TestConfigYAMLDurations(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "full_every: 24h\n"},
		{90 * time.Minute, "full_every: 1h30m\n"},
		{0, "full_every: 0s\n"},
		{45 * time.Second, "full_every: 45s\n"},
		{time.Hour + time.Second, "full_every: 1h0m1s\n"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Sync.FullEvery = tt.d
		if got := mustYAML(t, cfg); !strings.Contains(got, tt.want) {
			t.Errorf("%v renders as\n%s\nwant %q", tt.d, got, tt.want)
		}
	}
}

// TestDocsCoverEveryKey keeps docs/configuration.md from drifting: every
// key the effective configuration can print must be documented.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Groups.Rules = []RuleGroup{{Name: "n", DisplayName: "d", Description: "d", When: Expr{Text: "true"}}}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(mustYAML(t, cfg)), &root); err != nil {
		t.Fatal(err)
	}
	var paths []string
	collectKeyPaths(documentContent(&root), "", &paths)
	if len(paths) < 40 {
		t.Fatalf("found only %d keys: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", p)
		}
	}
	for _, attr := range store.AttributeNames() {
		if !strings.Contains(string(doc), "`"+attr+"`") && !strings.Contains(string(doc), "`mapping."+attr+"`") {
			t.Errorf("docs/configuration.md does not list the attribute `%s`", attr)
		}
	}
	for _, v := range recordFieldNames() {
		if !strings.Contains(string(doc), "`"+v+"`") {
			t.Errorf("docs/configuration.md does not list the CEL variable `%s`", v)
		}
	}
	for _, f := range []string{"lower", "upper", "trim", "translit", "login", "join", "first", "default", "format_date"} {
		if !strings.Contains(string(doc), "`"+f+"(") {
			t.Errorf("docs/configuration.md does not list the CEL function `%s`", f)
		}
	}
	if !strings.Contains(string(doc), "```yaml\n"+mustYAML(t, DefaultConfig())+"```") {
		t.Error("docs/configuration.md does not show DefaultConfig().YAML() verbatim")
	}
	example, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, exampleBody, _ := strings.Cut(string(example), "\n") // without the file's first comment line
	if !strings.Contains(string(doc), "```yaml\n"+exampleBody+"```") {
		t.Error("docs/configuration.md does not show testdata/example.yaml verbatim")
	}
	for _, rule := range []string{RuleBeforePrehireWindow, RulePrehireWindow, RuleHireDate, RuleEmployed, RuleStatusInactive, RuleEndDate, RuleVanished, RuleOutOfScope, RuleRetention} {
		if !strings.Contains(string(doc), "`"+rule+"`") {
			t.Errorf("docs/configuration.md does not explain the rule `%s`", rule)
		}
	}
}

// collectKeyPaths lists dotted key paths; list items become "[]", and the
// long form of a mapping entry is documented once as mapping.<attribute>.
func collectKeyPaths(n *yaml.Node, prefix string, out *[]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix == "mapping" && n.Content[i+1].Kind == yaml.MappingNode {
				*out = append(*out, "mapping."+key)
				collectKeyPaths(n.Content[i+1], "mapping.<attribute>", out)
				continue
			}
			path := key
			if prefix != "" {
				path = prefix + "." + key
			}
			*out = append(*out, path)
			collectKeyPaths(n.Content[i+1], path, out)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			collectKeyPaths(item, prefix+"[]", out)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(""))
	f.Add([]byte("mapping:\n  userName: {expr: 'lower(email)', on_create_only: true}\n"))
	f.Add([]byte("mapping:\n  title:\n  active: 'status != \"leave\"'\n"))
	f.Add([]byte("scope: |\n  true &&\n   custom.exists(k, k == \"x\")\n"))
	f.Add([]byte("lifecycle: {timezone: UTC, prehire_days: -1}\n"))
	f.Add([]byte("groups:\n  rules:\n    - name: x\n      when: 'custom[department] == \"y\"'\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("mapping: &m {title: position}\ngroups: *m\n"))
	f.Add([]byte("sync:\n  full_every: 1h\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := cfg.YAML(); err != nil {
			t.Errorf("YAML of a parsed configuration: %v", err)
		}
		_, _ = Compile(cfg) // must not panic; errors are fine
	})
}
