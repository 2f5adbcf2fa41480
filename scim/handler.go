// Package scim serves the directory as SCIM 2.0 (RFC 7643, RFC 7644) to
// identity providers that pull, Okta first of all.
//
// Reads are answered from the in-memory directory by this package: filters
// are parsed with scim2/filter-parser and evaluated in Go, lists are paged
// and rendered here. PUT and PATCH go through github.com/elimity-com/scim,
// which validates bodies and operations against our schemas, then apply
// the write policy: people and groups come from Personio, so only the
// attributes the configuration lists as writable can be changed, and those
// changes are stored as overrides that survive syncs.
package scim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	scimlib "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"

	"github.com/personio-scim/personio-scim/store"
)

// Options configures the SCIM handler. The zero value serves a read-only
// directory under /scim/v2 with URLs taken from the request.
type Options struct {
	// Writable lists the store attribute names (store.Attr*) SCIM clients
	// may change; active cannot be one. A change is kept as an override that
	// wins over Personio; emptying the attribute (remove, or an empty
	// value) drops the override, and the next sync restores Personio's
	// value. Default: none.
	Writable []string
	// MaxResults caps count on list requests (default 1000).
	MaxResults int
	// PageSize is the count used when a list request gives none (default
	// 100, what Okta asks for).
	PageSize int
	// BaseURL is the public URL of the SCIM root, e.g.
	// "https://scim.example.com/scim/v2", used for meta.location and $ref.
	// When empty the URL is built from the request and BasePath.
	BaseURL string
	// BasePath is where the handler is mounted (default "/scim/v2"). A
	// request path that still carries it, as under chi's Mount, is served
	// as if it had been stripped.
	BasePath string
	// TrustForwardedHeaders makes X-Forwarded-Proto and X-Forwarded-Host
	// count when building URLs from the request. Enable it only behind a
	// proxy that sets them.
	TrustForwardedHeaders bool
	// TrustForwarded, when set, decides per request whether those headers
	// count, e.g. only from trusted proxies (api.TrustedProxies.Forwarded).
	TrustForwarded func(*http.Request) bool
	// MaxBodyBytes caps request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// DocumentationURI is published in /ServiceProviderConfig; it should
	// point at the write policy (default: docs/scim.md of the project).
	DocumentationURI string
	// BasicAuth publishes HTTP Basic as an authentication scheme; set it
	// when the authentication middleware accepts Basic.
	BasicAuth bool
	// Actor names who writes, for the change log. The router passes the
	// authenticated token's name ("scim:<name>"). Default "scim".
	Actor func(*http.Request) string
	// CanRead reports whether the client may see resources. A PUT or PATCH
	// of a client that may not is answered 204 without a body, so that a
	// write-only token cannot read the directory through writes. Default:
	// every client may read.
	CanRead func(*http.Request) bool
	// SnapshotIdle and SnapshotMaxAge bound how long the directory view a
	// paged listing started on is kept for its later pages: since its last
	// page request (default 2 minutes) and in all (default 30 minutes).
	// MaxSnapshots bounds how many are kept (default 64); beyond it the one
	// used longest ago goes. See docs/scim.md, "Paging".
	SnapshotIdle, SnapshotMaxAge time.Duration
	MaxSnapshots                 int
	// Now is the clock for keeping snapshots (default time.Now).
	Now func() time.Time
	// Logger receives failures; request data and personal data are never
	// logged. Default: discard.
	Logger *slog.Logger
	// RenderCacheBytes bounds the memory kept for Users rendered once per
	// directory view and served again from there (default 32 MiB; negative
	// turns the cache off).
	RenderCacheBytes int64
}

const (
	defaultMaxResults       = 1000
	defaultPageSize         = 100
	defaultBasePath         = "/scim/v2"
	defaultMaxBodyBytes     = 1 << 20
	defaultDocumentationURI = "https://github.com/personio-scim/personio-scim/blob/main/docs/scim.md"
)

// initOnce guards the library's one global switch, see Init.
var initOnce sync.Once

// Init makes the library accept boolean and number values sent as strings
// ("False", "1"), which Entra sends in PATCH and POST bodies. The switch is
// global to the library (schema.SetAllowStringValues) and so affects every
// user of it in the process. NewHandler calls Init; calling it again is
// harmless.
func Init() {
	initOnce.Do(func() { schema.SetAllowStringValues(true) })
}

type handler struct {
	dir       *store.Directory
	st        store.Store
	opts      Options
	log       *slog.Logger
	writable  map[string]bool
	published schemaSet
	lib       scimlib.Server

	userLeaves, groupLeaves []string
	snaps                   *snapshots
	// writableNames lists the writable attributes as clients name them, for
	// mutability errors.
	writableNames string
	buffers       sync.Pool
	// rendered holds the Users of the newest view already rendered, see
	// render_cache.go.
	rendered atomic.Pointer[renderCache]
	lastBase atomic.Pointer[builtBase]
}

// NewHandler serves SCIM 2.0 for the directory, with paths relative to its
// mount point (/Users, /Groups/{id}, /ServiceProviderConfig …). Writes go
// to st and are read back through dir.
//
// Authentication is the caller's: the router wraps this handler in
// api.Authenticate (with scim.WriteError as its renderer) behind its own
// recoverer and access log. Inside, a request passes a recoverer, then the
// routing below; PUT and PATCH bodies are read with a size cap, PATCH
// bodies normalised, and both handed to the library. Reads never reach
// the library: filters are evaluated here against the directory (the
// library's evaluator panics on some filters and cannot see the enterprise
// extension and core attributes together; see docs/scim.md).
func NewHandler(dir *store.Directory, st store.Store, opts Options) (http.Handler, error) {
	h, err := newHandler(dir, st, opts)
	if err != nil {
		return nil, err
	}
	return recoverPanics(h.log, h), nil
}

func newHandler(dir *store.Directory, st store.Store, opts Options) (*handler, error) {
	Init()
	if dir == nil || st == nil {
		return nil, errors.New("scim handler needs a directory and a store")
	}
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	h := &handler{
		dir:         dir,
		st:          st,
		opts:        opts,
		log:         opts.Logger,
		writable:    make(map[string]bool, len(opts.Writable)),
		userLeaves:  userLeaves(),
		groupLeaves: groupLeaves(),
		snaps:       newSnapshots(opts.Now, opts.SnapshotIdle, opts.SnapshotMaxAge, opts.MaxSnapshots),
	}
	var names []string
	for _, name := range opts.Writable {
		h.writable[name] = true
		names = append(names, scimPathOf(name))
	}
	slices.Sort(names)
	h.writableNames = strings.Join(names, ", ")
	h.published = buildSchemas(func(name string) bool { return h.writable[name] })
	validation := buildSchemas(func(string) bool { return true })
	h.lib, err = scimlib.NewServer(&scimlib.ServerArgs{
		ServiceProviderConfig: &scimlib.ServiceProviderConfig{MaxResults: opts.MaxResults, SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scimlib.ResourceType{
			{
				Name: "User", Endpoint: "/Users", Schema: validation.user,
				SchemaExtensions: []scimlib.SchemaExtension{{Schema: validation.enterprise}},
				Handler:          userResources{h},
			},
			{Name: "Group", Endpoint: "/Groups", Schema: validation.group, Handler: groupResources{h}},
		},
	}, scimlib.WithLogger(libraryLogger{h.log}))
	if err != nil {
		return nil, fmt.Errorf("build scim server: %w", err)
	}
	return h, nil
}

func withDefaults(opts Options) (Options, error) {
	if opts.MaxResults <= 0 {
		opts.MaxResults = defaultMaxResults
	}
	if opts.PageSize <= 0 {
		opts.PageSize = defaultPageSize
	}
	opts.PageSize = min(opts.PageSize, opts.MaxResults)
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	if opts.BasePath == "" {
		opts.BasePath = defaultBasePath
	}
	opts.BasePath = "/" + strings.Trim(opts.BasePath, "/")
	if opts.BasePath == "/" {
		opts.BasePath = ""
	}
	if opts.DocumentationURI == "" {
		opts.DocumentationURI = defaultDocumentationURI
	}
	if opts.Actor == nil {
		opts.Actor = func(*http.Request) string { return "scim" }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SnapshotIdle <= 0 {
		opts.SnapshotIdle = defaultSnapshotIdle
	}
	if opts.SnapshotMaxAge <= 0 {
		opts.SnapshotMaxAge = defaultSnapshotMaxAge
	}
	if opts.MaxSnapshots <= 0 {
		opts.MaxSnapshots = defaultMaxSnapshots
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RenderCacheBytes == 0 {
		opts.RenderCacheBytes = defaultRenderCacheBytes
	}
	if opts.CanRead == nil {
		opts.CanRead = func(*http.Request) bool { return true }
	}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return opts, fmt.Errorf("scim base URL %q: want an absolute http(s) URL", opts.BaseURL)
		}
		opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	}
	known := store.AttributeNames()
	for _, name := range opts.Writable {
		switch {
		case name == store.AttrActive:
			return opts, errors.New("scim writable attribute active: only the lifecycle policy grants access")
		case !slices.Contains(known, name):
			return opts, fmt.Errorf("scim writable attribute %q: not an attribute; known: %s", name, strings.Join(known, ", "))
		}
	}
	return opts, nil
}

// ServeHTTP routes a request. Reads and everything the library gets wrong
// are answered here; PUT and PATCH of one resource go to the library.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w = negotiated(w, r)
	rel := h.relativePath(r.URL.Path)
	collection, id, hasID := strings.Cut(strings.TrimPrefix(rel, "/"), "/")
	switch collection = canonicalEndpoint(collection); collection {
	case "Users", "Groups":
		h.serveResources(w, r, collection, id, hasID)
	case "ServiceProviderConfig":
		if h.allow(w, r, hasID, http.MethodGet, http.MethodHead) {
			h.serveServiceProviderConfig(w, r)
		}
	case "Schemas":
		if h.allow(w, r, false, http.MethodGet, http.MethodHead) {
			h.serveSchemas(w, r, id)
		}
	case "ResourceTypes":
		if h.allow(w, r, false, http.MethodGet, http.MethodHead) {
			h.serveResourceTypes(w, r, id)
		}
	case "Me", "Bulk", ".search":
		writeError(w, scimerrors.ScimError{Status: http.StatusNotImplemented,
			Detail: "/" + collection + " is not supported; see /ServiceProviderConfig."})
	default:
		writeError(w, scimerrors.ScimError{Status: http.StatusNotFound, Detail: "Specified endpoint does not exist."})
	}
}

// canonicalEndpoint spells an endpoint name the way RFC 7644 does, so
// that /users works like /Users.
func canonicalEndpoint(name string) string {
	for _, known := range []string{"Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes", "Me", "Bulk"} {
		if strings.EqualFold(name, known) {
			return known
		}
	}
	return name
}

func (h *handler) serveResources(w http.ResponseWriter, r *http.Request, collection, id string, hasID bool) {
	kind := kindOf(collection)
	switch {
	case !hasID || id == "":
		// "/Users/" is the collection too: some clients build list URLs
		// with a trailing slash.
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.serveList(w, r, kind)
		case http.MethodPost:
			writeError(w, createForbidden(kind))
		default:
			h.methodNotAllowed(w, http.MethodGet, http.MethodHead, http.MethodPost)
		}
	case id == ".search":
		if h.allow(w, r, false, http.MethodPost) {
			h.serveSearch(w, r, kind)
		}
	default:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.serveOne(w, r, kind, id)
		case http.MethodPut, http.MethodPatch:
			h.serveWrite(w, r, kind, id)
		case http.MethodDelete:
			writeError(w, deleteForbidden(kind))
		default:
			h.methodNotAllowed(w, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete)
		}
	}
}

// allow answers 404 or 405 unless the request is one of methods on an
// endpoint that takes no id.
func (h *handler) allow(w http.ResponseWriter, r *http.Request, hasID bool, methods ...string) bool {
	if hasID {
		writeError(w, scimerrors.ScimError{Status: http.StatusNotFound, Detail: "Specified endpoint does not exist."})
		return false
	}
	if !slices.Contains(methods, r.Method) {
		h.methodNotAllowed(w, methods...)
		return false
	}
	return true
}

func (h *handler) methodNotAllowed(w http.ResponseWriter, methods ...string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, scimerrors.ScimError{Status: http.StatusMethodNotAllowed,
		Detail: "Allowed methods: " + strings.Join(methods, ", ") + "."})
}

// relativePath removes the mount point from a path that still has it (chi
// Mount leaves it in place) and the "/v2" the library tolerates.
func (h *handler) relativePath(p string) string {
	for _, prefix := range []string{h.opts.BasePath, "/v2"} {
		if prefix != "" && strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/') {
			p = p[len(prefix):]
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// baseURL is the absolute URL of the SCIM root for this request.
func (h *handler) baseURL(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if h.opts.TrustForwardedHeaders || h.opts.TrustForwarded != nil && h.opts.TrustForwarded(r) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if fh := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(fh) {
			host = fh
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	// Clients keep coming back through the same host name: the last URL
	// built is kept rather than concatenated again on every request.
	if last := h.lastBase.Load(); last != nil && last.scheme == scheme && last.host == host {
		return last.url
	}
	u := scheme + "://" + host + h.opts.BasePath
	h.lastBase.Store(&builtBase{scheme: scheme, host: host, url: u})
	return u
}

// builtBase is a base URL and what it was built from.
type builtBase struct{ scheme, host, url string }

// firstValue is the first entry of a comma-separated header, as proxies
// append theirs.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost accepts host names, IPv4 and bracketed IPv6 addresses with an
// optional port, so a forged header cannot put anything else into URLs.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// resourceKind tells the two collections apart.
type resourceKind int

const (
	kindUsers resourceKind = iota
	kindGroups
)

func kindOf(collection string) resourceKind {
	if collection == "Groups" {
		return kindGroups
	}
	return kindUsers
}

func (k resourceKind) plural() string {
	if k == kindGroups {
		return "Groups"
	}
	return "Users"
}

func createForbidden(k resourceKind) scimerrors.ScimError {
	what := "People come from Personio; add the employee there and they appear here with the next sync."
	if k == kindGroups {
		what = "Groups come from Personio through the group rules; change the rules or the employees' data there."
	}
	return scimerrors.ScimError{Status: http.StatusForbidden, Detail: "This directory is read from Personio. " + what}
}

func deleteForbidden(k resourceKind) scimerrors.ScimError {
	what := "People come from Personio; a leaver stays visible with active false and disappears after the retention period."
	if k == kindGroups {
		what = "Groups come from Personio through the group rules."
	}
	return scimerrors.ScimError{Status: http.StatusForbidden, Detail: "This directory is read from Personio. " + what}
}
