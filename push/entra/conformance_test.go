package entra_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

// harness opens the Entra target against a fresh simulator for the push
// conformance suite. The suite's clock may stand still, so the simulator's
// sliding-window limits and the target's own pacing are off: the suite
// measures the worker, whose shared client does the rate limiting.
var harness = pushtest.Harness{
	Type:   "entra",
	Groups: false,
	Open: func(t testing.TB, opts pushtest.Options) (push.Target, pushtest.Sim) {
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		sim := entrasim.New(entrasim.Options{Now: now, RateLimit: -1, DailyLimit: -1, LogReadLimit: -1})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		o := sim.Options()
		tgt, err := entra.New(entra.Config{
			TenantID: o.TenantID, ClientID: o.ClientID, ClientSecretEnv: secretEnv,
			ServicePrincipalID: o.ServicePrincipalID, JobID: o.JobID, Directory: "cloud",
			GraphURL: srv.URL + "/v1.0", TokenURL: sim.TokenURL(srv.URL), ExtensionURN: entra.DefaultExtensionURN,
			LogPageSize: 500, ConfirmTimeout: time.Hour, MaxLogPages: 100,
		}, push.Env{
			Name:       "entra",
			Getenv:     func(string) string { return o.ClientSecret },
			HTTPClient: &http.Client{Timeout: 10 * time.Second},
			Now:        now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return tgt, sim
	},
}

// TestHarness checks the harness on its own, with a clock that stands
// still, until the suite runs it.
func TestHarness(t *testing.T) {
	frozen := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	tgt, sim := harness.Open(t, pushtest.Options{Now: func() time.Time { return frozen }})
	var items []push.Item
	for n := 1; n <= 120; n++ {
		items = append(items, person(n))
	}
	var res []push.Result
	for start := 0; start < len(items); start += tgt.Info().MaxBatch {
		r, err := tgt.Push(context.Background(), items[start:min(start+tgt.Info().MaxBatch, len(items))], false)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r...)
	}
	sim.Settle()
	got, err := tgt.(push.Confirmer).Confirm(context.Background(), records(items, res))
	if err != nil || len(got) != len(items) {
		t.Fatalf("%d outcomes, %v", len(got), err)
	}
	if u, ok := sim.User("7"); !ok || !u.Active || u.Login != "user7@example.com" || sim.Users() != 120 || sim.Writes() != 120 {
		t.Fatalf("user 7 %+v %v, %d users, %d writes", u, ok, sim.Users(), sim.Writes())
	}
}

func TestConformance(t *testing.T) { pushtest.Run(t, harness) }
