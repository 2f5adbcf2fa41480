package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

type requestIDKey struct{}

// RequestID returns the id the request was logged under.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter remembers the status a handler wrote; a handler that only
// writes sends 200, the default.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	start  time.Time // when the request came in
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Started reports whether the response has begun, so that a recoverer
// below (the SCIM handler's) can use this writer instead of wrapping it
// in one of its own.
func (w *statusWriter) Started() bool { return w.wrote }

// loggedRequest is what the request log keeps per request, allocated in
// one piece: the writer recording the status, the context carrying the
// id (context.WithValue would box the id and allocate a node of its own)
// and the header value echoing it.
type loggedRequest struct {
	sw   statusWriter
	ctx  requestContext
	echo [1]string
}

// requestContext is context.WithValue(parent, requestIDKey{}, id).
type requestContext struct {
	context.Context
	id string
}

func (c *requestContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return c.id
	}
	return c.Context.Value(key)
}

// logRequests gives every request an id (echoed as X-Request-Id) and logs
// method, route, status, duration and the client's address (as client
// names it, so behind trusted proxies the address they saw): never query
// strings, bodies or headers, which may hold personal data or tokens.
func logRequests(logger *slog.Logger, client, route func(*http.Request) string) func(http.Handler) http.Handler {
	// A random prefix per process and a counter: unique across replicas
	// without reading crypto/rand on every request.
	var b [4]byte
	rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	var counter atomic.Uint64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lr := &loggedRequest{sw: statusWriter{ResponseWriter: w, status: http.StatusOK, start: time.Now()}}
			sw := &lr.sw
			var buf [32]byte
			id := string(strconv.AppendUint(append(buf[:0], prefix...), counter.Add(1), 36))
			lr.echo[0] = id
			// The name is canonical already: the map is set directly rather
			// than through Header.Set, which canonicalises it every time.
			w.Header()["X-Request-Id"] = lr.echo[:]
			lr.ctx = requestContext{Context: r.Context(), id: id}
			r = r.WithContext(&lr.ctx)
			next.ServeHTTP(sw, r)
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelError
			} else if sw.status >= 400 {
				level = slog.LevelInfo
			}
			if !logger.Enabled(r.Context(), level) {
				return
			}
			logger.Log(r.Context(), level, "http request", "request_id", id, "method", methodLabel(r.Method), "route", route(r),
				"status", sw.status, "duration_ms", time.Since(sw.start).Milliseconds(), "client", client(r))
		})
	}
}
