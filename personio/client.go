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
	Calls            int // HTTP attempts, including authentication and retries
	AuthCalls        int // attempts at the auth endpoint
	Retries          int // attempts repeated after 429, 5xx, network errors or 401
	RateLimited      int // 429 answers
	Pages            int // list pages read
	Restarts         int // listings restarted after the total changed
	DroppedSensitive int // custom attribute values dropped as bank or pay data
	Duration         time.Duration
}

// run carries the state of one fetch.
type run struct {
	stats    FetchStats
	progress func(Progress)
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

// FetchOne reads one person by Personio id.
func (c *Client) FetchOne(ctx context.Context, id string) (Record, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return Record{}, fmt.Errorf("personio fetch one: invalid id")
	}
	r := &run{}
	if c.cfg.APIVersion == APIv2 {
		return c.fetchOneV2(ctx, r, id)
	}
	return c.fetchOneV1(ctx, r, id)
}

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
