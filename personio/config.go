package personio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIVersion selects which Personio API the client reads.
type APIVersion string

// Both versions produce the same Records. v1 needs one call per 100 people
// and carries org names inline; v2 needs one call per 50 people plus one per
// person for employments, plus the org lookups.
const (
	APIv1 APIVersion = "v1"
	APIv2 APIVersion = "v2"
)

// OffsetMode says what v1's offset parameter counts. Personio's guide says
// records; other v1 endpoints count pages [UNCONFIRMED for employees].
type OffsetMode string

// The two offset interpretations.
const (
	OffsetRecords OffsetMode = "record"
	OffsetPages   OffsetMode = "page"
)

// TotalChangePolicy says what a v1 listing does when total_elements changes
// between pages (seen with updated_since).
type TotalChangePolicy string

// The two answers to a total that moves mid-listing.
const (
	TotalChangeError   TotalChangePolicy = "error"
	TotalChangeRestart TotalChangePolicy = "restart" // restart the listing up to MaxRestarts times, then fail
)

// MissingPolicy says what happens when a response lacks an attribute the
// client asked for. Personio leaves out attributes the credential may not
// read, so a missing attribute usually means a whitelisting gap, not an
// empty value.
type MissingPolicy string

// The two answers to a missing attribute.
const (
	MissingError MissingPolicy = "error"
	MissingEmpty MissingPolicy = "empty" // treat as unset
)

// UnresolvedPolicy says what v2 does with an org id (department, team,
// office, legal entity, cost center) it cannot turn into a name, for example
// because the lookup endpoint is beta-gated and answers 404.
type UnresolvedPolicy string

// The two answers to an unresolvable org id.
const (
	UnresolvedError UnresolvedPolicy = "error"
	UnresolvedUseID UnresolvedPolicy = "id" // use the id as the name
)

// ChangedMode says how v2 finds changed people. Nothing promises that an
// employment change (a termination) bumps the person's updated_at
// [UNCONFIRMED], so the safe default reads everyone and filters locally.
type ChangedMode string

// The two v2 incremental strategies.
const (
	ChangedFull    ChangedMode = "full"    // read all, keep those updated after since
	ChangedPersons ChangedMode = "persons" // trust /v2/persons?updated_at.gt
)

// DefaultBaseURL is Personio's API host for both versions.
const DefaultBaseURL = "https://api.personio.de"

// Config configures a Client. The zero value of every field but the
// credentials has a working default.
type Config struct {
	BaseURL      string // default DefaultBaseURL; a trailing /v1 or /v2 is ignored
	ClientID     string
	ClientSecret string
	APIVersion   APIVersion // default APIv1

	// PartnerID and AppID are sent as X-Personio-Partner-ID and
	// X-Personio-App-ID on every call, UPPER_SNAKE_CASE by Personio's advice.
	PartnerID string
	AppID     string // default "PERSONIO_SCIM"

	HTTPClient *http.Client  // default: a new client; redirects to other hosts are refused
	Timeout    time.Duration // per request attempt, default 30 s
	AllowHTTP  bool          // allow a plain-http base URL on a non-loopback host

	// NoRateLimit turns off the client-side limiter (benchmarks, simulator
	// runs without limits). 429 answers are still retried.
	NoRateLimit bool
	// Now and Sleep replace the clock for rate limiting, back-off and stats;
	// Sleep must return ctx.Err() as soon as ctx is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter is the random source for back-off jitter; default seeded from the clock.
	Jitter rand.Source

	MaxAttempts int           // per request, default 6
	MaxBackoff  time.Duration // cap of the exponential part, default 60 s

	// Attributes names the record fields to fetch and keep (see
	// StandardFields; custom attributes as dynamic_N). nil means every
	// standard field and no custom attribute: custom attributes are an allow
	// list. Bank and pay data is dropped even when named here.
	Attributes []string
	// CustomLabels names custom attributes by their label, resolved to keys
	// when a fetch starts (v1 through the attribute listing; an unknown
	// label fails the fetch). AllCustom keeps every custom attribute.
	CustomLabels []string
	AllCustom    bool

	// Location is the company's time zone, used for dates sent as UTC
	// instants. Default Europe/Berlin. (updated_since does not depend on
	// it: it is written so that any zone reads it as early enough.)
	Location *time.Location

	V1PageSize   int               // 1-100, default 100
	V1OffsetMode OffsetMode        // default OffsetRecords
	TotalChange  TotalChangePolicy // default TotalChangeRestart
	// MaxRestarts bounds how often a v1 listing starts over because the
	// total moved (someone was hired or left meanwhile). Default 3.
	MaxRestarts int
	Missing     MissingPolicy // default MissingError

	V2PageSize   int              // 1-50, default 50
	V2Scopes     []string         // requested token scopes; nil asks for all of the credential's
	V2Changed    ChangedMode      // default ChangedFull
	V2Unresolved UnresolvedPolicy // default UnresolvedError
	// V2Rate and V2Burst bound each v2 endpoint until its x-ratelimit-*
	// headers say otherwise (Personio publishes no v2 numbers). Default 5/s, 5.
	V2Rate  float64
	V2Burst int

	// OnRequest, if set, is called after every HTTP attempt (metrics).
	OnRequest func(RequestEvent)
	// OnProgress, if set, is called after every page (progress bars).
	OnProgress func(Progress)
}

// RequestEvent describes one HTTP attempt. It carries no personal data.
type RequestEvent struct {
	Endpoint string        // method and path template, e.g. "GET /v2/persons/{id}/employments"
	Status   int           // HTTP status, 0 when the request failed without one
	Attempt  int           // 1 for the first try of a request
	Retry    bool          // the client retries after this attempt
	Duration time.Duration // time until the response was read
}

// Progress reports how far a fetch got.
type Progress struct {
	Phase   string // "employees" (v1); "persons", then "employments" (v2)
	Pages   int    // pages read so far in this fetch
	Records int    // records read so far in this phase
	Total   int    // records expected in this phase, 0 when unknown
}

// withDefaults returns a copy of cfg with defaults filled in.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = APIv1
	}
	if cfg.AppID == "" {
		cfg.AppID = "PERSONIO_SCIM"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
	if cfg.Jitter == nil {
		seed := uint64(cfg.Now().UnixNano())
		cfg.Jitter = rand.NewPCG(seed, seed>>1|1)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			return Config{}, fmt.Errorf("load default time zone Europe/Berlin (import time/tzdata or set Location): %w", err)
		}
		cfg.Location = loc
	}
	if cfg.V1PageSize == 0 {
		cfg.V1PageSize = 100
	}
	if cfg.V1OffsetMode == "" {
		cfg.V1OffsetMode = OffsetRecords
	}
	if cfg.TotalChange == "" {
		cfg.TotalChange = TotalChangeRestart
	}
	if cfg.MaxRestarts == 0 {
		cfg.MaxRestarts = 3
	}
	if cfg.Missing == "" {
		cfg.Missing = MissingError
	}
	if cfg.V2PageSize == 0 {
		cfg.V2PageSize = 50
	}
	if cfg.V2Changed == "" {
		cfg.V2Changed = ChangedFull
	}
	if cfg.V2Unresolved == "" {
		cfg.V2Unresolved = UnresolvedError
	}
	if cfg.V2Rate == 0 {
		cfg.V2Rate = 5
	}
	if cfg.V2Burst == 0 {
		cfg.V2Burst = 5
	}
	return cfg, cfg.validate()
}

func (cfg Config) validate() error {
	var problems []string
	check := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	check(cfg.ClientID != "" && cfg.ClientSecret != "", "client id and secret are required")
	check(cfg.APIVersion == APIv1 || cfg.APIVersion == APIv2, "api version must be v1 or v2")
	check(cfg.V1PageSize >= 1 && cfg.V1PageSize <= 100, "v1 page size must be 1-100")
	check(cfg.V2PageSize >= 1 && cfg.V2PageSize <= 50, "v2 page size must be 1-50")
	check(cfg.V1OffsetMode == OffsetRecords || cfg.V1OffsetMode == OffsetPages, "v1 offset mode must be record or page")
	check(cfg.TotalChange == TotalChangeError || cfg.TotalChange == TotalChangeRestart, "total change policy must be error or restart")
	check(cfg.Missing == MissingError || cfg.Missing == MissingEmpty, "missing attribute policy must be error or empty")
	check(cfg.V2Changed == ChangedFull || cfg.V2Changed == ChangedPersons, "v2 changed mode must be full or persons")
	check(cfg.V2Unresolved == UnresolvedError || cfg.V2Unresolved == UnresolvedUseID, "v2 unresolved policy must be error or id")
	check(cfg.MaxAttempts >= 1, "max attempts must be at least 1")
	check(cfg.MaxRestarts >= 0, "max restarts must not be negative")
	check(cfg.Timeout > 0 && cfg.MaxBackoff > 0, "timeout and max backoff must be positive")
	check(cfg.V2Rate > 0 && cfg.V2Burst >= 1, "v2 rate and burst must be positive")
	if len(problems) > 0 {
		return fmt.Errorf("personio config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// parseBaseURL accepts Personio's documented base URLs with or without the
// version suffix and refuses plain http to remote hosts, which would send the
// credentials in the clear.
func parseBaseURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("personio base url: %w", err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("personio base url %q: want https://host", raw)
	}
	if u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("personio base url %q: plain http to a remote host would expose the credentials; use https or set AllowHTTP", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/v1"), "/v2")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}
