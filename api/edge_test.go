package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// edge is the router over a small directory, for what a client at the
// edge sees: authentication, proxies, metrics, outages.
type edge struct {
	t    *testing.T
	h    http.Handler
	st   store.Store
	dir  *store.Directory
	ids  []string
	logs *syncBuffer
}

// syncBuffer is a log sink the handler may write to from several requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func edgePeople() []store.Identity {
	var out []store.Identity
	for i, name := range []string{"ada", "grace", "linus"} {
		pid := string(rune('1'+i)) + "00"
		id := store.Identity{ID: store.DefaultNamespace.IdentityID(pid), PersonioID: pid}
		id.UserName, id.Email, id.ExternalID = name+"@example.com", name+"@example.com", pid
		id.DisplayName, id.Active = name, true
		id.Lifecycle.State = store.StateActive
		out = append(out, id)
	}
	return out
}

func seed(t *testing.T, st store.Store) {
	t.Helper()
	cs := store.ChangeSet{Actor: "sync", Cause: "test"}
	for _, i := range edgePeople() {
		cs.Identities = append(cs.Identities, store.IdentityChange{Op: store.OpCreate, Identity: i})
	}
	if _, err := st.Apply(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

func newEdge(t *testing.T, st store.Store, opts api.Options) *edge {
	t.Helper()
	if st == nil {
		mem := memory.New(memory.Options{})
		t.Cleanup(mem.Close)
		seed(t, mem)
		st = mem
	}
	dir, err := store.NewDirectory(context.Background(), st, store.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	opts.Store, opts.Directory = st, dir
	opts.SCIMToken, opts.AdminToken = scimToken, adminToken
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := api.NewRouter(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &edge{t: t, h: h, st: st, dir: dir, logs: logs}
	for _, i := range edgePeople() {
		e.ids = append(e.ids, i.ID)
	}
	return e
}

// send serves one request from remote (host:port) with the given headers
// ("Name: value").
func (e *edge) send(method, target, body, remote string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = remote
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}
