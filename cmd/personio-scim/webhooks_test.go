package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

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

// TestServeReceivesWebhooks: with PERSONIO_WEBHOOK_TOKEN set, serve mounts
// the receiver, and a change Personio announces reaches SCIM.
func TestServeReceivesWebhooks(t *testing.T) {
	sim := knownCompany(t)
	t.Setenv(webhookTokenVar, "whk-0123456789abcdef0123456789")
	t.Setenv("SCIM_TOKEN", "scim-token-0123456789abcdef")
	e, err := loadEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	base := startService(t, e)
	waitReady(t, base)
	post := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/personio",
			strings.NewReader(`{"company_id":"1","event_name":"ping","occurred_at":"2026-12-01T10:00:00Z","payload":{}}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(""); got != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", got)
	}
	if got := post("whk-0123456789abcdef0123456789"); got != http.StatusOK {
		t.Errorf("ping with the token: %d, want 200", got)
	}
	anna := sim.Records()[0]
	sim.RegisterWebhook(base+"/webhooks/personio", "whk-0123456789abcdef0123456789")
	if err := sim.Update(anna.ID, personiotest.Attrs{"position": "Webhook Chief"}); err != nil {
		t.Fatal(err)
	}
	sim.WaitWebhooks()
	for i := 0; ; i++ {
		if strings.Contains(scimGet(t, base+"/scim/v2/Users?filter="+url.QueryEscape(`externalId eq "`+anna.ID+`"`)), "Webhook Chief") {
			break
		}
		if i == 1000 {
			t.Fatal("the change announced by the webhook did not reach SCIM")
		}
		time.Sleep(10 * time.Millisecond) // waits for the receiver's worker; decides nothing
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for i := 0; getStatus(t, base+"/readyz") != http.StatusOK; i++ {
		if i == 1000 {
			t.Fatal("the service never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scimGet(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer scim-token-0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}
