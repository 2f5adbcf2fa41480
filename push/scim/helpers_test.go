package scim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
	"github.com/personio-scim/personio-scim/store"
)

const testToken = "sim-token-1"

var testNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is a simulator on a loopback server and a target opened on it,
// plus a minimal ledger that hands back what the target acknowledged, as
// the worker does.
type fixture struct {
	sim    *scimsim.Sim
	srv    *httptest.Server
	target push.Target
	ledger map[string]store.PushRecord
	// garbageAt makes the simulator answer garbage to that request (1 is
	// the first); 0 never.
	garbageAt atomic.Int32
	seen      atomic.Int32
	// intercept answers a request instead of the simulator when it
	// returns true, as a server with other habits would.
	intercept atomic.Pointer[func(w http.ResponseWriter, r *http.Request, body []byte) bool]
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := f.intercept.Load(); h != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if (*h)(w, r, body) {
			return
		}
	}
	if n := f.seen.Add(1); n == f.garbageAt.Load() {
		f.sim.Garbage(1)
	}
	f.sim.ServeHTTP(w, r)
}

func section(t testing.TB, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return doc.Content[0]
}

func testEnv(vars map[string]string, client *http.Client) push.Env {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return push.Env{
		Name:       "test",
		Getenv:     func(k string) string { return vars[k] },
		HTTPClient: client,
		Now:        func() time.Time { return testNow },
	}
}

// start serves a simulator and opens a target with a bearer token and the
// extra configuration lines.
func start(t testing.TB, opts scimsim.Options, extra string) *fixture {
	t.Helper()
	if opts.Token == "" && opts.Username == "" && opts.ClientID == "" {
		opts.Token = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	f := &fixture{sim: scimsim.New(opts), ledger: map[string]store.PushRecord{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() { f.sim.Close(); f.srv.Close() })
	cfg := fmt.Sprintf("base_url: %s%s\n", f.srv.URL, opts.BasePath)
	if !strings.Contains(extra, "token_env") && !strings.Contains(extra, "password_env") && !strings.Contains(extra, "token_url") {
		cfg += "token_env: SCIM_TOKEN\n"
	}
	cfg += strings.ReplaceAll(extra, "{{url}}", f.srv.URL)
	target, err := scim.Open(context.Background(), section(t, cfg), testEnv(map[string]string{
		"SCIM_TOKEN": testToken, "SCIM_PASSWORD": opts.Password, "SCIM_SECRET": opts.ClientSecret,
	}, nil))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	f.target = target
	return f
}

// push hands the items to the target with what it acknowledged before and
// records the outcomes; a batch error fails the test.
func (f *fixture) push(t testing.TB, items ...push.Item) []push.Result {
	t.Helper()
	res, err := f.pushErr(items, false)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	return res
}

func (f *fixture) pushErr(items []push.Item, dry bool) ([]push.Result, error) {
	for i := range items {
		if p, ok := f.ledger[items[i].ID]; ok && items[i].Previous.TargetID == "" && items[i].Previous.State == nil {
			items[i].Previous = p
		}
		f.resolve(&items[i])
	}
	res, err := f.target.Push(context.Background(), items, dry)
	if err != nil || dry {
		return res, err
	}
	if len(res) != len(items) {
		return res, fmt.Errorf("%d results for %d items", len(res), len(items))
	}
	for i, r := range res {
		if r.ID != items[i].ID {
			return res, fmt.Errorf("result %d is for %s, not %s", i, r.ID, items[i].ID)
		}
		if r.Outcome == push.Done {
			f.ledger[r.ID] = store.PushRecord{Kind: items[i].Kind, ResourceID: r.ID, TargetID: r.TargetID, State: r.State}
		}
	}
	return res, nil
}

// resolve fills in the target ids of managers and members from the
// ledger, as the worker does.
func (f *fixture) resolve(it *push.Item) {
	if it.Identity != nil && it.Identity.Manager != nil && it.Identity.Manager.TargetID == "" {
		it.Identity.Manager.TargetID = f.ledger[it.Identity.Manager.ID].TargetID
	}
	if it.Group != nil {
		for i := range it.Group.Members {
			if it.Group.Members[i].TargetID == "" {
				it.Group.Members[i].TargetID = f.ledger[it.Group.Members[i].ID].TargetID
			}
		}
	}
}

func (f *fixture) requests(method, pathPrefix string) []scimsim.Request {
	var out []scimsim.Request
	for _, r := range f.sim.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// person is an identity item for a Personio id with invented data.
func person(pid string, mods ...func(*push.Identity)) push.Item {
	id := &push.Identity{Identity: store.Identity{
		ID:         "id-" + pid,
		PersonioID: pid,
		Attributes: store.Attributes{
			UserName:       "user" + pid + "@example.test",
			ExternalID:     pid,
			DisplayName:    "Given" + pid + " Family" + pid,
			GivenName:      "Given" + pid,
			FamilyName:     "Family" + pid,
			Title:          "Engineer",
			Email:          "user" + pid + "@example.test",
			Active:         true,
			EmployeeNumber: pid,
			Department:     "Engineering",
			Organization:   "Example GmbH",
			CostCenter:     "CC-1",
			Division:       "R&D",
		},
	}}
	for _, m := range mods {
		m(id)
	}
	return push.Item{Kind: store.KindIdentity, ID: id.ID, Identity: id}
}

func managedBy(pid string) func(*push.Identity) {
	return func(i *push.Identity) {
		i.Manager = &push.Ref{ID: "id-" + pid, PersonioID: pid}
	}
}

func group(name string, memberPIDs ...string) push.Item {
	g := &push.Group{Group: store.Group{ID: "g-" + name, DisplayName: name, Kind: "department"}}
	for _, pid := range memberPIDs {
		g.Members = append(g.Members, push.Ref{ID: "id-" + pid, PersonioID: pid})
		g.Group.Members = append(g.Group.Members, "id-"+pid)
	}
	return push.Item{Kind: store.KindGroup, ID: g.ID, Group: g}
}

func renamed(it push.Item, name string) push.Item {
	g := *it.Group
	g.DisplayName = name
	it.Group = &g
	return it
}

func deleted(it push.Item) push.Item {
	it.Delete = true
	return it
}

func outcomes(res []push.Result) []push.Outcome {
	out := make([]push.Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

func wantOutcomes(t testing.TB, res []push.Result, want ...push.Outcome) {
	t.Helper()
	if got := outcomes(res); !slices.Equal(got, want) {
		for _, r := range res {
			t.Logf("%s: %s %s %s", r.ID, r.Outcome, r.Code, r.Error)
		}
		t.Fatalf("outcomes %v, want %v", got, want)
	}
}

func pids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(1000 + i)
	}
	return out
}
