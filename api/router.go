// Package api is the HTTP face of the service: the router that mounts SCIM
// and the admin API, authentication, health and metrics.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/api/console"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
)

// Options wires the router to the rest of the service.
type Options struct {
	Store     store.Store
	Directory *store.Directory
	// Scheduler and Engine are nil when no Personio credentials are set:
	// the service then serves what the store holds and cannot sync.
	Scheduler *mirror.Scheduler
	Engine    *mirror.Engine
	// Targets are the push targets' workers; nil when none is configured.
	Targets *push.Targets
	// Ready reports why the replica is not ready yet ("" when it is).
	// Default: the scheduler's first completed sync, or always ready when
	// there is no scheduler.
	Ready   func() string
	Metrics *Metrics // nil: a fresh set
	Version string
	Now     func() time.Time
	Logger  *slog.Logger

	// SCIMToken and AdminToken are the bootstrap tokens from the
	// environment (scopes scim:read and admin); empty ones are off.
	SCIMToken, AdminToken string
	// Writable lists the attributes SCIM clients may override.
	Writable []string
	// PublicURL is the external base URL (e.g. https://scim.example.com);
	// empty builds URLs from each request.
	PublicURL string
	// AuthFailureBurst is how many failed authentications one address may
	// make before it is slowed down (default 10).
	AuthFailureBurst int
	// Console is the web console at /admin/; nil serves none.
	Console *console.Console
}

type router struct {
	opts Options
}

// NewRouter returns the service's HTTP handler.
func NewRouter(opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Ready == nil && opts.Scheduler != nil {
		opts.Ready = opts.Scheduler.Ready
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(opts.Directory, opts.Store)
	}
	opts.Metrics.WatchTargets(opts.Targets)
	rt := &router{opts: opts}
	scimBase := ""
	if opts.PublicURL != "" {
		scimBase = opts.PublicURL + scimPath
	}
	scimHandler, err := scim.NewHandler(opts.Directory, opts.Store, scim.Options{
		Writable: opts.Writable, BaseURL: scimBase, BasePath: scimPath, BasicAuth: true, Actor: SCIMActor, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(logRequests(opts.Logger), opts.Metrics.instrument)
	r.Get("/healthz", healthz)
	r.Get("/readyz", rt.readyz)
	r.Method(http.MethodGet, "/metrics", opts.Metrics.handler())
	// Both sides know every token, so that a valid token of the wrong
	// scope gets 403, not 401.
	bootstrap := []BootstrapToken{
		{Name: "SCIM_TOKEN", Secret: opts.SCIMToken, Scopes: []string{store.ScopeSCIMRead}},
		{Name: "ADMIN_TOKEN", Secret: opts.AdminToken, Scopes: []string{store.ScopeAdmin}},
	}
	r.With(Authenticate(opts.Store, AuthOptions{
		Bootstrap: bootstrap, RequiredScope: SCIMScope, Basic: true, RenderError: scim.WriteError, Logger: opts.Logger,
		FailureBurst: opts.AuthFailureBurst,
	})).Mount(scimPath, scimHandler)
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(Authenticate(opts.Store, AuthOptions{
			Bootstrap: bootstrap, RequiredScope: AdminScope, RenderError: writeProblem, Logger: opts.Logger,
			FailureBurst: opts.AuthFailureBurst,
		}))
		rt.adminRoutes(r)
	})
	rt.mountConsole(r)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such route; SCIM is at /scim/v2, the admin API at /api/v1")
	})
	return r, nil
}

// scimPath is where SCIM is served.
const scimPath = "/scim/v2"
