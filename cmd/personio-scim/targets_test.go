package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
	"github.com/personio-scim/personio-scim/store/storetest"
)

// testTypes has one target type shaped like the real ones: a strict
// section with a URL and a secret variable, opening the engine's fake.
func testTypes() map[string]push.Factory {
	return map[string]push.Factory{"fake": func(_ context.Context, section *yaml.Node, env push.Env) (push.Target, error) {
		var cfg struct {
			BaseURL  string `yaml:"base_url"`
			TokenEnv string `yaml:"token_env"`
		}
		if section == nil {
			return nil, errors.New("the fake: section is required")
		}
		dec := yaml.NewDecoder(strings.NewReader(mustYAML(section)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("fake: %w", err)
		}
		if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("fake.base_url: want an https URL")
		}
		if env.Getenv(cfg.TokenEnv) == "" {
			return nil, fmt.Errorf("fake.token_env: the variable %s is not set", cfg.TokenEnv)
		}
		if env.HTTPClient == nil {
			return nil, errors.New("no HTTP client")
		}
		return fake.New(fake.Options{}), nil
	}}
}

func mustYAML(n *yaml.Node) string {
	b, err := yaml.Marshal(n)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const targetsConfig = `scope: 'true'
targets:
  - name: okta
    type: fake
    scope: department == "Engineering"
    fake:
      base_url: https://example.okta.com/scim/v2
      token_env: TEST_OKTA_TOKEN
groups:
  department: {enabled: true}
`

func TestConfigurationSplitsTargetsFromTheMirror(t *testing.T) {
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	e.ConfigFile = writeConfig(t, targetsConfig)
	cfg, err := loadConfiguration(e, typeNames(testTypes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.targets) != 1 || cfg.targets[0].Name != "okta" || cfg.targets[0].Line != 3 || cfg.policy == nil || len(cfg.rules) != 1 {
		t.Fatalf("configuration: %+v", cfg)
	}
	if cfg.mirror.Scope.Text != "true" {
		t.Errorf("the mirror lost its keys: %+v", cfg.mirror.Scope)
	}
}

func TestConfigurationErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown top-level key", "scope: 'true'\ntargetz: []\n", "config.yaml:2: unknown key targetz in the top level (known: mapping, scope, lifecycle, groups, guard, scim, sync, targets, notifications, writeback, audit)"},
		{"mirror error keeps its line", "lifecycle:\n  prehire_dayz: 3\n", "config.yaml:2: unknown key prehire_dayz in lifecycle"},
		{"target key", "targets:\n  - name: a\n    type: fake\n    lve: true\n", `config.yaml:4: targets[0]: unknown key "lve"`},
		{"unknown type", "targets:\n  - name: a\n    type: okta\n", `targets[0].type: unknown target type "okta" (known: fake)`},
		{"bad scope", "targets:\n  - name: a\n    type: fake\n    scope: departmnt == 1\n", "config.yaml:2: targets[0] (a): scope:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := loadEnv(func(string) string { return "" })
			e.ConfigFile = writeConfig(t, tc.text)
			_, err := loadConfiguration(e, typeNames(testTypes()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCheckConfigValidatesTargets(t *testing.T) {
	t.Setenv("CONFIG_FILE", writeConfig(t, targetsConfig))
	const secret = "s3cr3t-token-value"
	t.Setenv("TEST_OKTA_TOKEN", "")
	err := runCheckConfigWith(context.Background(), nil, io.Discard, io.Discard, testTypes())
	if err == nil || !strings.Contains(err.Error(), "TEST_OKTA_TOKEN is not set") || !strings.Contains(err.Error(), "target okta") {
		t.Fatalf("a missing secret variable: %v", err)
	}
	t.Setenv("TEST_OKTA_TOKEN", secret)
	var out bytes.Buffer
	if err := runCheckConfigWith(context.Background(), nil, &out, io.Discard, testTypes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "- name: okta") || !strings.Contains(out.String(), `scope: "department == \"Engineering\""`) {
		t.Errorf("check-config does not show the target:\n%s", out.String())
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("check-config printed the secret")
	}
	t.Setenv("CONFIG_FILE", writeConfig(t, strings.Replace(targetsConfig, "https://example.okta.com", "ftp://x", 1)))
	if err := runCheckConfigWith(context.Background(), nil, io.Discard, io.Discard, testTypes()); err == nil || !strings.Contains(err.Error(), "fake.base_url") {
		t.Errorf("a bad URL: %v", err)
	}
}

func TestPushCommand(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	st := pgtest.OpenURL(t, dbURL, postgres.Options{})
	if err := migrateUp(st, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	ids, groups := storetest.Synthetic(store.DefaultNamespace, 30)
	if _, err := st.Apply(context.Background(), storetest.CreateAll(ids, groups)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("CONFIG_FILE", writeConfig(t, strings.Replace(targetsConfig, "type: fake\n", "type: fake\n    live: true\n", 1)))
	t.Setenv("TEST_OKTA_TOKEN", "token")
	ctx := context.Background()
	var out bytes.Buffer
	if err := runPushWith(ctx, []string{"--target", "okta", "--dry-run", "--show", "2"}, &out, io.Discard, testTypes()); err != nil {
		t.Fatal(err)
	}
	// Synthetic people cycle through 8 departments: 4 of 30 are engineers,
	// and their department's group goes with them.
	if !strings.Contains(out.String(), "dry run for okta: 5 items would be sent") || !strings.Contains(out.String(), "nothing was sent") {
		t.Errorf("dry run printed:\n%s", out.String())
	}
	out.Reset()
	if err := runPushWith(ctx, []string{"--target", "okta"}, &out, io.Discard, testTypes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pushed to okta: 5 items sent, 5 done") {
		t.Errorf("push printed:\n%s", out.String())
	}
	out.Reset()
	if err := runPushWith(ctx, []string{"--target", "okta", "--person", ids[0].PersonioID}, &out, io.Discard, testTypes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pushed to okta: identity "+ids[0].ID+" → done") {
		t.Errorf("push --person printed:\n%s", out.String())
	}
	if err := runPushWith(ctx, []string{"--target", "nope"}, io.Discard, io.Discard, testTypes()); !errors.Is(err, errNoTarget) {
		t.Errorf("an unknown target: %v", err)
	}
	if err := runPushWith(ctx, nil, io.Discard, io.Discard, testTypes()); !errors.Is(err, errUsage) {
		t.Errorf("no --target: %v", err)
	}
}

func TestDemoPushesIntoTheSCIMSimulator(t *testing.T) {
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := startDemo(ctx, e, 25, 3, slog.New(slog.DiscardHandler), []string{"scim"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.svc.scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "test"}, false); err != nil {
		t.Fatal(err)
	}
	w, ok := d.svc.targets.Get(demoPushTarget)
	if !ok {
		t.Fatal("the demo has no push target")
	}
	for range 5 {
		if _, err := w.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	people := d.svc.dir.View().Identities()
	if got := d.scimSim.Users(); got != len(people) || got == 0 {
		t.Fatalf("the SCIM simulator holds %d users, the directory %d identities", got, len(people))
	}
	if d.scimSim.Groups() == 0 {
		t.Errorf("no group reached the SCIM simulator")
	}
	srv := httptest.NewServer(d.svc.handler)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/targets", nil)
	req.Header.Set("Authorization", "Bearer "+d.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			Name    string         `json:"name"`
			Live    bool           `json:"live"`
			LagRows int            `json:"lag_rows"`
			Counts  map[string]int `json:"counts"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != demoPushTarget || !list.Items[0].Live || list.Items[0].LagRows != 0 || list.Items[0].Counts["synced"] < len(people) {
		t.Errorf("/api/v1/targets = %+v", list.Items)
	}
	var welcome bytes.Buffer
	d.printWelcome(&welcome, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	if !strings.Contains(welcome.String(), "/api/v1/targets") {
		t.Errorf("the welcome does not show the push target:\n%s", welcome.String())
	}
	if !strings.Contains(welcome.String(), "/admin/local?token=") {
		t.Errorf("the welcome gives no console link:\n%s", welcome.String())
	}
}

// TestConfigurationNotifications reads the notifications section from the
// same file as everything else, and refuses its unknown keys with the
// section named.
func TestConfigurationNotifications(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("notifications:\n  channels:\n    - name: ops\n      type: console\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfiguration(env{ConfigFile: good}, typeNames(targetTypes()))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(c.notifications.Channels) != 1 || c.notifications.Channels[0].Name != "ops" {
		t.Fatalf("channels = %+v, want the one named ops", c.notifications.Channels)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("notifications:\n  chanels: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = loadConfiguration(env{ConfigFile: bad}, typeNames(targetTypes()))
	if err == nil || !strings.Contains(err.Error(), "notifications") || !strings.Contains(err.Error(), "chanels") {
		t.Fatalf("err = %v, want the section and the unknown key named", err)
	}
}

// TestDemoPushesIntoEntraAndGoogle: `demo --push entra google` provisions
// the simulated company into both simulators through the real targets.
func TestDemoPushesIntoEntraAndGoogle(t *testing.T) {
	var kinds demoPushKinds
	if err := kinds.Set("true"); err != nil {
		t.Fatal(err)
	}
	if err := kinds.addArgs([]string{"entra", "google"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds.kinds, []string{"entra", "google"}) {
		t.Fatalf("--push entra google = %v", kinds.kinds)
	}
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := startDemo(ctx, e, 12, 3, slog.New(slog.DiscardHandler), kinds.kinds)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if _, err := d.svc.scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "test"}, false); err != nil {
		t.Fatal(err)
	}
	people := len(d.svc.dir.View().Identities())
	for _, name := range []string{"entra-simulator", "google-simulator"} {
		w, ok := d.svc.targets.Get(name)
		if !ok {
			t.Fatalf("the demo has no target %s", name)
		}
		for range 5 {
			if _, err := w.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.entraSim.Settle()
	if got := d.entraSim.Users(); got != people || got == 0 {
		t.Errorf("the Entra simulator holds %d users, the directory %d identities", got, people)
	}
	if got := d.googleSim.UserCount(); got != people || got == 0 {
		w, _ := d.svc.targets.Get("google-simulator")
		st, _ := w.Status(ctx)
		recs, _ := w.Records(ctx, store.PushQuery{Limit: 2})
		for _, r := range recs {
			t.Logf("record %s %s %s", r.Status, r.LastError, r.Detail)
		}
		t.Errorf("the Google simulator holds %d users, the directory %d identities; target %+v", got, people, st)
	}
}

// TestConfigurationWriteback reads the writeback section with the rest of
// the file, and makes the mirror keep the fields it writes: write-back
// compares with Personio's own value before writing.
func TestConfigurationWriteback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("writeback:\n  - field: dynamic_1002\n    from: userName\n    when: created\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfiguration(env{ConfigFile: path}, typeNames(targetTypes()))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(c.writeback.Rules) != 1 || c.writeback.Rules[0].Field != "dynamic_1002" {
		t.Fatalf("write-back rules = %+v", c.writeback.Rules)
	}
	if !slices.Contains(c.policy.SourceFields(), "dynamic_1002") {
		t.Errorf("the policy does not read the written field: %v", c.policy.SourceFields())
	}
}
