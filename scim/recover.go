package scim

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// statusWriter remembers whether a response has started, so that the
// recoverer knows whether it can still send an error, and what status went
// out (a handler that only writes sends 200).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics turns a panic below it into a 500 SCIM error: logged with
// its stack for the operator, shown to the client without any internals.
// The library's own filter evaluator is known to panic on some filters and
// is never called; ours is not supposed to, but a client must never see a
// dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "scim handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			if sw.status == 0 {
				writeError(sw, internalError())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
