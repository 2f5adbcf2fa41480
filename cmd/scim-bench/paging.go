package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// pageSize is what Okta asks for on import.
const pageSize = 100

// maxWalkPages bounds a walk over a server whose totalResults keeps growing.
const maxWalkPages = 2 * maxEmployees / pageSize

// scimUser is the part of a SCIM user the bench builds requests from.
type scimUser struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Name     struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Emails []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"emails"`
}

// workEmail is the user's work address, or "" without one.
func (u scimUser) workEmail() string {
	for _, e := range u.Emails {
		if e.Type == "work" {
			return e.Value
		}
	}
	return ""
}

// listHead is the part of a ListResponse that drives paging.
type listHead struct {
	TotalResults int `json:"totalResults"`
	ItemsPerPage int `json:"itemsPerPage"`
}

// pager GETs SCIM pages with a bearer token, reusing one body buffer.
type pager struct {
	client  *http.Client
	baseURL string // the SCIM base, e.g. http://127.0.0.1:PORT/scim/v2
	token   string
	buf     bytes.Buffer
}

// statusError is a completed request with a status other than 2xx.
type statusError struct {
	URL    string
	Status int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.URL, e.Status) }

// get fetches path (relative to the SCIM base) into p.buf and returns how
// long the round trip took, body included.
func (p *pager) get(ctx context.Context, path string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", "application/scim+json")
	p.buf.Reset()
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	_, err = p.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("GET %s: read body: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return took, &statusError{URL: path, Status: resp.StatusCode}
	}
	return took, nil
}

// pageWalk is one sequential pass over a resource type, Okta-style:
// startIndex 1, 101, 201, … with count 100 until totalResults is reached.
type pageWalk struct {
	Pages     int
	Resources int
	Latencies []time.Duration
}

// walk pages through resource ("Users" or "Groups"); each page's body is
// handed to onPage while it is still in the buffer.
func (p *pager) walk(ctx context.Context, resource string, onPage func(body []byte) error) (pageWalk, error) {
	var w pageWalk
	for start, total := 1, 1; start <= total; start += pageSize {
		took, err := p.get(ctx, fmt.Sprintf("/%s?startIndex=%d&count=%d", resource, start, pageSize))
		if err != nil {
			return w, err
		}
		w.Latencies = append(w.Latencies, took)
		var head listHead
		if err := json.Unmarshal(p.buf.Bytes(), &head); err != nil {
			return w, fmt.Errorf("%s page at %d: %w", resource, start, err)
		}
		w.Pages++
		w.Resources += head.ItemsPerPage
		if onPage != nil {
			if err := onPage(p.buf.Bytes()); err != nil {
				return w, fmt.Errorf("%s page at %d: %w", resource, start, err)
			}
		}
		if head.ItemsPerPage == 0 {
			break // a server that stops short must not make the walk spin
		}
		if w.Pages == maxWalkPages {
			return w, fmt.Errorf("%s: more than %d pages; giving up", resource, maxWalkPages)
		}
		total = head.TotalResults
	}
	return w, nil
}

// discoverUsers pages through /Users and keeps what the scenarios need.
func discoverUsers(ctx context.Context, p *pager) ([]scimUser, error) {
	var users []scimUser
	_, err := p.walk(ctx, "Users", func(body []byte) error {
		var page struct {
			Resources []scimUser `json:"Resources"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		users = append(users, page.Resources...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover users: %w", err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("discover users: %s/Users has none", p.baseURL)
	}
	return users, nil
}

// fetchBody returns the body of one answer, for the baseline to replay.
func fetchBody(ctx context.Context, p *pager, path string) ([]byte, error) {
	if _, err := p.get(ctx, path); err != nil {
		return nil, err
	}
	return bytes.Clone(p.buf.Bytes()), nil
}
