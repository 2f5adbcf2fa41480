package notify_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/notify"
)

func TestSMTPModes(t *testing.T) {
	cert, pool := testCertificate(t)
	tests := []struct {
		name     string
		implicit bool
		noTLS    bool
		cfg      func(c *notify.SMTPConfig)
		password string
		wantErr  string // "" for delivered
	}{
		{"STARTTLS with AUTH PLAIN", false, false, func(c *notify.SMTPConfig) {}, "s3cret-pass", ""},
		{"STARTTLS with AUTH LOGIN", false, false, func(c *notify.SMTPConfig) { c.Auth = "login" }, "s3cret-pass", ""},
		{"implicit TLS", true, false, func(c *notify.SMTPConfig) { c.TLS = "implicit" }, "s3cret-pass", ""},
		{"wrong password", false, false, func(c *notify.SMTPConfig) {}, "wrong", "smtp: refused with 535"},
		{"relay without STARTTLS", false, true, func(c *notify.SMTPConfig) {}, "s3cret-pass", "does not offer STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, cert, tt.implicit)
			srv.noTLS = tt.noTLS
			cfg := notify.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), Username: srv.user, PasswordEnv: "X", From: "scim@example.com"}
			tt.cfg(&cfg)
			ch, err := notify.NewSMTPChannel(cfg, notify.SMTPOptions{Password: tt.password, TLS: &tls.Config{RootCAs: pool}, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = ch.Send(context.Background(), notify.Message{ID: "m1", To: "Jürgen Groß <juergen@example.com>",
				Subject: "Grüße: Konto für Jürgen", Text: "Zeile mit Umlauten: äöü ß\n" + strings.Repeat("x", 200), At: time.Unix(1e9, 0)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send = %v; want %q", err, tt.wantErr)
				}
				if len(srv.received()) != 0 {
					t.Fatal("a mail was accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := srv.received()
			if len(got) != 1 || !got[0].TLS || got[0].To[0] != "juergen@example.com" {
				t.Fatalf("received %+v", got)
			}
			m := got[0].Data
			if !strings.Contains(m, "Subject: =?utf-8?q?") || !strings.Contains(m, "Content-Transfer-Encoding: quoted-printable") {
				t.Fatalf("headers not encoded for UTF-8:\n%s", m)
			}
			for _, line := range strings.Split(m, "\n") {
				if len(line) > 78 {
					t.Fatalf("line longer than 78 characters: %q", line)
				}
			}
		})
	}
}

// TestAuthWithoutTLSIsRefused: with tls: none, a relay that wants
// encryption refuses AUTH; the failure carries the reply code, never the
// password, and is not retried.
func TestAuthWithoutTLSIsRefused(t *testing.T) {
	cert, _ := testCertificate(t)
	srv := startSMTP(t, cert, false)
	ch, err := notify.NewSMTPChannel(notify.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), TLS: "none", Username: srv.user,
		From: "scim@example.com"}, notify.SMTPOptions{Password: srv.pass})
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), notify.Message{ID: "m", To: "a@example.com", Subject: "s", Text: "t", At: time.Now()})
	if err == nil || err.Error() != "smtp: refused with 538" || strings.Contains(err.Error(), srv.pass) {
		t.Fatalf("Send = %v; want the 538 refusal without the password", err)
	}
	if len(srv.received()) != 0 {
		t.Fatal("a mail was accepted without authentication")
	}
}

func TestWebhookURLRules(t *testing.T) {
	tests := []struct {
		style, url string
		secret     string
		ok         bool
	}{
		{notify.TypeSlack, "https://hooks.slack.com/services/T/B/X", "", true},
		{notify.TypeSlack, "http://hooks.slack.com/services/T/B/X", "", false},
		{notify.TypeTeams, "http://127.0.0.1:9/in", "", true},
		{notify.TypeWebhook, "https://example.com/in", "short", false},
		{notify.TypeWebhook, "https://example.com/in", "0123456789abcdef", true},
		{notify.TypeWebhook, "not a url", "0123456789abcdef", false},
	}
	for _, tt := range tests {
		_, err := notify.NewWebhookChannel(tt.style, notify.WebhookOptions{URL: tt.url, Secret: []byte(tt.secret)})
		if (err == nil) != tt.ok {
			t.Errorf("%s %q secret %q: %v; want ok=%v", tt.style, tt.url, tt.secret, err, tt.ok)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "channels:\n  - name: m\n    type: smtp\n    smtp: {host: h, from: a@example.com, pasword_env: X}\n", "pasword_env"},
		{"unknown event", "events:\n  joiner: {enabled: false}\n", "unknown event"},
		{"bad recipient rule", "events:\n  run_held: {to: [boss]}\n", "not manager, it, admins or a mail address"},
		{"event on a missing channel", "events:\n  run_held: {channels: [pager]}\n", `no channel named "pager"`},
		{"webhook without secret", "channels:\n  - {name: h, type: webhook, url: 'https://example.com'}\n", "secret_env"},
		{"both url and url_env", "channels:\n  - {name: s, type: slack, url: 'https://x', url_env: S}\n", "exactly one of url and url_env"},
		{"bad language", "language: fr\n", "not en or de"},
		{"bad daily time", "digest: {daily_at: '8 am'}\n", "not HH:MM"},
		{"username without password", "channels:\n  - name: m\n    type: smtp\n    smtp: {host: h, from: a@example.com, username: u}\n", "password_env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.ParseConfig("config.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig = %v; want an error with %q", err, tt.want)
			}
		})
	}
}

func TestMissingSecretIsNamedNotShown(t *testing.T) {
	cfg, err := notify.ParseDocument("config.yaml", []byte(`
mapping: {}
notifications:
  channels:
    - name: mail
      type: smtp
      smtp: {host: smtp.office365.com, port: 587, username: scim@example.com, password_env: SMTP_PASSWORD, from: scim@example.com}
    - name: slack
      type: slack
      url_env: SLACK_WEBHOOK_URL
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SMTP_PASSWORD": "hunter2-secret"}
	_, err = notify.OpenChannels(cfg, func(k string) string { return env[k] }, notify.ChannelOptions{})
	if err == nil || !strings.Contains(err.Error(), "SLACK_WEBHOOK_URL is not set") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("OpenChannels = %v; want the missing variable named and no secret", err)
	}
	env["SLACK_WEBHOOK_URL"] = "http://hooks.slack.com/services/secret-path"
	_, err = notify.OpenChannels(cfg, func(k string) string { return env[k] }, notify.ChannelOptions{})
	if err == nil || !strings.Contains(err.Error(), "SLACK_WEBHOOK_URL") || strings.Contains(err.Error(), "secret-path") {
		t.Fatalf("OpenChannels with an http URL = %v; want the variable named and the URL not shown", err)
	}
}

// TestSMTPWithOAuth2: auth xoauth2 fetches a token with the client
// credentials grant and presents it with XOAUTH2, as Microsoft 365 wants.
func TestSMTPWithOAuth2(t *testing.T) {
	cert, pool := testCertificate(t)
	srv := startSMTP(t, cert, false)
	srv.token = "access-token-1"
	var grants int
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if r.Form.Get("client_id") != "" {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		if r.Form.Get("grant_type") != "client_credentials" || id != "app-id" || secret != "app-secret" ||
			r.Form.Get("scope") != "https://outlook.office365.com/.default" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		grants++
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"access-token-1","token_type":"Bearer","expires_in":3600}`))
	}))
	defer tokens.Close()
	cfg := notify.DefaultConfig()
	cfg.Channels = []notify.ChannelConfig{{Name: "m365", Type: notify.TypeSMTP, SMTP: &notify.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), Username: srv.user, Auth: "xoauth2", From: "scim@example.com",
		OAuth2: &notify.OAuth2Config{TokenURL: tokens.URL, ClientID: "app-id", ClientSecretEnv: "M365_SECRET",
			Scopes: []string{"https://outlook.office365.com/.default"}},
	}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		secret  string
		wantErr string
	}{{"app-secret", ""}, {"wrong", "no OAuth 2.0 token"}} {
		chans, err := notify.OpenChannels(cfg, func(string) string { return tt.secret }, notify.ChannelOptions{TLS: &tls.Config{RootCAs: pool}})
		if err != nil {
			t.Fatal(err)
		}
		err = chans["m365"].Send(context.Background(), notify.Message{ID: "x", To: "a@example.com", Subject: "s", Text: "t", At: time.Now()})
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Fatalf("secret %q: Send = %v; want %q", tt.secret, err, tt.wantErr)
		}
	}
	if got := srv.received(); len(got) != 1 || got[0].AuthUser != srv.user || grants != 1 {
		t.Fatalf("received %+v after %d grants; want one mail authenticated by token", got, grants)
	}
	// A token the relay refuses ends in its 535, not retried forever.
	srv.token = "rotated"
	chans, _ := notify.OpenChannels(cfg, func(string) string { return "app-secret" }, notify.ChannelOptions{TLS: &tls.Config{RootCAs: pool}})
	err := chans["m365"].Send(context.Background(), notify.Message{ID: "y", To: "a@example.com", Subject: "s", Text: "t", At: time.Now()})
	if err == nil || err.Error() != "smtp: refused with 535" {
		t.Fatalf("a refused token = %v; want the 535", err)
	}
}
