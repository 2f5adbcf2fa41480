package scim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"go.yaml.in/yaml/v3"
)

// Config is the `scim:` section of a `targets:` entry. docs/push-scim.md
// describes every key.
type Config struct {
	BaseURL string `yaml:"base_url"`

	// Exactly one way to authenticate: a bearer token, Basic credentials,
	// or OAuth2 client credentials.
	TokenEnv        string   `yaml:"token_env"`
	Username        string   `yaml:"username"`
	PasswordEnv     string   `yaml:"password_env"`
	TokenURL        string   `yaml:"token_url"`
	ClientID        string   `yaml:"client_id"`
	ClientSecretEnv string   `yaml:"client_secret_env"`
	Scopes          []string `yaml:"scopes"`

	// Match is the attribute an existing user is found by before a create:
	// externalId (the Personio id, default) or userName.
	Match string `yaml:"match"`
	// Discovery reads ServiceProviderConfig once to learn whether PATCH is
	// supported; false for servers without discovery endpoints.
	Discovery *bool `yaml:"discovery"`
	// Update is auto (PATCH when the server supports it, else PUT), patch
	// or put.
	Update string `yaml:"update"`
	// OnRemove is what a removal after retention does: keep (default) or
	// delete.
	OnRemove string `yaml:"on_remove"`
	// MaxPatchOperations caps the member changes one PATCH carries.
	MaxPatchOperations int `yaml:"max_patch_operations"`
	// MaxBatch is the most items the worker hands over in one call.
	MaxBatch int `yaml:"max_batch"`
	// Timeout bounds each request.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many items of a batch are pushed at once.
	Concurrency int `yaml:"concurrency"`

	Dialect Dialect `yaml:"dialect"`
}

// Dialect holds the switches for servers that depart from RFC 7644.
type Dialect struct {
	// UsersOnly: the server has no groups (Zitadel).
	UsersOnly bool `yaml:"users_only"`
	// MembersByPatch: group members only by PATCH, never in POST or PUT
	// (Keycloak).
	MembersByPatch bool `yaml:"members_by_patch"`
	// PostAdopts: POST adopts an existing user or group with the same
	// userName or displayName (authentik), so no lookup precedes it.
	PostAdopts bool `yaml:"post_adopts"`
	// NoDiscovery: no ServiceProviderConfig (Zitadel); same as
	// discovery: false.
	NoDiscovery bool `yaml:"no_discovery"`
	// CoreOnly: the server refuses the enterprise extension, so it is not
	// sent (Zitadel).
	CoreOnly bool `yaml:"core_only"`
	// MemberRemove is how members are removed: filter
	// (`members[value eq "id"]`, default) or value (remove with a value
	// list, for servers that ignore the filtered form, like some authentik
	// versions).
	MemberRemove string `yaml:"member_remove"`
}

var (
	configKeys  = []string{"base_url", "token_env", "username", "password_env", "token_url", "client_id", "client_secret_env", "scopes", "match", "discovery", "update", "on_remove", "max_patch_operations", "max_batch", "timeout", "concurrency", "dialect"}
	dialectKeys = []string{"users_only", "members_by_patch", "post_adopts", "no_discovery", "core_only", "member_remove"}
)

const (
	defaultMaxPatchOperations = 100
	defaultMaxBatch           = 100
	defaultTimeout            = 30 * time.Second
	defaultConcurrency        = 4
)

// ParseConfig decodes and checks a `scim:` section. Unknown keys are refused
// with their line.
func ParseConfig(section *yaml.Node) (Config, error) {
	var c Config
	if section == nil || section.Kind == 0 {
		return c, fmt.Errorf("scim: the scim section is missing")
	}
	if err := checkKeys(section, "scim", configKeys); err != nil {
		return c, err
	}
	if d := mappingValue(section, "dialect"); d != nil {
		if err := checkKeys(d, "scim.dialect", dialectKeys); err != nil {
			return c, err
		}
	}
	if err := section.Decode(&c); err != nil {
		return c, fmt.Errorf("scim: %w", err)
	}
	c.applyDefaults()
	return c, c.validate(section)
}

func checkKeys(n *yaml.Node, where string, known []string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s must be a mapping", n.Line, where)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: unknown key %q in %s; known: %s", k.Line, k.Value, where, strings.Join(known, ", "))
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func lineOf(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	return n.Line
}

func (c *Config) applyDefaults() {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Match == "" {
		c.Match = "externalId"
	}
	if c.Update == "" {
		c.Update = "auto"
	}
	if c.OnRemove == "" {
		c.OnRemove = "keep"
	}
	if c.MaxPatchOperations == 0 {
		c.MaxPatchOperations = defaultMaxPatchOperations
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = defaultMaxBatch
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = defaultConcurrency
	}
	if c.Dialect.MemberRemove == "" {
		c.Dialect.MemberRemove = "filter"
	}
}

func (c *Config) validate(n *yaml.Node) error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("line %d: scim.%s: %s", lineOf(n, key), key, fmt.Sprintf(format, args...))
	}
	if c.BaseURL == "" {
		return bad("base_url", "is required")
	}
	if err := push.CheckEndpointURL(c.BaseURL); err != nil {
		return bad("base_url", "%v", err)
	}
	switch c.Match {
	case "externalId", "userName":
	default:
		return bad("match", "must be externalId or userName, not %q", c.Match)
	}
	switch c.Update {
	case "auto", "patch", "put":
	default:
		return bad("update", "must be auto, patch or put, not %q", c.Update)
	}
	switch c.OnRemove {
	case "keep", "delete":
	default:
		return bad("on_remove", "must be keep or delete, not %q", c.OnRemove)
	}
	switch c.Dialect.MemberRemove {
	case "filter", "value":
	default:
		return bad("dialect", "member_remove must be filter or value, not %q", c.Dialect.MemberRemove)
	}
	if c.MaxPatchOperations < 1 || c.MaxPatchOperations > 10000 {
		return bad("max_patch_operations", "must be between 1 and 10000")
	}
	if c.MaxBatch < 1 || c.MaxBatch > 1000 {
		return bad("max_batch", "must be between 1 and 1000")
	}
	if c.Concurrency < 1 || c.Concurrency > 32 {
		return bad("concurrency", "must be between 1 and 32")
	}
	if c.Timeout < 0 {
		return bad("timeout", "must be positive")
	}
	if c.Discovery != nil && *c.Discovery && c.Dialect.NoDiscovery {
		return bad("discovery", "contradicts dialect.no_discovery")
	}
	return c.validateAuth(bad)
}

func (c *Config) validateAuth(bad func(key, format string, args ...any) error) error {
	methods := 0
	if c.TokenEnv != "" {
		methods++
	}
	if c.Username != "" || c.PasswordEnv != "" {
		methods++
		if c.Username == "" || c.PasswordEnv == "" {
			return bad("username", "Basic authentication needs both username and password_env")
		}
	}
	if c.TokenURL != "" || c.ClientID != "" || c.ClientSecretEnv != "" || len(c.Scopes) > 0 {
		methods++
		if c.TokenURL == "" || c.ClientID == "" || c.ClientSecretEnv == "" {
			return bad("token_url", "OAuth2 client credentials need token_url, client_id and client_secret_env")
		}
		if err := push.CheckEndpointURL(c.TokenURL); err != nil {
			return bad("token_url", "%v", err)
		}
	}
	switch methods {
	case 0:
		return bad("token_env", "no authentication: set token_env, username and password_env, or token_url, client_id and client_secret_env")
	case 1:
		return nil
	}
	return bad("token_env", "choose one authentication: token_env, username/password_env or token_url/client_id/client_secret_env")
}

func (c *Config) discoveryEnabled() bool {
	return !c.Dialect.NoDiscovery && (c.Discovery == nil || *c.Discovery)
}
