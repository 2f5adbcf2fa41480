package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// fetchV1 lists employees through v1. A total that moves between pages
// means someone was hired or left during the listing; with the restart
// policy the listing starts over, at most MaxRestarts times, so that a busy
// HR system cannot starve full syncs and a broken one cannot loop forever.
func (c *Client) fetchV1(ctx context.Context, r *run, since time.Time) ([]Record, error) {
	for restarts := 0; ; restarts++ {
		records, err := c.listV1(ctx, r, since)
		if errors.Is(err, ErrTotalChanged) && c.cfg.TotalChange == TotalChangeRestart && restarts < c.cfg.MaxRestarts {
			r.stats.Restarts++
			continue
		}
		if errors.Is(err, ErrTotalChanged) && restarts > 0 {
			return nil, fmt.Errorf("%w (after %d restarts)", err, restarts)
		}
		return records, err
	}
}

func (c *Client) v1Decoder(attrs attributeSet) v1Decoder {
	return newV1Decoder(attrs, c.cfg.Location, c.cfg.Missing)
}

// listV1 pages through GET /v1/company/employees until Personio returns a
// short or empty page. total_elements is never the stop signal: a total
// that is short by whole pages would otherwise end the listing early and
// make everyone on the missing pages look gone. Instead the distinct
// people read must equal the announced total exactly, in both directions.
// Pages are de-duplicated by id; a page of nothing new or a total that
// moves between pages ends the listing with an error.
func (c *Client) listV1(ctx context.Context, r *run, since time.Time) ([]Record, error) {
	attrs, err := c.withLabels(ctx)
	if err != nil {
		return nil, err
	}
	dec := c.v1Decoder(attrs)
	limit := c.cfg.V1PageSize
	var (
		records []Record
		seen    = map[string]int{}
		total   = -1
		offset  = 0 // records received so far
		// One page's body, slots and decoded employee are reused for the
		// next: everything a record keeps is copied out of them.
		scratch = &v1Scratch{}
		d       decoded
		names   = newTexts()
	)
	for page := 1; ; page++ {
		items, pageTotal, err := c.v1Page(ctx, r, attrs, dec.index, scratch, page, offset, since)
		if err != nil {
			return nil, fmt.Errorf("fetch employees page %d: %w", page, err)
		}
		if total < 0 {
			total = pageTotal
			records = make([]Record, 0, min(total, maxPresized))
			seen = make(map[string]int, min(total, maxPresized))
		} else if pageTotal != total {
			return nil, fmt.Errorf("fetch employees page %d: %w: %d at first, now %d", page, ErrTotalChanged, total, pageTotal)
		}
		added := 0
		for _, emp := range items {
			if err := dec.employeeInto(&d, emp, names); err != nil {
				return nil, fmt.Errorf("fetch employees page %d: %w", page, err)
			}
			r.stats.DroppedSensitive += d.droppedSensitive
			if i, dup := seen[d.record.ID]; dup {
				records[i] = d.record
				continue
			}
			seen[d.record.ID] = len(records)
			records = append(records, d.record)
			added++
		}
		offset += len(items)
		r.report(Progress{Phase: "employees", Records: len(records), Total: total})
		// A short page is the last one. A page longer than asked for means
		// the server ignored paging (updated_since does so in one reading
		// of Personio's docs) and sent everything at once.
		if len(items) != limit {
			break
		}
		if added == 0 {
			return nil, fmt.Errorf("fetch employees page %d: %w: the page holds only people seen before", page, ErrCursorLoop)
		}
		if len(records) > total+limit {
			return nil, fmt.Errorf("fetch employees: %w: read %d people and the pages go on, total_elements announced %d", ErrCountMismatch, len(records), total)
		}
	}
	switch {
	case len(records) < total:
		return nil, fmt.Errorf("fetch employees: %w: %w: read %d people, total_elements announced %d", ErrTruncated, ErrCountMismatch, len(records), total)
	case len(records) > total:
		return nil, fmt.Errorf("fetch employees: %w: read %d people, total_elements announced %d", ErrCountMismatch, len(records), total)
	}
	return records, nil
}

// maxPresized bounds the records and ids a listing makes room for ahead,
// from the total its first page announces: a company is rarely larger,
// and a total that is wrong must not allocate much more than is read.
const maxPresized = 1 << 17

// v1Page fetches one page into scratch; offset counts records received so far.
func (c *Client) v1Page(ctx context.Context, r *run, attrs attributeSet, idx *v1Index, scratch *v1Scratch, page, offset int, since time.Time) ([]v1Employee, int, error) {
	if c.cfg.V1OffsetMode == OffsetPages {
		offset = page - 1
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(c.cfg.V1PageSize))
	q.Set("offset", strconv.Itoa(offset))
	for _, a := range attrs.v1Projection() {
		q.Add("attributes[]", a)
	}
	if !since.IsZero() {
		q.Set("updated_since", updatedSince(since))
	}
	resp, err := c.send(ctx, r, call{
		method: http.MethodGet, endpoint: endpointV1Employees, auth: true,
		url:  c.url("/v1/company/employees?" + q.Encode()),
		into: &scratch.body,
	})
	if err != nil {
		return nil, 0, err
	}
	r.stats.Pages++
	return idx.decodeV1Page(resp.body, scratch)
}

// westmostOffset is the UTC offset of the westmost time zone in use
// (UTC−12, Baker Island).
const westmostOffset = -12 * time.Hour

// updatedSince writes since as v1's updated_since, a wall-clock time
// without zone. Personio does not document the zone it reads that in, and
// an account's zone can differ from the company zone configured here: read
// in a zone west of the one it was written in, a wall-clock time names a
// later instant, and changes in between would be missed. Written as the
// westmost zone's wall clock it names an instant at or before since in
// every zone (up to 26 hours before, for a reader at UTC+14). The cost is a
// day's changes read again, which the mirror's diff absorbs.
func updatedSince(since time.Time) string {
	return since.UTC().Add(westmostOffset).Format(layoutNoZone)
}

func (c *Client) fetchOneV1(ctx context.Context, r *run, id string) (Record, error) {
	resp, err := c.person(ctx, r, endpointV1Employee, "/v1/company/employees/", id)
	if err != nil {
		return Record{}, fmt.Errorf("fetch employee %s: %w", id, err)
	}
	data, err := decodeV1Single(resp.body)
	if err != nil {
		return Record{}, fmt.Errorf("fetch employee %s: %w", id, err)
	}
	attrs, err := c.withLabels(ctx)
	if err != nil {
		return Record{}, fmt.Errorf("fetch employee %s: %w", id, err)
	}
	dec := c.v1Decoder(attrs)
	emp, err := dec.index.v1Single(data)
	if err != nil {
		return Record{}, fmt.Errorf("fetch employee %s: %w", id, err)
	}
	d, err := dec.employee(emp)
	if err != nil {
		return Record{}, fmt.Errorf("fetch employee %s: %w", id, err)
	}
	if d.record.ID != id {
		return Record{}, fmt.Errorf("fetch employee %s: %w: the answer is about employee %s", id, ErrMalformed, d.record.ID)
	}
	return d.record, nil
}

// AttributeInfo describes an employee attribute the credential may read.
type AttributeInfo struct {
	Key         string   // e.g. "first_name" or "dynamic_24407"
	Label       string   // the company's label
	Type        string   // standard, date, integer, decimal, list, link, tags, multiline
	UniversalID string   // stable cross-tenant id, "" if none
	Options     []string // choices of list and tags attributes
}

// Attributes lists the employee attributes the credential may read,
// including custom ones, through v1's /company/employees/attributes. v2 has
// no such endpoint, so a v2 client refuses.
func (c *Client) Attributes(ctx context.Context) ([]AttributeInfo, error) {
	if c.cfg.APIVersion != APIv1 {
		return nil, errors.New("personio attributes: the attribute listing exists in API v1 only")
	}
	resp, err := c.send(ctx, &run{}, call{
		method: http.MethodGet, endpoint: endpointV1Attributes, auth: true,
		url: c.url("/v1/company/employees/attributes"),
	})
	if err != nil {
		return nil, fmt.Errorf("list employee attributes: %w", err)
	}
	var answer struct {
		Success bool `json:"success"`
		Data    []struct {
			Key         string          `json:"key"`
			Label       string          `json:"label"`
			Type        string          `json:"type"`
			UniversalID *string         `json:"universal_id"`
			Options     json.RawMessage `json:"options"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &answer); err != nil || !answer.Success {
		return nil, fmt.Errorf("list employee attributes: %w", malformed("attribute list"))
	}
	out := make([]AttributeInfo, 0, len(answer.Data))
	for _, a := range answer.Data {
		info := AttributeInfo{Key: a.Key, Label: a.Label, Type: a.Type}
		if a.UniversalID != nil {
			info.UniversalID = *a.UniversalID
		}
		_ = json.Unmarshal(a.Options, &info.Options) // options are informative; a shape we do not know leaves them empty
		out = append(out, info)
	}
	return out, nil
}
