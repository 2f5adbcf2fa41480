package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8 192.168.1.7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"no proxy", "198.51.100.1:5", "", "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:5", "203.0.113.9", "198.51.100.1"},
		{"trusted proxy", "10.1.1.1:5", "203.0.113.9", "203.0.113.9"},
		{"client claims a hop; the proxy's entry wins", "10.1.1.1:5", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"two trusted proxies", "10.1.1.1:5", "203.0.113.9, 192.168.1.7", "203.0.113.9"},
		{"only trusted hops", "10.1.1.1:5", "10.2.2.2", "10.2.2.2"},
		{"garbage hop stops the walk", "10.1.1.1:5", "203.0.113.9, nonsense", "10.1.1.1"},
		{"hop with a port", "10.1.1.1:5", "[2001:db8::7]:443", "2001:db8::7"},
		{"mapped IPv4 peer", "[::ffff:10.1.1.1]:5", "203.0.113.9", "203.0.113.9"},
		{"trusted proxy without header", "10.1.1.1:5", "", "10.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := tp.ClientAddr(r); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzClientAddr feeds X-Forwarded-For as a client behind a trusted proxy
// may shape it: the answer is always an address, never a panic.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.2.3.4, 10.0.0.1", "[::1]:80, ,", "unknown", "10.0.0.1,10.0.0.2,10.0.0.3"} {
		f.Add(s)
	}
	tp, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.9.9.9:1"
		r.Header.Set("X-Forwarded-For", xff)
		if _, err := netip.ParseAddr(tp.ClientAddr(r)); err != nil {
			t.Fatalf("ClientAddr(%q) = %q, not an address", xff, tp.ClientAddr(r))
		}
	})
}
