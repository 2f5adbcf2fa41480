package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/store"
)

// batch is one Push call.
type batch struct {
	t   *Target
	dry bool

	mu sync.Mutex
	// created maps our ids to the target's for items pushed earlier in
	// this batch, so a report can point at a manager created just before.
	created map[string]string
	// throttled is the first throttling answer; items not yet started are
	// then not sent.
	throttled *push.Result
}

func (b *batch) createdID(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.created[id]
}

func (b *batch) setCreated(id, targetID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.created[id] = targetID
}

func (b *batch) throttle() *push.Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.throttled
}

func (b *batch) setThrottled(r push.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.throttled == nil {
		b.throttled = &r
	}
}

// itemRun is the work on one item.
type itemRun struct {
	b   *batch
	it  push.Item
	res push.Result
	// redact lists the item's personal values, kept out of error messages
	// even when the server quotes them.
	redact []string
}

func (b *batch) push(ctx context.Context, it push.Item) (push.Result, error) {
	ir := &itemRun{b: b, it: it, res: push.Result{ID: it.ID, TargetID: it.Previous.TargetID, State: it.Previous.State}}
	if it.Identity != nil {
		a := it.Identity.Attributes
		ir.redact = []string{a.UserName, a.Email, a.DisplayName, a.GivenName, a.FamilyName, a.Phone}
	}
	if it.Group != nil {
		ir.redact = []string{it.Group.DisplayName}
	}
	switch it.Kind {
	case store.KindIdentity:
		if it.Identity == nil && !it.Delete {
			return ir.failData("", "the item carries no identity"), nil
		}
		return ir.pushIdentity(ctx)
	case store.KindGroup:
		if b.t.cfg.Dialect.UsersOnly {
			ir.res.Outcome = push.Skipped
			ir.res.Error = "the server holds no groups (dialect users_only)"
			return ir.res, nil
		}
		if it.Group == nil && !it.Delete {
			return ir.failData("", "the item carries no group"), nil
		}
		return ir.pushGroup(ctx)
	}
	return ir.failData("", fmt.Sprintf("unknown kind %q", it.Kind)), nil
}

// read sends a GET; reads go out in dry runs too.
func (ir *itemRun) read(ctx context.Context, u *url.URL) (response, error) {
	return ir.b.t.do(ctx, http.MethodGet, u, nil, "")
}

// write sends a write request and records it in the result; in a dry run
// it only records it and answers as a server that accepted it would,
// without a body.
func (ir *itemRun) write(ctx context.Context, method string, u *url.URL, body any, ifMatch string) (response, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return response{}, fmt.Errorf("encoding the request: %w", err)
		}
	}
	req := push.Request{Method: method, URL: u.String(), Body: data}
	if ifMatch != "" {
		req.Header = http.Header{"If-Match": {ifMatch}}
	}
	if ir.b.dry {
		// A group created in this preview has no id yet; show the
		// placeholder readably.
		req.URL = strings.ReplaceAll(req.URL, "%7Bid%7D", "{id}")
		ir.res.Requests = append(ir.res.Requests, req)
		status := http.StatusOK
		switch method {
		case http.MethodPost:
			status = http.StatusCreated
		case http.MethodDelete:
			status = http.StatusNoContent
		}
		return response{status: status, header: http.Header{}, dry: true}, nil
	}
	resp, err := ir.b.t.do(ctx, method, u, data, ifMatch)
	req.Status = resp.status
	req.Answer = capBytes(resp.body, maxKeptAnswer)
	ir.res.Requests = append(ir.res.Requests, req)
	return resp, err
}

func capBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[:n]
}

// fail turns a refused write or read into the item's failure.
func (ir *itemRun) fail(resp response, what string) push.Result {
	e := resp.scimError()
	r := ir.res
	r.Outcome = push.Failed
	r.Code = e.ScimType
	if r.Code == "" {
		r.Code = strconv.Itoa(resp.status)
	}
	r.Error = fmt.Sprintf("%s: HTTP %d", what, resp.status)
	if e.ScimType != "" {
		r.Error += " " + e.ScimType
	}
	if d := ir.scrub(e.Detail); d != "" {
		r.Error += ": " + d
	}
	switch {
	case resp.status == http.StatusTooManyRequests:
		r.Retryable = true
		r.RetryAfter = retryAfter(resp.header, ir.b.t.now())
		r.Code = "429"
		ir.b.setThrottled(r)
	case resp.status == http.StatusRequestTimeout || resp.status == http.StatusPreconditionFailed || resp.status >= 500:
		r.Retryable = true
		r.RetryAfter = retryAfter(resp.header, ir.b.t.now())
	}
	return r
}

func (ir *itemRun) failData(code, msg string) push.Result {
	r := ir.res
	r.Outcome, r.Code, r.Error = push.Failed, code, msg
	return r
}

// scrub shortens a server's message and removes the item's own personal
// values from it.
func (ir *itemRun) scrub(detail string) string {
	for _, v := range ir.redact {
		if len(v) >= 3 {
			detail = strings.ReplaceAll(detail, v, "[redacted]")
		}
	}
	detail = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, detail)
	if len(detail) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(detail[cut]) {
			cut--
		}
		detail = detail[:cut] + "…"
	}
	return strings.ToValidUTF8(detail, "�")
}

// resource is what the target reads from a User or Group answer.
type resource struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Members     []struct {
		Value string `json:"value"`
	} `json:"members"`
	Meta struct {
		Version string `json:"version"`
	} `json:"meta"`
}

func (r resource) memberIDs() []string {
	ids := make([]string, 0, len(r.Members))
	for _, m := range r.Members {
		if m.Value != "" {
			ids = append(ids, m.Value)
		}
	}
	return ids
}

// errGarbage fails a batch: an answer that is not SCIM means the URL or the
// server is wrong, and no item's outcome can be trusted.
var errGarbage = errors.New("the server answered something that is not SCIM")

// parseCreated reads the answer to a create, which must name the new
// resource's id: without it the resource could never be addressed again.
// A dry run's answer is the request itself and has none.
func parseCreated(resp response, what string) (resource, string, error) {
	r, etag, err := parseResource(resp)
	if err != nil {
		return resource{}, "", fmt.Errorf("%s: %w", what, err)
	}
	if r.ID == "" && !resp.dry {
		return resource{}, "", fmt.Errorf("%s: %w (no id in the answer)", what, errGarbage)
	}
	return r, etag, nil
}

// parseResource reads a resource answer. A 204 or an empty body gives the
// id from Location, when there is one.
func parseResource(resp response) (resource, string, error) {
	etag := resp.header.Get("ETag")
	if resp.dry {
		return resource{}, "", nil
	}
	if resp.status == http.StatusNoContent || len(strings.TrimSpace(string(resp.body))) == 0 {
		var r resource
		if loc := resp.header.Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				r.ID = lastSegment(u.Path)
			}
		}
		return r, etag, nil
	}
	var r resource
	if err := json.Unmarshal(resp.body, &r); err != nil {
		return resource{}, "", fmt.Errorf("%w (%s)", errGarbage, resp.garbage())
	}
	if etag == "" {
		etag = r.Meta.Version
	}
	return r, etag, nil
}

func lastSegment(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	s, err := url.PathUnescape(p)
	if err != nil {
		return ""
	}
	return s
}

// search lists the resources of an endpoint matching `attr eq "value"`. A
// refused search is a configuration problem shared by every item, so it
// fails the batch; throttling and server errors fail only the item.
func (ir *itemRun) search(ctx context.Context, endpoint, attr, value string) ([]resource, *push.Result, error) {
	quoted, _ := json.Marshal(value)
	u := ir.b.t.url(endpoint)
	// Spaces as %20, not +: several servers decode queries without
	// form semantics and would read the plus literally.
	u.RawQuery = "filter=" + strings.ReplaceAll(url.QueryEscape(attr+" eq "+string(quoted)), "+", "%20")
	resp, err := ir.read(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case resp.status == http.StatusTooManyRequests || resp.status >= 500:
		r := ir.fail(resp, "searching "+endpoint+" by "+attr)
		return nil, &r, nil
	case resp.status == http.StatusNotFound:
		return nil, nil, fmt.Errorf("GET /%s answered 404: check base_url", endpoint)
	case !resp.ok():
		return nil, nil, fmt.Errorf("searching /%s by %s: %s; the server may not filter by %s", endpoint, attr, resp.describe(), attr)
	}
	found, err := decodeList(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("searching /%s: %w", endpoint, err)
	}
	return found, nil, nil
}

// decodeList reads a ListResponse.
func decodeList(resp response) ([]resource, error) {
	var list struct {
		TotalResults *int       `json:"totalResults"`
		Resources    []resource `json:"Resources"`
	}
	if err := json.Unmarshal(resp.body, &list); err != nil || list.TotalResults == nil {
		return nil, fmt.Errorf("%w (%s)", errGarbage, resp.garbage())
	}
	if *list.TotalResults > 0 && len(list.Resources) == 0 {
		return nil, fmt.Errorf("%w (totalResults %d without Resources)", errGarbage, *list.TotalResults)
	}
	return list.Resources, nil
}
