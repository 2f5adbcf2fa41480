package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSessionOrGuardsTheAdminAPI checks the middleware that lets the admin
// API accept a console session: reads pass, unsafe methods need the CSRF
// header and an admin, expired sessions and bare requests go elsewhere.
func TestSessionOrGuardsTheAdminAPI(t *testing.T) {
	now := time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)
	c, err := New(Config{PublicURL: "https://console.example", SessionTTL: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	adminID, admin := c.sessions.create(User{Email: "a@example.com", Role: RoleAdmin})
	viewerID, viewer := c.sessions.create(User{Email: "v@example.com", Role: RoleViewer})
	bearer := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}
	var seen string
	h := c.SessionOr(bearer, func(ctx context.Context, u User) context.Context { seen = u.Email; return ctx })(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	cases := []struct {
		name, method, cookie, csrf, origin, auth string
		want                                     int
	}{
		{"no cookie goes to the token check", "GET", "", "", "", "", http.StatusTeapot},
		{"a bearer token wins over a cookie", "POST", adminID, "", "", "Bearer x", http.StatusTeapot},
		{"admin reads", "GET", adminID, "", "", "", http.StatusOK},
		{"viewer reads", "GET", viewerID, "", "", "", http.StatusOK},
		{"admin writes with CSRF", "POST", adminID, admin.csrf, "https://console.example", "", http.StatusOK},
		{"admin writes without CSRF", "POST", adminID, "", "https://console.example", "", http.StatusForbidden},
		{"admin writes with another session's CSRF", "POST", adminID, viewer.csrf, "", "", http.StatusForbidden},
		{"admin writes from another origin", "POST", adminID, admin.csrf, "https://evil.example", "", http.StatusForbidden},
		{"viewer writes", "POST", viewerID, viewer.csrf, "", "", http.StatusForbidden},
		{"unknown session", "GET", "forged", "", "", "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "https://console.example/api/v1/sync/runs/x/approve", nil)
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.cookie})
			}
			if tc.csrf != "" {
				req.Header.Set(CSRFHeader, tc.csrf)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
		})
	}
	if seen == "" {
		t.Fatal("no request reached the API as the session's user")
	}
	now = now.Add(time.Hour)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://console.example/api/v1/status", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: adminID})
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("expired session = %d, want 401", rec.Code)
	}
}

func TestRolesFromAllowLists(t *testing.T) {
	cfg := Config{AdminEmails: []string{"Boss@Example.com"}, AdminGroups: []string{"it"}, ViewerGroups: []string{"help"}}
	for _, tc := range []struct {
		name string
		c    claims
		want Role
	}{
		{"admin by email, any case", claims{Email: "boss@example.com", EmailVerified: true}, RoleAdmin},
		{"admin by group", claims{Email: "x@example.com", EmailVerified: true, Groups: []string{"help", "it"}}, RoleAdmin},
		{"viewer by group", claims{Email: "y@example.com", EmailVerified: true, Groups: []string{"help"}}, RoleViewer},
		{"nobody", claims{Email: "z@example.com", EmailVerified: true, Groups: []string{"sales"}}, ""},
		{"unverified email", claims{Email: "boss@example.com"}, ""},
	} {
		got, _ := cfg.roleFor(tc.c)
		if got != tc.want {
			t.Errorf("%s: role %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSafeNextStaysInTheConsole(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/runs": "/admin/runs", "https://evil.example/admin/": "/admin/", "//evil.example": "/admin/",
		"/admin/\\evil": "/admin/", "": "/admin/", "/api/v1/status": "/admin/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
