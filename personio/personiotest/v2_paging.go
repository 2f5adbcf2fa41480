package personiotest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// v2Cursor is what an opaque v2 cursor encodes: the position, the filters
// of the first request (next links carry only the cursor) and the page
// size.
type v2Cursor struct {
	Pos   int    `json:"p"` // persons: last id served; other lists: index of the next item
	Query string `json:"q"`
	Limit int    `json:"l"`
	Nonce int    `json:"n,omitempty"` // makes a cursor_loop fault's cursor look new
}

func (c v2Cursor) encode() string {
	raw, _ := json.Marshal(c)
	return "cur_" + base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(s string) (v2Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "cur_"))
	if err != nil || !strings.HasPrefix(s, "cur_") {
		return v2Cursor{}, false
	}
	var c v2Cursor
	if json.Unmarshal(raw, &c) != nil || c.Limit < 1 {
		return v2Cursor{}, false
	}
	return c, true
}

// v2Request is a list request resolved against its cursor.
type v2Request struct {
	cursor v2Cursor   // position of this page, filters, limit
	query  url.Values // the filters in effect
}

// readV2List validates limit and cursor and the allowed parameters, writing
// the 400 answer itself when something is wrong.
func readV2List(w http.ResponseWriter, r *http.Request, defaultLimit, maxLimit int, allowed ...string) (v2Request, bool) {
	q := queryValues(r)
	for key := range q {
		if key == "limit" || key == "cursor" || slices.Contains(allowed, key) {
			continue
		}
		if base, _, dotted := strings.Cut(key, "."); dotted && slices.Contains(allowed, base) {
			writeProblem(w, http.StatusBadRequest, "Bad request", "Provided filter encoding is invalid.")
		} else {
			writeProblem(w, http.StatusBadRequest, "Bad request", "Parameter ["+key+"] is invalid")
		}
		return v2Request{}, false
	}
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			writeProblem(w, http.StatusBadRequest, "Bad request", "Provided value for limit is not valid")
			return v2Request{}, false
		}
		limit = n
	}
	if raw := q.Get("cursor"); raw != "" {
		c, ok := decodeCursor(raw)
		if !ok {
			writeProblem(w, http.StatusBadRequest, "Bad request", "Provided request parameters are invalid.")
			return v2Request{}, false
		}
		filters, _ := url.ParseQuery(c.Query)
		if q.Get("limit") != "" {
			c.Limit = limit
		}
		return v2Request{cursor: c, query: filters}, true
	}
	filters := url.Values{}
	for key, values := range q {
		if key != "limit" && key != "cursor" {
			filters[key] = values
		}
	}
	return v2Request{cursor: v2Cursor{Limit: limit, Query: filters.Encode()}, query: filters}, true
}

// writeV2Page writes {"_data": items, "_meta": {"links": …}}; next is nil
// on the last page. Injected faults change the page here: empty pages,
// self-pointing and looping next links, a foreign next host.
func (s *Server) writeV2Page(w http.ResponseWriter, r *http.Request, req v2Request, items []any, next *v2Cursor) {
	f := faultFrom(r)
	base := baseFor(r)
	if s.opts.V2RelativeLinks {
		base = ""
	}
	links := map[string]any{"self": map[string]string{"href": baseFor(r) + r.URL.RequestURI()}}
	switch {
	case f.End:
		items = []any{}
	case f.SelfNext:
		links["next"] = map[string]string{"href": base + r.URL.RequestURI()}
	case f.CursorLoop:
		again := req.cursor
		again.Nonce++
		links["next"] = map[string]string{"href": base + r.URL.Path + "?cursor=" + again.encode()}
	case next != nil && f.ForeignNext:
		links["next"] = map[string]string{"href": "https://personio.evil.example" + r.URL.Path + "?cursor=" + next.encode()}
	case next != nil:
		links["next"] = map[string]string{"href": base + r.URL.Path + "?cursor=" + next.encode()}
	}
	if f.Empty {
		items = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"_data": items, "_meta": map[string]any{"links": links}})
}

// pageByIndex cuts an index-paged list.
func pageByIndex[T any](all []T, req v2Request) ([]T, *v2Cursor) {
	start := min(req.cursor.Pos, len(all))
	end := min(start+req.cursor.Limit, len(all))
	if end >= len(all) {
		return all[start:end], nil
	}
	next := req.cursor
	next.Pos, next.Nonce = end, 0
	return all[start:end], &next
}
