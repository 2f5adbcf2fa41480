package api

import (
	"errors"
	"net/http"

	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/store"
)

// previewRequest evaluates a configuration without writing.
type previewRequest struct {
	Config   string `json:"config"`    // YAML; empty means the running configuration
	PersonID string `json:"person_id"` // empty means everyone
	Limit    int    `json:"limit"`     // identities listed at most (default 100)
}

type previewIdentity struct {
	ID         string            `json:"id"`
	PersonioID string            `json:"personio_id"`
	Attributes map[string]string `json:"attributes"`
	Lifecycle  store.Lifecycle   `json:"lifecycle"`
	Groups     []string          `json:"groups"`
}

func (rt *router) preview(w http.ResponseWriter, r *http.Request) {
	if rt.opts.Engine == nil {
		writeProblem(w, r, http.StatusConflict, "previews need Personio: PERSONIO_CLIENT_ID and PERSONIO_CLIENT_SECRET are not set")
		return
	}
	req := previewRequest{Limit: 100}
	if err := decodeBody(w, r, &req); err != nil {
		bodyProblem(w, r, err)
		return
	}
	if req.Limit < 1 || req.Limit > 10000 {
		writeProblem(w, r, http.StatusBadRequest, "limit must be from 1 to 10000")
		return
	}
	var policy *mirror.Policy
	if req.Config != "" {
		cfg, err := mirror.ParseConfig("posted configuration", []byte(req.Config))
		if err == nil {
			policy, err = mirror.Compile(cfg)
		}
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	p, err := rt.opts.Engine.Preview(r.Context(), policy, req.PersonID, req.Limit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "no person with this id in Personio")
		return
	case errors.Is(err, mirror.ErrFetch):
		writeProblem(w, r, http.StatusBadGateway, "Personio could not be read; try again")
		return
	case err != nil:
		rt.storeError(w, r, err)
		return
	}
	items := make([]previewIdentity, 0, len(p.Identities))
	for _, pi := range p.Identities {
		attrs := map[string]string{}
		for _, name := range store.AttributeNames() {
			if v, _ := pi.Identity.Get(name); v != "" {
				attrs[name] = v
			}
		}
		items = append(items, previewIdentity{ID: pi.Identity.ID, PersonioID: pi.Identity.PersonioID, Attributes: attrs, Lifecycle: pi.Identity.Lifecycle, Groups: orNone(pi.Groups)})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"people": p.People, "identities": items, "truncated": p.Truncated,
		"counts": p.Plan.Counts, "skipped": p.Plan.Skipped, "conflicts": p.Plan.Conflicts, "guard": p.Plan.Guard,
	})
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
