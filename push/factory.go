package push

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.yaml.in/yaml/v3"
)

// Factory opens a target of one type from its type's section of a
// `targets:` entry in CONFIG_FILE (for `type: scim`, the entry's `scim:`
// mapping). A factory decodes the section itself, refuses unknown keys and
// names the offending key in its error; it reads secrets only through
// env.Getenv, from the variables the section names, and never echoes a
// secret's value. The binary keeps an explicit map from type name to
// factory; nothing registers itself.
type Factory func(ctx context.Context, section *yaml.Node, env Env) (Target, error)

// Env is what a factory gets besides its own section.
type Env struct {
	// Name is the target's name from the configuration.
	Name string
	// Getenv reads the environment variable a section names (token_env,
	// client_secret_env, credentials_file_env, ...).
	Getenv func(string) string
	// HTTPClient is the client a target must send every request with: the
	// worker's rate limit for the target, retries of throttling and
	// transient errors honouring Retry-After, timeouts, capped answers and
	// no redirects to another host. Targets wrap its transport for auth
	// (oauth2) and keep the rest.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// CheckEndpointURL is the rule every target applies to the URLs in its
// section: absolute, without credentials, query or fragment, and https,
// except to a loopback host (a simulator on this machine), so that a
// token never travels in the clear.
func CheckEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want an absolute https URL without credentials, query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("plain http is allowed only for a loopback host; use https")
	}
	return errors.New("want an https URL")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
