package scim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/personio-scim/personio-scim/store"
)

// writeOutcome carries the result of a PUT or PATCH from the library's
// callback back to serveWrite, which renders it: the library would write a
// relative meta.location, ignore the attributes parameter and lose the
// ETag format.
type writeOutcome struct {
	done bool
	view *store.View
	res  resource
	// unavailable is set when the store could not be reached.
	unavailable bool
}

type outcomeKey struct{}

func outcomeOf(ctx context.Context) *writeOutcome {
	if out, ok := ctx.Value(outcomeKey{}).(*writeOutcome); ok {
		return out
	}
	// Only serveWrite calls the library, so this is a routing bug; a
	// throwaway outcome keeps the request alive and the result unrendered.
	return &writeOutcome{}
}

// serveWrite hands a PUT or PATCH to the library, which validates the body
// against the validation schemas and calls userResources or
// groupResources, then answers with our rendering of the result, or with
// the library's error.
func (h *handler) serveWrite(w http.ResponseWriter, r *http.Request, kind resourceKind, id string) {
	body, ok := readBody(w, r, h.opts.MaxBodyBytes)
	if !ok {
		return
	}
	if r.Method == http.MethodPatch {
		body = normalizePatch(body)
		if err := refuseReadOnlyTargets(body, kind, id); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	out := &writeOutcome{}
	lr := r.WithContext(context.WithValue(r.Context(), outcomeKey{}, out))
	u := *r.URL
	u.Path, u.RawPath = "/"+kind.plural()+"/"+url.PathEscape(id), ""
	lr.URL = &u
	lr.Body, lr.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := &recorder{header: http.Header{}}
	h.lib.ServeHTTP(rec, lr)
	if out.unavailable {
		writeUnavailable(w)
		return
	}
	if out.done && rec.status() == http.StatusOK {
		if !h.opts.CanRead(r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.writeResource(w, r, out.view, out.res)
		return
	}
	rec.replay(w)
}

// recorder buffers what the library writes, so that serveWrite can replace
// a success with its own rendering and pass errors through.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(code int) {
	if rec.code == 0 {
		rec.code = code
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec.body.Write(b)
}

func (rec *recorder) status() int {
	if rec.code == 0 {
		return http.StatusOK
	}
	return rec.code
}

func (rec *recorder) replay(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status())
	_, _ = w.Write(rec.body.Bytes())
}

// checkIfMatch answers 412 when the request names a version that is not the
// current one. It reports whether the client asked for a version at all.
func checkIfMatch(r *http.Request, current string) (bool, error) {
	im := r.Header.Get("If-Match")
	if im == "" {
		return false, nil
	}
	if !etagMatches(im, current) {
		return true, preconditionFailed()
	}
	return true, nil
}

// maxWriteAttempts bounds retries of a write that raced with a sync. A
// client that sent If-Match gets 412 at once instead.
const maxWriteAttempts = 3

// writeUser applies change to the current state of an identity and stores
// the result: the edit is refused unless it only touches writable
// attributes; those are stored as overrides.
func (h *handler) writeUser(r *http.Request, id string, change func(a *store.Attributes) error) error {
	for attempt := 1; ; attempt++ {
		view := h.dir.View()
		cur, ok := view.Identity(id)
		if !ok {
			return notFound(id)
		}
		pinned, err := checkIfMatch(r, userETag(view, cur))
		if err != nil {
			return err
		}
		next := cur.Attributes
		if err := change(&next); err != nil {
			return err
		}
		stored, err := h.commitUser(r, view, cur, next)
		if errors.Is(err, store.ErrConflict) && !pinned && attempt < maxWriteAttempts {
			if err := h.dir.Refresh(r.Context()); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		out := outcomeOf(r.Context())
		out.done, out.view, out.res = true, h.dir.View(), resource{user: stored}
		return nil
	}
}

// commitUser checks the write policy for the difference between cur and
// next and stores it. It returns the identity to answer with.
func (h *handler) commitUser(r *http.Request, view *store.View, cur *store.Identity, next store.Attributes) (*store.Identity, error) {
	_, after := cur.Attributes.Diff(&next)
	if len(after) == 0 {
		return cur, nil
	}
	var refused, changed []string
	for _, name := range store.AttributeNames() {
		if _, ok := after[name]; !ok {
			continue
		}
		changed = append(changed, name)
		if !h.writable[name] {
			refused = append(refused, scimPathOf(name))
		}
	}
	if len(refused) > 0 {
		return nil, h.mutability(refused)
	}
	if err := validateUserValues(view, cur.ID, &next, after); err != nil {
		return nil, err
	}
	updated := cur.Clone()
	updated.Attributes = next
	if updated.Overrides == nil {
		updated.Overrides = make(map[string]string, len(changed))
	}
	for _, name := range changed {
		// An emptied attribute hands it back to Personio: the override goes,
		// and the next sync restores the mapped value.
		if v := after[name]; v != "" {
			updated.Overrides[name] = v
		} else {
			delete(updated.Overrides, name)
		}
	}
	res, err := h.dir.Apply(r.Context(), store.ChangeSet{
		Actor: h.opts.Actor(r),
		Cause: r.Method + " /Users/" + cur.ID,
		Identities: []store.IdentityChange{{
			Op: store.OpUpdate, Identity: updated, IfVersion: cur.Version,
			Reason: "SCIM override of " + strings.Join(changed, ", "),
		}},
	})
	if err != nil {
		return nil, err
	}
	if len(res.Identities) == 0 {
		return cur, nil
	}
	return &res.Identities[0], nil
}

// validateUserValues checks values a client may write before they reach the
// store, so the client gets a precise error.
func validateUserValues(view *store.View, id string, next *store.Attributes, after map[string]string) error {
	if _, ok := after[store.AttrUserName]; ok && strings.TrimSpace(next.UserName) == "" {
		return badRequest(scimerrors.ScimTypeInvalidValue, "userName must not be empty.")
	}
	if m, ok := after[store.AttrManager]; ok && m != "" {
		if m == id {
			return badRequest(scimerrors.ScimTypeInvalidValue, "A person cannot be their own manager.")
		}
		if _, exists := view.Identity(m); !exists {
			return badRequest(scimerrors.ScimTypeInvalidValue, "The manager "+m+" is not a User here.")
		}
	}
	return nil
}

// mutability is the answer to a change of attributes that come from
// Personio.
func (h *handler) mutability(refused []string) scimerrors.ScimError {
	writable := "Nothing can be changed through SCIM here."
	if h.writableNames != "" {
		writable = "Writable through SCIM: " + h.writableNames + "."
	}
	return scimerrors.ScimError{ScimType: scimerrors.ScimTypeMutability, Status: http.StatusBadRequest,
		Detail: "This directory is read from Personio, which owns " + strings.Join(refused, ", ") +
			"; change it there. " + writable}
}

// writeGroup applies change to a group. Groups have no writable
// attributes: a request that leaves displayName and members as they are
// succeeds (Okta re-sends the name with every membership push), anything
// else is refused.
func (h *handler) writeGroup(r *http.Request, id string, change func(d *groupDraft) error) error {
	view := h.dir.View()
	cur, ok := view.Group(id)
	if !ok {
		return notFound(id)
	}
	if _, err := checkIfMatch(r, groupETag(view, cur)); err != nil {
		return err
	}
	d := newGroupDraft(cur)
	if err := change(d); err != nil {
		return err
	}
	if refused := d.changes(cur); len(refused) > 0 {
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeMutability, Status: http.StatusBadRequest,
			Detail: "Groups are computed from Personio by the group rules; " + strings.Join(refused, " and ") +
				" cannot be changed through SCIM. Change the rules or the employees' data instead."}
	}
	out := outcomeOf(r.Context())
	out.done, out.view, out.res = true, view, resource{group: cur}
	return nil
}
