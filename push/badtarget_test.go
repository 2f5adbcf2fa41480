package push_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/pushtest"
	"github.com/personio-scim/personio-scim/push/pushtest/fake"
	"github.com/personio-scim/personio-scim/push/pushtest/scimsim"
	"github.com/personio-scim/personio-scim/push/scim"
	"github.com/personio-scim/personio-scim/store"
)

// A real target over HTTP that answers garbage, redirects to another host
// or hangs: the pass fails with the reason named, the cursor stays and
// nothing is marked delivered.
func TestBadTargetAnswersNeverCountAsDelivered(t *testing.T) {
	tests := []struct {
		name  string
		fault func(sim *scimsim.Sim, elsewhere string)
		want  string
	}{
		{"garbage", func(s *scimsim.Sim, _ string) { s.Garbage(1000) }, ""},
		{"redirect to another host", func(s *scimsim.Sim, elsewhere string) { s.Redirect(1000, elsewhere) }, "another host"},
		{"hangs", func(s *scimsim.Sim, _ string) { s.Hang(true) }, "deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim := scimsim.New(scimsim.Options{Token: "tok"})
			srv := httptest.NewServer(sim)
			defer srv.Close()
			defer sim.Close()
			other := scimsim.New(scimsim.Options{})
			elsewhere := httptest.NewServer(other)
			defer elsewhere.Close()
			var section yaml.Node
			if err := yaml.Unmarshal([]byte("base_url: "+srv.URL+"\ntoken_env: T\ndiscovery: false\n"), &section); err != nil {
				t.Fatal(err)
			}
			client := push.NewHTTPClient(push.HTTPOptions{Target: "bad", Timeout: 200 * time.Millisecond, MaxAttempts: 1})
			target, err := scim.Open(context.Background(), section.Content[0], push.Env{Name: "bad", Getenv: func(string) string { return "tok" }, HTTPClient: client, Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			h := pushtest.Harness{Type: "scim", Groups: true, Open: func(testing.TB, pushtest.Options) (push.Target, pushtest.Sim) {
				return target, fake.New(fake.Options{})
			}}
			e := pushtest.NewEnv(t, h, pushtest.Backends()[0])
			e.Create(ada, grace)
			tc.fault(sim, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1))
			w := e.Worker(false, pushtest.WorkerConfig("t"))
			ctx := context.Background()
			_, err = w.Step(ctx)
			t.Logf("step: %v", err)
			recs, lerr := w.Records(ctx, store.PushQuery{Status: store.PushSynced})
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(recs) != 0 {
				t.Errorf("%d records marked synced after %s", len(recs), tc.name)
			}
			if sim.Users() != 0 || other.Users() != 0 {
				t.Errorf("users arrived: %d here, %d elsewhere", sim.Users(), other.Users())
			}
			if err == nil {
				// The target reported the items as failed instead: then
				// each record names the reason.
				failed, _ := w.Records(ctx, store.PushQuery{Status: store.PushFailed})
				if len(failed) == 0 || failed[0].LastError == "" {
					t.Fatalf("no error and no failed record after %s", tc.name)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %q", err, tc.want)
			}
			if cur, _ := e.A.PushCursor(ctx, "t"); cur != 0 {
				t.Errorf("the cursor moved to %d after a failed batch", cur)
			}
		})
	}
}
