package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

func TestUnknownCommandPrintsUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr)
	if !errors.Is(err, errUsage) || exitCode(err) != 2 || !strings.Contains(stderr.String(), "Usage:") {
		t.Fatalf("err = %v, stderr = %q", err, stderr.String())
	}
}

func TestServeFailsClearlyOnBadDatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://user:pw@127.0.0.1:1/db?connect_timeout=2")
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL: ") || exitCode(err) != 1 {
		t.Fatalf("err = %v; want a DATABASE_URL error and exit code 1", err)
	}
}

// startService runs a service on a free port and returns its base URL; the
// service stops when the test ends and must have shut down cleanly.
func startService(t *testing.T, e env) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := newService(ctx, e, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- svc.run(ctx, "127.0.0.1:0", addrs) }()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("service stopped early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not shut down within 30s")
		}
		svc.close()
	})
	return "http://" + addr.String()
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeAnswersHealthOnBothStores(t *testing.T) {
	defaults, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	withPostgres := defaults
	withPostgres.DatabaseURL = pgtest.NewDatabase(t)
	for name, e := range map[string]env{"memory": defaults, "postgres": withPostgres} {
		t.Run(name, func(t *testing.T) {
			base := startService(t, e)
			for _, path := range []string{"/healthz", "/readyz"} {
				if code := getStatus(t, base+path); code != http.StatusOK {
					t.Fatalf("GET %s = %d, want 200", path, code)
				}
			}
		})
	}
}

func TestMigrateCommandUpDownUp(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "status"}, "schema version 0 of 5 (clean)"},
		{[]string{"migrate", "up"}, "schema version 5 of 5 (clean)"},
		{[]string{"migrate", "down", "--yes"}, "schema version 0 of 5 (clean)"},
		{[]string{"migrate", "up"}, "schema version 5 of 5 (clean)"},
	}
	for _, step := range steps {
		var out bytes.Buffer
		if err := run(context.Background(), step.args, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
		if got := strings.TrimSpace(out.String()); got != step.want {
			t.Fatalf("%v printed %q, want %q", step.args, got, step.want)
		}
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "sideways"}, io.Discard, &stderr); !errors.Is(err, errUsage) {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestTokenCreateListRevoke(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	ctx := context.Background()
	var secret bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--name", "okta", "--scope", "scim:read"}, &secret, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret.String(), "pst_") {
		t.Fatalf("secret = %q", secret.String())
	}
	var list bytes.Buffer
	if err := run(ctx, []string{"token", "list"}, &list, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list.String(), "okta") || strings.Contains(list.String(), strings.TrimSpace(secret.String())) {
		t.Fatalf("list = %q; want the name and never the secret", list.String())
	}
	id := strings.Fields(strings.Split(list.String(), "\n")[1])[0]
	if err := run(ctx, []string{"token", "revoke", id}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"token", "create", "--name", "x", "--scope", "root"}, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown scope accepted")
	}
}
