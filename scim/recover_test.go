package scim

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverPanics(t *testing.T) {
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal state") })
	rec := httptest.NewRecorder()
	recoverPanics(slog.New(slog.DiscardHandler), boom).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/Users", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != "500" {
		t.Errorf("body %s is not a SCIM error", rec.Body)
	}
}
