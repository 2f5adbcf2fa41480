package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	scimerrors "github.com/elimity-com/scim/errors"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/personio-scim/personio-scim/store"
)

// listRequest is a query of a collection, from the URL of a GET or from the
// body of a POST to …/.search.
type listRequest struct {
	filter     string
	startIndex int
	count      int
	sortBy     string
	descending bool
	attributes []string
	excluded   []string
	// cursor is set for RFC 9865 cursor paging: "" starts a listing, any
	// other value continues one.
	cursor *string
}

// queryValues parses a raw query string, splitting on "&" only: Go's
// url.ParseQuery drops any pair containing ";", which would silently turn
// filter=displayName eq "R&D; Berlin" into no filter at all, and an
// existence check into "everyone". Keys are matched case-insensitively
// (Entra's inbound connector sends startindex); the first value wins.
func queryValues(raw string) (map[string]string, error) {
	out := make(map[string]string)
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		key = strings.ToLower(key)
		if _, seen := out[key]; !seen {
			out[key] = value
		}
	}
	return out, nil
}

func badQuery() scimerrors.ScimError {
	return badRequest(scimerrors.ScimTypeInvalidValue, "The query string is not properly URL-encoded.")
}

// listParams names the query parameters of a list request, lower-cased,
// in the order of listQuery's fields.
var listParams = [...]string{"filter", "sortby", "sortorder", "attributes", "excludedattributes", "cursor", "startindex", "count"}

const (
	pFilter = iota
	pSortBy
	pSortOrder
	pAttributes
	pExcluded
	pCursor
	pStartIndex
	pCount
)

// listQuery is what queryValues would return for the parameters of a list
// request, without building the map: a lookup is answered from it on every
// request. Other parameters are still unescaped, so that a query string
// that is not properly encoded is refused the same way.
type listQuery struct {
	value [len(listParams)]string
	seen  [len(listParams)]bool
}

func parseListQuery(raw string) (listQuery, error) {
	var q listQuery
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, ok := queryUnescape(k)
		if !ok {
			return listQuery{}, errBadQuery
		}
		value, ok := queryUnescape(v)
		if !ok {
			return listQuery{}, errBadQuery
		}
		for i, name := range listParams {
			if !q.seen[i] && lowerEquals(key, name) {
				q.value[i], q.seen[i] = value, true
				break
			}
		}
	}
	return q, nil
}

var errBadQuery = errors.New("the query string is not properly URL-encoded")

// queryUnescape is url.QueryUnescape, reporting only whether it succeeds
// (which is all a list request needs to know), and copying runs between
// escapes instead of one byte at a time. FuzzQueryUnescape holds the two
// equal.
func queryUnescape(s string) (string, bool) {
	escapes := 0
	for i := strings.IndexByte(s, '%'); i >= 0; {
		if i+2 >= len(s) || !isHex(s[i+1:i+3]) {
			return "", false
		}
		escapes++
		next := strings.IndexByte(s[i+3:], '%')
		if next < 0 {
			break
		}
		i += 3 + next
	}
	if escapes == 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	// Filters are short: they are unescaped on the stack and copied out
	// once, which costs less than growing a strings.Builder piece by piece
	// (or copying the short runs between escapes with memmove).
	var stack [128]byte
	b := stack[:0]
	if n := len(s) - 2*escapes; n > len(stack) {
		b = make([]byte, 0, n)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// lowerEquals reports whether strings.ToLower(key) == lower, without
// allocating for ASCII keys.
func lowerEquals(key, lower string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return strings.ToLower(key) == lower
		}
	}
	if len(key) != len(lower) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func (h *handler) listRequestFromQuery(r *http.Request) (listRequest, error) {
	q, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		return listRequest{}, badQuery()
	}
	if q.seen[pFilter] && strings.TrimSpace(q.value[pFilter]) == "" {
		// An empty filter is a client bug; answering with everyone would
		// make an existence check match the whole directory.
		return listRequest{}, invalidFilter("the filter is empty")
	}
	req := listRequest{
		filter:     q.value[pFilter],
		sortBy:     q.value[pSortBy],
		attributes: splitAttributeList(q.value[pAttributes]),
		excluded:   splitAttributeList(q.value[pExcluded]),
	}
	if q.seen[pCursor] {
		// Declared only here, so that a request without a cursor does not
		// allocate one.
		c := q.value[pCursor]
		req.cursor = &c
	}
	start, err := intParam(q.value[pStartIndex], "startIndex", 1)
	if err != nil {
		return listRequest{}, err
	}
	count, err := intParam(q.value[pCount], "count", h.opts.PageSize)
	if err != nil {
		return listRequest{}, err
	}
	if req.descending, err = descending(q.value[pSortOrder]); err != nil {
		return listRequest{}, err
	}
	h.bound(&req, start, count)
	return req, nil
}

func intParam(v, name string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, badRequest(scimerrors.ScimTypeInvalidValue, name+" must be an integer.")
	}
	return n, nil
}

func descending(order string) (bool, error) {
	switch {
	case order == "", strings.EqualFold(order, "ascending"):
		return false, nil
	case strings.EqualFold(order, "descending"):
		return true, nil
	}
	return false, badRequest(scimerrors.ScimTypeInvalidValue, `sortOrder must be "ascending" or "descending".`)
}

// bound applies RFC 7644 section 3.4.2.4: a startIndex below 1 means 1, a
// negative count means 0, and count is capped at MaxResults.
func (h *handler) bound(req *listRequest, start, count int) {
	req.startIndex = max(start, 1)
	req.count = min(max(count, 0), h.opts.MaxResults)
}

// searchRequest is the body of POST …/.search (RFC 7644 section 3.4.3).
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	Filter             string   `json:"filter"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	Cursor             *string  `json:"cursor"`
}

func (h *handler) listRequestFromBody(body []byte) (listRequest, error) {
	var sr searchRequest
	if err := json.Unmarshal(body, &sr); err != nil {
		return listRequest{}, badRequest(scimerrors.ScimTypeInvalidSyntax, "The body is not a SearchRequest: "+
			`{"schemas":["`+searchURN+`"],"filter":"…","startIndex":1,"count":100}.`)
	}
	req := listRequest{filter: sr.Filter, sortBy: sr.SortBy, attributes: sr.Attributes, excluded: sr.ExcludedAttributes,
		cursor: sr.Cursor}
	start, count := 1, h.opts.PageSize
	if sr.StartIndex != nil {
		start = *sr.StartIndex
	}
	if sr.Count != nil {
		count = *sr.Count
	}
	var err error
	if req.descending, err = descending(sr.SortOrder); err != nil {
		return listRequest{}, err
	}
	h.bound(&req, start, count)
	return req, nil
}

func (h *handler) serveList(w http.ResponseWriter, r *http.Request, kind resourceKind) {
	req, err := h.listRequestFromQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerList(w, r, kind, req)
}

func (h *handler) serveSearch(w http.ResponseWriter, r *http.Request, kind resourceKind) {
	body, ok := readBody(w, r, h.opts.MaxBodyBytes)
	if !ok {
		return
	}
	req, err := h.listRequestFromBody(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerList(w, r, kind, req)
}

func (h *handler) answerList(w http.ResponseWriter, r *http.Request, kind resourceKind, req listRequest) {
	view, pg, err := h.listing(r, kind, &req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	if kind == kindGroups {
		err = h.listGroups(w, view, base, req, pg)
	} else {
		err = h.listUsers(w, view, base, req, pg)
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// paging says how a page of a listing is answered, and keeps the view a
// listing continues on (see snapshots.go).
type paging struct {
	h      *handler
	r      *http.Request
	view   *store.View
	key    listingKey // its client is filled in only when the view is kept
	cursor string     // the snapshot id of a cursor listing; "" for index paging
}

// listing picks the view a list request is answered from: the one its
// listing started on when that is kept, else the current one.
func (h *handler) listing(r *http.Request, kind resourceKind, req *listRequest) (*store.View, paging, error) {
	if req.cursor != nil {
		client := h.snaps.client(r)
		if *req.cursor == "" {
			view := h.dir.View()
			req.startIndex = 1
			return view, paging{h: h, view: view, cursor: h.snaps.pinCursor(client, view)}, nil
		}
		id, offset, ok := parseCursor(*req.cursor)
		if !ok {
			return nil, paging{}, invalidCursor()
		}
		view, err := h.snaps.cursor(client, id)
		if err != nil {
			return nil, paging{}, err
		}
		req.startIndex = offset + 1
		return view, paging{h: h, view: view, cursor: id}, nil
	}
	// Who lists is only needed to find or keep a view for later pages, so
	// a first page that is also the last (a lookup) does not name it.
	key := listingKey{kind: kind, filter: req.filter, sortBy: req.sortBy, descending: req.descending, count: req.count}
	if req.startIndex > 1 {
		key.client = h.snaps.client(r)
		if view, ok := h.snaps.indexed(key); ok {
			return view, paging{h: h, r: r, view: view, key: key}, nil
		}
	}
	view := h.dir.View()
	return view, paging{h: h, r: r, view: view, key: key}, nil
}

// settle is called with the number of matches before a page is written: it
// keeps the view of an index listing that has more pages, and returns
// what the ListResponse says about paging.
func (pg paging) settle(req listRequest, total, onPage int) listMeta {
	if pg.cursor != "" {
		meta := listMeta{cursorMode: true}
		if next := req.startIndex - 1 + onPage; onPage > 0 && next < total {
			meta.nextCursor = cursorOf(pg.cursor, next)
		}
		return meta
	}
	if onPage > 0 && req.startIndex-1+onPage < total {
		key := pg.key
		key.client = pg.h.snaps.client(pg.r)
		pg.h.snaps.pinIndexed(key, pg.view)
	}
	return listMeta{startIndex: req.startIndex}
}

func (h *handler) listUsers(w http.ResponseWriter, view *store.View, base string, req listRequest, pg paging) error {
	var found [1]*store.Identity
	page, total, err := selectUsers(view, req, &found)
	if err != nil {
		return err
	}
	rd := renderer{base: base, view: view, fields: newProjection(h.userLeaves, userURN, req.attributes, req.excluded)}
	cache := h.renderCacheFor(view)
	keep := len(page) == 1
	writeList(h, w, page, total, pg.settle(req, total, len(page)), func(jw *jsonWriter, u *store.Identity) {
		h.userJSON(jw, &rd, u, cache, keep)
	})
	return nil
}

// selectUsers returns the page of Users a request asks for and the number
// of matches. Okta's existence check, userName eq "…", is answered the way
// selectUsersGeneral answers it (the index finds the candidate, the
// compiled comparison, strings.EqualFold, confirms it) without compiling
// the filter; one is where its page goes. FuzzSelectUsers holds the two
// equal.
func selectUsers(view *store.View, req listRequest, one *[1]*store.Identity) ([]*store.Identity, int, error) {
	name, ok := userNameEquality(req.filter)
	if !ok || req.sortBy != "" {
		return selectUsersGeneral(view, req)
	}
	page, total := one[:0], 0
	if u, ok := view.IdentityByUserName(name); ok && (u.UserName == name || strings.EqualFold(u.UserName, name)) {
		total = 1
		if req.startIndex <= 1 && req.count > 0 {
			page = append(page, u)
		}
	}
	return page, total, nil
}

func selectUsersGeneral(view *store.View, req listRequest) ([]*store.Identity, int, error) {
	all := view.Identities()
	var match func(*store.Identity) bool
	if req.filter != "" {
		expr, err := parseFilter(req.filter)
		if err != nil {
			return nil, 0, err
		}
		if match, err = compileUserFilter(expr, view); err != nil {
			return nil, 0, err
		}
		if u, ok := indexedUser(expr, view); ok {
			all = nil
			if u != nil {
				all = []*store.Identity{u}
			}
		}
	}
	var order func(a, b *store.Identity) int
	if req.sortBy != "" {
		var err error
		if order, err = sortOrder(req.sortBy, func(p fp.AttributePath) (userAttribute, error) {
			return resolveUserAttr(p, view)
		}); err != nil {
			return nil, 0, err
		}
	}
	page, total := selectPage(all, match, order, req)
	return page, total, nil
}

func (h *handler) listGroups(w http.ResponseWriter, view *store.View, base string, req listRequest, pg paging) error {
	all := view.Groups()
	var match func(*store.Group) bool
	if req.filter != "" {
		expr, err := parseFilter(req.filter)
		if err != nil {
			return err
		}
		if match, err = compileGroupFilter(expr, view); err != nil {
			return err
		}
		if g, ok := indexedGroup(expr, view); ok {
			all = nil
			if g != nil {
				all = []*store.Group{g}
			}
		}
	}
	var order func(a, b *store.Group) int
	if req.sortBy != "" {
		needsDisplay := new(bool)
		var err error
		if order, err = sortOrder(req.sortBy, func(p fp.AttributePath) (groupAttribute, error) {
			return resolveGroupAttr(p, view, needsDisplay)
		}); err != nil {
			return err
		}
	}
	page, total := selectPage(all, match, order, req)
	rd := renderer{base: base, view: view, fields: newProjection(h.groupLeaves, groupURN, req.attributes, req.excluded)}
	writeList(h, w, page, total, pg.settle(req, total, len(page)), rd.group)
	return nil
}

// selectPage filters all (already in the stable order of the view), sorts
// the matches if asked to, and returns the requested page with the number
// of matches.
func selectPage[T any](all []T, match func(T) bool, order func(a, b T) int, req listRequest) ([]T, int) {
	if match == nil && order == nil {
		from := min(req.startIndex-1, len(all))
		return all[from:min(from+req.count, len(all))], len(all)
	}
	if order == nil {
		page := make([]T, 0, min(req.count, len(all)))
		total := 0
		for _, v := range all {
			if !match(v) {
				continue
			}
			total++
			if total >= req.startIndex && len(page) < req.count {
				page = append(page, v)
			}
		}
		return page, total
	}
	matched := all
	if match != nil {
		matched = make([]T, 0, len(all))
		for _, v := range all {
			if match(v) {
				matched = append(matched, v)
			}
		}
	} else {
		matched = slices.Clone(all)
	}
	if req.descending {
		slices.SortStableFunc(matched, func(a, b T) int { return order(b, a) })
	} else {
		slices.SortStableFunc(matched, order)
	}
	from := min(req.startIndex-1, len(matched))
	return matched[from:min(from+req.count, len(matched))], len(matched)
}

// sortOrder compiles sortBy into a comparison. Unassigned values sort after
// assigned ones; ties keep the stable order of the view.
func sortOrder[T any](sortBy string, resolve func(fp.AttributePath) (attribute[T], error)) (func(a, b T) int, error) {
	refused := badRequest(scimerrors.ScimTypeInvalidValue, "sortBy must name a singular attribute, e.g. userName or meta.lastModified.")
	path, err := parseAttrPath(sortBy)
	if err != nil {
		return nil, refused
	}
	a, err := resolve(path)
	if err != nil {
		return nil, refused
	}
	switch a.kind {
	case kindString:
		get, cmp := a.str, compareFold
		if a.exact {
			cmp = strings.Compare
		}
		return func(x, y T) int { return compareAssigned(get(x), get(y), cmp) }, nil
	case kindTime:
		get := a.when
		return func(x, y T) int {
			return compareAssigned(get(x), get(y), func(s, t time.Time) int { return s.Compare(t) })
		}, nil
	case kindBool:
		get := a.flag
		return func(x, y T) int { return compareBool(get(x), get(y)) }, nil
	case kindMulti:
		// Multi-valued attributes sort by their first value: the work email.
		field, err := elementField(a.sub, a.elems)
		if err != nil || field.kind != kindString {
			return nil, refused
		}
		first := func(v T) string {
			var out string
			a.each(v, func(e element) bool { out = field.str(e); return true })
			return out
		}
		return func(x, y T) int { return compareAssigned(first(x), first(y), compareFold) }, nil
	}
	return nil, refused
}

func compareAssigned[V comparable](a, b V, cmp func(V, V) int) int {
	var zero V
	switch {
	case a == zero && b == zero:
		return 0
	case a == zero:
		return 1
	case b == zero:
		return -1
	}
	return cmp(a, b)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// parseAttrPath parses a sortBy value; like parseFilter it contains a
// panic of the third-party parser.
func parseAttrPath(s string) (path fp.AttributePath, err error) {
	defer func() {
		if recover() != nil {
			err = invalidFilter("the attribute path could not be parsed")
		}
	}()
	return fp.ParseAttrPath([]byte(strings.TrimSpace(s)))
}

// listMeta is what a ListResponse says about paging: startIndex for index
// paging, nextCursor (when there is a next page) for cursor paging.
type listMeta struct {
	startIndex int
	cursorMode bool
	nextCursor string
}

// writeList writes a ListResponse. itemsPerPage is the number of resources
// on this page, which is what Okta checks, not the count asked for.
func writeList[T any](h *handler, w http.ResponseWriter, page []T, total int, meta listMeta, one func(*jsonWriter, T)) {
	jw := h.newWriter()
	jw.beginObject()
	jw.key("schemas")
	jw.beginArray()
	jw.lit(listURN)
	jw.endArray()
	jw.key("totalResults")
	jw.integer(int64(total))
	jw.key("itemsPerPage")
	jw.integer(int64(len(page)))
	if meta.cursorMode {
		if meta.nextCursor != "" {
			jw.field("nextCursor", meta.nextCursor)
		}
	} else {
		jw.key("startIndex")
		jw.integer(int64(meta.startIndex))
	}
	jw.key("Resources")
	jw.beginArray()
	for _, v := range page {
		one(jw, v)
	}
	jw.endArray()
	jw.endObject()
	h.send(w, http.StatusOK, jw)
}

// maxPooledBuffer keeps one huge page from pinning its buffer forever.
const maxPooledBuffer = 1 << 20

// newWriter takes a JSON writer with a reused buffer from the pool; send
// gives it back.
func (h *handler) newWriter() *jsonWriter {
	if jw, ok := h.buffers.Get().(*jsonWriter); ok {
		return jw
	}
	return &jsonWriter{b: make([]byte, 0, 4096)}
}

func (h *handler) send(w http.ResponseWriter, status int, jw *jsonWriter) {
	// Both values share one allocation; each slice is capped so that an
	// Add to one header cannot write into the other.
	values := [2]string{contentType, strconv.Itoa(len(jw.b))}
	hdr := w.Header()
	hdr["Content-Type"] = values[0:1:1]
	hdr["Content-Length"] = values[1:2:2]
	w.WriteHeader(status)
	_, _ = w.Write(jw.b)
	h.release(jw)
}

// release gives a writer back to the pool.
func (h *handler) release(jw *jsonWriter) {
	if cap(jw.b) <= maxPooledBuffer {
		jw.b, jw.comma = jw.b[:0], false
		h.buffers.Put(jw)
	}
}
