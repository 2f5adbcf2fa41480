package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/personio-scim/personio-scim/store"
)

// A replica restarted while Personio is down is ready as soon as the store
// records a sync that completed on any replica; failed and dry runs do not
// count.
func TestReadyzCountsSyncsOfAnyReplica(t *testing.T) {
	at := time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		runs []store.Run
		want int
	}{
		{"no runs", nil, http.StatusServiceUnavailable},
		{"only failed", []store.Run{{ID: "r1", Status: store.RunFailed}}, http.StatusServiceUnavailable},
		{"only a dry run", []store.Run{{ID: "r1", Status: store.RunPlanned, DryRun: true}}, http.StatusServiceUnavailable},
		{"succeeded elsewhere", []store.Run{{ID: "r1", Status: store.RunSucceeded}}, http.StatusOK},
		{"held elsewhere", []store.Run{{ID: "r1", Status: store.RunHeld}}, http.StatusOK},
		{"succeeded, then failed", []store.Run{{ID: "r1", Status: store.RunSucceeded}, {ID: "r2", Status: store.RunFailed}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, 3, "")
			for i, r := range tt.runs {
				r.Trigger, r.Mode = "schedule", "full"
				r.StartedAt = at.Add(time.Duration(i) * time.Minute)
				r.FinishedAt = r.StartedAt.Add(time.Second)
				if err := s.store.SaveRun(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			if a := s.do("GET", "/readyz", "", ""); a.status != tt.want {
				t.Fatalf("readyz = %d %s, want %d", a.status, a.body, tt.want)
			}
		})
	}
}
