package personio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Client reads people from Personio through API v1 or v2 and returns them
// as Records. It is safe for concurrent use; the token and the rate limits
// are shared by all calls.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	attrs   attributeSet
	limits  *limits
	backoff *backoff
	tokens  *tokenCache
}

// FetchStats describes one fetch. Duration is measured on the configured
// clock, so with a fake clock it is the simulated time spent waiting.
type FetchStats struct {
	Calls            int           `json:"calls"`             // HTTP attempts, including authentication and retries
	AuthCalls        int           `json:"auth_calls"`        // attempts at the auth endpoint
	Retries          int           `json:"retries"`           // attempts repeated after 429, 5xx, network errors or 401
	RateLimited      int           `json:"rate_limited"`      // 429 answers
	Pages            int           `json:"pages"`             // list pages read
	Restarts         int           `json:"restarts"`          // listings restarted after the total changed
	DroppedSensitive int           `json:"dropped_sensitive"` // custom attribute values dropped as bank or pay data
	Duration         time.Duration `json:"duration_ns"`
}

// run carries the state of one fetch.
type run struct {
	stats    FetchStats
	progress func(Progress)
	// employmentsBody is read into by every person's employments call:
	// each is decoded before the next is sent.
	employmentsBody []byte
}

func (r *run) countCall(endpoint string, status int) {
	r.stats.Calls++
	if endpoint == endpointV1Auth || endpoint == endpointV2Token {
		r.stats.AuthCalls++
	}
	if status == http.StatusTooManyRequests {
		r.stats.RateLimited++
	}
}

func (r *run) report(p Progress) {
	if r.progress != nil {
		p.Pages = r.stats.Pages
		r.progress(p)
	}
}

// NewClient checks cfg and builds a client. It makes no request.
func NewClient(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := parseBaseURL(cfg.BaseURL, cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	attrs, err := resolveAttributes(cfg.Attributes)
	if err != nil {
		return nil, fmt.Errorf("personio config: %w", err)
	}
	httpClient := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		httpClient = &copied
	}
	httpClient.CheckRedirect = refuseForeignRedirects(base.Host)
	return &Client{
		cfg:     cfg,
		base:    base,
		http:    httpClient,
		attrs:   attrs,
		limits:  newLimits(cfg),
		backoff: newBackoff(cfg.MaxBackoff, cfg.Jitter),
		tokens:  newTokenCache(),
	}, nil
}

// APIVersion reports the API the client reads.
func (c *Client) APIVersion() APIVersion { return c.cfg.APIVersion }

// FetchAll reads every person. It returns all of them or an error, never a
// partial list.
func (c *Client) FetchAll(ctx context.Context) ([]Record, FetchStats, error) {
	return c.fetch(ctx, time.Time{})
}

// FetchChanged reads the people Personio reports as changed after since:
// v1 through updated_since (which only sees attributes the credential may
// read), v2 through updated_at.gt or a full read filtered locally (see
// Config.V2Changed). Like FetchAll it is complete or an error.
func (c *Client) FetchChanged(ctx context.Context, since time.Time) ([]Record, FetchStats, error) {
	if since.IsZero() {
		return nil, FetchStats{}, errors.New("personio fetch changed: since is zero; use FetchAll")
	}
	return c.fetch(ctx, since)
}

// changedBound is the bound sent for "changed after since". Personio keeps
// whole seconds and compares strictly, so a change in since's own second
// could be missed; asking from one second earlier gives a superset, never a
// gap.
func changedBound(since time.Time) time.Time {
	return since.Truncate(time.Second).Add(-time.Second)
}

func (c *Client) fetch(ctx context.Context, since time.Time) ([]Record, FetchStats, error) {
	r := &run{progress: c.cfg.OnProgress}
	start := c.cfg.Now()
	var (
		records []Record
		err     error
	)
	bound := since
	if !since.IsZero() {
		bound = changedBound(since)
	}
	if c.cfg.APIVersion == APIv2 {
		records, err = c.fetchV2(ctx, r, bound)
	} else {
		records, err = c.fetchV1(ctx, r, bound)
	}
	r.stats.Duration = c.cfg.Now().Sub(start)
	if err != nil {
		return nil, r.stats, err
	}
	sortByID(records)
	return records, r.stats, nil
}

// FetchOne reads one person by Personio id. It returns an error matching
// ErrNotFound only when Personio answered 404 for that person; any other
// failure on the way (authentication, org lookups, employments) never
// matches it, so that a caller confirming that someone is gone cannot
// mistake an outage for a departure.
func (c *Client) FetchOne(ctx context.Context, id string) (Record, error) {
	rec, _, err := c.FetchOneWithStats(ctx, id)
	return rec, err
}

// FetchOneWithStats is FetchOne that also reports the calls it made.
func (c *Client) FetchOneWithStats(ctx context.Context, id string) (Record, FetchStats, error) {
	if err := checkID(id); err != nil {
		return Record{}, FetchStats{}, err
	}
	r := &run{}
	start := c.cfg.Now()
	var (
		rec Record
		err error
	)
	if c.cfg.APIVersion == APIv2 {
		rec, err = c.fetchOneV2(ctx, r, id)
	} else {
		rec, err = c.fetchOneV1(ctx, r, id)
	}
	r.stats.Duration = c.cfg.Now().Sub(start)
	return rec, r.stats, err
}

// Exists reports whether Personio knows the person, with one call to the
// person's own endpoint and nothing else (no employments, no org lookups):
// what confirming that someone missing from a listing is really gone
// needs. false comes only from a 404 for that person.
func (c *Client) Exists(ctx context.Context, id string) (bool, FetchStats, error) {
	if err := checkID(id); err != nil {
		return false, FetchStats{}, err
	}
	r := &run{}
	start := c.cfg.Now()
	endpoint, path := endpointV1Employee, "/v1/company/employees/"
	if c.cfg.APIVersion == APIv2 {
		endpoint, path = endpointV2Person, "/v2/persons/"
	}
	_, err := c.person(ctx, r, endpoint, path, id)
	r.stats.Duration = c.cfg.Now().Sub(start)
	switch {
	case err == nil:
		return true, r.stats, nil
	case errors.Is(err, ErrNotFound):
		return false, r.stats, nil
	}
	return false, r.stats, err
}

// ConfirmGone looks up, one by one, people missing from a full listing
// and reports those Personio no longer knows (gone) and those it still
// knows (found: the listing lost them, so it was incomplete). Listings do
// not prove their own completeness, v2 least of all (no total), so a person
// becomes a leaver only on a 404 of their own. More than max ids fail at
// once, without a call: a listing missing that many people is broken, and
// confirming each would cost one call per person.
func (c *Client) ConfirmGone(ctx context.Context, ids []string, max int) (gone, found []string, stats FetchStats, err error) {
	if len(ids) > max {
		return nil, nil, stats, fmt.Errorf("%w: %d people missing from the listing, more than the %d that are looked up one by one", ErrTooManyMissing, len(ids), max)
	}
	for _, id := range ids {
		ok, s, err := c.Exists(ctx, id)
		stats.add(s)
		if err != nil {
			return nil, nil, stats, fmt.Errorf("confirm person %s is gone: %w", id, err)
		}
		if ok {
			found = append(found, id)
		} else {
			gone = append(gone, id)
		}
	}
	return gone, found, stats, nil
}

func (s *FetchStats) add(o FetchStats) {
	s.Calls += o.Calls
	s.AuthCalls += o.AuthCalls
	s.Retries += o.Retries
	s.RateLimited += o.RateLimited
	s.Pages += o.Pages
	s.Restarts += o.Restarts
	s.DroppedSensitive += o.DroppedSensitive
	s.Duration += o.Duration
}

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return fmt.Errorf("personio fetch one: invalid id")
	}
	return nil
}

// person reads a person's own endpoint. Only a 404 of this very call
// matches ErrNotFound.
func (c *Client) person(ctx context.Context, r *run, endpoint, path, id string) (response, error) {
	resp, err := c.send(ctx, r, call{method: http.MethodGet, endpoint: endpoint, auth: true, url: c.url(path + url.PathEscape(id))})
	if err != nil && !isPlainNotFound(err) {
		return response{}, notVanished{err}
	}
	return resp, err
}

// isPlainNotFound reports whether err is Personio's 404 answer itself, not
// an authentication failure that happened to be a 404.
func isPlainNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && !errors.Is(err, ErrAuth)
}

// notVanished wraps an error that must never read as "the person is
// gone": it matches whatever the wrapped error matches except ErrNotFound.
type notVanished struct{ err error }

func (e notVanished) Error() string { return e.err.Error() }

func (e notVanished) Is(target error) bool {
	return target != ErrNotFound && errors.Is(e.err, target)
}

func (e notVanished) As(target any) bool { return errors.As(e.err, target) }

// url joins a path (and optional query) to the base URL.
func (c *Client) url(path string) string {
	u := *c.base
	p, query, _ := strings.Cut(path, "?")
	u.Path = c.base.Path + p
	u.RawQuery = query
	return u.String()
}

// sortByID orders records by numeric Personio id so that fetches are
// reproducible whatever order the pages came in.
func sortByID(records []Record) {
	slices.SortFunc(records, func(a, b Record) int {
		return cmp.Or(cmp.Compare(len(a.ID), len(b.ID)), strings.Compare(a.ID, b.ID))
	})
}
