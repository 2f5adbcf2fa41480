package google_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/google"
	"github.com/personio-scim/personio-scim/push/pushtest/googlesim"
	"github.com/personio-scim/personio-scim/store"
)

// testKey is generated once per test binary: RSA generation under -race
// takes long enough to matter across dozens of simulators.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// clock is a manual clock shared by the simulator and the target.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	// Close to the wall clock: x/oauth2 stamps its JWTs with the real time,
	// and the simulator checks them against this one.
	return &clock{now: time.Now().Truncate(time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t      *testing.T
	sim    *googlesim.Sim
	srv    *httptest.Server
	clock  *clock
	target push.Target
}

type setup struct {
	sim     googlesim.Options
	section string // extra YAML lines for the google: section
	client  *http.Client
}

// newFixture starts a simulator and opens a target on it through the
// factory, as the binary would.
func newFixture(t *testing.T, s setup) *fixture {
	t.Helper()
	c := newClock()
	opt := s.sim
	opt.Now = c.Now
	opt.Key = testKey()
	sim := googlesim.New(opt)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, sim: sim, srv: srv, clock: c}
	f.target = f.open(s.section, s.client, sim.KeyJSON(srv.URL))
	return f
}

func (f *fixture) open(extra string, client *http.Client, key []byte) push.Target {
	f.t.Helper()
	target, err := openTarget(f.t, f.srv.URL, extra, client, key, f.clock.Now)
	if err != nil {
		f.t.Fatalf("open: %v", err)
	}
	return target
}

func openTarget(t testing.TB, url, extra string, client *http.Client, key []byte, now func() time.Time) (push.Target, error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	section := "credentials_file_env: GOOGLE_KEY\nsubject: admin@example.com\ndomain: example.com\nendpoint: " + url + "/\n" + extra
	env := push.Env{
		Name:       "gws",
		Getenv:     func(k string) string { return map[string]string{"GOOGLE_KEY": path}[k] },
		HTTPClient: client,
		Now:        now,
	}
	return google.Open(context.Background(), node(t, section), env)
}

func node(t testing.TB, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	return doc.Content[0]
}

// person is an identity item's desired state, small enough for tables.
type person struct {
	pid, given, family, email string
	title, department, cost   string
	active                    bool
	manager                   *push.Ref
	mapped                    map[string]string
}

func (p person) item(prev store.PushRecord) push.Item {
	id := store.Identity{
		ID: "id-" + p.pid, PersonioID: p.pid,
		Attributes: store.Attributes{
			UserName: p.email, ExternalID: p.pid, DisplayName: strings.TrimSpace(p.given + " " + p.family),
			GivenName: p.given, FamilyName: p.family, Email: p.email, Active: p.active,
			Title: p.title, Department: p.department, CostCenter: p.cost,
		},
	}
	return push.Item{
		Kind: store.KindIdentity, ID: id.ID,
		Identity: &push.Identity{Identity: id, Manager: p.manager, Mapped: p.mapped},
		Previous: prev,
	}
}

func ada() person {
	return person{pid: "1042", given: "Ada", family: "Lovelace", email: "ada.lovelace@example.com",
		title: "Engineer", department: "Engineering", cost: "CC-10", active: true}
}

// push sends items and fails the test on a batch error.
func (f *fixture) push(items ...push.Item) []push.Result {
	f.t.Helper()
	res, err := f.target.Push(context.Background(), items, false)
	if err != nil {
		f.t.Fatalf("push: %v", err)
	}
	if len(res) != len(items) {
		f.t.Fatalf("push: %d results for %d items", len(res), len(items))
	}
	return res
}

// record is the ledger entry the worker would keep from a result.
func record(r push.Result) store.PushRecord {
	return store.PushRecord{ResourceID: r.ID, TargetID: r.TargetID, State: r.State}
}

func mustDone(t *testing.T, res push.Result) {
	t.Helper()
	if res.Outcome != push.Done {
		t.Fatalf("item %s: outcome %s (%s %s), want done", res.ID, res.Outcome, res.Code, res.Error)
	}
}

func (f *fixture) user(pid string) googlesim.User {
	f.t.Helper()
	u, ok := f.sim.UserByPersonioID(pid)
	if !ok {
		f.t.Fatalf("no Google user with Personio id %s", pid)
	}
	return u
}

func groupItem(id, kind, name string, members []push.Ref, prev store.PushRecord) push.Item {
	g := store.Group{ID: id, Key: kind + ":" + name, Kind: kind, DisplayName: name}
	return push.Item{Kind: store.KindGroup, ID: id, Group: &push.Group{Group: g, Members: members}, Previous: prev}
}

func ref(p person, targetID string) push.Ref {
	return push.Ref{ID: "id-" + p.pid, PersonioID: p.pid, UserName: p.email, Email: p.email, TargetID: targetID}
}
