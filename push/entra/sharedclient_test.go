package entra_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

// TestWithTheWorkersHTTPClient runs the target on the client the worker
// hands it: throttling and 503s are retried there, honouring Retry-After on
// the shared fake clock, and the batch still arrives once.
func TestWithTheWorkersHTTPClient(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(*entrasim.Sim)
		minWait time.Duration
	}{
		{"429 with Retry-After", func(s *entrasim.Sim) { s.Throttle(2, 3*time.Second) }, 6 * time.Second},
		{"503", func(s *entrasim.Sim) { s.FailNext(http.StatusServiceUnavailable) }, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, entrasim.Options{}, nil)
			secret := f.sim.Options().ClientSecret
			client := push.NewHTTPClient(push.HTTPOptions{Target: "entra", Now: f.clock.Now, Sleep: f.clock.Sleep, Seed: 1})
			tgt, err := entra.New(f.config(nil), push.Env{Getenv: func(string) string { return secret }, HTTPClient: client, Now: f.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			f.tgt = tgt
			f.pushAll(person(0)) // a token first, so the fault meets the upload
			tc.fault(f.sim)
			start := f.clock.Now()
			items := []push.Item{person(1), person(2)}
			got := f.pushAndConfirm(items...)
			for _, it := range items {
				if got[it.ID].Outcome != push.Done {
					t.Fatalf("%s: %s (%s)", it.Identity.PersonioID, got[it.ID].Outcome, got[it.ID].Error)
				}
			}
			if f.sim.Writes() != 3 {
				t.Fatalf("%d records accepted, want 3 (each once)", f.sim.Writes())
			}
			if waited := f.clock.Now().Sub(start); waited < tc.minWait {
				t.Fatalf("waited %s, want at least the Retry-After of %s", waited, tc.minWait)
			}
		})
	}
}
