// Package api is the HTTP face of the service: the router that mounts SCIM
// and the admin API, authentication, health and metrics.
package api

import (
	"log/slog"
	"net/http"
	"strings"
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
	// Ready reports why this replica has not synced yet ("" when it has).
	// Default: the scheduler's first completed sync, or always ready when
	// there is no scheduler. A completed sync in the store, from any
	// replica, makes the replica ready regardless.
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
	// TrustedProxies (TRUSTED_PROXIES) are the peers whose X-Forwarded-For,
	// -Proto and -Host count, for rate limiting, logs and meta.location.
	// The zero value trusts nobody.
	TrustedProxies TrustedProxies
	// SCIMBasicUser (SCIM_BASIC_USER), when set, is the user name HTTP
	// Basic must carry on /scim; empty accepts any user name.
	SCIMBasicUser string
	// Notifications serves /api/v1/notifications (see NotificationsHandler);
	// nil leaves the routes out.
	Notifications http.Handler
	// Webhooks, when set, receives Personio's webhooks at WebhookPath.
	Webhooks *Webhooks
	// Console is the web console at /admin/; nil serves none.
	Console *console.Console
}

type router struct {
	opts      Options
	readiness readiness
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
		Writable: opts.Writable, BaseURL: scimBase, BasePath: scimPath, BasicAuth: true, Actor: SCIMActor, CanRead: SCIMCanRead,
		TrustForwarded: opts.TrustedProxies.Forwarded, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(logRequests(opts.Logger, opts.TrustedProxies.ClientAddr, opts.Metrics.routePattern), opts.Metrics.instrument)
	r.Get("/healthz", healthz)
	r.Get("/readyz", rt.readyz)
	r.Method(http.MethodGet, "/metrics", opts.Metrics.handler())
	// Both sides know every token, so that a valid token of the wrong
	// scope gets 403, not 401.
	bootstrap := []BootstrapToken{
		{Name: "SCIM_TOKEN", Secret: opts.SCIMToken, Scopes: []string{store.ScopeSCIMRead}},
		{Name: "ADMIN_TOKEN", Secret: opts.AdminToken, Scopes: []string{store.ScopeAdmin}},
	}
	scimRoutes(r.With(Authenticate(opts.Store, AuthOptions{
		Bootstrap: bootstrap, RequiredScope: SCIMScope, Basic: true, BasicUser: opts.SCIMBasicUser, RenderError: scim.WriteError,
		Logger: opts.Logger, FailureBurst: opts.AuthFailureBurst, ClientAddr: opts.TrustedProxies.ClientAddr,
	})), scimHandler)
	if opts.Webhooks != nil {
		r.Method(http.MethodPost, WebhookPath, opts.Webhooks)
	}
	r.Route("/api/v1", func(r chi.Router) {
		// A console session opens the admin API too, so that approving in
		// the browser and over the API are one path.
		r.Use(rt.withConsoleSession(Authenticate(opts.Store, AuthOptions{
			Bootstrap: bootstrap, RequiredScope: AdminScope, RenderError: writeProblem, Logger: opts.Logger,
			FailureBurst: opts.AuthFailureBurst, ClientAddr: opts.TrustedProxies.ClientAddr,
		})))
		rt.adminRoutes(r)
	})
	rt.mountConsole(r)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such route; SCIM is at /scim/v2, the admin API at /api/v1")
	})
	// A method the router does not know at all (not GET, PATCH …) never
	// reaches a route; SCIM clients still get a SCIM error.
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, scimPath+"/") {
			scim.WriteError(w, r, http.StatusMethodNotAllowed, "The method is not allowed here.")
			return
		}
		writeProblem(w, r, http.StatusMethodNotAllowed, "the method is not allowed here")
	})
	return r, nil
}

// scimPath is where SCIM is served.
const scimPath = "/scim/v2"

// scimRoutes registers each SCIM endpoint by name, so that metrics and logs
// tell the resource types apart (/scim/v2/Users, /scim/v2/Users/{id}, …);
// the SCIM handler routes itself and answers everything else, such as
// /users, /Me and unknown paths, under one label.
func scimRoutes(r chi.Router, h http.Handler) {
	for _, endpoint := range []string{"Users", "Groups", "Schemas", "ResourceTypes", "ServiceProviderConfig"} {
		r.Handle(scimPath+"/"+endpoint, h)
		r.Handle(scimPath+"/"+endpoint+"/", h)
		r.Handle(scimPath+"/"+endpoint+"/{id}", h)
	}
	r.Handle(scimPath, h)
	r.Handle(scimPath+"/*", h)
}
