// Package scim is the push target for any SCIM 2.0 server (RFC 7644): it
// pushes identities as Users with the enterprise extension and groups as
// Groups with members, matching existing accounts before it creates any.
// docs/push-scim.md is the administrator's guide.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
)

const (
	typeName      = "scim"
	mediaType     = "application/scim+json"
	maxAnswer     = 4 << 20 // a page of 100 users with groups fits many times
	maxKeptAnswer = 2048    // of an answer kept in Result.Requests
)

// Target pushes to one SCIM server.
type Target struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	now    func() time.Time
	logger *slog.Logger

	mu         sync.Mutex
	discovered bool
	caps       capabilities
}

type capabilities struct {
	patch bool
	etag  bool
}

var _ push.Factory = Open

// Open is the Factory for `type: scim`.
func Open(ctx context.Context, section *yaml.Node, env push.Env) (push.Target, error) {
	cfg, err := ParseConfig(section)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg, env)
}

// New opens a target from a parsed configuration.
func New(ctx context.Context, cfg Config, env push.Env) (*Target, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("scim.base_url: %w", err)
	}
	if env.HTTPClient == nil {
		return nil, errors.New("scim: no HTTP client")
	}
	if env.Getenv == nil {
		return nil, errors.New("scim: no environment")
	}
	tokenClient := noRedirects(env.HTTPClient, "")
	header, err := authorizer(ctx, cfg, env, tokenClient)
	if err != nil {
		return nil, err
	}
	client := noRedirects(env.HTTPClient, base.Host)
	transport := client.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	client.Transport = &authTransport{base: transport, host: base.Host, header: header}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Target{cfg: cfg, base: base, client: client, now: now, logger: logger}, nil
}

// noRedirects copies the client and refuses redirects to another host than
// host (every redirect when host is empty), keeping the client's own policy
// for the rest.
func noRedirects(c *http.Client, host string) *http.Client {
	cp := *c
	inner := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if host == "" || req.URL.Host != host {
			return fmt.Errorf("refusing a redirect to another host (%s)", req.URL.Host)
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return &cp
}

// Info implements push.Target.
func (t *Target) Info() push.Info {
	return push.Info{
		Type:            typeName,
		MaxBatch:        t.cfg.MaxBatch,
		Groups:          !t.cfg.Dialect.UsersOnly,
		DeleteOnRemoval: t.cfg.OnRemove == "delete",
	}
}

// Push implements push.Target. Up to `concurrency` items are in flight at
// once; an item waits for the items earlier in the batch it refers to (its
// manager, a group's members), so that it can point at their new ids.
func (t *Target) Push(ctx context.Context, items []push.Item, dry bool) ([]push.Result, error) {
	if err := t.discover(ctx); err != nil {
		return nil, err
	}
	run := &batch{t: t, dry: dry, created: map[string]string{}}
	results := make([]push.Result, len(items))
	done := make([]chan struct{}, len(items))
	for i := range done {
		done[i] = make(chan struct{})
	}
	deps := dependencies(items)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(t.cfg.Concurrency, len(items)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				run.pushOne(ctx, cancel, items, i, deps[i], done, results)
				close(done[i])
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

// pushOne pushes item i once the items it depends on are through.
func (b *batch) pushOne(ctx context.Context, fail context.CancelCauseFunc, items []push.Item, i int, deps []int, done []chan struct{}, results []push.Result) {
	for _, j := range deps {
		select {
		case <-done[j]:
		case <-ctx.Done():
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	it := items[i]
	if thr := b.throttle(); thr != nil {
		results[i] = notAttempted(it, thr)
		return
	}
	res, err := b.push(ctx, it)
	if err != nil {
		fail(fmt.Errorf("scim: item %d of %d (%s %s): %w", i+1, len(items), it.Kind, it.ID, err))
		return
	}
	if res.TargetID != "" {
		b.setCreated(it.ID, res.TargetID)
	}
	results[i] = res
}

// dependencies lists, per item, the earlier items it refers to: an
// identity's manager, a group's members.
func dependencies(items []push.Item) [][]int {
	pos := make(map[string]int, len(items))
	for i, it := range items {
		if _, seen := pos[it.ID]; !seen {
			pos[it.ID] = i
		}
	}
	deps := make([][]int, len(items))
	earlier := func(i int, id string) {
		if j, ok := pos[id]; ok && j < i {
			deps[i] = append(deps[i], j)
		}
	}
	for i, it := range items {
		if it.Identity != nil && it.Identity.Manager != nil {
			earlier(i, it.Identity.Manager.ID)
		}
		if it.Group != nil {
			for _, m := range it.Group.Members {
				earlier(i, m.ID)
			}
		}
	}
	return deps
}

// notAttempted fails an item the batch did not send because the server is
// throttling: sending more would only be refused too.
func notAttempted(it push.Item, cause *push.Result) push.Result {
	return push.Result{
		ID: it.ID, Outcome: push.Failed, TargetID: it.Previous.TargetID, State: it.Previous.State,
		Error: "not sent: the server is throttling", Code: "429", Retryable: true, RetryAfter: cause.RetryAfter,
	}
}

func (t *Target) discover(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.discovered {
		return nil
	}
	caps := capabilities{patch: t.cfg.Update != "put"}
	if t.cfg.discoveryEnabled() && t.cfg.Update == "auto" {
		spc, err := t.readSPC(ctx)
		if err != nil {
			return err
		}
		caps = spc
	}
	t.caps, t.discovered = caps, true
	update := "PUT"
	if caps.patch {
		update = "PATCH"
	}
	t.logger.Info("scim target ready", "updates", update, "etags", caps.etag, "discovery", t.cfg.discoveryEnabled() && t.cfg.Update == "auto")
	return nil
}

func (t *Target) readSPC(ctx context.Context) (capabilities, error) {
	resp, err := t.do(ctx, http.MethodGet, t.url("ServiceProviderConfig"), nil, "")
	if err != nil {
		return capabilities{}, fmt.Errorf("scim: reading ServiceProviderConfig: %w", err)
	}
	switch {
	case resp.status == http.StatusNotFound:
		return capabilities{}, errors.New("scim: ServiceProviderConfig answered 404: check base_url, or set discovery: false for servers without discovery endpoints")
	case resp.status != http.StatusOK:
		return capabilities{}, fmt.Errorf("scim: reading ServiceProviderConfig: %s", resp.describe())
	}
	var spc struct {
		Patch *struct {
			Supported bool `json:"supported"`
		} `json:"patch"`
		ETag struct {
			Supported bool `json:"supported"`
		} `json:"etag"`
	}
	if err := json.Unmarshal(resp.body, &spc); err != nil || spc.Patch == nil {
		return capabilities{}, fmt.Errorf("scim: ServiceProviderConfig is not a SCIM ServiceProviderConfig (%s)", resp.garbage())
	}
	return capabilities{patch: spc.Patch.Supported, etag: spc.ETag.Supported}, nil
}

func (t *Target) capabilities() capabilities {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.caps
}

// url joins path segments (escaped) to base_url.
func (t *Target) url(segments ...string) *url.URL {
	u := *t.base
	raw := strings.TrimRight(t.base.EscapedPath(), "/")
	u.Path = strings.TrimRight(u.Path, "/")
	for _, s := range segments {
		u.Path += "/" + s
		raw += "/" + url.PathEscape(s)
	}
	u.RawPath = raw
	return &u
}

// response is an answer read in full (capped).
type response struct {
	status int
	header http.Header
	body   []byte
	dry    bool // a dry run's stand-in: nothing was sent
}

func (r response) ok() bool { return r.status/100 == 2 }

// scimErr is the error body of RFC 7644 §3.12.
type scimErr struct {
	ScimType string          `json:"scimType"`
	Detail   string          `json:"detail"`
	Status   json.RawMessage `json:"status"`
}

func (r response) scimError() scimErr {
	var e scimErr
	_ = json.Unmarshal(r.body, &e)
	return e
}

func (r response) describe() string {
	e := r.scimError()
	s := fmt.Sprintf("HTTP %d", r.status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	return s
}

// garbage describes an answer that is not what SCIM promises, without
// quoting it.
func (r response) garbage() string {
	ct := r.header.Get("Content-Type")
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("HTTP %d, %s, %d bytes", r.status, ct, len(r.body))
}

// errUnauthorized fails a batch: no item can succeed without credentials.
var errUnauthorized = errors.New("the server refused the credentials")

// do sends one request. Transport failures, 401 and 403 are errors (the
// batch fails); every other status is the caller's to judge.
func (t *Target) do(ctx context.Context, method string, u *url.URL, body []byte, ifMatch string) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Accept", mediaType+", application/json")
	if body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return response{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return response{}, fmt.Errorf("reading the answer to %s %s: %w", method, u.Path, transportError(ctx, err))
	}
	if len(data) > maxAnswer {
		return response{}, fmt.Errorf("the answer to %s %s exceeds %d bytes", method, u.Path, maxAnswer)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: data}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return r, fmt.Errorf("%w: %s on %s %s", errUnauthorized, r.describe(), method, u.Path)
	case r.status/100 == 3:
		return r, fmt.Errorf("%s %s answered a redirect (HTTP %d); check base_url", method, u.Path, r.status)
	}
	return r, nil
}

func transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within the timeout: %w", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// Keep the operation and cause, drop the URL's query (filters
		// carry identifiers).
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
