package entra_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/push"
	"github.com/personio-scim/personio-scim/push/entra"
	"github.com/personio-scim/personio-scim/push/pushtest/entrasim"
)

// impostor serves the simulator's token endpoint but answers Graph calls
// with the given handler, to see how the target takes answers the real
// service never gives.
func impostor(t *testing.T, graph http.HandlerFunc) (*fixture, *httptest.Server) {
	t.Helper()
	f := setup(t, entrasim.Options{}, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			f.sim.ServeHTTP(w, r)
			return
		}
		graph(w, r)
	}))
	t.Cleanup(srv.Close)
	f.tgt = f.open(func(c *entra.Config) { c.GraphURL = srv.URL + "/v1.0"; c.TokenURL = f.sim.TokenURL(f.srv.URL) })
	return f, srv
}

func TestGarbageUploadAnswersFailTheBatch(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	t.Cleanup(other.Close)
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   string
	}{
		{"200 with HTML", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>hi</html>")) }, "unexpected 200"},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/bulkUpload", http.StatusTemporaryRedirect)
		}, "another host"},
		{"404 wrong job", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }, "check service_principal_id and job_id"},
		{"401 after refresh", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, "not authorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := impostor(t, tc.answer)
			res, err := f.tgt.Push(context.Background(), []push.Item{person(1)}, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("results %+v, err %v; want a batch error mentioning %q", res, err, tc.want)
			}
		})
	}
}

func TestHangingServerFailsTheBatch(t *testing.T) {
	release := make(chan struct{})
	f, _ := impostor(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := f.tgt.Push(ctx, []push.Item{person(1)}, false)
	if err == nil || !strings.Contains(err.Error(), "bulkUpload") {
		t.Fatalf("err = %v, want a batch error naming the call", err)
	}
}

func TestGarbageLogAnswersFailConfirm(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", "<html>", "not a list of entries"},
		{"no value", `{"foo":1}`, "not a list of entries"},
		{"bad entry", `{"value":[{"activityDateTime":"yesterday"}]}`, "does not parse"},
		{"nextLink to another host", `{"value":[],"@odata.nextLink":"https://evil.example.com/v1.0/auditLogs/provisioning?$skiptoken=x"}`, "refusing to follow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := impostor(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusAccepted)
					return
				}
				_, _ = w.Write([]byte(tc.body))
			})
			items := []push.Item{person(1)}
			res := f.pushAll(items...)
			_, err := f.tgt.Confirm(context.Background(), records(items, res))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLogThrottlingKeepsRecordsPending(t *testing.T) {
	f := setup(t, entrasim.Options{}, nil)
	items := []push.Item{person(1)}
	res := f.pushAll(items...)
	f.sim.Settle()
	f.sim.Throttle(1, 10*time.Second)
	f.clock.Advance(2 * time.Hour)
	got, err := f.tgt.Confirm(context.Background(), records(items, res))
	if err != nil || len(got) != 0 {
		t.Fatalf("throttled log read: %+v, %v; want nothing decided (not even unconfirmed)", got, err)
	}
	got, err = f.tgt.Confirm(context.Background(), records(items, res))
	if err != nil || len(got) != 1 || got[0].Outcome != push.Done {
		t.Fatalf("next read: %+v, %v; want done", got, err)
	}
	var detail map[string]any
	if err := json.Unmarshal(got[0].Requests[0].Answer, &detail); err != nil || detail["status"] != "success" {
		t.Fatalf("detail %s", got[0].Requests[0].Answer)
	}
	if strings.Contains(string(got[0].Requests[0].Answer), "User 1") {
		t.Fatal("the record detail echoes the display name")
	}
}

// TestOneBadRecordDoesNotFailItsBatch: bulkUpload refuses a whole request
// for one record it cannot take; the target sends the records one by one to
// find it and fails that one alone.
func TestOneBadRecordDoesNotFailItsBatch(t *testing.T) {
	f, _ := impostor(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "user2@example.com") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"BadRequest","message":"schema violation"}}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	res, err := f.tgt.Push(context.Background(), []push.Item{person(1), person(2), person(3)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != push.Pending || res[2].Outcome != push.Pending {
		t.Fatalf("neighbours: %s and %s, want pending", res[0].Outcome, res[2].Outcome)
	}
	if res[1].Outcome != push.Failed || res[1].Retryable || res[1].Code != "BadRequest" {
		t.Fatalf("the bad record: %+v, want a non-retryable BadRequest", res[1])
	}
}
