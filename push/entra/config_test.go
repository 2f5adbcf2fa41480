package entra_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
)

const minimal = `
tenant_id: contoso.onmicrosoft.com
client_id: 11111111-2222-3333-4444-555555555555
client_secret_env: ENTRA_SECRET
service_principal_id: 7f1c0000-0000-0000-0000-000000000001
job_id: API2AAD.b16687d38faf42adb29892cdcaf01c6e.1a03de52-b9c3-4e2c-a1e3-9145aaa8e530
`

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := entra.ParseConfig(node(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"graph_url":      c.GraphURL == "https://graph.microsoft.com/v1.0",
		"token_url":      c.TokenURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
		"directory":      c.Directory == "cloud",
		"extension_urn":  c.ExtensionURN == "urn:ietf:params:scim:schemas:extension:personio:1.0:User",
		"rate_limit":     c.RateLimit == entra.Limit{Requests: 40, Per: 5 * time.Second},
		"daily_limit":    c.DailyLimit == 6000,
		"log_read_limit": c.LogReadLimit == entra.Limit{Requests: 5, Per: 10 * time.Second},
		"interval":       c.RateLimit.Interval() == 125*time.Millisecond,
		"steady rate":    entra.DefaultRequestsPerSecond == 8,
	}
	for k, ok := range checks {
		if !ok {
			t.Errorf("%s: default not applied: %+v", k, c)
		}
	}
}

func TestParseConfigRefuses(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"unknown key", "tenant: x\n", "line 7: unknown key tenant in entra"},
		{"unknown limit key", "rate_limit: {requests: 40, window: 5s}\n", "unknown key window in entra.rate_limit"},
		{"plain http", "graph_url: http://graph.example.com/v1.0\n", "entra.graph_url: plain http is allowed only for a loopback host"},
		{"not a URL", "token_url: login\n", "entra.token_url: want an absolute https URL"},
		{"URL with credentials", "graph_url: https://u:p@graph.microsoft.com/v1.0\n", "entra.graph_url"},
		{"directory", "directory: ldap\n", `entra.directory: want cloud or ad, got "ldap"`},
		{"urn", "extension_urn: personio\n", "entra.extension_urn"},
		{"negative rate", "rate_limit: {requests: -1, per: 5s}\n", "entra.rate_limit"},
		{"no log reads", "log_read_limit: {requests: 0, per: 10s}\n", "entra.log_read_limit"},
		{"short timeout", "confirm_timeout: 5s\n", "entra.confirm_timeout"},
		{"bad duration", "confirm_timeout: soon\n", "entra:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := entra.ParseConfig(node(t, minimal+tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("missing required keys", func(t *testing.T) {
		_, err := entra.ParseConfig(node(t, "directory: ad\n"))
		for _, k := range []string{"tenant_id", "client_id", "service_principal_id", "job_id", "client_secret_env"} {
			if err == nil || !strings.Contains(err.Error(), "entra."+k+" is required") {
				t.Errorf("err = %v, want it to name %s", err, k)
			}
		}
	})
	t.Run("ids with slashes", func(t *testing.T) {
		_, err := entra.ParseConfig(node(t, strings.Replace(minimal, "job_id: API2AAD", "job_id: ../API2AAD", 1)))
		if err == nil || !strings.Contains(err.Error(), "entra.job_id") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseConfigPacingOff(t *testing.T) {
	c, err := entra.ParseConfig(node(t, minimal+"rate_limit: {requests: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit.Interval() != 0 {
		t.Fatalf("rate_limit requests 0 should turn pacing off, got %+v", c.RateLimit)
	}
}

func TestOpen(t *testing.T) {
	env := push.Env{Name: "entra", HTTPClient: &http.Client{}, Getenv: func(string) string { return "" }}
	_, err := entra.Open(context.Background(), node(t, minimal), env)
	if err == nil || !strings.Contains(err.Error(), "ENTRA_SECRET") {
		t.Fatalf("err = %v, want it to name the missing variable", err)
	}
	env.Getenv = func(k string) string { return map[string]string{"ENTRA_SECRET": "s3cr3t-value"}[k] }
	tgt, err := entra.Open(context.Background(), node(t, minimal), env)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Info().Type != "entra" {
		t.Fatalf("type %q", tgt.Info().Type)
	}
	if _, err := entra.Open(context.Background(), nil, env); err == nil {
		t.Fatal("opened without a section")
	}
}
