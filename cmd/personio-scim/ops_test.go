package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

func TestServeRefusesAnImplicitMemoryStore(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL="+memoryURL) || exitCode(err) != 1 {
		t.Fatalf("serve without DATABASE_URL: %v; want an error naming DATABASE_URL=memory:", err)
	}
}

// Every command answers -h with its usage and exit status 0, before it
// touches a database (the one set here refuses connections).
func TestHelpForEveryCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://user:pw@127.0.0.1:1/db?connect_timeout=1")
	commands := []string{"serve", "demo", "simulate", "sync", "migrate", "token", "erase", "push", "webhooks", "check-config", "healthcheck", "version", "help"}
	var list bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &list, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range commands {
		if !strings.Contains(list.String(), "\n  "+cmd+" ") {
			t.Errorf("help does not list %s", cmd)
		}
		for _, args := range [][]string{{cmd, "-h"}, {cmd, "--help"}} {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Errorf("%v: %v", args, err)
			}
			if stdout.Len()+stderr.Len() == 0 {
				t.Errorf("%v printed nothing", args)
			}
		}
	}
	for _, args := range [][]string{{"token", "create", "-h"}, {"migrate", "down", "-h"}, {"--help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err != nil || !strings.Contains(stdout.String()+stderr.String(), "Usage") {
			t.Errorf("%v: %v, printed %q", args, err, stdout.String()+stderr.String())
		}
	}
	if err := run(context.Background(), []string{"sync", "--no-such-flag"}, io.Discard, io.Discard); !errors.Is(err, errUsage) || exitCode(err) != 2 {
		t.Errorf("an unknown flag: %v, want usage and exit 2", err)
	}
}

func TestVersionNamesCommitAndGo(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "personio-scim "+version+" (commit ") || !strings.Contains(out.String(), runtime.Version()) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
	tests := []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, "unknown"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}, "abc123"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}, "abc123-dirty"},
	}
	for _, tt := range tests {
		if got := vcsRevision(tt.settings); got != tt.want {
			t.Errorf("vcsRevision(%v) = %q, want %q", tt.settings, got, tt.want)
		}
	}
}

func TestHealthcheckFollowsTheListenAddress(t *testing.T) {
	tests := []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:8080", "http://[::1]:8080/healthz"},
		{"[::1]:8081", "http://[::1]:8081/healthz"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/healthz"},
		{"localhost:7000", "http://localhost:7000/healthz"},
	}
	for _, tt := range tests {
		got, err := healthzURL(tt.addr)
		if err != nil || got != tt.want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
	if _, err := healthzURL("8080"); err == nil {
		t.Error("a listen address without a port was accepted")
	}
	// --listen reaches the check: nothing listens on port 1.
	err := run(context.Background(), []string{"healthcheck", "--listen", "[::1]:1"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "[::1]:1") {
		t.Errorf("healthcheck --listen [::1]:1: %v; want a failure naming that address", err)
	}
}

func TestMigrateDownConfirmation(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		terminal bool
		typed    string
		ok       bool
	}{
		{"--yes", []string{"--yes"}, false, "", true},
		{"no terminal, no --yes", nil, false, "yes\n", false},
		{"typed yes", nil, true, "yes\n", true},
		{"typed no", nil, true, "no\n", false},
		{"nothing typed", nil, true, "", false},
	}
	for _, tt := range tests {
		err := confirmDown(tt.args, strings.NewReader(tt.typed), tt.terminal, io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// A dry run changes nothing, the schema included: on a database that is
// behind it refuses instead of migrating.
func TestSyncDryRunDoesNotMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("MIGRATE_ON_START", "true")
	err := run(context.Background(), []string{"sync", "--dry-run"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("sync --dry-run on an empty schema: %v; want a refusal naming migrate up", err)
	}
	pg, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	m, err := pg.NewMigrator()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s, err := m.Status(); err != nil || s.Version != 0 {
		t.Fatalf("schema after the dry run: %+v, %v; want version 0", s, err)
	}
}

// The demo's audit example asks for what changed after its first import, so
// it shows the simulated company's news, not hundreds of first imports.
func TestDemoAuditExampleShowsNews(t *testing.T) {
	ctx := t.Context()
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDemo(ctx, e, 20, 3, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	var welcome bytes.Buffer
	d.printWelcome(&welcome, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	m := regexp.MustCompile(`/api/v1/audit\?since=([^&']+)&limit=20`).FindStringSubmatch(welcome.String())
	if m == nil {
		t.Fatalf("the welcome has no audit example with since:\n%s", welcome.String())
	}
	srv := httptest.NewServer(d.svc.handler)
	defer srv.Close()
	auditItems := func() int {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/audit?since="+m[1]+"&limit=20", nil)
		req.Header.Set("Authorization", "Bearer "+d.adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&page) != nil {
			t.Fatalf("the audit example answered %d", resp.StatusCode)
		}
		return len(page.Items)
	}
	if n := auditItems(); n != 0 {
		t.Fatalf("the audit example lists %d rows of the first import", n)
	}
	if _, err := d.hire(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.scheduler.RunNow(ctx, mirror.RunOptions{Trigger: "demo"}, false); err != nil {
		t.Fatal(err)
	}
	if n := auditItems(); n == 0 {
		t.Fatal("the audit example does not show the hire")
	}
}

// check-config names every problem in one run: the environment's, the
// file's unknown keys and wrong values, and a Personio base URL the client
// would refuse.
func TestCheckConfigReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("lifecycle:\n  prehire_dayz: 7\n  retention_days: 60\nguard:\n  max_pct: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SYNC_INTERVAL", "often")
	t.Setenv("PERSONIO_API_VERSION", "v3")
	err := run(context.Background(), []string{"check-config", "--config", bad}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("check-config accepted a broken environment and file")
	}
	for _, want := range []string{"SYNC_INTERVAL", "PERSONIO_API_VERSION", "prehire_dayz", "max_pct"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check-config: %v\nwant it to name %s", err, want)
		}
	}

	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("guard:\n  max_percent: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SYNC_INTERVAL", "")
	t.Setenv("PERSONIO_API_VERSION", "")
	t.Setenv("PERSONIO_CLIENT_ID", "id")
	t.Setenv("PERSONIO_CLIENT_SECRET", "secret")
	t.Setenv("PERSONIO_BASE_URL", "http://personio.example.com")
	err = run(context.Background(), []string{"check-config", "--config", good}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("check-config with a plain-http Personio URL: %v", err)
	}
	t.Setenv("PERSONIO_BASE_URL", "")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "--config", good}, &out, io.Discard); err != nil {
		t.Fatalf("a good environment and file: %v", err)
	}
}

// A token is rotated under its name: the old and the new secret both work
// until the grace ends, and token list shows expiry and last use.
func TestTokenRotateAndExpiry(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	var first, second bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--name", "okta", "--expires", "90d"}, &first, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"token", "create", "--name", "okta"}, io.Discard, io.Discard); err == nil {
		t.Fatal("a second current token named okta was created")
	}
	if err := run(ctx, []string{"token", "rotate", "--name", "okta", "--grace", "2d"}, &second, io.Discard); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if err := run(ctx, []string{"token", "rotate", "--name", "nobody"}, io.Discard, io.Discard); err == nil {
		t.Fatal("rotating an unknown name succeeded")
	}
	if err := run(ctx, []string{"token", "create", "--name", "x", "--expires", "soon"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "90d") {
		t.Fatalf("--expires soon: %v", err)
	}
	pg, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	now := time.Now()
	for _, secret := range []string{first.String(), second.String()} {
		tok, err := pg.TokenByHash(ctx, store.HashToken(secret))
		if err != nil || tok.Name != "okta" || !tok.HasScope(store.ScopeSCIMRead) || tok.Expired(now) {
			t.Fatalf("token after rotation = %+v, %v; want both secrets working", tok, err)
		}
	}
	old, _ := pg.TokenByHash(ctx, store.HashToken(first.String()))
	if d := old.ExpiresAt.Sub(now); d > 49*time.Hour || d < 47*time.Hour {
		t.Fatalf("the old token expires in %v, want the 2-day grace", d)
	}
	if err := pg.TouchToken(ctx, old.ID, now); err != nil {
		t.Fatal(err)
	}
	var list bytes.Buffer
	if err := run(ctx, []string{"token", "list"}, &list, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list.String(), "EXPIRES") || !strings.Contains(list.String(), "LAST USED") || !strings.Contains(list.String(), now.UTC().Format("2006-01-02T15:04")) {
		t.Fatalf("token list:\n%s", list.String())
	}
}
