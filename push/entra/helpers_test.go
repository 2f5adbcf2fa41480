package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/store"
)

// clock is a fake clock; Sleep advances it, so paced requests take fake
// time and the simulator's rate limits judge them by the same clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

const secretEnv = "ENTRA_TEST_SECRET"

type fixture struct {
	t     testing.TB
	sim   *entrasim.Sim
	srv   *httptest.Server
	clock *clock
	tgt   *entra.Target
}

// setup starts a simulator on a test server and a target connected to it.
// tune may change the target's configuration.
func setup(t testing.TB, opts entrasim.Options, tune func(*entra.Config)) *fixture {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := entrasim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, sim: sim, srv: srv, clock: c}
	f.tgt = f.open(tune)
	return f
}

func (f *fixture) config(tune func(*entra.Config)) entra.Config {
	o := f.sim.Options()
	cfg := entra.Config{
		TenantID: o.TenantID, ClientID: o.ClientID, ClientSecretEnv: secretEnv,
		ServicePrincipalID: o.ServicePrincipalID, JobID: o.JobID,
		Directory: string(o.Directory), GraphURL: f.srv.URL + "/v1.0", TokenURL: f.sim.TokenURL(f.srv.URL),
		RateLimit: entra.DefaultRateLimit(), DailyLimit: entra.DefaultDailyLimit, LogReadLimit: entra.DefaultLogReadLimit(),
		ExtensionURN: entra.DefaultExtensionURN, LogPageSize: 500, ConfirmTimeout: time.Hour, MaxLogPages: 100,
		Sleep: f.clock.Sleep,
	}
	if tune != nil {
		tune(&cfg)
	}
	return cfg
}

func (f *fixture) open(tune func(*entra.Config)) *entra.Target {
	f.t.Helper()
	secret := f.sim.Options().ClientSecret
	tgt, err := entra.New(f.config(tune), push.Env{
		Name:       "entra",
		Getenv:     func(k string) string { return map[string]string{secretEnv: secret}[k] },
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Now:        f.clock.Now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return tgt
}

// person builds the item of Personio person n.
func person(n int) push.Item {
	pid := strconv.Itoa(n)
	id := &push.Identity{Identity: store.Identity{
		ID: fmt.Sprintf("00000000-0000-5000-8000-%012d", n), PersonioID: pid,
		Attributes: store.Attributes{
			UserName: "user" + pid + "@example.com", ExternalID: pid, DisplayName: "User " + pid,
			GivenName: "User", FamilyName: "Number" + pid, Email: "user" + pid + "@example.com",
			Active: true, EmployeeNumber: pid, Department: "Engineering", Organization: "Example GmbH",
			Title: "Engineer",
		},
		Lifecycle: store.Lifecycle{State: store.StateActive, HireDate: "2024-01-15"},
		Source:    map[string]string{"office": "Berlin"},
	}}
	return push.Item{Kind: store.KindIdentity, ID: id.ID, Identity: id}
}

func withManager(it push.Item, mgr push.Item) push.Item {
	it.Identity.Manager = &push.Ref{ID: mgr.ID, PersonioID: mgr.Identity.PersonioID, UserName: mgr.Identity.UserName}
	return it
}

// pushAll pushes items in batches of MaxBatch and fails the test on a
// batch error; it returns the results in order.
func (f *fixture) pushAll(items ...push.Item) []push.Result {
	f.t.Helper()
	var out []push.Result
	for start := 0; start < len(items); start += entra.MaxBatch {
		res, err := f.tgt.Push(context.Background(), items[start:min(start+entra.MaxBatch, len(items))], false)
		if err != nil {
			f.t.Fatalf("push: %v", err)
		}
		out = append(out, res...)
	}
	return out
}

// records turns pending results into the ledger records the worker would
// hand to Confirm.
func records(items []push.Item, res []push.Result) []store.PushRecord {
	var out []store.PushRecord
	for i, r := range res {
		if r.Outcome != push.Pending {
			continue
		}
		out = append(out, store.PushRecord{Target: "entra", Kind: store.KindIdentity, ResourceID: items[i].ID, State: r.State, Status: store.PushPending})
	}
	return out
}

// confirm settles the simulator and confirms the pending results, keyed by
// item id.
func (f *fixture) confirm(items []push.Item, res []push.Result) map[string]push.Result {
	f.t.Helper()
	f.sim.Settle()
	got, err := f.tgt.Confirm(context.Background(), records(items, res))
	if err != nil {
		f.t.Fatalf("confirm: %v", err)
	}
	out := map[string]push.Result{}
	for _, r := range got {
		out[r.ID] = r
	}
	return out
}

// pushAndConfirm pushes, checks every item was accepted, and confirms.
func (f *fixture) pushAndConfirm(items ...push.Item) map[string]push.Result {
	f.t.Helper()
	res := f.pushAll(items...)
	for i, r := range res {
		if r.Outcome != push.Pending {
			f.t.Fatalf("item %d: outcome %s (%s), want pending", i, r.Outcome, r.Error)
		}
	}
	return f.confirm(items, res)
}
