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

// Started reports whether the response has begun.
func (w *statusWriter) Started() bool { return w.status != 0 }

// startedWriter is a writer that knows whether its response has begun. The
// service's request log wraps every request in one, and the recoverer then
// needs no writer of its own: one allocation and one indirect call less on
// every request.
type startedWriter interface {
	http.ResponseWriter
	Started() bool
}

// recoverPanics turns a panic below it into a 500 SCIM error: logged with
// its stack for the operator, shown to the client without any internals.
// The library's own filter evaluator is known to panic on some filters and
// is never called; ours is not supposed to, but a client must never see a
// dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracked, ok := w.(startedWriter)
		if !ok {
			tracked = &statusWriter{ResponseWriter: w}
		}
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
			if !tracked.Started() {
				writeError(tracked, internalError())
			}
		}()
		next.ServeHTTP(tracked, r)
	})
}
