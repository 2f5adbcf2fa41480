package scim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	scimlib "github.com/elimity-com/scim"

	"github.com/personio-scim/personio-scim/store"
)

// libraryLogger hands the library's rare complaints (failing to marshal or
// write a response) to slog. Only the message is kept: the library passes
// the resource it failed on along, and that could be personal data.
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Error(args ...any) {
	msg := "unknown"
	if len(args) > 0 {
		msg = fmt.Sprint(args[0])
	}
	l.log.Error("scim library failed", "message", msg)
}

// userResources and groupResources are what the library calls after it
// validated a request. Reads, creates and deletes never reach them (the
// front handler answers those), but the interface demands them.
type userResources struct{ h *handler }

type groupResources struct{ h *handler }

// errNotRouted is returned by the callbacks the front handler makes
// unreachable; reaching one is a routing bug, logged by toScimError.
var errNotRouted = errors.New("request reached a library callback that the front handler serves")

func (a userResources) Create(r *http.Request, _ scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return scimlib.Resource{}, createForbidden(kindUsers)
}

func (a userResources) Delete(r *http.Request, _ string) error {
	return deleteForbidden(kindUsers)
}

func (a userResources) Get(r *http.Request, _ string) (scimlib.Resource, error) {
	return scimlib.Resource{}, a.h.libraryError(r, errNotRouted)
}

func (a userResources) GetAll(r *http.Request, _ scimlib.ListRequestParams) (scimlib.Page, error) {
	return scimlib.Page{}, a.h.libraryError(r, errNotRouted)
}

func (a userResources) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	err := a.h.writeUser(r, id, func(next *store.Attributes) error { return applyUserPut(next, attrs) })
	return written(id), a.h.libraryError(r, err)
}

func (a userResources) Patch(r *http.Request, id string, ops []scimlib.PatchOperation) (scimlib.Resource, error) {
	err := a.h.writeUser(r, id, func(next *store.Attributes) error {
		for _, op := range ops {
			if err := applyUserOp(next, op); err != nil {
				return err
			}
		}
		return nil
	})
	return written(id), a.h.libraryError(r, err)
}

func (a groupResources) Create(r *http.Request, _ scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return scimlib.Resource{}, createForbidden(kindGroups)
}

func (a groupResources) Delete(r *http.Request, _ string) error {
	return deleteForbidden(kindGroups)
}

func (a groupResources) Get(r *http.Request, _ string) (scimlib.Resource, error) {
	return scimlib.Resource{}, a.h.libraryError(r, errNotRouted)
}

func (a groupResources) GetAll(r *http.Request, _ scimlib.ListRequestParams) (scimlib.Page, error) {
	return scimlib.Page{}, a.h.libraryError(r, errNotRouted)
}

func (a groupResources) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	err := a.h.writeGroup(r, id, func(d *groupDraft) error { return d.applyPut(attrs) })
	return written(id), a.h.libraryError(r, err)
}

func (a groupResources) Patch(r *http.Request, id string, ops []scimlib.PatchOperation) (scimlib.Resource, error) {
	err := a.h.writeGroup(r, id, func(d *groupDraft) error {
		for _, op := range ops {
			if err := d.apply(op); err != nil {
				return err
			}
		}
		return nil
	})
	return written(id), a.h.libraryError(r, err)
}

// written is the placeholder the library serialises on success; serveWrite
// discards it and renders the stored resource. It has an attribute so that
// the library answers 200 rather than 204.
func written(id string) scimlib.Resource {
	return scimlib.Resource{ID: id, Attributes: scimlib.ResourceAttributes{"id": id}}
}

// libraryError converts err into the SCIM error the library should answer
// with (see toScimError); nil stays nil.
func (h *handler) libraryError(r *http.Request, err error) error {
	if err == nil {
		return nil
	}
	if StoreUnavailable(err) {
		// The library knows no 503; serveWrite answers it instead of what
		// the library makes of this.
		h.log.WarnContext(r.Context(), "scim write failed: store unavailable", "error", err)
		outcomeOf(r.Context()).unavailable = true
		return internalError()
	}
	return toScimError(r.Context(), h.log, err, r.Method)
}
