package entra_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
	"github.com/personio-scim/personio-scim/store"
)

// FuzzConfirmAnswer feeds Confirm arbitrary provisioning-log pages: it
// either fails as a whole or answers only for the records it was asked
// about, never with a delivered outcome it cannot back by an entry.
func FuzzConfirmAnswer(f *testing.F) {
	f.Add(200, `{"value":[{"id":"1","activityDateTime":"2026-09-01T06:00:01Z","jobId":"API2AAD.sim.job","provisioningAction":"create","provisioningStatusInfo":{"status":"success"},"sourceIdentity":{"id":"1"},"targetIdentity":{"id":"x"}}]}`)
	f.Add(200, `{"value":[{"activityDateTime":"2026-09-01T06:00:01Z","statusInfo":{"status":"failure","errorInformation":{"errorCode":"X","reason":"'a@b' taken","errorCategory":"nonServiceFailure"}},"sourceIdentity":{"id":"1"}}]}`)
	f.Add(200, `{"value":[],"@odata.nextLink":"http://127.0.0.1:1/v1.0/auditLogs/provisioning?$skiptoken=x"}`)
	f.Add(500, `{"error":{"code":"x"}}`)
	f.Add(200, `[]`)
	sim := entrasim.New(entrasim.Options{})
	var mu sync.Mutex
	var body string
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			sim.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.WriteHeader(st)
		_, _ = w.Write([]byte(b))
	}))
	f.Cleanup(srv.Close)
	o := sim.Options()
	start := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, st int, page string) {
		if st < 100 || st > 599 {
			return
		}
		mu.Lock()
		status, body = st, page
		mu.Unlock()
		tgt, err := entra.New(entra.Config{TenantID: o.TenantID, ClientID: o.ClientID, ClientSecretEnv: "S",
			ServicePrincipalID: o.ServicePrincipalID, JobID: o.JobID, GraphURL: srv.URL + "/v1.0", TokenURL: sim.TokenURL(srv.URL),
			ExtensionURN: entra.DefaultExtensionURN, LogReadLimit: entra.Limit{}, LogPageSize: 50, ConfirmTimeout: time.Hour, MaxLogPages: 3},
			push.Env{Getenv: func(string) string { return o.ClientSecret }, HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		rec := store.PushRecord{ResourceID: "r1", State: []byte(`{"job":"` + o.JobID + `","externalId":"1","uploaded":"2026-09-01T06:00:00Z"}`)}
		got, err := tgt.Confirm(context.Background(), []store.PushRecord{rec})
		if err != nil {
			return
		}
		for _, r := range got {
			if r.ID != "r1" {
				t.Fatalf("an outcome for %q, which was not asked about", r.ID)
			}
			if r.Outcome == push.Done && len(r.Requests) == 0 {
				t.Fatal("done without the log entry that says so")
			}
		}
	})
}
