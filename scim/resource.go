package scim

import (
	"net/http"

	"github.com/personio-scim/personio-scim/store"
)

// fail answers a request with the SCIM error for err.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, toScimError(r.Context(), h.log, err, r.Method))
}

// serveOne answers GET /Users/{id} and GET /Groups/{id}, with 304 when
// If-None-Match names the current version.
func (h *handler) serveOne(w http.ResponseWriter, r *http.Request, kind resourceKind, id string) {
	view := h.dir.View()
	res, ok := lookup(view, kind, id)
	if !ok {
		writeError(w, notFound(id))
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.etag(view)) {
		w.Header().Set("ETag", res.etag(view))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeResource(w, r, view, res)
}

// resource is one User or Group of a view.
type resource struct {
	user  *store.Identity
	group *store.Group
}

func lookup(view *store.View, kind resourceKind, id string) (resource, bool) {
	if kind == kindGroups {
		g, ok := view.Group(id)
		return resource{group: g}, ok
	}
	u, ok := view.Identity(id)
	return resource{user: u}, ok
}

func (res resource) etag(view *store.View) string {
	if res.group != nil {
		return groupETag(view, res.group)
	}
	return userETag(view, res.user)
}

// writeResource answers with one resource, shaped by the request's
// attributes and excludedAttributes parameters, and its ETag.
func (h *handler) writeResource(w http.ResponseWriter, r *http.Request, view *store.View, res resource) {
	q, err := queryValues(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, badQuery())
		return
	}
	attributes, excluded := splitAttributeList(q["attributes"]), splitAttributeList(q["excludedattributes"])
	jw := h.newWriter()
	if res.group != nil {
		rd := renderer{base: h.baseURL(r), view: view, fields: newProjection(h.groupLeaves, groupURN, attributes, excluded)}
		rd.group(jw, res.group)
	} else {
		rd := renderer{base: h.baseURL(r), view: view, fields: newProjection(h.userLeaves, userURN, attributes, excluded)}
		rd.user(jw, res.user)
	}
	w.Header().Set("ETag", res.etag(view))
	h.send(w, http.StatusOK, jw)
}
