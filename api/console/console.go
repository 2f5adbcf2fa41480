// Package console is the administrators' web console at /admin/: pages
// rendered on the server from embedded templates, OpenID Connect sign-in,
// sessions with CSRF protection and two roles. It reads and acts through a
// Backend that the api package implements over the admin API's own logic.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Path is where the console is mounted.
const Path = "/admin"

// Config configures the console. With no Issuer, only one-time local-admin
// links (LocalAdminLink) sign people in.
type Config struct {
	Issuer, ClientID, ClientSecret string
	// PublicURL is the external base URL; the OIDC redirect URL is
	// PublicURL + "/admin/callback". Cookies are Secure unless it is a
	// plain http URL (the demo on localhost).
	PublicURL string
	// AdminEmails, AdminGroups, ViewerEmails, ViewerGroups are the
	// allow-lists; a person in neither is refused.
	AdminEmails, AdminGroups, ViewerEmails, ViewerGroups []string
	// GroupsClaim names the ID token claim holding groups (default "groups").
	GroupsClaim string
	// ExtraScopes are asked for besides openid, email and profile (Okta
	// needs "groups" for its groups claim).
	ExtraScopes []string
	SessionTTL  time.Duration // default 8 hours
	HTTPClient  *http.Client  // for the IdP; default one with a timeout
	Now         func() time.Time
	Logger      *slog.Logger
}

func (cfg Config) redirectURL() string {
	return strings.TrimSuffix(cfg.PublicURL, "/") + Path + "/callback"
}

// OIDC reports whether sign-in through an IdP is configured.
func (cfg Config) OIDC() bool { return cfg.Issuer != "" }

// Validate names what is missing or wrong.
func (cfg Config) Validate() error {
	if cfg.Issuer == "" {
		if cfg.ClientID != "" || cfg.ClientSecret != "" {
			return errors.New("OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is set without OIDC_ISSUER")
		}
		return nil
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("OIDC_ISSUER must be an https URL")
	}
	switch {
	case cfg.ClientID == "":
		return errors.New("OIDC_ISSUER is set but OIDC_CLIENT_ID is not")
	case cfg.ClientSecret == "":
		return errors.New("OIDC_ISSUER is set but OIDC_CLIENT_SECRET is not")
	case cfg.PublicURL == "":
		return errors.New("OIDC sign-in needs PUBLIC_URL for its redirect URL")
	case len(cfg.AdminEmails)+len(cfg.AdminGroups) == 0:
		return errors.New("OIDC sign-in needs OIDC_ADMIN_EMAILS or OIDC_ADMIN_GROUPS, or nobody could act")
	}
	if pu, err := url.Parse(cfg.PublicURL); err != nil || pu.Host == "" {
		return errors.New("PUBLIC_URL must be an absolute URL")
	}
	return nil
}

// Console holds sessions and sign-in state; Handler serves it.
type Console struct {
	cfg           Config
	sessions      *sessions
	oneTime       *oneTimeTokens
	oidc          *oidcClient
	pages         map[string]*template.Template
	secureCookies bool
	publicURL     string
	now           func() time.Time
	log           *slog.Logger
}

// New checks cfg and prepares the console; it makes no network call.
func New(cfg Config) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg: cfg, sessions: newSessions(cfg.SessionTTL, cfg.Now),
		oneTime: &oneTimeTokens{byHash: map[[32]byte]time.Time{}, now: cfg.Now},
		pages:   pages, secureCookies: !strings.HasPrefix(cfg.PublicURL, "http://"),
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), now: cfg.Now, log: cfg.Logger,
	}
	if cfg.OIDC() {
		c.oidc = &oidcClient{cfg: cfg, http: cfg.HTTPClient, pending: map[string]pendingLogin{}}
	}
	return c, nil
}

// LocalAdminLink returns a one-time sign-in link for a local administrator,
// good for 15 minutes, for the demo and for a first start without an IdP.
// base is the URL the console is reached at (e.g. http://localhost:8080).
func (c *Console) LocalAdminLink(base string) string {
	tok := c.oneTime.issue(15 * time.Minute)
	return strings.TrimSuffix(base, "/") + Path + "/local?token=" + url.QueryEscape(tok)
}

// Handler serves the console; mount it at Path.
func (c *Console) Handler(b Backend) http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	static, _ := fs.Sub(staticFS, "static")
	r.Handle("/static/*", http.StripPrefix(Path+"/static/", http.FileServerFS(static)))
	r.Get("/login", c.login)
	r.Get("/callback", c.callback)
	r.Get("/local", c.localForm)
	r.Post("/local", c.localRedeem)
	r.Group(func(r chi.Router) {
		r.Use(c.requireSession)
		h := &pages{c: c, b: b}
		r.Post("/logout", c.logout)
		r.Get("/", h.overview)
		r.Get("/runs", h.runs)
		r.Get("/runs/{id}", h.run)
		r.Post("/runs/{id}/approve", h.approve)
		r.Get("/people", h.people)
		r.Get("/people/{id}", h.person)
		r.Post("/people/{id}/push", h.pushNow)
		r.Get("/groups", h.groups)
		r.Get("/groups/{id}", h.group)
		r.Get("/audit", h.audit)
		r.Get("/audit.csv", h.auditCSV)
		r.Get("/targets", h.targets)
		r.Get("/targets/{name}", h.target)
		r.Post("/targets/{name}/records/{id}/release", h.release)
		r.Get("/preview", h.previewForm)
		r.Post("/preview", h.preview)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, http.StatusNotFound, "There is no such page.")
	})
	return r
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// requireSession sends visitors without a session to sign in, checks the
// CSRF token and origin of every POST, and puts the user into the context.
func (c *Console) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sess, ok := c.currentSession(r)
		if !ok {
			if isSafeMethod(r.Method) {
				http.Redirect(w, r, Path+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.renderError(w, r, http.StatusUnauthorized, "Your session has expired. Sign in again; nothing was changed.")
			return
		}
		if !isSafeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !c.sameOrigin(r) || !equalSecret(r.PostFormValue(csrfField), sess.csrf) {
				c.renderError(w, r, http.StatusForbidden, "This form is stale or came from another site (CSRF check failed); nothing was changed.")
				return
			}
		}
		ctx := context.WithValue(r.Context(), userKey{}, sess.user)
		ctx = context.WithValue(ctx, csrfKey{}, sess.csrf)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type csrfKey struct{}

// safeNext keeps post-sign-in redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Path+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Path + "/"
	}
	return next
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if c.oidc == nil {
		c.render(w, r, http.StatusOK, "login", "Sign in", map[string]any{"OIDC": false})
		return
	}
	if r.URL.Query().Get("go") == "" {
		c.render(w, r, http.StatusOK, "login", "Sign in", map[string]any{"OIDC": true, "Next": next})
		return
	}
	to, state, err := c.oidc.start(r.Context(), next, c.now())
	if err != nil {
		c.log.Error("console sign-in could not start", "error", err)
		c.renderError(w, r, http.StatusBadGateway, "The identity provider cannot be reached right now. Try again shortly.")
		return
	}
	c.setCookie(w, loginCookie, state, Path+"/callback", loginTTL)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.renderError(w, r, http.StatusNotFound, "Sign-in through an identity provider is not configured.")
		return
	}
	q := r.URL.Query()
	ck, err := r.Cookie(loginCookie)
	c.clearCookie(w, loginCookie, Path+"/callback")
	if e := q.Get("error"); e != "" {
		c.renderError(w, r, http.StatusUnauthorized, "The identity provider refused the sign-in ("+truncate(e, 64)+").")
		return
	}
	if err != nil || !equalSecret(ck.Value, q.Get("state")) {
		c.renderError(w, r, http.StatusBadRequest, "This sign-in did not start in this browser. Start again.")
		return
	}
	cl, next, err := c.oidc.finish(r.Context(), q.Get("state"), q.Get("code"), c.now())
	var refused errSignIn
	switch {
	case errors.As(err, &refused):
		c.renderError(w, r, http.StatusUnauthorized, refused.Error())
		return
	case err != nil:
		c.log.Warn("console sign-in failed", "error", err)
		c.renderError(w, r, http.StatusUnauthorized, "The sign-in could not be verified. Start again.")
		return
	}
	role, ok := c.cfg.roleFor(cl)
	if !ok {
		c.log.Info("console sign-in refused: not on an allow-list")
		c.renderError(w, r, http.StatusForbidden, "You are signed in at your identity provider but not allowed into this console. Ask an administrator to add you to OIDC_ADMIN_GROUPS or OIDC_VIEWER_GROUPS.")
		return
	}
	c.startSession(w, User{Email: cl.Email, Name: cl.Name, Role: role})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) startSession(w http.ResponseWriter, u User) {
	id, _ := c.sessions.create(u)
	c.setCookie(w, sessionCookie, id, "/", c.cfg.SessionTTL)
	c.log.Info("console session started", "role", u.Role)
}

func (c *Console) localForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "local", "Local administrator", map[string]any{"Token": r.URL.Query().Get("token")})
}

// localRedeem signs in the local administrator with a one-time token; the
// token, unknown to any other site, is this form's CSRF protection.
func (c *Console) localRedeem(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if !c.sameOrigin(r) || !c.oneTime.redeem(r.PostFormValue("token")) {
		c.renderError(w, r, http.StatusForbidden, "This sign-in link is used up or expired. Print a new one by restarting the demo.")
		return
	}
	c.startSession(w, User{Email: "local-admin", Name: "Local administrator", Role: RoleAdmin})
	http.Redirect(w, r, Path+"/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if id, _, ok := c.currentSession(r); ok {
		c.sessions.delete(id)
	}
	c.clearCookie(w, sessionCookie, "/")
	http.Redirect(w, r, Path+"/login", http.StatusSeeOther)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// view is what every page template gets.
type view struct {
	Title string
	Nav   string
	User  User
	CSRF  string
	Flash string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.log.Error("console page missing", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Nav: page, Data: data, Flash: flashText(r.URL.Query().Get("done"))}
	v.User, _ = UserFrom(r.Context())
	v.CSRF, _ = r.Context().Value(csrfKey{}).(string)
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console page failed", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, buf.String())
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", http.StatusText(status), map[string]any{"Status": status, "Message": msg})
}

// flashText turns the done= key of a redirect after an action into its
// sentence; unknown keys show nothing, so no link can put words on a page.
func flashText(key string) string {
	return map[string]string{
		"approved":  "The run was approved and its reviewed plan applied.",
		"discarded": "The held run was discarded; nothing it held was applied.",
		"released":  "The record was released; the target retries it on its next pass.",
		"pushed":    "The push was sent; the target's answer is in the records below.",
	}[key]
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(templateFuncs()).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"dur":  func(d time.Duration) string { return d.Round(time.Second).String() },
		"join": strings.Join,
	}
}
