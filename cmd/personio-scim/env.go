package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
)

// env is the service's configuration from the environment; the variable
// names are a contract with deployments (docs/configuration.md lists them).
// Flags may override single values.
type env struct {
	ListenAddr           string
	AdminListenAddr      string // empty: the admin API, console and metrics share ListenAddr
	DatabaseURL          string // empty: the in-memory store
	PersonioBaseURL      string
	PersonioClientID     string
	PersonioClientSecret string
	PersonioAPIVersion   string
	SyncInterval         time.Duration
	SCIMToken            string
	AdminToken           string
	ConfigFile           string
	MigrateOnStart       bool
	PublicURL            string // the URL clients use, for absolute meta.location
	TrustedProxies       api.TrustedProxies
	SCIMBasicUser        string
	LogFormat            string // json, text or auto (text on a terminal)
	LogLevel             slog.Level
	Namespace            store.Namespace // scopes SCIM ids to this installation
	PersonioPartnerID    string
	PersonioAppID        string
	PersonioWebhookToken string // the secret Personio sends with each webhook delivery
	OIDCIssuer           string // the console's identity provider; empty: no sign-in but the demo's links
	// PersonioRateLimit off lifts the client's limiter, for the simulator
	// and benchmarks; only allowed against a loopback Personio.
	PersonioRateLimit bool
}

// minBootstrapTokenLength keeps guessable bootstrap tokens out of production.
const minBootstrapTokenLength = 20

// envVar documents one variable; the list is the single source for parsing,
// `check-config` output and the configuration reference test.
type envVar struct {
	Name    string
	Default string
	Secret  bool
	Help    string
	set     func(e *env, v string) error
}

func envVars() []envVar {
	return []envVar{
		{Name: "LISTEN_ADDR", Default: ":8080", Help: "address the HTTP server listens on", set: func(e *env, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port such as :8080")
			}
			e.ListenAddr = v
			return nil
		}},
		{Name: "ADMIN_LISTEN_ADDR", Help: "a separate address for the admin API, the console and /metrics (e.g. :9090); empty serves them on LISTEN_ADDR", set: func(e *env, v string) error {
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("want host:port such as :9090")
				}
			}
			e.AdminListenAddr = v
			return nil
		}},
		{Name: "DATABASE_URL", Secret: true, Help: "Postgres URL (postgres://user:pass@host:5432/db); memory: uses the in-memory store (serve requires one of them)", set: func(e *env, v string) error {
			if v != "" && v != memoryURL {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
					return fmt.Errorf("want postgres://USER:PASSWORD@HOST:5432/DATABASE")
				}
			}
			e.DatabaseURL = v
			return nil
		}},
		{Name: "PERSONIO_BASE_URL", Default: "https://api.personio.de", Help: "Personio API base URL", set: func(e *env, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("want an http(s) URL such as https://api.personio.de")
			}
			e.PersonioBaseURL = strings.TrimRight(v, "/")
			return nil
		}},
		{Name: "PERSONIO_CLIENT_ID", Help: "Personio API credential id", set: func(e *env, v string) error { e.PersonioClientID = v; return nil }},
		{Name: "PERSONIO_CLIENT_SECRET", Secret: true, Help: "Personio API credential secret", set: func(e *env, v string) error { e.PersonioClientSecret = v; return nil }},
		{Name: "PERSONIO_API_VERSION", Default: "v1", Help: "Personio API version: v1 or v2", set: func(e *env, v string) error {
			if v != "v1" && v != "v2" {
				return fmt.Errorf("want v1 or v2")
			}
			e.PersonioAPIVersion = v
			return nil
		}},
		{Name: "SYNC_INTERVAL", Default: "15m", Help: "time between syncs", set: func(e *env, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute {
				return fmt.Errorf("want a duration of at least 1m, such as 15m")
			}
			e.SyncInterval = d
			return nil
		}},
		{Name: "SCIM_TOKEN", Secret: true, Help: "bootstrap bearer token with scope scim:read", set: func(e *env, v string) error {
			if v != "" && len(v) < minBootstrapTokenLength {
				return fmt.Errorf("too short: use at least %d random characters", minBootstrapTokenLength)
			}
			e.SCIMToken = v
			return nil
		}},
		{Name: "ADMIN_TOKEN", Secret: true, Help: "bootstrap bearer token with scope admin", set: func(e *env, v string) error {
			if v != "" && len(v) < minBootstrapTokenLength {
				return fmt.Errorf("too short: use at least %d random characters", minBootstrapTokenLength)
			}
			e.AdminToken = v
			return nil
		}},
		{Name: "CONFIG_FILE", Help: "YAML file with mapping, scope, lifecycle, groups, guard and targets", set: func(e *env, v string) error { e.ConfigFile = v; return nil }},
		{Name: "MIGRATE_ON_START", Default: "true", Help: "apply pending migrations when serve starts", set: func(e *env, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false")
			}
			e.MigrateOnStart = b
			return nil
		}},
		{Name: "PUBLIC_URL", Help: "external base URL, e.g. https://scim.example.com (default: taken from each request)", set: func(e *env, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return fmt.Errorf("want an http(s) URL such as https://scim.example.com")
				}
			}
			e.PublicURL = strings.TrimRight(v, "/")
			return nil
		}},
		{Name: "TRUSTED_PROXIES", Help: "CIDRs of the proxies in front of the service (10.0.0.0/8, 192.168.1.7); only their X-Forwarded-For, -Proto and -Host count", set: func(e *env, v string) error {
			tp, err := api.ParseTrustedProxies(v)
			if err != nil {
				return err
			}
			e.TrustedProxies = tp
			return nil
		}},
		{Name: "SCIM_BASIC_USER", Help: "user name HTTP Basic must carry on /scim (the token is the password); empty accepts any", set: func(e *env, v string) error {
			e.SCIMBasicUser = v
			return nil
		}},
		{Name: "SCIM_ID_NAMESPACE", Help: "UUID that scopes SCIM ids to this installation (default: a fixed UUID; set it before the first sync, never change it after)", set: func(e *env, v string) error {
			e.Namespace = store.DefaultNamespace
			if v == "" {
				return nil
			}
			ns, err := store.ParseNamespace(v)
			if err != nil {
				return fmt.Errorf("want a UUID such as 6f0c3d2e-611f-4b8a-9d35-7e4210c45a01")
			}
			e.Namespace = ns
			return nil
		}},
		{Name: "PERSONIO_PARTNER_ID", Help: "sent as X-Personio-Partner-ID (UPPER_SNAKE_CASE)", set: func(e *env, v string) error { e.PersonioPartnerID = v; return nil }},
		{Name: "PERSONIO_WEBHOOK_TOKEN", Secret: true, Help: "the token Personio sends with webhooks; set it to receive them at /webhooks/personio (see docs/personio.md)", set: func(e *env, v string) error {
			if v != "" && len(v) < minWebhookTokenLength {
				return fmt.Errorf("too short: use at least %d random characters (for example: openssl rand -hex 32)", minWebhookTokenLength)
			}
			e.PersonioWebhookToken = v
			return nil
		}},
		{Name: "OIDC_ISSUER", Help: "OpenID Connect issuer the console signs administrators in with (see docs/console.md); empty turns the console off", set: func(e *env, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")) || u.Host == "" {
					return fmt.Errorf("want an https URL such as https://example.okta.com")
				}
			}
			e.OIDCIssuer = strings.TrimRight(v, "/")
			return nil
		}},
		{Name: "OIDC_CLIENT_ID", Help: "the console's client id at the OIDC issuer", set: func(e *env, v string) error { return nil }},
		{Name: "OIDC_CLIENT_SECRET", Secret: true, Help: "the console's client secret at the OIDC issuer", set: func(e *env, v string) error { return nil }},
		{Name: "PERSONIO_APP_ID", Default: "PERSONIO_SCIM", Help: "sent as X-Personio-App-ID (UPPER_SNAKE_CASE)", set: func(e *env, v string) error { e.PersonioAppID = v; return nil }},
		{Name: "PERSONIO_RATE_LIMIT", Default: "on", Help: "off lifts the client-side rate limiter; allowed only for a loopback PERSONIO_BASE_URL (the simulator)", set: func(e *env, v string) error {
			switch v {
			case "on":
				e.PersonioRateLimit = true
			case "off":
				e.PersonioRateLimit = false
			default:
				return fmt.Errorf("want on or off")
			}
			return nil
		}},
		{Name: "LOG_FORMAT", Default: "auto", Help: "json, text, or auto (text on a terminal, JSON otherwise)", set: func(e *env, v string) error {
			if v != "json" && v != "text" && v != "auto" {
				return fmt.Errorf("want json, text or auto")
			}
			e.LogFormat = v
			return nil
		}},
		{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", set: func(e *env, v string) error {
			return e.LogLevel.UnmarshalText([]byte(v))
		}},
	}
}

// loadEnv reads every variable, applying defaults. The first bad value is
// reported as one line naming the variable.
func loadEnv(getenv func(string) string) (env, error) {
	var e env
	var errs []error
	failed := map[string]bool{}
	for _, v := range envVars() {
		val := getenv(v.Name)
		if val == "" {
			val = v.Default
		}
		if err := v.set(&e, val); err != nil {
			shown := val
			if v.Secret {
				shown = "…"
			}
			errs = append(errs, fmt.Errorf("%s=%q: %v", v.Name, shown, err))
			failed[v.Name] = true
		}
	}
	if !failed["PERSONIO_RATE_LIMIT"] && !failed["PERSONIO_BASE_URL"] && !e.PersonioRateLimit && !isLoopbackURL(e.PersonioBaseURL) {
		errs = append(errs, fmt.Errorf("PERSONIO_RATE_LIMIT=\"off\": only allowed with a loopback PERSONIO_BASE_URL; Personio's limits must hold"))
	}
	// Every problem at once, and what could be read for check-config.
	return e, errors.Join(errs...)
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
