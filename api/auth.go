package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/personio-scim/personio-scim/store"
)

// Principal is who a request authenticated as: a token's name and scopes.
type Principal struct {
	Name    string
	Scopes  []string
	TokenID string // empty for bootstrap tokens
}

// HasScope reports whether the principal carries scope. Scopes do not
// imply each other: admin does not open SCIM, scim:write does not open
// reads.
func (p Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Authenticate put into ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// SCIMActor names the change-log actor of a SCIM write: "scim:<token
// name>". It is meant for scim.Options.Actor.
func SCIMActor(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return "scim:" + p.Name
	}
	return "scim"
}

// SCIMScope is the scope a SCIM request needs: scim:read for reads,
// including POST …/.search, and scim:write for everything else.
func SCIMScope(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
		return store.ScopeSCIMRead
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/.search"):
		return store.ScopeSCIMRead
	}
	return store.ScopeSCIMWrite
}

// SCIMCanRead reports whether the request's token may see resources:
// a write answered to a token without scim:read carries no body, so that
// a write-only token cannot read the directory through no-op writes. It is
// meant for scim.Options.CanRead.
func SCIMCanRead(r *http.Request) bool {
	p, ok := PrincipalFrom(r.Context())
	return ok && p.HasScope(store.ScopeSCIMRead)
}

// AdminScope is the scope every admin API request needs.
func AdminScope(*http.Request) string { return store.ScopeAdmin }

// TokenSource finds a token that is not revoked by the hash of its secret;
// store.Store is one.
type TokenSource interface {
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
}

// BootstrapToken is a token given as configuration rather than stored:
// SCIM_TOKEN (scim:read) and ADMIN_TOKEN (admin).
type BootstrapToken struct {
	Name   string
	Secret string
	Scopes []string
}

// AuthOptions configures Authenticate.
type AuthOptions struct {
	// Bootstrap tokens are checked before the store; empty secrets are
	// ignored.
	Bootstrap []BootstrapToken
	// RequiredScope names the scope a request needs, e.g. SCIMScope or
	// AdminScope; "" lets any valid token through. Nil means "".
	RequiredScope func(*http.Request) string
	// Basic also accepts HTTP Basic, with the token as the password, for
	// clients such as Okta that offer it.
	Basic bool
	// BasicUser, when set, must equal the Basic username; otherwise the
	// username is ignored.
	BasicUser string
	// Realm is named in WWW-Authenticate (default "personio-scim").
	Realm string
	// RenderError writes the body of a refusal (401, 403, 429, 503):
	// scim.WriteError on /scim, writeProblem (problem+json, the default) on
	// /api. Headers such as WWW-Authenticate are set before it runs.
	RenderError func(w http.ResponseWriter, r *http.Request, status int, detail string)
	// CacheTTL is how long a stored token, once found, is trusted without
	// asking the store again (default 30 s). A revoked token therefore
	// stops working within CacheTTL.
	CacheTTL time.Duration
	// CacheSize bounds the cached tokens (default 1024).
	CacheSize int
	// FailureRate and FailureBurst limit failed attempts per client address
	// and per presented secret (default a burst of 10, then one every 6 s).
	// Over the limit a failure answers 429 with Retry-After; a secret over
	// its limit is refused without asking the store. A valid token is
	// never refused for failures: it is checked even from an address over
	// its limit.
	FailureRate  rate.Limit
	FailureBurst int
	// MaxClients bounds the addresses, and separately the secrets, tracked
	// for failures (default 10,000 each).
	MaxClients int
	// ClientAddr names the client for rate limiting and logs (default: the
	// host of RemoteAddr). Behind a proxy, pass TrustedProxies.ClientAddr.
	ClientAddr func(*http.Request) string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives failures, never secrets (default: discard).
	Logger *slog.Logger
}

const (
	defaultRealm        = "personio-scim"
	defaultCacheTTL     = 30 * time.Second
	defaultCacheSize    = 1024
	defaultFailureBurst = 10
	defaultMaxClients   = 10000
)

func defaultFailureRate() rate.Limit { return rate.Every(6 * time.Second) }

// Authenticate returns middleware that admits requests carrying a valid
// token (Authorization: Bearer, or Basic when enabled) and puts its
// Principal into the request context. Missing or wrong credentials get 401
// with WWW-Authenticate, a token without the required scope 403, too many
// failures from one address 429 with Retry-After, an unreachable token
// store 503. Only failures are limited (see authenticate). Secrets are compared in constant time (bootstrap tokens) or
// looked up by hash (stored tokens) and never logged.
func Authenticate(src TokenSource, opts AuthOptions) func(http.Handler) http.Handler {
	a := newAuthenticator(src, opts)
	return a.middleware
}

type bootstrapEntry struct {
	principal Principal
	boxed     any // principal as the request context carries it, see withPrincipal
	hash      []byte
}

type authenticator struct {
	src       TokenSource
	opts      AuthOptions
	bootstrap []bootstrapEntry
	basicUser []byte // hash of BasicUser, compared in constant time
	cache     *tokenCache
	hashes    *hashMemo
	failures  *failureLimiter // per client address
	secrets   *failureLimiter // per presented secret (its hash)
	uses      *tokenUses
}

func newAuthenticator(src TokenSource, opts AuthOptions) *authenticator {
	if opts.RequiredScope == nil {
		opts.RequiredScope = func(*http.Request) string { return "" }
	}
	if opts.Realm == "" {
		opts.Realm = defaultRealm
	}
	if opts.RenderError == nil {
		opts.RenderError = writeProblem
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = defaultCacheTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = defaultCacheSize
	}
	if opts.FailureRate <= 0 {
		opts.FailureRate = defaultFailureRate()
	}
	if opts.FailureBurst <= 0 {
		opts.FailureBurst = defaultFailureBurst
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = defaultMaxClients
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = remoteHost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &authenticator{
		src:      src,
		opts:     opts,
		cache:    &tokenCache{ttl: opts.CacheTTL, max: opts.CacheSize, entries: map[string]cachedToken{}},
		hashes:   &hashMemo{seed: maphash.MakeSeed(), ttl: opts.CacheTTL, max: opts.CacheSize, entries: map[uint64]memoEntry{}},
		uses:     newTokenUses(src),
		failures: &failureLimiter{limit: opts.FailureRate, burst: opts.FailureBurst, max: opts.MaxClients, clients: map[string]*rate.Limiter{}},
		secrets:  &failureLimiter{limit: opts.FailureRate, burst: opts.FailureBurst, max: opts.MaxClients, clients: map[string]*rate.Limiter{}},
	}
	if opts.BasicUser != "" {
		a.basicUser = store.HashToken(opts.BasicUser)
	}
	for _, b := range opts.Bootstrap {
		if strings.TrimSpace(b.Secret) == "" {
			continue
		}
		p := Principal{Name: b.Name, Scopes: append([]string(nil), b.Scopes...)}
		a.bootstrap = append(a.bootstrap, bootstrapEntry{principal: p, boxed: p, hash: store.HashToken(b.Secret)})
	}
	return a
}

// refusal is why a request was not admitted.
type refusal struct {
	status     int
	detail     string
	presented  bool          // credentials were sent (401 says invalid_token)
	retryAfter time.Duration // for 429
}

func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, boxed, ref := a.authenticate(r)
		if ref != nil {
			a.refuse(w, r, ref)
			return
		}
		if scope := a.opts.RequiredScope(r); scope != "" && !p.HasScope(scope) {
			w.Header().Set("WWW-Authenticate",
				fmt.Sprintf(`Bearer realm=%q, error="insufficient_scope", scope=%q`, a.opts.Realm, scope))
			a.opts.RenderError(w, r, http.StatusForbidden, "The token does not have the "+scope+" scope this request needs.")
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p, boxed)))
	})
}

// withPrincipal is WithPrincipal with the principal already converted to
// an interface value when boxed is not nil: bootstrap and cached tokens
// keep theirs, so that admitting a request does not allocate it again.
func withPrincipal(ctx context.Context, p Principal, boxed any) context.Context {
	if boxed == nil {
		return WithPrincipal(ctx, p)
	}
	return context.WithValue(ctx, principalKey{}, boxed)
}

// authenticate admits a request with a valid token whatever other
// requests did: only failures are rate limited, per client. Two buckets
// count them: one per client address (behind trusted proxies, the address
// the proxy saw) and one per presented secret, so that a wrong token
// replayed from many addresses is slowed down too, and a blocked secret is
// refused without asking the store. A valid token is checked even from an
// address over its limit: behind one load balancer every identity
// provider may share that address.
func (a *authenticator) authenticate(r *http.Request) (Principal, any, *refusal) {
	now := a.opts.Now()
	// The client's address only matters to failures: it is worked out
	// there, not for every admitted request.
	secret, ok := a.credentials(r)
	if !ok {
		return Principal{}, nil, a.failed(r, a.opts.ClientAddr(r), nil, now)
	}
	// One hash serves the bootstrap comparison, the cache, the store and
	// the per-secret bucket. A secret that authenticated recently has it
	// remembered (see hashMemo for why that is safe).
	hash, memoized := a.hashes.get(secret, now)
	if !memoized {
		hash = store.HashToken(secret)
	}
	if b, found := a.matchBootstrap(hash); found {
		if !memoized {
			a.hashes.put(secret, hash, now)
		}
		return b.principal, b.boxed, nil
	}
	if e, found := a.cache.get(hash, now); found {
		if !memoized {
			a.hashes.put(secret, hash, now)
		}
		a.uses.record(r.Context(), e.principal.TokenID, now)
		return e.principal, e.boxed, nil
	}
	if wait, blocked := a.secrets.blocked(string(hash), now); blocked {
		return Principal{}, nil, a.limited(r, a.opts.ClientAddr(r), wait)
	}
	tok, err := a.src.TokenByHash(r.Context(), hash)
	switch {
	case err == nil && tok.Expired(now):
		// An expired token is refused like an unknown one (cached ones
		// within the cache's lifetime, as revocation is).
	case err == nil:
		p := Principal{Name: tok.Name, Scopes: append([]string(nil), tok.Scopes...), TokenID: tok.ID}
		a.cache.put(hash, p, now)
		a.hashes.put(secret, hash, now)
		a.uses.record(r.Context(), tok.ID, now)
		return p, nil, nil
	case !errors.Is(err, store.ErrNotFound):
		a.opts.Logger.ErrorContext(r.Context(), "token lookup failed", "error", err)
		return Principal{}, nil, &refusal{status: http.StatusServiceUnavailable,
			detail: "Credentials cannot be checked right now; try again shortly.", retryAfter: time.Second}
	}
	return Principal{}, nil, a.failed(r, a.opts.ClientAddr(r), hash, now)
}

// failed records a failed authentication against the client's address and,
// when a secret was presented, against that secret, and refuses it: 429
// when either is over its limit, else 401.
func (a *authenticator) failed(r *http.Request, addr string, hash []byte, now time.Time) *refusal {
	wait, limited := a.failures.fail(addr, now)
	if hash != nil {
		if w, over := a.secrets.fail(string(hash), now); over {
			wait, limited = max(wait, w), true
		}
	}
	if limited {
		return a.limited(r, addr, wait)
	}
	presented := hash != nil
	a.opts.Logger.InfoContext(r.Context(), "authentication failed", "client", addr, "credentials_presented", presented)
	if presented {
		return &refusal{status: http.StatusUnauthorized, presented: true,
			detail: "The token is not valid (unknown, revoked or mistyped)."}
	}
	return &refusal{status: http.StatusUnauthorized, detail: a.missingDetail()}
}

func (a *authenticator) missingDetail() string {
	if a.opts.Basic {
		return "Authentication required: send Authorization: Bearer <token>, or HTTP Basic with the token as the password."
	}
	return "Authentication required: send Authorization: Bearer <token>."
}

func (a *authenticator) limited(r *http.Request, addr string, wait time.Duration) *refusal {
	a.opts.Logger.WarnContext(r.Context(), "authentication failures rate limited", "client", addr)
	return &refusal{status: http.StatusTooManyRequests, retryAfter: wait,
		detail: "Too many failed authentication attempts from this address; wait before trying again."}
}

func (a *authenticator) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	switch ref.status {
	case http.StatusUnauthorized:
		bearer := fmt.Sprintf("Bearer realm=%q", a.opts.Realm)
		if ref.presented {
			bearer += `, error="invalid_token"`
		}
		w.Header().Add("WWW-Authenticate", bearer)
		if a.opts.Basic {
			w.Header().Add("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q, charset="UTF-8"`, a.opts.Realm))
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// Okta honours only whole seconds.
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(ref.retryAfter.Seconds())))))
	}
	a.opts.RenderError(w, r, ref.status, ref.detail)
}

// credentials extracts the presented secret. Bearer is always accepted,
// Basic only when configured (the password is the token).
func (a *authenticator) credentials(r *http.Request) (string, bool) {
	// The header's name is already canonical: indexing the map directly is
	// Header.Get without canonicalising the key on every request.
	var authorization string
	if v := r.Header["Authorization"]; len(v) > 0 {
		authorization = v[0]
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return rest, true
	case a.opts.Basic && strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || pass == "" {
			return "", false
		}
		if a.basicUser != nil && !store.TokenMatches(user, a.basicUser) {
			return "", false
		}
		return pass, true
	}
	return "", false
}

// matchBootstrap compares the secret with every bootstrap token in
// constant time, without stopping at the first match.
func (a *authenticator) matchBootstrap(hash []byte) (bootstrapEntry, bool) {
	var found bootstrapEntry
	ok := false
	for _, b := range a.bootstrap {
		if hashesEqual(hash, b.hash) {
			found, ok = b, true
		}
	}
	return found, ok
}

// hashesEqual compares two hashes in constant time, a word at a time for
// SHA-256 sums: the XORs of all words are ORed together and only the result
// is tested, so the time does not depend on where they differ.
func hashesEqual(a, b []byte) bool {
	if len(a) != sha256.Size || len(b) != sha256.Size {
		return subtle.ConstantTimeCompare(a, b) == 1
	}
	var diff uint64
	for i := 0; i < sha256.Size; i += 8 {
		diff |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return subtle.ConstantTimeEq(int32(uint32(diff>>32)|uint32(diff)), 0) == 1
}

// remoteHost is the client's address without the port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tokenCache remembers stored tokens found by hash, so that SCIM requests do
// not each ask Postgres; entries expire after ttl, which bounds how long a
// revoked token keeps working.
type tokenCache struct {
	ttl     time.Duration
	max     int
	mu      sync.RWMutex
	entries map[string]cachedToken
}

type cachedToken struct {
	principal Principal
	boxed     any // principal as the request context carries it
	expires   time.Time
}

func (c *tokenCache) get(hash []byte, now time.Time) (cachedToken, bool) {
	c.mu.RLock()
	e, ok := c.entries[string(hash)]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return cachedToken{}, false
	}
	return e, true
}

func (c *tokenCache) put(hash []byte, p Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	makeRoom(c.entries, c.max, func(e cachedToken) bool { return !now.Before(e.expires) })
	c.entries[string(hash)] = cachedToken{principal: p, boxed: p, expires: now.Add(c.ttl)}
}

// hashMemo remembers the hash of secrets that authenticated recently, so
// that a client sending the same token on every request does not cost a
// SHA-256 each time. It is safe because:
//
//   - It maps a secret to HashToken(secret), a pure function, and nothing
//     else: whether the request is admitted is decided from the hash exactly
//     as before (bootstrap comparison, token cache and its lifetime, store,
//     expiry), so revocation and scopes behave as they did.
//   - Only secrets that authenticated are remembered, for at most the token
//     cache's lifetime and at most its size: a wrong guess is never kept,
//     cannot fill the memo, and takes the full path with its rate limiting.
//   - The secrets are held in process memory only, as the bootstrap secrets
//     of the configuration already are; the store and the logs still never
//     see them.
//   - The slot is found by a keyed hash with a random per-process seed, so a
//     client cannot aim at another token's slot, and the secret found there
//     is compared with the presented one in constant time before its hash
//     is used: a different secret never gets another's hash.
type hashMemo struct {
	seed    maphash.Seed
	ttl     time.Duration
	max     int
	mu      sync.RWMutex
	entries map[uint64]memoEntry
}

type memoEntry struct {
	secret  string
	hash    []byte
	expires time.Time
}

func (m *hashMemo) get(secret string, now time.Time) ([]byte, bool) {
	key := maphash.String(m.seed, secret)
	m.mu.RLock()
	e, ok := m.entries[key]
	m.mu.RUnlock()
	if !ok || !now.Before(e.expires) || !secretsEqual(secret, e.secret) {
		return nil, false
	}
	return e.hash, true
}

func (m *hashMemo) put(secret string, hash []byte, now time.Time) {
	key := maphash.String(m.seed, secret)
	m.mu.Lock()
	defer m.mu.Unlock()
	makeRoom(m.entries, m.max, func(e memoEntry) bool { return !now.Before(e.expires) })
	// The secret is copied so that the memo does not keep a request's
	// header alive.
	m.entries[key] = memoEntry{secret: strings.Clone(secret), hash: hash, expires: now.Add(m.ttl)}
}

// makeRoom leaves entries room for one more below max: when it is full,
// expired entries go first, and if it is still full of live ones, any go
// (a dropped token or hash is only looked up or computed again).
func makeRoom[K comparable, V any](entries map[K]V, max int, expired func(V) bool) {
	if len(entries) < max {
		return
	}
	for k, e := range entries {
		if expired(e) {
			delete(entries, k)
		}
	}
	for k := range entries {
		if len(entries) < max {
			break
		}
		delete(entries, k)
	}
}

// secretsEqual compares two secrets in constant time for equal lengths, as
// subtle.ConstantTimeCompare does, without converting them to byte slices.
func secretsEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var diff byte
	for i := 0; i < len(a); i++ {
		diff |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(diff, 0) == 1
}

// failureLimiter counts failed authentications per client address with a
// token bucket each, in a bounded map.
type failureLimiter struct {
	limit   rate.Limit
	burst   int
	max     int
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// blocked reports whether addr has no failures left to spend, and how long
// until it has one.
func (l *failureLimiter) blocked(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.clients[addr]
	l.mu.Unlock()
	if !ok || lim.TokensAt(now) >= 1 {
		return 0, false
	}
	return l.wait(lim, now), true
}

// fail records a failure and reports whether addr is over its limit.
func (l *failureLimiter) fail(addr string, now time.Time) (time.Duration, bool) {
	lim := l.limiter(addr, now)
	if lim.AllowN(now, 1) {
		return 0, false
	}
	return l.wait(lim, now), true
}

func (l *failureLimiter) wait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

func (l *failureLimiter) limiter(addr string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.clients[addr]; ok {
		return lim
	}
	if len(l.clients) >= l.max {
		l.evict(now)
	}
	lim := rate.NewLimiter(l.limit, l.burst)
	l.clients[addr] = lim
	return lim
}

// evict forgets addresses whose bucket has refilled (they carry no
// information), and if that frees nothing, an arbitrary one.
func (l *failureLimiter) evict(now time.Time) {
	for addr, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, addr)
		}
	}
	for addr := range l.clients {
		if len(l.clients) < l.max {
			return
		}
		delete(l.clients, addr)
	}
}
