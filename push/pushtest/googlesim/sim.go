// Package googlesim is an in-memory Google Workspace Admin SDK Directory API
// for tests and the demo: the OAuth token endpoint of a service account with
// domain-wide delegation, users (with aliases), organizational units, groups
// and members, with Google's error shapes, paging, ETags, eventual
// consistency after inserts, quota errors and per-record faults. It serves
// what google.golang.org/api/admin/directory/v1 sends when pointed at it
// with option.WithEndpoint(url+"/").
package googlesim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The OAuth scopes the Directory API checks, as Google names them.
const (
	ScopeUser        = "https://www.googleapis.com/auth/admin.directory.user"
	ScopeGroup       = "https://www.googleapis.com/auth/admin.directory.group"
	ScopeGroupMember = "https://www.googleapis.com/auth/admin.directory.group.member"
	ScopeOrgUnit     = "https://www.googleapis.com/auth/admin.directory.orgunit"
)

// Options configure a simulator. Zero values give a working tenant with
// nothing slow and no quota.
type Options struct {
	// Now is the simulator's clock (token expiry, quotas, consistency
	// delays). Defaults to time.Now.
	Now func() time.Time
	// Customer is the customer id (my_customer resolves to it).
	Customer string
	// Domains are the tenant's domains; a primary email elsewhere is refused.
	Domains []string
	// Key is the service account's key; one is generated when nil.
	Key *rsa.PrivateKey
	// ClientEmail is the service account's address (the JWT's iss).
	ClientEmail string
	// Admins are the administrators the service account may impersonate
	// (the JWT's sub). Default: admin@<first domain>.
	Admins []string
	// DelegatedScopes are the scopes granted to the service account in the
	// Admin console's domain-wide delegation. Default: user, group, orgunit.
	DelegatedScopes []string
	// AssertionNow is the clock a JWT assertion's iat and exp are checked
	// against. Signers stamp assertions with the wall clock (x/oauth2
	// does), so it defaults to time.Now, not to Now.
	AssertionNow func() time.Time
	// TokenLifetime is how long an access token is valid (default 3599 s).
	TokenLifetime time.Duration
	// AllowAnonymous serves API calls without a token, as for
	// option.WithoutAuthentication.
	AllowAnonymous bool
	// CreationDelay is how long a new user is incomplete: reads by id
	// answer 404, further writes and member adds 412 "User creation is not
	// complete.".
	CreationDelay time.Duration
	// RenameDelay is how long after a primary email change further writes
	// to the user answer 409 "Entity already exists.".
	RenameDelay time.Duration
	// GroupDelay is how long a new group answers 404 to member adds.
	GroupDelay time.Duration
	// PerMinute is the query quota per impersonated user and minute of the
	// clock; beyond it requests answer 403 userRateLimitExceeded. 0: none.
	PerMinute int
	// MaxConcurrent answers 429 rateLimitExceeded beyond that many requests
	// in flight. 0: none.
	MaxConcurrent int
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	opt     Options
	now     func() time.Time
	mux     *http.ServeMux
	mu      sync.Mutex
	seq     int64
	tokens  map[string]token
	users   map[string]*user    // by id
	emails  map[string]string   // lower-case primary email or alias → user id
	ous     map[string]*orgUnit // by lower-case path
	groups  map[string]*group   // by id
	gemails map[string]string   // lower-case group email or alias → group id
	window  map[string]quotaWindow
	faults  []fault
	reject  map[string]bool // Personio ids whose writes fail
	writes  int
	calls   int
	refused int // quota and injected fault answers
	flight  int
}

type token struct {
	subject string
	scopes  map[string]bool
	expires time.Time
}

type quotaWindow struct {
	minute int64
	used   int
}

type fault struct {
	status     int
	reason     string
	message    string
	retryAfter time.Duration
}

// New returns an empty tenant.
func New(opt Options) *Sim {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.AssertionNow == nil {
		opt.AssertionNow = time.Now
	}
	if opt.Customer == "" {
		opt.Customer = "C01sim0001"
	}
	if len(opt.Domains) == 0 {
		opt.Domains = []string{"example.com"}
	}
	if opt.ClientEmail == "" {
		opt.ClientEmail = "personio-scim@sim-project.iam.gserviceaccount.com"
	}
	if len(opt.Admins) == 0 {
		opt.Admins = []string{"admin@" + opt.Domains[0]}
	}
	if opt.DelegatedScopes == nil {
		opt.DelegatedScopes = []string{ScopeUser, ScopeGroup, ScopeOrgUnit}
	}
	if opt.TokenLifetime == 0 {
		opt.TokenLifetime = 3599 * time.Second
	}
	if opt.Key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			// crypto/rand does not fail on supported platforms.
			panic(fmt.Sprintf("googlesim: generating the service account key: %v", err))
		}
		opt.Key = key
	}
	s := &Sim{
		opt:     opt,
		now:     opt.Now,
		tokens:  map[string]token{},
		users:   map[string]*user{},
		emails:  map[string]string{},
		ous:     map[string]*orgUnit{},
		groups:  map[string]*group{},
		gemails: map[string]string{},
		window:  map[string]quotaWindow{},
		reject:  map[string]bool{},
	}
	s.ous["/"] = &orgUnit{id: "id:00root", name: "/", path: "/"}
	s.routes()
	return s
}

func (s *Sim) routes() {
	m := http.NewServeMux()
	const p = "/admin/directory/v1/"
	m.HandleFunc("POST /token", s.serveToken)
	m.HandleFunc("POST "+p+"users", s.api(ScopeUser, s.insertUser))
	m.HandleFunc("GET "+p+"users", s.api(ScopeUser, s.listUsers))
	m.HandleFunc("GET "+p+"users/{userKey}", s.api(ScopeUser, s.getUser))
	m.HandleFunc("PUT "+p+"users/{userKey}", s.api(ScopeUser, s.updateUser))
	m.HandleFunc("PATCH "+p+"users/{userKey}", s.api(ScopeUser, s.updateUser))
	m.HandleFunc("DELETE "+p+"users/{userKey}", s.api(ScopeUser, s.deleteUser))
	m.HandleFunc("POST "+p+"users/{userKey}/aliases", s.api(ScopeUser, s.insertAlias))
	m.HandleFunc("GET "+p+"users/{userKey}/aliases", s.api(ScopeUser, s.listAliases))
	m.HandleFunc("DELETE "+p+"users/{userKey}/aliases/{alias}", s.api(ScopeUser, s.deleteAlias))
	m.HandleFunc("GET "+p+"customer/{customer}/orgunits", s.api(ScopeOrgUnit, s.listOrgUnits))
	m.HandleFunc("POST "+p+"customer/{customer}/orgunits", s.api(ScopeOrgUnit, s.insertOrgUnit))
	m.HandleFunc("GET "+p+"customer/{customer}/orgunits/{path...}", s.api(ScopeOrgUnit, s.getOrgUnit))
	m.HandleFunc("POST "+p+"groups", s.api(ScopeGroup, s.insertGroup))
	m.HandleFunc("GET "+p+"groups", s.api(ScopeGroup, s.listGroups))
	m.HandleFunc("GET "+p+"groups/{groupKey}", s.api(ScopeGroup, s.getGroup))
	m.HandleFunc("PUT "+p+"groups/{groupKey}", s.api(ScopeGroup, s.updateGroup))
	m.HandleFunc("PATCH "+p+"groups/{groupKey}", s.api(ScopeGroup, s.updateGroup))
	m.HandleFunc("DELETE "+p+"groups/{groupKey}", s.api(ScopeGroup, s.deleteGroup))
	m.HandleFunc("POST "+p+"groups/{groupKey}/members", s.api(ScopeGroupMember, s.insertMember))
	m.HandleFunc("GET "+p+"groups/{groupKey}/members", s.api(ScopeGroupMember, s.listMembers))
	m.HandleFunc("GET "+p+"groups/{groupKey}/members/{memberKey}", s.api(ScopeGroupMember, s.getMember))
	m.HandleFunc("DELETE "+p+"groups/{groupKey}/members/{memberKey}", s.api(ScopeGroupMember, s.deleteMember))
	m.HandleFunc("GET "+p+"groups/{groupKey}/hasMember/{memberKey}", s.api(ScopeGroupMember, s.hasMember))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "notFound", "Not Found")
	})
	s.mux = m
}

// ServeHTTP serves the token endpoint and the Directory API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	s.mux.ServeHTTP(w, r)
}

// handler is one API method; it runs with the lock held.
type handler func(w http.ResponseWriter, r *http.Request, body map[string]any)

// api wraps a method with what every Directory API call goes through:
// concurrency and quota limits, injected faults, the bearer token and its
// scopes, and the decoded JSON body of writes.
func (s *Sim) api(scope string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.flight++
		over := s.opt.MaxConcurrent > 0 && s.flight > s.opt.MaxConcurrent
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.flight--
			s.mu.Unlock()
		}()
		if over {
			writeError(w, http.StatusTooManyRequests, "rateLimitExceeded", "Rate Limit Exceeded")
			return
		}
		var body map[string]any
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.injectFault(w) {
			return
		}
		subject, ok := s.authorize(w, r, scope)
		if !ok {
			return
		}
		if !s.withinQuota(w, subject) {
			return
		}
		h(w, r, body)
	}
}

func (s *Sim) injectFault(w http.ResponseWriter) bool {
	if len(s.faults) == 0 {
		return false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	s.refused++
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
	}
	writeError(w, f.status, f.reason, f.message)
	return true
}

func (s *Sim) authorize(w http.ResponseWriter, r *http.Request, scope string) (string, bool) {
	if s.opt.AllowAnonymous {
		return "anonymous", true
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok, known := s.tokens[raw]
	if !ok || !known || !s.now().Before(tok.expires) {
		writeAuthError(w)
		return "", false
	}
	if tok.subject == "" {
		writeError(w, http.StatusForbidden, "forbidden", "Not Authorized to access this resource/api")
		return "", false
	}
	granted := tok.scopes[scope] ||
		(scope == ScopeGroupMember && tok.scopes[ScopeGroup])
	if !granted {
		writeError(w, http.StatusForbidden, "insufficientPermissions", "Request had insufficient authentication scopes.")
		return "", false
	}
	return tok.subject, true
}

func (s *Sim) withinQuota(w http.ResponseWriter, subject string) bool {
	if s.opt.PerMinute <= 0 {
		return true
	}
	minute := s.now().Unix() / 60
	q := s.window[subject]
	if q.minute != minute {
		q = quotaWindow{minute: minute}
	}
	if q.used >= s.opt.PerMinute {
		s.refused++
		writeError(w, http.StatusForbidden, "userRateLimitExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'")
		return false
	}
	q.used++
	s.window[subject] = q
	return true
}

// Throttle makes the next n API calls answer Google's 403
// userRateLimitExceeded, with a Retry-After header when retryAfter > 0.
func (s *Sim) Throttle(n int, retryAfter time.Duration) {
	s.Fail(n, http.StatusForbidden, "userRateLimitExceeded", "User Rate Limit Exceeded", retryAfter)
}

// Fail makes the next n API calls answer the given error (for example 429
// rateLimitExceeded, 403 quotaExceeded, 503 backendError).
func (s *Sim) Fail(n, status int, reason, message string, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, reason: reason, message: message, retryAfter: retryAfter})
	}
}

// Reject makes every write to the user with that Personio id (its
// externalIds organization value) fail with 400 until Accept.
func (s *Sim) Reject(personioID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[personioID] = true
}

// Accept ends Reject for the Personio id.
func (s *Sim) Accept(personioID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reject, personioID)
}

// Writes counts the writes the simulator accepted.
func (s *Sim) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Refused counts the calls answered with a quota error or an injected
// fault.
func (s *Sim) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Calls counts every API call that reached the simulator, reads included
// (not the token endpoint).
func (s *Sim) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Sim) nextID() string {
	s.seq++
	return fmt.Sprintf("1%020d", s.seq)
}

func (s *Sim) etag(id string, version int) string {
	return fmt.Sprintf("\"sim-%s-%d\"", id, version)
}

// customerOK says whether a customer parameter names this tenant.
func (s *Sim) customerOK(c string) bool {
	return c == "my_customer" || c == s.opt.Customer
}

func (s *Sim) inDomain(email string) bool {
	_, domain, ok := strings.Cut(email, "@")
	if !ok {
		return false
	}
	for _, d := range s.opt.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// writeError answers in the Directory API's error shape.
func writeError(w http.ResponseWriter, status int, reason, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":    status,
		"message": message,
		"errors":  []any{map[string]any{"message": message, "domain": "global", "reason": reason}},
	}})
}

func writeAuthError(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
		"code":    401,
		"message": "Invalid Credentials",
		"errors": []any{map[string]any{
			"message": "Invalid Credentials", "domain": "global", "reason": "authError",
			"locationType": "header", "location": "Authorization",
		}},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeEmpty(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
