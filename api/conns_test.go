package api

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestConnectionCaps serves HTTP on a capped loopback listener and opens
// real connections from three loopback addresses.
func TestConnectionCaps(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var rejected, rejectedTotal atomic.Int64
	ln := LimitConnections(raw, ConnLimits{PerClient: 3, Total: 5, OnReject: func(total bool) {
		rejected.Add(1)
		if total {
			rejectedTotal.Add(1)
		}
	}}).(*connLimiter)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	target := raw.Addr().String()

	var open []net.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", target)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		open = append(open, c)
		return c
	}
	// served sends a request on c and reports whether an answer came back
	// rather than the connection being closed.
	served := func(c net.Conn) bool {
		t.Helper()
		// A safety net against a hung test; the outcome is decided by the
		// server answering or closing, long before it.
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return false
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("neither answered nor closed")
		}
		return err == nil && strings.Contains(line, "204")
	}

	for i := range 3 {
		if !served(dial("127.0.0.1")) {
			t.Fatalf("connection %d of client A refused under the per-client cap", i+1)
		}
	}
	if served(dial("127.0.0.1")) {
		t.Error("client A's fourth connection was served; the per-client cap is 3")
	}
	for i := range 2 {
		if !served(dial("127.0.0.2")) {
			t.Fatalf("connection %d of client B refused; only A is at its cap", i+1)
		}
	}
	if served(dial("127.0.0.3")) {
		t.Error("client C was served with 5 connections open; the total cap is 5")
	}
	if rejected.Load() != 2 || rejectedTotal.Load() != 1 {
		t.Errorf("rejections %d (total cap %d), want 2 (1)", rejected.Load(), rejectedTotal.Load())
	}

	// Closing one of A's connections frees a slot, once the server has
	// closed its side.
	open[0].Close()
	for deadline := time.Now().Add(10 * time.Second); ln.open() > 4; {
		if time.Now().After(deadline) {
			t.Fatal("the closed connection's slot was never given back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !served(dial("127.0.0.3")) {
		t.Error("client C refused after a slot was freed")
	}
}

// TestConnectionCapsExemptTrustedProxies: a load balancer's connections
// count against the total only.
func TestConnectionCapsExemptTrustedProxies(t *testing.T) {
	tp, err := ParseTrustedProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitConnections(nil, ConnLimits{PerClient: 1, Total: 3, Trusted: tp}).(*connLimiter)
	lb := mustAddr(t, "127.0.0.1")
	for i := range 3 {
		if _, ok := l.admit(lb); !ok {
			t.Fatalf("proxy connection %d refused", i+1)
		}
	}
	if total, ok := l.admit(lb); ok || !total {
		t.Error("the total cap does not hold for the proxy")
	}
	l.release(lb)
	if _, ok := l.admit(mustAddr(t, "192.0.2.1")); !ok {
		t.Error("a client refused after the proxy freed a slot")
	}
	if _, ok := l.admit(mustAddr(t, "192.0.2.1")); ok {
		t.Error("the total cap does not hold")
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
