// Package scimsim is an in-memory, writable SCIM 2.0 server (RFC 7643/7644)
// for the SCIM push target's tests and for demos: Users and Groups with
// create, read, replace, PATCH and delete, the filters push clients match
// with, discovery endpoints, optional ETags, fault injection (throttling,
// server errors, slow or hanging answers, garbage, per-record data errors)
// and the quirks of the servers the target supports (authentik, Zitadel,
// Keycloak, Okta inbound). It does not depend on package testing so that
// the binary can serve it.
package scimsim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Profile selects a server's quirks.
type Profile string

const (
	// Generic follows RFC 7644 and nothing else.
	Generic Profile = "generic"
	// Authentik: POST adopts an existing user by userName and an existing
	// group by displayName instead of answering 409.
	Authentik Profile = "authentik"
	// Zitadel: users only (404 for /Groups), no discovery endpoints, given
	// name, family name and an email are required.
	Zitadel Profile = "zitadel"
	// Keycloak: group members are refused in POST and PUT (members only by
	// PATCH), member values may be bare ids, at most 100 PATCH operations.
	Keycloak Profile = "keycloak"
	// Okta is Okta's inbound SCIM server; nothing beyond the RFC is known
	// about it, so it behaves like Generic.
	Okta Profile = "okta"
)

// Options configure a simulator. The zero value is a generic server without
// authentication.
type Options struct {
	Profile Profile
	// BasePath is the path the SCIM endpoints live under (for example
	// "/scim/v2"); requests outside it answer 404.
	BasePath string
	// Token is the bearer token every request must carry. With Username
	// set, Basic credentials are accepted too; with ClientID set, tokens
	// issued by POST {BasePath}/oauth/token (client credentials) are
	// accepted. Without any of them no authentication is asked for.
	Token              string
	Username, Password string
	ClientID           string
	ClientSecret       string
	// Now is the simulator's clock (meta.created, meta.lastModified);
	// default time.Now.
	Now func() time.Time
	// NoDiscovery makes ServiceProviderConfig, ResourceTypes and Schemas
	// answer 404 (Zitadel always does).
	NoDiscovery bool
	// NoPatch makes the server advertise patch as unsupported and answer
	// PATCH with 501.
	NoPatch bool
	// ETags gives resources versions: ETag headers, meta.version, and 412
	// when If-Match names an older version.
	ETags bool
	// NoContent makes PUT and PATCH answer 204 without a body.
	NoContent bool
	// MaxPatchOperations refuses PATCH requests with more operations (400
	// tooMany); 0 means no limit (Keycloak: 100).
	MaxPatchOperations int
	// MaxResults caps a list page; default 100.
	MaxResults int
	// FilteredMemberRemoveIgnored reproduces an authentik bug: a remove
	// with path members[value eq "…"] answers 200 and removes nothing.
	FilteredMemberRemoveIgnored bool
	// ExternalIDUnmapped reproduces Keycloak without a user-profile
	// attribute mapped to externalId: users' externalId is dropped on
	// every write, so a filter by it finds nothing.
	ExternalIDUnmapped bool
}

func (o Options) withDefaults() Options {
	if o.Profile == "" {
		o.Profile = Generic
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 100
	}
	o.BasePath = strings.TrimRight(o.BasePath, "/")
	switch o.Profile {
	case Zitadel:
		o.NoDiscovery = true
	case Keycloak:
		if o.MaxPatchOperations == 0 {
			o.MaxPatchOperations = 100
		}
	}
	return o
}

// Sim is the simulator; it is an http.Handler.
type Sim struct {
	opts Options

	mu       sync.Mutex
	users    map[string]*resource
	groups   map[string]*resource
	order    []string // ids in creation order, for stable listings
	index    map[string]map[string]*resource
	nextID   int
	writes   int
	rejected map[string]bool // externalIds whose writes fail with 400
	tokens   map[string]bool // issued by the token endpoint
	faults   faults
	log      []Request
}

// Request is one request as the simulator saw it.
type Request struct {
	Method  string
	Path    string // without BasePath
	Query   string
	IfMatch string
	Status  int
}

type faults struct {
	throttle   int
	retryAfter time.Duration
	fail       int
	failStatus int
	garbage    int
	redirects  int
	redirectTo string
	delay      time.Duration
	hang       bool
	hangDone   chan struct{}
}

// New returns an empty simulator.
func New(opts Options) *Sim {
	return &Sim{
		opts:     opts.withDefaults(),
		users:    map[string]*resource{},
		groups:   map[string]*resource{},
		index:    map[string]map[string]*resource{},
		rejected: map[string]bool{},
		tokens:   map[string]bool{},
	}
}

// Close releases requests held by Hang.
func (s *Sim) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseHangLocked()
}

// Throttle makes the next n requests answer 429 with Retry-After.
func (s *Sim) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle, s.faults.retryAfter = n, retryAfter
}

// Fail makes the next n requests answer status (a 5xx) with a SCIM error.
func (s *Sim) Fail(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.fail, s.faults.failStatus = n, status
}

// Garbage makes the next n requests answer 200 with a body that is not JSON.
func (s *Sim) Garbage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.garbage = n
}

// Redirect makes the next n requests answer 307 to the same path under
// base (another server's URL).
func (s *Sim) Redirect(n int, base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.redirects, s.faults.redirectTo = n, strings.TrimRight(base, "/")
}

// Slow delays every answer by d (0 turns it off).
func (s *Sim) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.delay = d
}

// Hang makes every request wait, unanswered, until the client gives up,
// Hang(false) or Close.
func (s *Sim) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && !s.faults.hang {
		s.faults.hang, s.faults.hangDone = true, make(chan struct{})
		return
	}
	if !on {
		s.releaseHangLocked()
	}
}

func (s *Sim) releaseHangLocked() {
	if s.faults.hang {
		close(s.faults.hangDone)
		s.faults.hang = false
	}
}

// Reject makes every write of the user with that externalId (the Personio
// id) fail with 400 invalidValue until Accept.
func (s *Sim) Reject(externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[externalID] = true
}

// Accept undoes Reject.
func (s *Sim) Accept(externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rejected, externalID)
}

// Writes counts the writes the simulator accepted (2xx answers to POST,
// PUT, PATCH and DELETE).
func (s *Sim) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Requests returns the requests seen so far, in order (the most recent
// 200,000 at most).
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Settle is a no-op: the simulator processes everything synchronously.
func (s *Sim) Settle() {}

// Users counts the users held.
func (s *Sim) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// User is a user as the simulator holds it.
type User struct {
	ID                string
	UserName          string
	ExternalID        string
	GivenName         string
	FamilyName        string
	DisplayName       string
	Email             string
	Title             string
	Department        string
	EmployeeNumber    string
	Active            bool
	ManagerID         string
	ManagerExternalID string
	Version           int
}

// Group is a group as the simulator holds it.
type Group struct {
	ID          string
	DisplayName string
	ExternalID  string
	MemberIDs   []string // sorted
	// MemberExternalIDs are the members' externalIds, sorted.
	MemberExternalIDs []string
}

// UserByExternalID returns the user whose externalId is id (case-exact).
func (s *Sim) UserByExternalID(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if found := s.lookup(kindUsers, "externalId", id); len(found) > 0 {
		return s.userView(found[0]), true
	}
	return User{}, false
}

// UserByID returns the user with the server's id.
func (s *Sim) UserByID(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return s.userView(r), true
}

// GroupByName returns the group with that displayName (case-insensitive).
func (s *Sim) GroupByName(displayName string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if found := s.lookup(kindGroups, "displayName", displayName); len(found) > 0 {
		return s.groupView(found[0]), true
	}
	return Group{}, false
}

// Groups counts the groups held.
func (s *Sim) Groups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.groups)
}

// Tamper changes a user's displayName behind the client's back.
func (s *Sim) Tamper(externalID, displayName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.lookup(kindUsers, "externalId", externalID) {
		set(r.attrs, "displayName", displayName)
		s.touch(r)
		return true
	}
	return false
}

// AddUser creates a user directly, as an account made in the server by
// hand, and returns its id. externalID may be empty.
func (s *Sim) AddUser(userName, externalID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	attrs := map[string]any{"schemas": []any{schemaUser}, "userName": userName, "active": true}
	if externalID != "" {
		attrs["externalId"] = externalID
	}
	return s.insert(kindUsers, attrs).id
}

// AddGroup creates a group directly with the given member ids.
func (s *Sim) AddGroup(displayName string, memberIDs ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	members := []any{}
	for _, id := range memberIDs {
		members = append(members, map[string]any{"value": id})
	}
	attrs := map[string]any{"schemas": []any{schemaGroup}, "displayName": displayName, "members": members}
	return s.insert(kindGroups, attrs).id
}

// Remove deletes a resource by id behind the client's back.
func (s *Sim) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(id)
}

func (s *Sim) userView(r *resource) User {
	u := User{
		ID:             r.id,
		UserName:       str(r.attrs, "userName"),
		ExternalID:     str(r.attrs, "externalId"),
		DisplayName:    str(r.attrs, "displayName"),
		Title:          str(r.attrs, "title"),
		Active:         true,
		Version:        r.version,
		GivenName:      str(obj(r.attrs, "name"), "givenName"),
		FamilyName:     str(obj(r.attrs, "name"), "familyName"),
		Department:     str(obj(r.attrs, schemaEnterprise), "department"),
		EmployeeNumber: str(obj(r.attrs, schemaEnterprise), "employeeNumber"),
		ManagerID:      str(obj(obj(r.attrs, schemaEnterprise), "manager"), "value"),
	}
	if v, ok := get(r.attrs, "active"); ok {
		b, isBool := v.(bool)
		u.Active = isBool && b
	}
	if emails, ok := get(r.attrs, "emails"); ok {
		if list, ok := emails.([]any); ok && len(list) > 0 {
			u.Email = str(asObj(list[0]), "value")
		}
	}
	if m, ok := s.users[u.ManagerID]; ok {
		u.ManagerExternalID = str(m.attrs, "externalId")
	}
	return u
}

func (s *Sim) groupView(r *resource) Group {
	g := Group{ID: r.id, DisplayName: str(r.attrs, "displayName"), ExternalID: str(r.attrs, "externalId")}
	for _, id := range memberIDs(r.attrs) {
		g.MemberIDs = append(g.MemberIDs, id)
		if u, ok := s.users[id]; ok {
			g.MemberExternalIDs = append(g.MemberExternalIDs, str(u.attrs, "externalId"))
		}
	}
	slices.Sort(g.MemberIDs)
	slices.Sort(g.MemberExternalIDs)
	return g
}

// authorized checks the request's credentials in constant time.
func (s *Sim) authorized(r *http.Request) bool {
	o := s.opts
	if o.Token == "" && o.Username == "" && o.ClientID == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		if o.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(o.Token)) == 1 {
			return true
		}
		s.mu.Lock()
		issued := s.tokens[tok]
		s.mu.Unlock()
		return issued
	}
	if user, pass, ok := r.BasicAuth(); ok && o.Username != "" {
		u := subtle.ConstantTimeCompare([]byte(user), []byte(o.Username))
		p := subtle.ConstantTimeCompare([]byte(pass), []byte(o.Password))
		return u&p == 1
	}
	return false
}

func (s *Sim) newID() string {
	s.nextID++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.nextID, s.nextID)
}
