package entra_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/store"
)

// These cases run the real worker over the memory and Postgres stores
// against the simulator, for the behaviours specific to Entra.

func TestWorkerDuplicateUPNFailsOnePersonOnly(t *testing.T) {
	for _, b := range pushtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := pushtest.NewEnv(t, harness, b)
			// An account created by hand in Entra already holds the UPN the
			// second person's work email gives.
			e.Sim.(*entrasim.Sim).AddUnmanagedAccount("ada.king@example.com", "")
			first := pushtest.Person{PersonioID: "201", Given: "Ada", Family: "Lovelace", Department: "Engineering"}
			twin := pushtest.Person{PersonioID: "202", Given: "Ada", Family: "King", Department: "Sales"}
			other := pushtest.Person{PersonioID: "203", Given: "Alan", Family: "Turing", Department: "Research"}
			e.Create(first, twin, other)
			w := e.Worker(false, pushtest.WorkerConfig("entra"))
			e.Settle(w)

			for _, pid := range []string{"201", "203"} {
				if r := e.Record(w, pid); r.Status != store.PushSynced {
					t.Errorf("%s: %s (%s), want synced", pid, r.Status, r.LastError)
				}
			}
			r := e.Record(w, "202")
			if (r.Status != store.PushFailed && r.Status != store.PushQuarantined) || !strings.Contains(r.LastError, entrasim.CodeDuplicateUPN) {
				t.Fatalf("the duplicate: %s %q, want failed with Entra's code", r.Status, r.LastError)
			}
			if _, ok := e.Sim.User("202"); ok || e.Sim.Users() != 2 {
				t.Fatalf("the duplicate reached the tenant (%d users)", e.Sim.Users())
			}
			// Retried later, as data errors are, it fails again until the
			// worker parks it.
			for range pushtest.WorkerConfig("entra").QuarantineAfter + 1 {
				e.Clock.Advance(7 * time.Hour)
				e.Settle(w)
			}
			if r := e.Record(w, "202"); r.Status != store.PushQuarantined {
				t.Fatalf("after repeated failures: %s (%d attempts), want quarantined", r.Status, r.Attempts)
			}
			for _, pid := range []string{"201", "203"} {
				if r := e.Record(w, pid); r.Status != store.PushSynced {
					t.Errorf("%s after the retries: %s", pid, r.Status)
				}
			}
		})
	}
}

func TestWorkerExpiredSecretStopsTheTarget(t *testing.T) {
	e := pushtest.NewEnv(t, harness, pushtest.Backends()[0])
	e.Create(pushtest.Person{PersonioID: "301", Given: "Grace", Family: "Hopper", Department: "Engineering"})
	e.Sim.(*entrasim.Sim).ExpireSecret()
	w := e.Worker(false, pushtest.WorkerConfig("entra"))

	_, err := w.Step(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000222") {
		t.Fatalf("step: %v, want the expired-secret error", err)
	}
	st, err := w.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.LastError, "client_secret_env") || st.Pushed != 0 {
		t.Fatalf("status %+v: want the reason and nothing pushed", st)
	}
	if e.Sim.Writes() != 0 {
		t.Fatal("records were written with an expired secret")
	}

	e.Sim.(*entrasim.Sim).RenewSecret()
	e.Settle(w)
	if r := e.Record(w, "301"); r.Status != store.PushSynced {
		t.Fatalf("after renewing the secret: %s (%s)", r.Status, r.LastError)
	}
}
