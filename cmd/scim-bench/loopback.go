package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// loopbackServer is an http.Server on 127.0.0.1 with a port the kernel
// picked, configured like the service's own server so that the baseline and
// the service differ only in their handlers.
type loopbackServer struct {
	URL    string // http://127.0.0.1:PORT
	srv    *http.Server
	served chan struct{}
}

// serveLoopback starts serving h; Close stops it.
func serveLoopback(h http.Handler, logger *slog.Logger) (*loopbackServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &loopbackServer{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns ErrServerClosed after Close
	}()
	return s, nil
}

// Close stops the server at once and waits until Serve has returned.
func (s *loopbackServer) Close() {
	_ = s.srv.Close()
	<-s.served
}

// newLoadClient is one client of the load generator: keep-alive
// connections, enough idle ones for every worker, no proxy, no compression
// and no per-request timer (the run's context bounds every request).
func newLoadClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// boundedContext ends a scenario's requests a while after its planned end,
// so that no loop outlives a stuck server.
func boundedContext(ctx context.Context, planned time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, planned+time.Minute)
}
