package scim

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// trackingWriter is a writer above the handler that knows whether the
// response began, as the service's request log is.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (w *trackingWriter) WriteHeader(code int) { w.started = true; w.ResponseWriter.WriteHeader(code) }
func (w *trackingWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}
func (w *trackingWriter) Started() bool { return w.started }

func TestRecoverPanics(t *testing.T) {
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal state") })
	for _, tracked := range []bool{false, true} {
		rec := httptest.NewRecorder()
		var w http.ResponseWriter = rec
		if tracked {
			w = &trackingWriter{ResponseWriter: rec}
		}
		recoverPanics(slog.New(slog.DiscardHandler), boom).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/Users", nil))
		checkInternalError(t, rec)
	}
}

// TestRecoverPanicsAfterTheAnswerBegan leaves an answer that had begun as
// it was: a second status line cannot be sent.
func TestRecoverPanicsAfterTheAnswerBegan(t *testing.T) {
	half := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"totalResults":`))
		panic("secret internal state")
	})
	for _, tracked := range []bool{false, true} {
		rec := httptest.NewRecorder()
		var w http.ResponseWriter = rec
		if tracked {
			w = &trackingWriter{ResponseWriter: rec}
		}
		recoverPanics(slog.New(slog.DiscardHandler), half).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/Users", nil))
		if rec.Code != http.StatusOK || rec.Body.String() != `{"totalResults":` {
			t.Errorf("tracked %v: status %d, body %q; want the begun answer untouched", tracked, rec.Code, rec.Body)
		}
	}
}

func checkInternalError(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != "500" {
		t.Errorf("body %s is not a SCIM error", rec.Body)
	}
}
