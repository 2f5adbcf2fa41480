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
//
// A sync changes few people, and a new view shares the *store.Identity of
// everyone else with the one before (views are copy-on-write). So a new
// cache takes a rendering over from the one it replaces when the identity
// is the same value and what the User shows of the view is too: its
// groups' ids and names, in order, and its manager's displayName (the
// manager object's id is the identity's own Manager). Those are exactly
// what user reads from the view (see renderer.shown), so the bytes are
// what rendering again would write. Shared fragments carry over by key:
// a group or manager that is the same value renders the same. The cache
// replaced stays reachable from its successor, and its view with it, until
// the next view's cache replaces both: kept renderings take at most twice
// the bound (the ones carried over are shared, not copied).

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
	// groups and manager are what a User was rendered with from its view
	// (renderer.shown), for carrying it over to the next; unused in
	// fragments.
	groups  []*store.Group
	manager string
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
	// prev is the cache this one replaced, to carry renderings over from;
	// it is cleared when this one is replaced in turn, so that no chain of
	// old views builds up.
	prev atomic.Pointer[renderCache]
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
		next.prev.Store(cur)
		if h.rendered.CompareAndSwap(cur, next) {
			if cur != nil {
				cur.prev.Store(nil)
			}
			return next
		}
	}
}

// userJSON writes u as rd would, from the cache when rd shows the full
// representation. A rendering not kept yet is kept only when keep is set:
// for the answers of single Users, such as the existence check a client
// makes before every change. Pages of many Users, an import, read what is
// kept but add nothing: an import reads every User once, so keeping them
// would fill the cache's whole bound with renderings read again only at
// the next import, and an import of 100,000 Users grew a replica by more
// than 100 MB.
func (h *handler) userJSON(w *jsonWriter, rd *renderer, u *store.Identity, c *renderCache, keep bool) {
	if c == nil || rd.fields != fullUser || rd.holes != nil {
		rd.user(w, u)
		return
	}
	e, ok := c.entries.Load(u)
	if !ok {
		if !keep || c.size.Load() >= c.limit {
			rd.user(w, u)
			return
		}
		e = h.renderUser(c, rd, u)
	}
	e.(*renderedUser).appendTo(w, rd.base)
}

// renderUser renders u for the cache, or carries its rendering over from
// the previous view's cache when nothing it shows changed, and keeps it
// while the cache has room. It renders into a pooled buffer and keeps an
// exact copy.
func (h *handler) renderUser(c *renderCache, rd *renderer, u *store.Identity) *renderedUser {
	groups, manager, _ := rd.shown(u)
	if prev := c.prev.Load(); prev != nil {
		if old, ok := prev.entries.Load(u); ok {
			if e := old.(*renderedUser); e.renderedWith(groups, manager) {
				return c.keep(&c.entries, u, e.carried(groups))
			}
		}
	}
	e := &renderedUser{groups: groups, manager: manager}
	e.holes = e.inline[:0]
	kept := renderer{view: rd.view, fields: rd.fields, holes: &e.holes, frags: c}
	scratch := h.newWriter()
	kept.user(scratch, u)
	e.b = append([]byte(nil), scratch.b...)
	h.release(scratch)
	return c.keep(&c.entries, u, e)
}

// renderedWith reports whether a User rendered with e's groups and manager
// name shows the same as one with these: the same groups' ids and names in
// the same order (the same *store.Group is the same value), the same
// manager name.
func (e *renderedUser) renderedWith(groups []*store.Group, manager string) bool {
	if e.manager != manager || len(e.groups) != len(groups) {
		return false
	}
	for i, g := range groups {
		if old := e.groups[i]; old != g && (old.ID != g.ID || old.DisplayName != g.DisplayName) {
			return false
		}
	}
	return true
}

// carried is e for the next view, where the User is in groups: the same
// bytes, without holding on to the groups of e's view.
func (e *renderedUser) carried(groups []*store.Group) *renderedUser {
	next := &renderedUser{b: e.b, holes: e.holes, inline: e.inline, groups: groups, manager: e.manager}
	if cap(e.holes) <= len(e.inline) {
		next.holes = next.inline[:len(e.holes)]
	}
	return next
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
