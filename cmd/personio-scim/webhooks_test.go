package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/personio-scim/personio-scim/personio/personiotest"
)

func TestWebhooksRegisterListDelete(t *testing.T) {
	sim := personiotest.Start(t, personiotest.Options{Employees: 2})
	t.Setenv("PERSONIO_BASE_URL", sim.URL())
	t.Setenv("PERSONIO_CLIENT_ID", sim.ClientID())
	t.Setenv("PERSONIO_CLIENT_SECRET", sim.ClientSecret())
	t.Setenv("PERSONIO_API_VERSION", "v1") // the command uses v2 whatever the sync uses
	t.Setenv("PUBLIC_URL", "https://scim.example.com")
	ctx := context.Background()

	t.Setenv(webhookTokenVar, "short")
	if err := run(ctx, []string{"webhooks", "register"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), webhookTokenVar) {
		t.Fatalf("short token: %v", err)
	}
	t.Setenv(webhookTokenVar, "whk-0123456789abcdef0123456789")
	var out bytes.Buffer
	if err := run(ctx, []string{"webhooks", "register"}, &out, io.Discard); err != nil {
		t.Fatalf("register: %v", err)
	}
	m := regexp.MustCompile(`registered webhook (\S+): https://scim.example.com/webhooks/personio, ENABLED, 8 events`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("register printed %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"webhooks", "list"}, &out, io.Discard); err != nil {
		t.Fatalf("list: %v", err)
	}
	if !strings.Contains(out.String(), m[1]) || strings.Contains(out.String(), "whk-") {
		t.Errorf("list %q: want the webhook, never the token", out.String())
	}
	if err := run(ctx, []string{"webhooks", "register"}, io.Discard, io.Discard); err == nil {
		t.Error("a second webhook for the same URL was registered")
	}
	out.Reset()
	if err := run(ctx, []string{"webhooks", "register", "--replace"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "deleted webhook "+m[1]) {
		t.Fatalf("register --replace: %v\n%s", err, out.String())
	}
	m = regexp.MustCompile(`registered webhook (\S+):`).FindStringSubmatch(out.String())
	out.Reset()
	if err := run(ctx, []string{"webhooks", "delete", m[1]}, &out, io.Discard); err != nil {
		t.Fatalf("delete: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"webhooks", "list"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "no webhooks") {
		t.Errorf("list after delete: %q %v", out.String(), err)
	}
	if err := run(ctx, []string{"webhooks", "frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown action was accepted")
	}
}
