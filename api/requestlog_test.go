package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRequestIDInContext holds the id a handler finds in its context to
// the one the response echoes, and the rest of the context to its parent.
func TestRequestIDInContext(t *testing.T) {
	type parentKey struct{}
	var seen []string
	var parentValue any
	h := logRequests(slog.New(slog.DiscardHandler), remoteHost, func(*http.Request) string { return "/x" })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, RequestID(r.Context()))
		parentValue = r.Context().Value(parentKey{})
		w.WriteHeader(http.StatusTeapot)
	}))
	var echoed []string
	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req = req.WithContext(context.WithValue(req.Context(), parentKey{}, "parent"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTeapot {
			t.Fatalf("status %d", rec.Code)
		}
		echoed = append(echoed, rec.Header().Get("X-Request-Id"))
	}
	if len(seen) != 2 || seen[0] == "" || seen[0] == seen[1] || seen[0] != echoed[0] || seen[1] != echoed[1] {
		t.Fatalf("ids in the context %q, echoed %q", seen, echoed)
	}
	if parentValue != "parent" {
		t.Fatalf("the parent's value is %v", parentValue)
	}
}
