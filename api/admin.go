package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

// maxAdminBody caps admin request bodies; the largest legitimate one is a
// configuration file posted to /preview.
const maxAdminBody = 1 << 20

// adminRoutes mounts the admin API; every route needs the admin scope.
func (rt *router) adminRoutes(r chi.Router) {
	r.Get("/status", rt.status)
	r.Post("/sync", rt.triggerSync)
	r.Get("/sync/runs", rt.listRuns)
	r.Get("/sync/runs/{id}", rt.getRun)
	r.Post("/sync/runs/{id}/approve", rt.approveRun)
	r.Get("/identities", rt.listIdentities)
	r.Get("/identities/{id}", rt.getIdentity)
	r.Get("/groups", rt.listGroups)
	r.Get("/groups/{id}", rt.getGroup)
	r.Get("/audit", rt.audit)
	r.Post("/preview", rt.preview)
	rt.targetRoutes(r)
	if rt.opts.Notifications != nil {
		r.Mount("/notifications", rt.opts.Notifications)
	}
	r.Get("/openapi.yaml", serveOpenAPI)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such admin route; see /api/v1/openapi.yaml")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
	})
}

// storeError maps store errors to problems without leaking internals.
func (rt *router) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrConflict):
		// The engine's explanation names runs and statuses only.
		writeProblem(w, r, http.StatusConflict, err.Error())
	case scim.StoreUnavailable(err):
		rt.opts.Logger.Warn("admin request failed: store unavailable", "path", r.URL.Path, "error", err)
		writeUnavailable(w, r)
	default:
		rt.opts.Logger.Error("admin request failed", "path", r.URL.Path, "error", err)
		writeProblem(w, r, http.StatusInternalServerError, "internal error; the server log has details")
	}
}

// queryInt reads a bounded integer query parameter.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time such as 2026-11-01T00:00:00Z", name)
	}
	return t, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false", name)
	}
	return b, nil
}

// decodeBody reads a JSON body of at most maxAdminBody bytes; an empty body
// leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxAdminBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errBodyTooLarge
		}
		return fmt.Errorf("the body is not valid JSON for this route: %v", err)
	}
	return nil
}

var errBodyTooLarge = errors.New("the body is larger than 1 MiB")

func bodyProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	writeProblem(w, r, http.StatusBadRequest, err.Error())
}
