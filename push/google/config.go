package google

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/personio-scim/personio-scim/push"
	"go.yaml.in/yaml/v3"
)

// Config is the `google:` section of a `targets:` entry.
type Config struct {
	// CredentialsFileEnv names the environment variable that holds the path
	// of the service account's JSON key.
	CredentialsFileEnv string `yaml:"credentials_file_env"`
	// Subject is the administrator the service account impersonates.
	Subject string `yaml:"subject"`
	// Customer is the Workspace customer id; my_customer means the
	// subject's own.
	Customer string `yaml:"customer"`
	// Domain is the primary domain, used by the default group email.
	Domain string `yaml:"domain"`
	// Endpoint overrides the Directory API's base URL (tests, proxies).
	Endpoint string `yaml:"endpoint"`
	// TokenURL overrides the key file's token_uri.
	TokenURL string `yaml:"token_url"`
	// CreateOrgUnits creates the organizational units the mapping names
	// when they are missing. They are never deleted.
	CreateOrgUnits bool `yaml:"create_org_units"`
	// OnRemove is what happens to a user removed after retention: keep
	// (stays suspended; Google deletes a deleted user's mail) or delete.
	OnRemove string `yaml:"on_remove"`
	// Groups are the kinds of our groups that become Google groups
	// (department, office, team, legal_entity, cost_center, rule); none by
	// default.
	Groups []string `yaml:"groups"`
	// GroupEmail is a text/template giving a group's email from the group
	// (.DisplayName, .Kind, .Key), with the functions slug and lower. A
	// mapping value `email` for the group wins over it.
	GroupEmail string `yaml:"group_email"`
	// Concurrency is how many users are pushed at once (default 8, at most
	// 32); the rate limit still bounds the requests per second.
	Concurrency int `yaml:"concurrency"`
	// Password is the initial password policy: random (a random password
	// the user must change at first sign-in) or none (sign-in by SSO; a
	// random password nobody knows satisfies Google, no change asked).
	Password string `yaml:"password"`
}

// Defaults of the section; docs/google.md lists them.
const (
	DefaultEndpoint = "https://admin.googleapis.com/"
	DefaultCustomer = "my_customer"
	OnRemoveKeep    = "keep"
	OnRemoveDelete  = "delete"
	PasswordRandom  = "random"
	PasswordNone    = "none"
	// DefaultConcurrency keeps enough requests in flight to reach the
	// quota at Google's usual latency (8 at 0.2 s each is 40 a second).
	DefaultConcurrency = 8
	maxConcurrency     = 32
)

var configKeys = []string{
	"credentials_file_env", "subject", "customer", "domain", "endpoint", "token_url",
	"create_org_units", "on_remove", "groups", "group_email", "password", "concurrency",
}

var groupKinds = []string{"department", "office", "team", "legal_entity", "cost_center", "rule"}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseConfig decodes and checks a `google:` section. Every problem is
// reported with the key and its line.
func ParseConfig(section *yaml.Node) (Config, error) {
	var cfg Config
	if section == nil || section.Kind != yaml.MappingNode {
		return cfg, errors.New("google: want a mapping with credentials_file_env and subject")
	}
	var errs []error
	bad := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: google.%s", n.Line, fmt.Sprintf(format, args...)))
	}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(section.Content); i += 2 {
		k := section.Content[i]
		if !slices.Contains(configKeys, k.Value) {
			bad(k, "%s: unknown key (known: %s)", k.Value, strings.Join(configKeys, ", "))
			continue
		}
		keys[k.Value] = section.Content[i+1]
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := section.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("google: %w", err)
	}
	cfg.Customer = cmp.Or(cfg.Customer, DefaultCustomer)
	cfg.Endpoint = cmp.Or(cfg.Endpoint, DefaultEndpoint)
	cfg.OnRemove = cmp.Or(cfg.OnRemove, OnRemoveKeep)
	cfg.Password = cmp.Or(cfg.Password, PasswordRandom)
	at := func(key string) *yaml.Node {
		if n := keys[key]; n != nil {
			return n
		}
		return section
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > maxConcurrency {
		bad(at("concurrency"), "concurrency: %d: want 1 to %d", cfg.Concurrency, maxConcurrency)
	}
	if !envName.MatchString(cfg.CredentialsFileEnv) {
		bad(at("credentials_file_env"), "credentials_file_env: want the name of an environment variable holding the key file's path")
	}
	if !strings.Contains(cfg.Subject, "@") {
		bad(at("subject"), "subject: want the email of the administrator to impersonate")
	}
	if err := push.CheckEndpointURL(cfg.Endpoint); err != nil {
		bad(at("endpoint"), "endpoint: %v", err)
	}
	if cfg.TokenURL != "" {
		if err := push.CheckEndpointURL(cfg.TokenURL); err != nil {
			bad(at("token_url"), "token_url: %v", err)
		}
	}
	if cfg.OnRemove != OnRemoveKeep && cfg.OnRemove != OnRemoveDelete {
		bad(at("on_remove"), "on_remove: %q: want keep or delete", cfg.OnRemove)
	}
	if cfg.Password != PasswordRandom && cfg.Password != PasswordNone {
		bad(at("password"), "password: %q: want random or none", cfg.Password)
	}
	for _, k := range cfg.Groups {
		if !slices.Contains(groupKinds, k) {
			bad(at("groups"), "groups: %q: want some of %s", k, strings.Join(groupKinds, ", "))
		}
	}
	if len(cfg.Groups) > 0 && cfg.GroupEmail == "" {
		if cfg.Domain == "" {
			bad(at("group_email"), "group_email: needed for groups (or set domain for {{slug .DisplayName}}@domain)")
		}
		cfg.GroupEmail = "{{slug .DisplayName}}@" + cfg.Domain
	}
	if cfg.GroupEmail != "" {
		if _, err := parseGroupEmail(cfg.GroupEmail); err != nil {
			bad(at("group_email"), "group_email: %v", err)
		}
	}
	if !strings.HasSuffix(cfg.Endpoint, "/") {
		cfg.Endpoint += "/"
	}
	return cfg, errors.Join(errs...)
}

func parseGroupEmail(text string) (*template.Template, error) {
	return template.New("group_email").Option("missingkey=error").Funcs(template.FuncMap{
		"slug":  slug,
		"lower": strings.ToLower,
	}).Parse(text)
}

// slug makes a display name usable as an email's local part: lower-case
// ASCII letters and digits, other runs become one hyphen, common accents
// folded.
func slug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(s) {
		if folded, ok := folds[r]; ok {
			b.WriteString(folded)
			hyphen = false
			continue
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			hyphen = false
			continue
		}
		if !hyphen && b.Len() > 0 {
			b.WriteByte('-')
			hyphen = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

var folds = map[rune]string{
	'ä': "ae", 'ö': "oe", 'ü': "ue", 'ß': "ss", 'à': "a", 'á': "a", 'â': "a", 'å': "a",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ý': "y",
}
