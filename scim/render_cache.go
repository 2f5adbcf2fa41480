package scim

import (
	"sync"
	"sync/atomic"

	"github.com/personio-scim/personio-scim/store"
)

// Rendering a User was most of the cost of a lookup, and most of that was
// escaping strings that are the same on every request: a view never
// changes, and a new view is a new value. So the full representation of a
// User (no attributes or excludedAttributes narrowing it) is rendered once
// per view and identity and kept, with the places where the request's base
// URL goes left open. Everything else a User shows of the view (its groups,
// its manager's name, the hash in its version) is fixed with the view, so
// the kept bytes are exactly what the renderer would write again.
//
// Only the newest view a request was answered from has a cache: pages of
// older views pinned for paging render as before. The cache keeps its view
// alive until a request on a newer one replaces it, and is bounded in
// bytes so that a very large directory does not double its memory.

// defaultRenderCacheBytes bounds the kept renderings (see
// Options.RenderCacheBytes): about 20,000 Users of the size the
// fixture's are (1.5 kB each with their bookkeeping).
const defaultRenderCacheBytes = 32 << 20

// fullUser is the projection of a request without attributes or
// excludedAttributes.
const fullUser = projection(1)<<userLeafCount - 1

// renderedUser is a User rendered without its base URL: holes are the
// offsets in b where the escaped base URL is inserted.
type renderedUser struct {
	b     []byte
	holes []int32
	// inline holds the holes of a User in a few groups (one per group, the
	// manager and meta.location) without a second allocation.
	inline [8]int32
}

// renderCache holds the renderings of one view.
type renderCache struct {
	view    *store.View
	entries sync.Map // *store.Identity → *renderedUser
	// frags holds what many Users share, rendered once: *store.Group → its
	// entry in groups, *store.Identity → the manager object of whoever
	// reports to that identity.
	frags sync.Map
	size  atomic.Int64
	limit int64 // bound of size, Options.RenderCacheBytes
}

// keep stores e under key in m while the cache has room, and returns what
// is kept there (another request's rendering if it came first), or e.
func (c *renderCache) keep(m *sync.Map, key any, e *renderedUser) *renderedUser {
	n := e.renderedBytes()
	if c.size.Add(n) > c.limit {
		c.size.Add(-n)
		return e
	}
	if prev, loaded := m.LoadOrStore(key, e); loaded {
		c.size.Add(-n)
		return prev.(*renderedUser)
	}
	return e
}

// renderedBytes is what an entry costs against the bound, with an
// allowance for the map's own bookkeeping.
func (e *renderedUser) renderedBytes() int64 {
	size := int64(cap(e.b)) + 128
	if cap(e.holes) > len(e.inline) {
		size += 4 * int64(cap(e.holes))
	}
	return size
}

// renderCacheFor returns the cache of view, starting one when view is newer
// than the one cached; nil when caching is off or view is an older one.
func (h *handler) renderCacheFor(view *store.View) *renderCache {
	if h.opts.RenderCacheBytes <= 0 {
		return nil
	}
	for {
		cur := h.rendered.Load()
		if cur != nil && cur.view == view {
			return cur
		}
		if cur != nil && view.Seq() <= cur.view.Seq() {
			return nil
		}
		next := &renderCache{view: view, limit: h.opts.RenderCacheBytes}
		if h.rendered.CompareAndSwap(cur, next) {
			return next
		}
	}
}

// userJSON writes u as rd would, from the cache when rd shows the full
// representation.
func (h *handler) userJSON(w *jsonWriter, rd *renderer, u *store.Identity, c *renderCache) {
	if c == nil || rd.fields != fullUser || rd.holes != nil {
		rd.user(w, u)
		return
	}
	e, ok := c.entries.Load(u)
	if !ok {
		if c.size.Load() >= c.limit {
			rd.user(w, u)
			return
		}
		e = h.renderUser(c, rd, u)
	}
	e.(*renderedUser).appendTo(w, rd.base)
}

// renderUser renders u for the cache and keeps it while the cache has room.
// It renders into a pooled buffer and keeps an exact copy.
func (h *handler) renderUser(c *renderCache, rd *renderer, u *store.Identity) *renderedUser {
	e := &renderedUser{}
	e.holes = e.inline[:0]
	kept := renderer{view: rd.view, fields: rd.fields, holes: &e.holes, frags: c}
	scratch := h.newWriter()
	kept.user(scratch, u)
	e.b = append([]byte(nil), scratch.b...)
	h.release(scratch)
	return c.keep(&c.entries, u, e)
}

// appendTo writes the rendering as the next value of w with base filled in.
func (e *renderedUser) appendTo(w *jsonWriter, base string) {
	w.sep()
	safe := jsonSafe(base)
	from := 0
	for _, at := range e.holes {
		w.b = append(w.b, e.b[from:at]...)
		if safe {
			w.b = append(w.b, base...)
		} else {
			w.b = appendJSONStringBody(w.b, base)
		}
		from = int(at)
	}
	w.b = append(w.b, e.b[from:]...)
	w.comma = true
}
