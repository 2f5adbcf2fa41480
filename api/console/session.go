package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Role is what a signed-in person may do.
type Role string

const (
	RoleAdmin  Role = "admin"  // reads and acts
	RoleViewer Role = "viewer" // reads only
)

// User is who a session belongs to.
type User struct {
	Email string
	Name  string
	Role  Role
}

// CanAct reports whether the user may change anything.
func (u User) CanAct() bool { return u.Role == RoleAdmin }

type session struct {
	user    User
	csrf    string
	expires time.Time
}

// sessions is the server-side session store, keyed by the hash of a random
// id so that a heap dump does not hand out live cookies.
type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]session
	ttl  time.Duration
	now  func() time.Time
	max  int
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[[32]byte]session{}, ttl: ttl, now: now, max: 10000}
}

// create starts a session and returns its cookie value.
func (s *sessions) create(u User) (string, session) {
	id := randomToken()
	sess := session{user: u, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictExpired()
	if len(s.byID) >= s.max {
		s.evictOldest()
	}
	s.byID[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[key]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.byID, key)
		return session{}, false
	}
	return sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(id)))
}

func (s *sessions) evictExpired() {
	now := s.now()
	for k, v := range s.byID {
		if !now.Before(v.expires) {
			delete(s.byID, k)
		}
	}
}

func (s *sessions) evictOldest() {
	var oldest [32]byte
	var at time.Time
	for k, v := range s.byID {
		if at.IsZero() || v.expires.Before(at) {
			oldest, at = k, v.expires
		}
	}
	delete(s.byID, oldest)
}

// oneTimeTokens are the local-admin sign-in links of the demo: each works
// once, for a short while.
type oneTimeTokens struct {
	mu     sync.Mutex
	byHash map[[32]byte]time.Time
	now    func() time.Time
}

func (o *oneTimeTokens) issue(ttl time.Duration) string {
	tok := randomToken()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.byHash[sha256.Sum256([]byte(tok))] = o.now().Add(ttl)
	return tok
}

// redeem consumes tok; a token is good once.
func (o *oneTimeTokens) redeem(tok string) bool {
	key := sha256.Sum256([]byte(tok))
	o.mu.Lock()
	defer o.mu.Unlock()
	exp, ok := o.byHash[key]
	delete(o.byHash, key)
	return ok && o.now().Before(exp)
}

// randomToken returns 128 bits from crypto/rand, which never fails.
func randomToken() string { return rand.Text() }

func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

const (
	sessionCookie = "console_session"
	loginCookie   = "console_login"
	csrfField     = "csrf"
	// CSRFHeader carries the session's CSRF token on unsafe admin API
	// requests made with the session cookie.
	CSRFHeader = "X-CSRF-Token"
)

type userKey struct{}

// UserFrom returns the signed-in user the console put into ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

func (c *Console) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: c.secureCookies, SameSite: http.SameSiteLaxMode})
}

// currentSession finds the request's session, if any.
func (c *Console) currentSession(r *http.Request) (string, session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", session{}, false
	}
	sess, ok := c.sessions.get(ck.Value)
	return ck.Value, sess, ok
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin refuses a cross-site request that a browser labelled as such;
// the CSRF token is the real check, this one stops it earlier.
func (c *Console) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	if c.publicURL != "" {
		return strings.EqualFold(strings.TrimSuffix(c.publicURL, "/"), origin) || originMatchesHost(origin, r.Host)
	}
	return originMatchesHost(origin, r.Host)
}

func originMatchesHost(origin, host string) bool {
	_, rest, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(rest, host)
}

// SessionOr authenticates admin API requests that carry a console session
// cookie and no Authorization header; every other request goes to bearer
// (the token authentication). Unsafe methods need the session's CSRF token
// in the X-CSRF-Token header, and viewers may only read. withUser puts the
// caller's principal into the context the API handlers read.
func (c *Console) SessionOr(bearer func(http.Handler) http.Handler, withUser func(context.Context, User) context.Context) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		tokens := bearer(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				tokens.ServeHTTP(w, r)
				return
			}
			if _, err := r.Cookie(sessionCookie); err != nil {
				tokens.ServeHTTP(w, r)
				return
			}
			_, sess, ok := c.currentSession(r)
			switch {
			case !ok:
				apiRefuse(w, http.StatusUnauthorized, "the console session has expired; sign in again")
			case !isSafeMethod(r.Method) && (!equalSecret(r.Header.Get(CSRFHeader), sess.csrf) || !c.sameOrigin(r)):
				apiRefuse(w, http.StatusForbidden, "a request with the console session needs its CSRF token in X-CSRF-Token")
			case !isSafeMethod(r.Method) && !sess.user.CanAct():
				apiRefuse(w, http.StatusForbidden, "viewers may only read")
			default:
				ctx := context.WithValue(r.Context(), userKey{}, sess.user)
				next.ServeHTTP(w, r.WithContext(withUser(ctx, sess.user)))
			}
		})
	}
}

func apiRefuse(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	b, _ := jsonMarshal(map[string]any{"status": status, "title": http.StatusText(status), "detail": detail})
	w.Write(b)
}
