package main

import (
	"net/http"
	"strings"
)

// Which paths each listener serves when ADMIN_LISTEN_ADDR separates them:
// only SCIM, the Personio webhooks and the probes need to be reachable from
// the internet; the admin API, the console and the metrics stay on the
// internal address. Both answer the probes, so either can be checked.
var (
	publicPrefixes = []string{"/scim/", "/webhooks/", "/healthz", "/readyz"}
	adminPrefixes  = []string{"/api/", "/admin", "/metrics", "/healthz", "/readyz"}
)

// onlyPaths serves the paths under the given prefixes (and /scim/v2 without
// its slash) and answers 404 for every other one, so that a route never
// leaks onto the listener it does not belong to.
func onlyPaths(h http.Handler, prefixes []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) || r.URL.Path+"/" == p {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}

// listener is one address and what it serves.
type listener struct {
	name    string // the variable that sets it, for errors
	addr    string
	handler http.Handler
}

// listeners splits the service across LISTEN_ADDR and ADMIN_LISTEN_ADDR,
// or serves everything on the one address when they are the same.
func (s *service) listeners(addr string) []listener {
	if s.adminAddr == "" || s.adminAddr == addr {
		return []listener{{name: "LISTEN_ADDR", addr: addr, handler: s.handler}}
	}
	return []listener{
		{name: "LISTEN_ADDR", addr: addr, handler: onlyPaths(s.handler, publicPrefixes)},
		{name: "ADMIN_LISTEN_ADDR", addr: s.adminAddr, handler: onlyPaths(s.handler, adminPrefixes)},
	}
}
