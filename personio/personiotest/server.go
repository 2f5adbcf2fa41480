// Package personiotest simulates the Personio API (v1 and v2) for tests,
// benchmarks and demos: a seeded company served from one dataset with
// Personio's shapes, paging, limits, token behaviour and error bodies, plus
// control endpoints under /_sim/ (and the same operations as Go methods) to
// change the company, inject faults and read call counts.
package personiotest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/personio"
)

// Server is the simulator. It is an http.Handler; Start runs it on a test
// server, `personio-scim simulate` on a real listener.
type Server struct {
	opts    Options
	api     *http.ServeMux
	control *http.ServeMux
	v1Defs  map[string]attrDef // standard v1 attributes by key

	mu     sync.Mutex // guards everything below
	co     *company
	offset time.Duration // how far Advance moved the clock
	tokens *tokenStore
	limits *simLimits
	faults []*faultState
	calls  map[string]int
	// listingHires counts people added by Hire faults.
	listingHires int
	baseURL      string
}

// New builds a simulator with a company seeded from opts.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:   opts,
		co:     seedCompany(opts.Employees, opts.Seed, opts.Now(), opts.Location, opts.EmailDomain),
		tokens: newTokenStore(),
		limits: newSimLimits(opts),
		calls:  map[string]int{},
	}
	s.v1Defs = map[string]attrDef{}
	for _, d := range standardAttrDefs() {
		s.v1Defs[d.Key] = d
	}
	s.api = s.apiRoutes()
	s.control = s.controlRoutes()
	for _, f := range opts.Faults {
		s.queueFault(f)
	}
	return s
}

// Start runs a new simulator on an httptest server that closes when the
// test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.CloseWebhooks)
	s.mu.Lock()
	s.baseURL = ts.URL
	s.mu.Unlock()
	return s
}

// URL is the base URL of a simulator started with Start ("" otherwise).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// ClientID and ClientSecret are the first credential's.
func (s *Server) ClientID() string     { return s.opts.Credentials[0].ClientID }
func (s *Server) ClientSecret() string { return s.opts.Credentials[0].ClientSecret }

// Now is the simulator's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Today is the simulator's current day in the company's time zone.
func (s *Server) Today() personio.Date {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.today()
}

// Advance moves the simulator's clock forward (tests and demos moving
// through days). Tokens expire and rate limits refill accordingly.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	s.emitDueDates()
}

func (s *Server) now() time.Time { return s.opts.Now().Add(s.offset) }

func (s *Server) today() personio.Date { return personio.DateOf(s.now().In(s.opts.Location)) }

// authorized serves h under the simulator's lock once the request's token
// holds one of scopes; otherwise authorize has already answered.
func (s *Server) authorized(scopes []string, h func(http.ResponseWriter, *http.Request, *Credential)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if cred := s.authorize(w, r, scopes...); cred != nil {
			h(w, r, cred)
		}
	}
}

func (s *Server) apiRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/auth", s.v1Auth)
	m.HandleFunc("GET /v1/company/employees", s.authorized(readScopes(), s.v1List))
	m.HandleFunc("POST /v1/company/employees", s.authorized(writeScopes(), s.v1Create))
	m.HandleFunc("GET /v1/company/employees/attributes", s.authorized(readScopes(), s.v1Attributes))
	m.HandleFunc("GET /v1/company/employees/custom-attributes", s.authorized(readScopes(), s.v1Attributes))
	m.HandleFunc("GET /v1/company/employees/{id}", s.authorized(readScopes(), s.v1Get))
	m.HandleFunc("PATCH /v1/company/employees/{id}", s.authorized(writeScopes(), s.v1Patch))
	m.HandleFunc("GET /v1/company/employees/{id}/profile-picture", s.authorized(readScopes(), s.v1Picture))
	m.HandleFunc("GET /v1/company/employees/{id}/profile-picture/{width}", s.authorized(readScopes(), s.v1Picture))
	m.HandleFunc("POST /v2/auth/token", s.v2Token)
	m.HandleFunc("POST /v2/auth/revoke", s.v2Revoke)
	m.HandleFunc("GET /v2/persons", s.authorized(readScopes(), s.v2Persons))
	m.HandleFunc("GET /v2/persons/{id}", s.authorized(readScopes(), s.v2Person))
	m.HandleFunc("PATCH /v2/persons/{id}", s.authorized(writeScopes(), s.v2PatchPerson))
	m.HandleFunc("GET /v2/persons/{id}/employments", s.authorized(readScopes(), s.v2Employments))
	m.HandleFunc("GET /v2/persons/{id}/employments/{eid}", s.authorized(readScopes(), s.v2Employment))
	m.HandleFunc("PATCH /v2/persons/{id}/employments/{eid}", s.authorized(writeScopes(), s.v2PatchEmployment))
	m.HandleFunc("GET /v2/org-units", s.v2OrgUnits)
	m.HandleFunc("GET /v2/org-units/{id}", s.v2OrgUnit)
	m.HandleFunc("GET /v2/legal-entities", s.v2LegalEntities)
	m.HandleFunc("GET /v2/legal-entities/{id}", s.v2LegalEntity)
	m.HandleFunc("GET /v2/cost-centers", s.v2CostCenters)
	m.HandleFunc("GET /v2/workplaces", s.v2Workplaces)
	s.webhookRoutes(m)
	return m
}

// ServeHTTP counts the call, applies an injected fault and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.control.ServeHTTP(w, r)
		return
	}
	// Handler finds the pattern for counting; ServeHTTP below routes again
	// because only it fills in the path values.
	_, pattern := s.api.Handler(r)
	if pattern == "" {
		s.notFound(w, r)
		return
	}
	s.mu.Lock()
	s.calls[pattern]++
	f := s.takeFault(r.URL.Path)
	if f != nil && f.Hire {
		s.hireDuringListing()
	}
	s.mu.Unlock()
	if f != nil {
		if !f.delay(r.Context()) {
			return // the client gave up; nobody reads an answer
		}
		if f.answer(w, r, s.opts.RetryAfterSeconds) {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f.Fault))
	}
	s.api.ServeHTTP(w, r)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if isV2(r) {
		writeProblem(w, http.StatusNotFound, "Resource not found", "There is no resource for the specified path.")
		return
	}
	writeV1Error(w, http.StatusNotFound, "Es ist ein Problem aufgetreten")
}

func isV2(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v2/") }

// baseFor is the absolute base URL of the request, for next links.
func baseFor(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
