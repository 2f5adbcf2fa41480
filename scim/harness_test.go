package scim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/personio-scim/personio-scim/api"
	"github.com/personio-scim/personio-scim/scim"
	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/memory"
)

// Tokens of the harness: a read-only one (SCIM_TOKEN-like), a read-write
// one named "okta", and an admin one that must not open SCIM.
const (
	readToken  = "pst_reader-secret-0123456789abcdef"
	writeToken = "pst_okta-secret-0123456789abcdef01"
	adminToken = "pst_admin-secret-0123456789abcdef0"
	// writeOnlyToken has scim:write without scim:read.
	writeOnlyToken = "pst_writer-secret-0123456789abcdef"
	host           = "scim.example.com"
	base           = "http://" + host + "/scim/v2"
)

const (
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
	patchOp       = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
)

// harness is the SCIM handler composed the way the router composes it:
// authentication in front, mounted at /scim/v2 with http.StripPrefix.
type harness struct {
	t   *testing.T
	st  *memory.Store
	dir *store.Directory
	srv http.Handler
}

// defaultWritable is the write policy most tests run with: a few
// attributes an IdP may own, everything else from Personio.
func defaultWritable() []string {
	return []string{store.AttrTitle, store.AttrNickName, store.AttrPhone}
}

func newHarness(t *testing.T, people []scim.FixturePerson, opts scim.Options) *harness {
	t.Helper()
	st, dir := scim.NewFixtureStore(t, people)
	opts.Actor = api.SCIMActor
	opts.CanRead = api.SCIMCanRead
	opts.BasicAuth = true
	h, err := scim.NewHandler(dir, st, opts)
	if err != nil {
		t.Fatalf("new handler: %v", err)
	}
	r := chi.NewRouter()
	r.Route("/scim/v2", func(r chi.Router) {
		r.Use(authMiddleware(st))
		r.Mount("/", http.StripPrefix("/scim/v2", h))
	})
	return &harness{t: t, st: st, dir: dir, srv: r}
}

func authMiddleware(src api.TokenSource) func(http.Handler) http.Handler {
	return api.Authenticate(src, api.AuthOptions{
		Bootstrap: []api.BootstrapToken{
			{Name: "reader", Secret: readToken, Scopes: []string{store.ScopeSCIMRead}},
			{Name: "okta", Secret: writeToken, Scopes: []string{store.ScopeSCIMRead, store.ScopeSCIMWrite}},
			{Name: "admin", Secret: adminToken, Scopes: []string{store.ScopeAdmin}},
			{Name: "writer", Secret: writeOnlyToken, Scopes: []string{store.ScopeSCIMWrite}},
		},
		RequiredScope: api.SCIMScope,
		RenderError:   scim.WriteError,
		Basic:         true,
	})
}

// response is a recorded answer with its body decoded.
type response struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

// do sends a request; target is the path and raw query below the host.
// Headers are given as "Name: value".
func (h *harness) do(method, target, body string, headers ...string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, "http://"+host+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+writeToken)
	req.Header.Set("Accept", "application/scim+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for _, hd := range headers {
		name, value, _ := strings.Cut(hd, ":")
		req.Header.Set(name, strings.TrimSpace(value))
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	res := response{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if res.raw != "" {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
			h.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, target, err, res.raw)
		}
	}
	return res
}

func (h *harness) get(target string, headers ...string) response {
	h.t.Helper()
	return h.do(http.MethodGet, target, "", headers...)
}

// filterQuery encodes a filter the way Okta's client does (%20 for spaces).
func filterQuery(filter string) string {
	return "filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

func (r response) expect(t *testing.T, code int) response {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.raw)
	}
	if ct := r.header.Get("Content-Type"); r.raw != "" && !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q, want application/scim+json", ct)
	}
	return r
}

// expectError checks the RFC 7644 error shape Okta's suite checks: the
// Error schema, a non-empty detail, status as a string.
func (r response) expectError(t *testing.T, code int, scimType string) response {
	t.Helper()
	r.expect(t, code)
	if !slices.Contains(strs(r.body["schemas"]), errorURN) {
		t.Errorf("schemas %v, want the Error URN", r.body["schemas"])
	}
	if d, _ := r.body["detail"].(string); d == "" {
		t.Error("error without detail")
	}
	if s, ok := r.body["status"].(string); !ok || s != strconv.Itoa(code) {
		t.Errorf("status member %#v, want the string %q", r.body["status"], strconv.Itoa(code))
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Errorf("scimType %q, want %q", got, scimType)
	}
	return r
}

func (r response) detail() string { d, _ := r.body["detail"].(string); return d }

// resources returns the Resources of a ListResponse and checks the numbers
// Okta checks: integers, and itemsPerPage equal to what is on the page.
func (r response) resources(t *testing.T) []map[string]any {
	t.Helper()
	if !slices.Contains(strs(r.body["schemas"]), listURN) {
		t.Fatalf("not a ListResponse: %s", r.raw)
	}
	list, ok := r.body["Resources"].([]any)
	if !ok {
		t.Fatalf("Resources is %T, want an array: %s", r.body["Resources"], r.raw)
	}
	for _, k := range []string{"totalResults", "itemsPerPage", "startIndex"} {
		if _, ok := r.body[k].(float64); !ok {
			t.Fatalf("%s is %T, want a number", k, r.body[k])
		}
	}
	if n := int(r.body["itemsPerPage"].(float64)); n != len(list) {
		t.Errorf("itemsPerPage %d, but %d resources", n, len(list))
	}
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i] = v.(map[string]any)
	}
	return out
}

func (r response) total() int { n, _ := r.body["totalResults"].(float64); return int(n) }

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// path reads a nested member: path(m, "name", "givenName").
func path(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

func str(m map[string]any, keys ...string) string {
	s, _ := path(m, keys...).(string)
	return s
}

// changes reads the change log written after seq.
func (h *harness) changes(after int64) []store.Change {
	h.t.Helper()
	cs, err := h.st.Changes(context.Background(), store.ChangeQuery{AfterSeq: after})
	if err != nil {
		h.t.Fatalf("read change log: %v", err)
	}
	return cs
}

func (h *harness) lastSeq() int64 {
	h.t.Helper()
	seq, err := h.st.LastSeq(context.Background())
	if err != nil {
		h.t.Fatalf("last seq: %v", err)
	}
	return seq
}

func (h *harness) identity(personioID string) store.Identity {
	h.t.Helper()
	got, err := h.st.IdentitiesByID(context.Background(), []string{scim.PersonID(personioID)})
	if err != nil || len(got) != 1 {
		h.t.Fatalf("identity %s: %v (%d found)", personioID, err, len(got))
	}
	return got[0]
}

func groupID(key string) string { return store.DefaultNamespace.GroupID(key) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(b)
}

// applyUpdate changes an identity as a sync would and lets the directory
// read it.
func applyUpdate(t *testing.T, h *harness, i store.Identity) {
	t.Helper()
	_, err := h.st.Apply(context.Background(), store.ChangeSet{Actor: "sync", Cause: "test",
		Identities: []store.IdentityChange{{Op: store.OpUpdate, Identity: i}}})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := h.dir.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
}
