package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/postgres"
	"github.com/personio-scim/personio-scim/store/postgres/pgtest"
)

// tcpProxy forwards loopback connections to a target until it is cut,
// which then looks to its clients like the target going away.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// cut closes the listener and every forwarded connection.
func (p *tcpProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// TestDatabaseOutage: with Postgres gone, SCIM writes and admin calls that
// need the database answer 503 with Retry-After; SCIM reads keep working
// from memory.
func TestDatabaseOutage(t *testing.T) {
	direct, dbURL := pgtest.Open(t, postgres.Options{})
	seed(t, direct)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st, err := postgres.Open(context.Background(), u.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := newEdge(t, st, api.Options{Writable: []string{store.AttrTitle}})
	e.storeToken(oktaSecret, store.ScopeSCIMRead, store.ScopeSCIMWrite)
	user := "/scim/v2/Users/" + e.ids[1]
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`
	okta := "Authorization: Bearer " + oktaSecret
	if rec := e.send(http.MethodPatch, user, patch, "192.0.2.1:1", okta); rec.Code != http.StatusOK {
		t.Fatalf("PATCH before the outage: %d %s", rec.Code, rec.Body)
	}

	proxy.cut()
	for i := range 3 {
		patch := strings.Replace(patch, `"T"`, `"T`+string(rune('a'+i))+`"`, 1)
		rec := e.send(http.MethodPatch, user, patch, "192.0.2.1:1", okta)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/scim+json") {
			t.Errorf("PATCH %d during the outage: %d, Retry-After %q, %s", i, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if rec := e.send(http.MethodGet, user, "", "192.0.2.1:1", okta); rec.Code != http.StatusOK {
		t.Errorf("GET during the outage: %d", rec.Code)
	}
	rec := e.send(http.MethodGet, "/api/v1/audit", "", "192.0.2.1:1", "Authorization: Bearer "+adminToken)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("admin audit during the outage: %d, Retry-After %q, %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if strings.Contains(rec.Body.String(), "127.0.0.1") || strings.Contains(rec.Body.String(), "dial") {
		t.Errorf("the answer leaks internals: %s", rec.Body)
	}
}
