package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fetchV2 lists persons, reads each one's employments (v2 has no bulk
// employments endpoint), resolves org ids to names and builds Records.
//
// A v2 listing cannot prove itself complete: it announces no total, and a
// last page without a next link looks the same whether it ends the list or
// cuts it short. walkV2 refuses what is visibly inconsistent (an empty page
// that still links on, repeated cursors, pages of nothing new); the rest of
// the proof is the caller's: everyone known before and missing from a full
// listing must be looked up by id (Exists, FetchOne, ConfirmGone) and only
// a 404 of their own makes them gone.
func (c *Client) fetchV2(ctx context.Context, r *run, since time.Time) ([]Record, error) {
	q := url.Values{"limit": {strconv.Itoa(c.cfg.V2PageSize)}}
	filterLocally := !since.IsZero() && c.cfg.V2Changed == ChangedFull
	if !since.IsZero() && c.cfg.V2Changed == ChangedPersons {
		q.Set("updated_at.gt", since.UTC().Format(time.RFC3339))
	}
	rawPersons, err := c.walkV2(ctx, r, endpointV2Persons, "/v2/persons?"+q.Encode(), "persons", false, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch persons: %w", err)
	}
	dec, err := c.v2Decoder(ctx, r)
	if err != nil {
		return nil, err
	}
	records := make([]Record, 0, len(rawPersons))
	for i, raw := range rawPersons {
		d, err := c.v2Record(ctx, r, dec, raw)
		if err != nil {
			return nil, fmt.Errorf("fetch persons: %w", err)
		}
		r.stats.DroppedSensitive += d.droppedSensitive
		if !filterLocally || d.changedAt.IsZero() || d.changedAt.After(since) {
			records = append(records, d.record)
		}
		r.report(Progress{Phase: "employments", Records: i + 1, Total: len(rawPersons)})
	}
	return records, nil
}

func (c *Client) fetchOneV2(ctx context.Context, r *run, id string) (Record, error) {
	resp, err := c.person(ctx, r, endpointV2Person, "/v2/persons/", id)
	if err != nil {
		return Record{}, fmt.Errorf("fetch person %s: %w", id, err)
	}
	rec, err := c.decodeOneV2(ctx, r, id, resp.body)
	if err != nil {
		return Record{}, fmt.Errorf("fetch person %s: %w", id, notVanished{err})
	}
	return rec, nil
}

func (c *Client) decodeOneV2(ctx context.Context, r *run, id string, body []byte) (Record, error) {
	dec, err := c.v2Decoder(ctx, r)
	if err != nil {
		return Record{}, err
	}
	d, err := c.v2Record(ctx, r, dec, body)
	if err != nil {
		return Record{}, err
	}
	if d.record.ID != id {
		return Record{}, fmt.Errorf("%w: the answer is about person %s", ErrMalformed, d.record.ID)
	}
	return d.record, nil
}

// v2Record decodes one person and fetches its employments when a selected
// field lives there.
func (c *Client) v2Record(ctx context.Context, r *run, dec v2Decoder, raw json.RawMessage) (v2Decoded, error) {
	p, err := decodeV2Person(raw)
	if err != nil {
		return v2Decoded{}, err
	}
	var emps []v2Employment
	if dec.employments && !p.hasNoEmployments() {
		if emps, err = c.employments(ctx, r, string(p.ID)); err != nil {
			return v2Decoded{}, err
		}
		if err := p.checkEmployments(emps); err != nil {
			return v2Decoded{}, err
		}
	}
	return dec.record(p, emps)
}

func (c *Client) employments(ctx context.Context, r *run, personID string) ([]v2Employment, error) {
	path := "/v2/persons/" + url.PathEscape(personID) + "/employments?limit=" + strconv.Itoa(c.cfg.V2PageSize)
	raws, err := c.walkV2(ctx, r, endpointV2Employment, path, "employments", false, &r.employmentsBody)
	if err != nil {
		return nil, fmt.Errorf("employments of person %s: %w", personID, err)
	}
	emps := make([]v2Employment, 0, len(raws))
	for _, raw := range raws {
		e, err := decodeV2Employment(raw)
		if err != nil {
			return nil, fmt.Errorf("employments of person %s: %w", personID, err)
		}
		emps = append(emps, e)
	}
	return emps, nil
}

// walkV2 follows a v2 cursor listing to its end and returns the distinct
// items. It refuses next links to another host, stops with an error on a
// repeated cursor, a next link to the page itself, a page that brings
// nothing new, or an empty page that still has a next link (the listing
// would be cut short). With into the first page is read into that buffer
// (the others into their own), so the items live until its next use.
func (c *Client) walkV2(ctx context.Context, r *run, endpoint, firstPath, phase string, beta bool, into *[]byte) ([]json.RawMessage, error) {
	current := c.url(firstPath)
	visited := map[string]bool{pageKey(current): true}
	seen := map[string]bool{}
	var items []json.RawMessage
	for page := 1; ; page++ {
		cl := call{method: http.MethodGet, endpoint: endpoint, url: current, auth: true, beta: beta}
		if page == 1 {
			cl.into = into
		}
		resp, err := c.send(ctx, r, cl)
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", phase, page, err)
		}
		r.stats.Pages++
		data, href, err := decodeV2Page(resp.body)
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", phase, page, err)
		}
		next, err := c.nextPage(current, href, visited)
		if err != nil {
			return nil, fmt.Errorf("%s page %d: %w", phase, page, err)
		}
		if len(data) == 0 && next != "" {
			return nil, fmt.Errorf("%s page %d: %w: empty page with a next link", phase, page, ErrTruncated)
		}
		added := 0
		for _, raw := range data {
			id, err := itemID(raw)
			if err != nil {
				return nil, fmt.Errorf("%s page %d: %w", phase, page, err)
			}
			if !seen[id] {
				seen[id] = true
				items = append(items, raw)
				added++
			}
		}
		if len(data) > 0 && added == 0 {
			return nil, fmt.Errorf("%s page %d: %w: the page holds only items seen before", phase, page, ErrCursorLoop)
		}
		if phase == "persons" {
			r.report(Progress{Phase: phase, Records: len(items)})
		}
		if next == "" {
			return items, nil
		}
		current = next
	}
}

// nextPage resolves a next link (absolute or relative) and checks it.
func (c *Client) nextPage(current, href string, visited map[string]bool) (string, error) {
	if href == "" {
		return "", nil
	}
	cur, err := url.Parse(current)
	if err != nil {
		return "", fmt.Errorf("parse current page url: %w", err)
	}
	ref, err := url.Parse(href)
	if err != nil {
		return "", malformed("next link does not parse")
	}
	next := cur.ResolveReference(ref)
	if next.Scheme != c.base.Scheme || !strings.EqualFold(next.Host, c.base.Host) {
		return "", fmt.Errorf("%w: %s (expected %s)", ErrForeignHost, next.Host, c.base.Host)
	}
	key := pageKey(next.String())
	switch {
	case key == pageKey(current):
		return "", fmt.Errorf("%w: the next link points at the page itself", ErrCursorLoop)
	case visited[key]:
		return "", fmt.Errorf("%w: a cursor came back", ErrCursorLoop)
	}
	visited[key] = true
	return next.String(), nil
}

// pageKey identifies a page: by its cursor when it has one, else by its URL.
func pageKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if cursor := u.Query().Get("cursor"); cursor != "" {
		return "cursor:" + cursor
	}
	return "url:" + u.String()
}

// v2Decoder fetches the org lookups the selected fields need and returns a
// decoder that uses them.
func (c *Client) v2Decoder(ctx context.Context, r *run) (v2Decoder, error) {
	lookups := &v2Lookups{useIDs: c.cfg.V2Unresolved == UnresolvedUseID}
	wanted := []struct {
		field, endpoint, path string
		beta                  bool
		target                *map[string]string
	}{
		{FieldDepartment, endpointV2OrgUnits, "/v2/org-units?type=department&limit=50", false, &lookups.departments},
		{FieldTeam, endpointV2OrgUnits, "/v2/org-units?type=team&limit=50", false, &lookups.teams},
		{FieldOffice, endpointV2Workplaces, "/v2/workplaces?limit=50", false, &lookups.offices},
		{FieldLegalEntity, endpointV2Legal, "/v2/legal-entities?limit=100", false, &lookups.legalEntities},
		{FieldCostCenters, endpointV2CostCenter, "/v2/cost-centers?limit=50", true, &lookups.costCenters},
	}
	for _, w := range wanted {
		if !c.attrs.has(w.field) {
			continue
		}
		names, err := c.lookup(ctx, r, w.endpoint, w.path, w.beta)
		if err != nil {
			return v2Decoder{}, fmt.Errorf("fetch %s names: %w", w.field, err)
		}
		*w.target = names
	}
	attrs, err := c.withLabels(ctx)
	if err != nil {
		return v2Decoder{}, err
	}
	return v2Decoder{attrs: attrs, zone: c.cfg.Location, missing: c.cfg.Missing, lookups: lookups,
		employments: c.attrs.hasAny(employmentFields()...)}, nil
}

// lookup reads an id→name list. These endpoints are beta-gated for some
// companies and answer 404; with the "id" policy that leaves ids as names.
func (c *Client) lookup(ctx context.Context, r *run, endpoint, path string, beta bool) (map[string]string, error) {
	raws, err := c.walkV2(ctx, r, endpoint, path, "lookups", beta, nil)
	if errors.Is(err, ErrNotFound) {
		if c.cfg.V2Unresolved == UnresolvedUseID {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("%w (the endpoint may not be enabled for this company: use API v1, or set the unresolved policy to id)", err)
	}
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(raws))
	for _, raw := range raws {
		var item struct {
			ID          looseID `json:"id"`
			Name        string  `json:"name"`
			LegalName   string  `json:"legal_name"`
			DisplayName string  `json:"display_name"`
		}
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, malformed("lookup item: %v", err)
		}
		names[string(item.ID)] = firstNonEmpty(item.Name, item.LegalName, item.DisplayName)
	}
	return names, nil
}
