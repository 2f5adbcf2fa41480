// Package api is the HTTP face of the service: the router that mounts SCIM
// and the admin API, authentication, health and metrics.
package api

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/store"
)

// Options wires the router to the rest of the service.
type Options struct {
	Store     store.Store
	Directory *store.Directory
	// Ready reports why the replica is not ready yet ("" when it is), for
	// example "first sync has not completed".
	Ready  func() string
	Logger *slog.Logger
}

type router struct {
	opts Options
}

// NewRouter returns the service's HTTP handler.
func NewRouter(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &router{opts: opts}
	r := chi.NewRouter()
	r.Get("/healthz", healthz)
	r.Get("/readyz", rt.readyz)
	return r
}
