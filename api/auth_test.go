package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

const (
	scimSecret   = "pst_bootstrap-scim-secret-000000000000"
	adminSecret  = "pst_bootstrap-admin-secret-00000000000"
	storedSecret = "pst_stored-okta-secret-0000000000000000"
	writerSecret = "pst_stored-writer-only-secret-00000000"
)

// countingSource counts store lookups, so tests can see the cache work.
type countingSource struct {
	TokenSource
	lookups atomic.Int64
	err     error
}

func (c *countingSource) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	c.lookups.Add(1)
	if c.err != nil {
		return store.Token{}, c.err
	}
	return c.TokenSource.TokenByHash(ctx, hash)
}

type authFixture struct {
	st    *memory.Store
	src   *countingSource
	now   time.Time
	logs  bytes.Buffer
	seen  Principal // what the protected handler saw last
	chain http.Handler
}

func newAuthFixture(t *testing.T, opts AuthOptions) *authFixture {
	t.Helper()
	f := &authFixture{st: memory.New(memory.Options{}), now: time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)}
	t.Cleanup(f.st.Close)
	for _, tok := range []store.Token{
		{ID: "t1", Name: "okta", Scopes: []string{store.ScopeSCIMRead, store.ScopeSCIMWrite}, Hash: store.HashToken(storedSecret)},
		{ID: "t2", Name: "writer-only", Scopes: []string{store.ScopeSCIMWrite}, Hash: store.HashToken(writerSecret)},
	} {
		if err := f.st.CreateToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	f.src = &countingSource{TokenSource: f.st}
	opts.Bootstrap = []BootstrapToken{
		{Name: "scim-bootstrap", Secret: scimSecret, Scopes: []string{store.ScopeSCIMRead}},
		{Name: "admin-bootstrap", Secret: adminSecret, Scopes: []string{store.ScopeAdmin}},
		{Name: "unset", Secret: "  "},
	}
	opts.Now = func() time.Time { return f.now }
	opts.Logger = slog.New(slog.NewTextHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	protected := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.seen, _ = PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	f.chain = Authenticate(f.src, opts)(protected)
	return f
}

func (f *authFixture) send(method, target, authorization, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	f.seen = Principal{}
	f.chain.ServeHTTP(rec, req)
	return rec
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthenticateCredentials(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{RequiredScope: SCIMScope, Basic: true, BasicUser: "okta"})
	tests := []struct {
		name, method, auth string
		status             int
		principal          string
	}{
		{"bootstrap bearer reads", http.MethodGet, "Bearer " + scimSecret, http.StatusNoContent, "scim-bootstrap"},
		{"scheme is case-insensitive", http.MethodGet, "bearer " + scimSecret, http.StatusNoContent, "scim-bootstrap"},
		{"stored bearer writes", http.MethodPatch, "Bearer " + storedSecret, http.StatusNoContent, "okta"},
		{"stored token via Basic with the configured user", http.MethodGet, basicAuth("okta", storedSecret), http.StatusNoContent, "okta"},
		{"Basic with another user", http.MethodGet, basicAuth("someone", storedSecret), http.StatusUnauthorized, ""},
		{"Basic that is not base64", http.MethodGet, "Basic !!!", http.StatusUnauthorized, ""},
		{"no credentials", http.MethodGet, "", http.StatusUnauthorized, ""},
		{"Okta's non-token", http.MethodGet, "non-token", http.StatusUnauthorized, ""},
		{"unknown token", http.MethodGet, "Bearer pst_unknown", http.StatusUnauthorized, ""},
		{"bootstrap secret with a prefix", http.MethodGet, "Bearer x" + scimSecret, http.StatusUnauthorized, ""},
		{"blank bootstrap secret never matches", http.MethodGet, "Bearer   ", http.StatusUnauthorized, ""},
		{"read-only token writing", http.MethodPut, "Bearer " + scimSecret, http.StatusForbidden, ""},
		{"read-only token creating", http.MethodPost, "Bearer " + scimSecret, http.StatusForbidden, ""},
		{"admin token on SCIM", http.MethodGet, "Bearer " + adminSecret, http.StatusForbidden, ""},
		{"write-only token reading: scopes do not imply each other", http.MethodGet, "Bearer " + writerSecret, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.send(tt.method, "/scim/v2/Users", tt.auth, "192.0.2.1:5000")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if f.seen.Name != tt.principal {
				t.Errorf("principal %q, want %q", f.seen.Name, tt.principal)
			}
			switch rec.Code {
			case http.StatusUnauthorized:
				challenges := strings.Join(rec.Header().Values("WWW-Authenticate"), ", ")
				if !strings.Contains(challenges, `Bearer realm="personio-scim"`) || !strings.Contains(challenges, "Basic") {
					t.Errorf("WWW-Authenticate %q", challenges)
				}
			case http.StatusForbidden:
				if !strings.Contains(rec.Header().Get("WWW-Authenticate"), "insufficient_scope") {
					t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
	if strings.Contains(f.logs.String(), "pst_") {
		t.Errorf("a secret reached the log:\n%s", f.logs.String())
	}
}

func TestSCIMScope(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{http.MethodGet, "/scim/v2/Users", store.ScopeSCIMRead},
		{http.MethodHead, "/scim/v2/Users", store.ScopeSCIMRead},
		{http.MethodPost, "/scim/v2/Users/.search", store.ScopeSCIMRead},
		{http.MethodPost, "/scim/v2/Users", store.ScopeSCIMWrite},
		{http.MethodPatch, "/scim/v2/Users/1", store.ScopeSCIMWrite},
		{http.MethodDelete, "/scim/v2/Groups/1", store.ScopeSCIMWrite},
	}
	for _, tt := range tests {
		if got := SCIMScope(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("%s %s needs %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestStoredTokenCache checks that a stored token is looked up once per
// TTL and that a revocation takes effect when the entry expires.
func TestStoredTokenCache(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{CacheTTL: 30 * time.Second})
	for range 3 {
		if rec := f.send(http.MethodGet, "/api/v1/runs", "Bearer "+storedSecret, "192.0.2.1:1"); rec.Code != http.StatusNoContent {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if n := f.src.lookups.Load(); n != 1 {
		t.Fatalf("%d store lookups for three requests, want 1", n)
	}
	if err := f.st.RevokeToken(context.Background(), "t1", f.now); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(29 * time.Second)
	if rec := f.send(http.MethodGet, "/", "Bearer "+storedSecret, "192.0.2.1:1"); rec.Code != http.StatusNoContent {
		t.Fatalf("within the TTL: status %d, want the cached answer", rec.Code)
	}
	f.now = f.now.Add(2 * time.Second)
	if rec := f.send(http.MethodGet, "/", "Bearer "+storedSecret, "192.0.2.1:1"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after the TTL: status %d, want 401 for the revoked token", rec.Code)
	}
	if f.src.lookups.Load() != 2 {
		t.Errorf("%d lookups, want 2", f.src.lookups.Load())
	}
	if rec := f.send(http.MethodGet, "/", "Bearer "+scimSecret, "192.0.2.1:1"); rec.Code != http.StatusNoContent || f.src.lookups.Load() != 2 {
		t.Errorf("bootstrap token: status %d, lookups %d: it must not ask the store", rec.Code, f.src.lookups.Load())
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := &tokenCache{ttl: time.Minute, max: 3, entries: map[string]cachedToken{}}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		c.put([]byte{byte(i)}, Principal{Name: "p"}, now)
		if len(c.entries) > 3 {
			t.Fatalf("%d entries after %d puts", len(c.entries), i+1)
		}
	}
	if _, ok := c.get([]byte{9}, now); !ok {
		t.Error("the newest entry was evicted")
	}
}

// TestFailureRateLimit checks the per-address limit on failed attempts:
// 429 with a whole-second Retry-After once the burst is spent, no store
// lookups while limited, other addresses and bootstrap tokens unaffected.
func TestFailureRateLimit(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{FailureBurst: 3, FailureRate: 0.5, MaxClients: 2})
	attacker := "198.51.100.7:4444"
	for i := range 3 {
		if rec := f.send(http.MethodGet, "/", "Bearer pst_guess", attacker); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, rec.Code)
		}
	}
	lookups := f.src.lookups.Load()
	rec := f.send(http.MethodGet, "/", "Bearer pst_guess", attacker)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	if f.src.lookups.Load() != lookups {
		t.Error("a limited client still reached the store")
	}
	if rec := f.send(http.MethodGet, "/", "Bearer "+scimSecret, attacker); rec.Code != http.StatusNoContent {
		t.Errorf("bootstrap token from a limited address: status %d", rec.Code)
	}
	if rec := f.send(http.MethodGet, "/", "Bearer pst_other-guess", "203.0.113.9:1"); rec.Code != http.StatusUnauthorized {
		t.Errorf("another address: status %d, want 401", rec.Code)
	}
	f.now = f.now.Add(2 * time.Second)
	if rec := f.send(http.MethodGet, "/", "Bearer pst_guess", attacker); rec.Code != http.StatusUnauthorized {
		t.Errorf("after Retry-After: status %d, want 401", rec.Code)
	}
}

// TestFailureLimiterIsBounded checks that the per-address map stays within
// its bound and forgets idle addresses before ones still being limited.
func TestFailureLimiterIsBounded(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &failureLimiter{limit: 1, burst: 2, max: 2, clients: map[string]*rate.Limiter{}}
	for range 3 {
		l.fail("a", now)
	}
	l.fail("b", now)
	now = now.Add(time.Second) // b has refilled, a has not
	l.fail("c", now)
	if _, ok := l.clients["a"]; !ok {
		t.Error("the address still being limited was forgotten")
	}
	if _, ok := l.clients["b"]; ok {
		t.Error("the idle address was kept")
	}
	for i := range 50 {
		l.fail(fmt.Sprintf("10.0.0.%d", i), now)
		if len(l.clients) > 2 {
			t.Fatalf("%d addresses tracked, bound is 2", len(l.clients))
		}
	}
}

func TestStoreUnavailable(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	f.src.err = errors.New("connection refused")
	rec := f.send(http.MethodGet, "/", "Bearer "+storedSecret, "192.0.2.1:1")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(f.logs.String(), "connection refused") || strings.Contains(f.logs.String(), storedSecret) {
		t.Errorf("log %q", f.logs.String())
	}
}

func TestRenderError(t *testing.T) {
	var got []string
	f := newAuthFixture(t, AuthOptions{RenderError: func(w http.ResponseWriter, _ *http.Request, status int, detail string) {
		got = append(got, http.StatusText(status))
		w.WriteHeader(status)
	}})
	f.send(http.MethodGet, "/", "", "192.0.2.1:1")
	if len(got) != 1 || got[0] != "Unauthorized" {
		t.Errorf("renderer called with %v", got)
	}

	d := newAuthFixture(t, AuthOptions{})
	rec := d.send(http.MethodGet, "/api/v1/runs", "Bearer nope", "192.0.2.1:1")
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Header().Get("Content-Type") != "application/problem+json" ||
		p["status"] != float64(401) || p["detail"] == "" {
		t.Errorf("default rendering %q: %s", rec.Header().Get("Content-Type"), rec.Body)
	}
}

func TestPrincipalAccessors(t *testing.T) {
	r := httptest.NewRequest(http.MethodPatch, "/scim/v2/Users/1", nil)
	if got := SCIMActor(r); got != "scim" {
		t.Errorf("actor without principal %q", got)
	}
	r = r.WithContext(WithPrincipal(r.Context(), Principal{Name: "okta", Scopes: []string{store.ScopeSCIMWrite}}))
	if got := SCIMActor(r); got != "scim:okta" {
		t.Errorf("actor %q", got)
	}
	p, ok := PrincipalFrom(r.Context())
	if !ok || !p.HasScope(store.ScopeSCIMWrite) || p.HasScope(store.ScopeSCIMRead) {
		t.Errorf("principal %+v", p)
	}
}

// TestHashMemo checks what the memo of hashes may and may not do: it keeps
// only secrets that authenticated, hands a hash only to the very secret it
// was computed from, and changes nothing about revocation (covered by
// TestStoredTokenCache, which runs through the memo).
func TestHashMemo(t *testing.T) {
	f := newAuthFixture(t, AuthOptions{})
	a := newAuthenticator(f.src, AuthOptions{Bootstrap: []BootstrapToken{{Name: "b", Secret: scimSecret}}, Now: func() time.Time { return f.now }})
	wrong := scimSecret[:len(scimSecret)-1] + "x" // same length, last byte differs
	for _, secret := range []string{wrong, "pst_unknown"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if _, _, ref := a.authenticate(req); ref == nil {
			t.Fatalf("%q authenticated", secret)
		}
	}
	if n := len(a.hashes.entries); n != 0 {
		t.Fatalf("%d secrets remembered after failures only, want 0", n)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+scimSecret)
	if p, _, ref := a.authenticate(req); ref != nil || p.Name != "b" {
		t.Fatalf("bootstrap secret: %+v, %+v", p, ref)
	}
	if got, ok := a.hashes.get(scimSecret, f.now); !ok || !bytes.Equal(got, store.HashToken(scimSecret)) {
		t.Fatalf("memo of the valid secret: %x, %v; want its SHA-256", got, ok)
	}
	if _, ok := a.hashes.get(wrong, f.now); ok {
		t.Fatal("a secret differing in one byte got a remembered hash")
	}
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+wrong)
	if _, _, ref := a.authenticate(req); ref == nil || ref.status != http.StatusUnauthorized {
		t.Fatalf("wrong secret after the right one: %+v, want 401", ref)
	}
	if _, ok := a.hashes.get(scimSecret, f.now.Add(a.opts.CacheTTL)); ok {
		t.Error("a remembered hash outlived the cache's lifetime")
	}
}

func TestHashMemoIsBounded(t *testing.T) {
	m := &hashMemo{seed: maphash.MakeSeed(), ttl: time.Minute, max: 3, entries: map[uint64]memoEntry{}}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		secret := fmt.Sprintf("secret-%d", i)
		m.put(secret, store.HashToken(secret), now)
		if len(m.entries) > 3 {
			t.Fatalf("%d entries after %d puts", len(m.entries), i+1)
		}
	}
	if _, ok := m.get("secret-9", now); !ok {
		t.Error("the newest entry was evicted")
	}
}

func TestHashesEqual(t *testing.T) {
	x := store.HashToken("a")
	for i := range len(x) {
		y := bytes.Clone(x)
		y[i] ^= 0x40
		if hashesEqual(x, y) {
			t.Errorf("hashes differing in byte %d compare equal", i)
		}
	}
	if !hashesEqual(x, bytes.Clone(x)) {
		t.Error("equal hashes compare unequal")
	}
	if hashesEqual(x, x[:31]) || hashesEqual([]byte("ab"), []byte("ac")) || !hashesEqual([]byte("ab"), []byte("ab")) {
		t.Error("hashes of other lengths")
	}
}
