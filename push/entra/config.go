package entra

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"go.yaml.in/yaml/v3"
)

// Defaults, Microsoft's endpoints and the strictest published limits.
const (
	DefaultGraphURL     = "https://graph.microsoft.com/v1.0"
	DefaultLoginURL     = "https://login.microsoftonline.com"
	DefaultExtensionURN = "urn:ietf:params:scim:schemas:extension:personio:1.0:User"
	// MaxBatch is bulkUpload's cap on operations per request.
	MaxBatch = 50
)

// Limit is a request budget: at most Requests per Per.
type Limit struct {
	Requests int           `yaml:"requests"`
	Per      time.Duration `yaml:"per"`
}

// Interval is the spacing that keeps to the limit without bursts.
func (l Limit) Interval() time.Duration {
	if l.Requests <= 0 || l.Per <= 0 {
		return 0
	}
	return l.Per / time.Duration(l.Requests)
}

// The strictest published limits, the defaults. Microsoft's pages disagree
// between 40 bulkUpload requests per second and 40 per 5 seconds with 6,000
// calls a day; these are the stricter figures. Graph throttles the
// provisioning logs (identity and access reports) at 5 requests per 10
// seconds per app and tenant.
const (
	DefaultUploadRequests = 40
	DefaultUploadPer      = 5 * time.Second
	DefaultDailyLimit     = 6000
	DefaultLogReads       = 5
	DefaultLogReadPer     = 10 * time.Second
	// DefaultRequestsPerSecond is the upload limit as a steady rate, for a
	// rate limiter in front of the target (the worker's shared client):
	// 40 per 5 s is 8 per second without bursts.
	DefaultRequestsPerSecond = float64(DefaultUploadRequests) / float64(DefaultUploadPer/time.Second)
)

// DefaultRateLimit is the upload pacing the target keeps to unless
// configured otherwise (see docs/entra.md).
func DefaultRateLimit() Limit { return Limit{Requests: DefaultUploadRequests, Per: DefaultUploadPer} }

// DefaultLogReadLimit is the pacing of provisioning-log reads.
func DefaultLogReadLimit() Limit { return Limit{Requests: DefaultLogReads, Per: DefaultLogReadPer} }

// Config is the `entra:` section of a targets entry.
type Config struct {
	TenantID        string `yaml:"tenant_id"`
	ClientID        string `yaml:"client_id"`
	ClientSecretEnv string `yaml:"client_secret_env"`
	// ClientCertificateEnv names the variable holding a PEM bundle of the
	// app's certificate and RSA private key, instead of a secret.
	ClientCertificateEnv string `yaml:"client_certificate_env"`
	ServicePrincipalID   string `yaml:"service_principal_id"`
	JobID                string `yaml:"job_id"`
	// Directory is cloud (Entra ID) or ad (on-premises Active Directory
	// through the provisioning agent).
	Directory    string `yaml:"directory"`
	GraphURL     string `yaml:"graph_url"`
	TokenURL     string `yaml:"token_url"`
	ExtensionURN string `yaml:"extension_urn"`
	// RateLimit paces uploads; Requests 0 turns the target's own pacing off
	// (when the worker's client already keeps to the limit).
	RateLimit  Limit `yaml:"rate_limit"`
	DailyLimit int   `yaml:"daily_limit"`
	// LogReadLimit paces the provisioning-log reads of Confirm.
	LogReadLimit Limit `yaml:"log_read_limit"`
	LogPageSize  int   `yaml:"log_page_size"`
	// ConfirmTimeout is how long a record may stay without a log entry
	// before it is reported unconfirmed.
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
	// MaxLogPages caps the pages one Confirm call reads.
	MaxLogPages int `yaml:"max_log_pages"`

	// Sleep waits between paced requests; tests pass one that advances a
	// fake clock. nil sleeps on a timer.
	Sleep func(ctx context.Context, d time.Duration) error `yaml:"-"`
	// clientSecret and certificate are read from the environment by New.
	clientSecret string
	certificate  *certificate
}

var sectionKeys = map[string]bool{
	"tenant_id": true, "client_id": true, "client_secret_env": true, "client_certificate_env": true, "service_principal_id": true,
	"job_id": true, "directory": true, "graph_url": true, "token_url": true, "extension_urn": true,
	"rate_limit": true, "daily_limit": true, "log_read_limit": true, "log_page_size": true,
	"confirm_timeout": true, "max_log_pages": true,
}

var limitKeys = map[string]bool{"requests": true, "per": true}

// ParseConfig decodes and checks an `entra:` section, defaults filled in.
// Unknown keys are errors naming the key and its line.
func ParseConfig(section *yaml.Node) (Config, error) {
	var c Config
	if section == nil {
		return c, errors.New("entra: the target needs an entra: section")
	}
	if section.Kind == yaml.DocumentNode && len(section.Content) == 1 {
		section = section.Content[0]
	}
	if err := checkKeys(section, sectionKeys, "entra"); err != nil {
		return c, err
	}
	for i := 0; i+1 < len(section.Content); i += 2 {
		if k := section.Content[i].Value; k == "rate_limit" || k == "log_read_limit" {
			if err := checkKeys(section.Content[i+1], limitKeys, "entra."+k); err != nil {
				return c, err
			}
		}
	}
	if err := section.Decode(&c); err != nil {
		return c, fmt.Errorf("entra: %w", err)
	}
	c = c.withDefaults(rateLimitSet(section))
	return c, c.validate()
}

func checkKeys(n *yaml.Node, allowed map[string]bool, where string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s must be a mapping", n.Line, where)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			return fmt.Errorf("line %d: unknown key %s in %s", k.Line, k.Value, where)
		}
	}
	return nil
}

// rateLimitSet reports whether the section sets rate_limit at all, so that
// an explicit `requests: 0` (pacing off) differs from leaving it out.
func rateLimitSet(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "rate_limit" {
			return true
		}
	}
	return false
}

func (c Config) withDefaults(rateSet bool) Config {
	if c.Directory == "" {
		c.Directory = "cloud"
	}
	if c.GraphURL == "" {
		c.GraphURL = DefaultGraphURL
	}
	c.GraphURL = strings.TrimRight(c.GraphURL, "/")
	if c.TokenURL == "" && c.TenantID != "" {
		c.TokenURL = DefaultLoginURL + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
	}
	if c.ExtensionURN == "" {
		c.ExtensionURN = DefaultExtensionURN
	}
	if !rateSet {
		c.RateLimit = DefaultRateLimit()
	}
	if c.DailyLimit == 0 {
		c.DailyLimit = DefaultDailyLimit
	}
	if c.LogReadLimit == (Limit{}) {
		c.LogReadLimit = DefaultLogReadLimit()
	}
	if c.LogPageSize == 0 {
		c.LogPageSize = 500
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = time.Hour
	}
	if c.MaxLogPages == 0 {
		c.MaxLogPages = 100
	}
	return c
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)
	urnPattern = regexp.MustCompile(`^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}(:[A-Za-z0-9()+,\-.=@;$_!*'%]+)+$`)
)

func (c Config) validate() error {
	var errs []error
	need := func(key, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("entra.%s is required", key))
		} else if !idPattern.MatchString(v) {
			errs = append(errs, fmt.Errorf("entra.%s: want an id or domain name (letters, digits, '.', '-', '_')", key))
		}
	}
	need("tenant_id", c.TenantID)
	need("client_id", c.ClientID)
	need("service_principal_id", c.ServicePrincipalID)
	need("job_id", c.JobID)
	switch {
	case c.ClientSecretEnv == "" && c.ClientCertificateEnv == "":
		errs = append(errs, errors.New("entra.client_secret_env is required: the environment variable holding the client secret (or client_certificate_env for a certificate)"))
	case c.ClientSecretEnv != "" && c.ClientCertificateEnv != "":
		errs = append(errs, errors.New("entra: set client_secret_env or client_certificate_env, not both"))
	}
	if c.Directory != "cloud" && c.Directory != "ad" {
		errs = append(errs, fmt.Errorf("entra.directory: want cloud or ad, got %q", c.Directory))
	}
	for _, u := range []struct{ key, v string }{{"graph_url", c.GraphURL}, {"token_url", c.TokenURL}} {
		if err := push.CheckEndpointURL(u.v); err != nil {
			errs = append(errs, fmt.Errorf("entra.%s: %w", u.key, err))
		}
	}
	if !urnPattern.MatchString(c.ExtensionURN) {
		errs = append(errs, fmt.Errorf("entra.extension_urn: want a URN such as %s", DefaultExtensionURN))
	}
	if c.RateLimit.Requests < 0 || (c.RateLimit.Requests > 0 && c.RateLimit.Per <= 0) {
		errs = append(errs, errors.New("entra.rate_limit: want requests ≥ 0 and a positive per, such as {requests: 40, per: 5s}"))
	}
	if c.LogReadLimit.Requests <= 0 || c.LogReadLimit.Per <= 0 {
		errs = append(errs, errors.New("entra.log_read_limit: want positive requests and per, such as {requests: 5, per: 10s}"))
	}
	if c.DailyLimit < 0 {
		errs = append(errs, errors.New("entra.daily_limit: want a positive count"))
	}
	if c.LogPageSize < 1 || c.LogPageSize > 1000 {
		errs = append(errs, errors.New("entra.log_page_size: want 1 to 1000"))
	}
	if c.ConfirmTimeout < time.Minute {
		errs = append(errs, errors.New("entra.confirm_timeout: want at least 1m (log entries take minutes to appear)"))
	}
	if c.MaxLogPages < 1 {
		errs = append(errs, errors.New("entra.max_log_pages: want at least 1"))
	}
	return errors.Join(errs...)
}
