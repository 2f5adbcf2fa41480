package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/api/console"
	"github.com/personio-scim/personio-scim/api/console/oidctest"
	"github.com/personio-scim/personio-scim/personio/mirror"
	"github.com/personio-scim/personio-scim/personio/personiotest"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

const (
	adminEmail  = "alice@example.com"
	viewerEmail = "victor@example.com"
	outsider    = "olga@example.com"
	password    = "correct horse battery staple"
)

// consoleStack is the service with its console, signed in through a real
// OpenID Connect provider, over a simulator company with a held run.
type consoleStack struct {
	t       *testing.T
	url     string
	sim     *personiotest.Server
	clock   *personiotest.Clock
	idp     *oidctest.Provider
	dir     *store.Directory
	st      store.Store
	console *console.Console
	held    mirror.Report
	leavers []string // Personio ids the held run holds
}

func newConsoleStack(t *testing.T) *consoleStack {
	t.Helper()
	clock := personiotest.NewClock(time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC))
	sim := personiotest.Start(t, personiotest.Options{Employees: -1, Seed: 7, Now: clock.Now})
	policy, st, dir, engine := newEngineOn(t, sim, clock, "")
	idp := oidctest.Start(t, oidctest.Options{ClientID: "console-test", ClientSecret: "console-test-secret", Now: clock.Now,
		Users: map[string]oidctest.User{
			adminEmail:  {Password: password, Name: "Alice Admin", Groups: []string{"it-admins"}},
			viewerEmail: {Password: password, Name: "Victor Viewer", Groups: []string{"helpdesk"}},
			outsider:    {Password: password, Name: "Olga Outsider", Groups: []string{"sales"}},
		}})
	// The console's address is known only once it listens: start the
	// server on a handler set below.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	idp.SetRedirectURL(srv.URL + "/admin/callback")
	c, err := console.New(console.Config{Issuer: idp.Issuer(), ClientID: "console-test", ClientSecret: "console-test-secret", PublicURL: srv.URL,
		AdminGroups: []string{"it-admins"}, ViewerGroups: []string{"helpdesk"}, SessionTTL: time.Hour, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	handler, err = api.NewRouter(api.Options{Store: st, Directory: dir, Engine: engine, Scheduler: mirror.NewScheduler(engine, 15*time.Minute),
		AdminToken: adminToken, Version: "test", Now: clock.Now, Writable: policy.Writable(), AuthFailureBurst: 100, Console: c})
	if err != nil {
		t.Fatal(err)
	}
	s := &consoleStack{t: t, url: srv.URL, sim: sim, clock: clock, idp: idp, dir: dir, st: st, console: c}
	s.makeHeldRun()
	return s
}

// makeHeldRun hires ten people, syncs, then makes four of them leave at
// once: 40 % is over the guard's 10 %, so the run holds them.
func (s *consoleStack) makeHeldRun() {
	t := s.t
	var ids []string
	for n := range 10 {
		id, err := s.sim.Hire(personiotest.Attrs{"first_name": fmt.Sprintf("Person%d", n), "last_name": "Example", "hire_date": "2025-01-01", "status": "active"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s.sync()
	for _, id := range ids[:4] {
		if err := s.sim.Update(id, personiotest.Attrs{"status": "inactive"}); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(time.Hour)
	s.held = s.sync()
	if s.held.Status != store.RunHeld || len(s.held.Guard.Held) != 4 {
		t.Fatalf("run = %s holding %d, want held holding 4", s.held.Status, len(s.held.Guard.Held))
	}
	s.leavers = ids[:4]
}

func (s *consoleStack) sync() mirror.Report {
	s.t.Helper()
	s.clock.Advance(time.Second)
	rep, err := s.engineRun()
	if err != nil {
		s.t.Fatal(err)
	}
	return rep
}

func (s *consoleStack) engineRun() (mirror.Report, error) {
	req, _ := http.NewRequest("POST", s.url+"/api/v1/sync", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return mirror.Report{}, err
	}
	defer resp.Body.Close()
	var rep mirror.Report
	if err := decodeJSON(resp.Body, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

func (s *consoleStack) active(personioID string) bool {
	s.t.Helper()
	if err := s.dir.Refresh(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	i, ok := s.dir.View().Identity(store.DefaultNamespace.IdentityID(personioID))
	if !ok {
		s.t.Fatalf("no identity for person %s", personioID)
	}
	return i.Active
}

func (s *consoleStack) runStatus() store.RunStatus {
	s.t.Helper()
	run, err := s.st.Run(context.Background(), s.held.RunID)
	if err != nil {
		s.t.Fatal(err)
	}
	return run.Status
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so that each step of the sign-in can be checked.
type browser struct {
	t    *testing.T
	s    *consoleStack
	http *http.Client
}

func (s *consoleStack) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, s: s, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(method, rawURL string, form url.Values, header http.Header) page {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.s.url + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	return b.do("POST", path, form, http.Header{"Origin": {b.s.url}})
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signIn goes through the whole authorization code flow as a browser would:
// console → IdP login form → IdP redirect → console callback.
func (b *browser) signIn(email string) page {
	b.t.Helper()
	start := b.get("/admin/login?go=1&next=%2Fadmin%2Fruns")
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.location, b.s.idp.Issuer()+"/authorize?") {
		b.t.Fatalf("sign-in start = %d to %q", start.status, start.location)
	}
	authz, _ := url.Parse(start.location)
	if q := authz.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" {
		b.t.Fatalf("authorization request lacks PKCE or nonce: %s", authz.RawQuery)
	}
	form := b.get(start.location)
	if form.status != http.StatusOK {
		b.t.Fatalf("IdP login form = %d %s", form.status, form.body)
	}
	fields := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(form.body, -1) {
		fields.Set(m[1], htmlUnescape(m[2]))
	}
	fields.Set("email", email)
	fields.Set("password", password)
	back := b.do("POST", b.s.idp.Issuer()+"/authorize", fields, nil)
	if back.status != http.StatusFound {
		b.t.Fatalf("IdP login = %d %s", back.status, back.body)
	}
	return b.get(back.location)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s (%d)", path, p.status)
	}
	return m[1]
}

func TestConsoleSignInThroughOIDC(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	if p := b.get("/admin/runs"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/admin/login?next=") {
		t.Fatalf("signed out /admin/runs = %d to %q, want the sign-in page", p.status, p.location)
	}
	done := b.signIn(adminEmail)
	if done.status != http.StatusSeeOther || done.location != "/admin/runs" {
		t.Fatalf("callback = %d to %q %s", done.status, done.location, done.body)
	}
	runs := b.get("/admin/runs")
	if runs.status != http.StatusOK || !strings.Contains(runs.body, s.held.RunID) || !strings.Contains(runs.body, adminEmail) {
		t.Fatalf("runs page = %d, without the held run or the user", runs.status)
	}
	if s.idp.Exchanges() != 1 {
		t.Fatalf("token exchanges = %d, want 1", s.idp.Exchanges())
	}
}

func TestConsoleRefusesSignIns(t *testing.T) {
	s := newConsoleStack(t)
	t.Run("not on an allow-list", func(t *testing.T) {
		if p := s.newBrowser().signIn(outsider); p.status != http.StatusForbidden {
			t.Fatalf("outsider callback = %d, want 403", p.status)
		}
	})
	t.Run("state from another browser", func(t *testing.T) {
		b := s.newBrowser()
		start := b.get("/admin/login?go=1")
		authz, _ := url.Parse(start.location)
		other := s.newBrowser()
		if p := other.get("/admin/callback?code=x&state=" + url.QueryEscape(authz.Query().Get("state"))); p.status != http.StatusBadRequest {
			t.Fatalf("callback without the login cookie = %d, want 400", p.status)
		}
	})
	t.Run("a forged code", func(t *testing.T) {
		b := s.newBrowser()
		start := b.get("/admin/login?go=1")
		authz, _ := url.Parse(start.location)
		if p := b.get("/admin/callback?code=forged&state=" + url.QueryEscape(authz.Query().Get("state"))); p.status != http.StatusUnauthorized {
			t.Fatalf("callback with a forged code = %d, want 401", p.status)
		}
		if p := b.get("/admin/"); p.status != http.StatusSeeOther {
			t.Fatalf("after a failed sign-in /admin/ = %d, want a redirect to sign in", p.status)
		}
	})
}

func TestConsoleApproveHeldRun(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	b.signIn(adminEmail)
	run := b.get("/admin/runs/" + s.held.RunID)
	if run.status != http.StatusOK || !strings.Contains(run.body, s.held.Guard.PlanDigest) {
		t.Fatalf("run page = %d without the plan digest", run.status)
	}
	for _, h := range s.held.Guard.Held {
		if !strings.Contains(run.body, h.UserName) || !strings.Contains(run.body, h.PersonioID) {
			t.Fatalf("run page does not name held person %s", h.PersonioID)
		}
	}
	token := b.csrf("/admin/runs/" + s.held.RunID)
	approve := "/admin/runs/" + s.held.RunID + "/approve"
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"no CSRF token", url.Values{"digest": {s.held.Guard.PlanDigest}}, http.Header{"Origin": {s.url}}, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"csrf": {"nope"}, "digest": {s.held.Guard.PlanDigest}}, http.Header{"Origin": {s.url}}, http.StatusForbidden},
		{"another site", url.Values{"csrf": {token}, "digest": {s.held.Guard.PlanDigest}}, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"another site by fetch metadata", url.Values{"csrf": {token}, "digest": {s.held.Guard.PlanDigest}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"a stale digest", url.Values{"csrf": {token}, "digest": {"sha256:0000"}}, http.Header{"Origin": {s.url}}, http.StatusConflict},
	}
	for _, c := range cases {
		if p := b.do("POST", approve, c.form, c.header); p.status != c.want {
			t.Fatalf("%s: approve = %d, want %d", c.name, p.status, c.want)
		}
		if st := s.runStatus(); st != store.RunHeld {
			t.Fatalf("%s: run is %s after a refused approval", c.name, st)
		}
	}
	s.clock.Advance(time.Minute)
	p := b.post(approve, url.Values{"csrf": {token}, "digest": {s.held.Guard.PlanDigest}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("approve = %d %s", p.status, p.body)
	}
	if st := s.runStatus(); st != store.RunApproved {
		t.Fatalf("run is %s, want approved", st)
	}
	for _, id := range s.leavers {
		if s.active(id) {
			t.Fatalf("person %s is still active after the approval", id)
		}
	}
	approved, err := s.st.Run(context.Background(), s.held.RunID)
	if err != nil || approved.ApprovedBy != adminEmail {
		t.Fatalf("approved by %q (%v), want the admin's email", approved.ApprovedBy, err)
	}
}

func TestConsoleViewerCannotApprove(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	b.signIn(viewerEmail)
	run := b.get("/admin/runs/" + s.held.RunID)
	if run.status != http.StatusOK || strings.Contains(run.body, "/approve") {
		t.Fatalf("viewer's run page = %d, offering approval: %v", run.status, strings.Contains(run.body, "/approve"))
	}
	token := b.csrf("/admin/runs/" + s.held.RunID)
	if p := b.post("/admin/runs/"+s.held.RunID+"/approve", url.Values{"csrf": {token}, "digest": {s.held.Guard.PlanDigest}}); p.status != http.StatusForbidden {
		t.Fatalf("viewer approve = %d, want 403", p.status)
	}
	if st := s.runStatus(); st != store.RunHeld {
		t.Fatalf("run is %s after a viewer's approval", st)
	}
}

func TestConsoleSessionExpires(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	b.signIn(adminEmail)
	token := b.csrf("/admin/runs/" + s.held.RunID)
	s.clock.Advance(time.Hour + time.Second)
	if p := b.get("/admin/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/admin/login") {
		t.Fatalf("expired session /admin/ = %d to %q", p.status, p.location)
	}
	if p := b.post("/admin/runs/"+s.held.RunID+"/approve", url.Values{"csrf": {token}, "digest": {s.held.Guard.PlanDigest}}); p.status != http.StatusUnauthorized {
		t.Fatalf("expired session approve = %d, want 401", p.status)
	}
	if st := s.runStatus(); st != store.RunHeld {
		t.Fatalf("run is %s after an expired session's approval", st)
	}
}

func TestConsoleSignOut(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	b.signIn(adminEmail)
	if p := b.post("/admin/logout", url.Values{"csrf": {b.csrf("/admin/")}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out = %d", p.status)
	}
	if p := b.get("/admin/"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out /admin/ = %d, want a redirect to sign in", p.status)
	}
}

func TestConsolePages(t *testing.T) {
	s := newConsoleStack(t)
	b := s.newBrowser()
	b.signIn(viewerEmail)
	leaver := store.DefaultNamespace.IdentityID(s.leavers[0])
	for _, c := range []struct{ path, want string }{
		{"/admin/", s.held.RunID},
		{"/admin/runs", s.held.RunID},
		{"/admin/people?q=person1", "Person1 Example"},
		{"/admin/people?q=" + s.leavers[0], "Person0"},
		{"/admin/people/" + leaver, "Lifecycle"},
		{"/admin/groups", "Groups"},
		{"/admin/audit?kind=identity", "sync run"},
		{"/admin/targets", "No push targets"},
		{"/admin/preview", "Configuration preview"},
	} {
		p := b.get(c.path)
		if p.status != http.StatusOK || !strings.Contains(p.body, c.want) {
			t.Errorf("%s = %d, want 200 containing %q", c.path, p.status, c.want)
		}
	}
	csv := b.get("/admin/audit.csv?kind=identity")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "seq,time,actor") || strings.Count(csv.body, "\n") < 11 {
		t.Fatalf("audit CSV = %d: %.200s", csv.status, csv.body)
	}
	if p := b.get("/admin/people/no-such-id"); p.status != http.StatusNotFound {
		t.Fatalf("unknown person = %d, want 404", p.status)
	}
}

func TestConsoleLocalAdminLinkWorksOnce(t *testing.T) {
	st := memory.New(memory.Options{})
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewRouter(api.Options{Store: st, Directory: dir, Console: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	s := &consoleStack{t: t, url: srv.URL}
	link, _ := url.Parse(c.LocalAdminLink(srv.URL))
	token := link.Query().Get("token")
	b := s.newBrowser()
	if p := b.get(link.RequestURI()); p.status != http.StatusOK || !strings.Contains(p.body, token) {
		t.Fatalf("local link page = %d", p.status)
	}
	if p := b.post("/admin/local", url.Values{"token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("first use = %d", p.status)
	}
	if p := b.get("/admin/"); p.status != http.StatusOK || !strings.Contains(p.body, "local-admin") {
		t.Fatalf("overview after local sign-in = %d", p.status)
	}
	other := s.newBrowser()
	if p := other.post("/admin/local", url.Values{"token": {token}}); p.status != http.StatusForbidden {
		t.Fatalf("second use = %d, want 403", p.status)
	}
	if p := other.get("/admin/login"); p.status != http.StatusOK || !strings.Contains(p.body, "OIDC_ISSUER") {
		t.Fatalf("login page without OIDC = %d", p.status)
	}
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(io.LimitReader(r, 1<<22)).Decode(v) }
