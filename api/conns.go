package api

import (
	"net"
	"net/netip"
	"sync"
)

// ConnLimits caps the connections a listener keeps open, so that idle
// connections, from one client or many, cannot use up the process's file
// descriptors and starve everyone else. A connection over a cap is closed
// as soon as it is accepted.
type ConnLimits struct {
	// PerClient caps the connections of one client address (default 256).
	// Trusted proxies are exempt: every client behind them shares their
	// address.
	PerClient int
	// Total caps all connections (default 8192); keep it below the
	// process's file limit, with room for the database pool.
	Total int
	// Trusted are the proxies exempt from PerClient.
	Trusted TrustedProxies
	// OnReject, if set, is told about every connection closed for a cap,
	// e.g. to count them; it must not block.
	OnReject func(total bool)
}

const (
	defaultConnsPerClient = 256
	defaultConnsTotal     = 8192
)

// LimitConnections wraps ln so that it enforces limits. cmd wraps the
// listener it serves HTTP on with it.
func LimitConnections(ln net.Listener, limits ConnLimits) net.Listener {
	if limits.PerClient <= 0 {
		limits.PerClient = defaultConnsPerClient
	}
	if limits.Total <= 0 {
		limits.Total = defaultConnsTotal
	}
	return &connLimiter{Listener: ln, limits: limits, perClient: map[netip.Addr]int{}}
}

type connLimiter struct {
	net.Listener
	limits ConnLimits

	mu        sync.Mutex
	total     int
	perClient map[netip.Addr]int
}

// Accept returns the next connection within the caps; the ones over a cap
// are closed here and never reach the server.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := connPeer(c)
		if total, ok := l.admit(addr); !ok {
			// Counted before the close, so that whoever sees the
			// connection closed also finds it counted.
			if l.limits.OnReject != nil {
				l.limits.OnReject(total)
			}
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

// admit counts a new connection from addr, or reports which cap it is
// over (total true: the overall one).
func (l *connLimiter) admit(addr netip.Addr) (total, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.limits.Total {
		return true, false
	}
	perClient := addr.IsValid() && !l.limits.Trusted.trusts(addr)
	if perClient && l.perClient[addr] >= l.limits.PerClient {
		return false, false
	}
	l.total++
	if perClient {
		l.perClient[addr]++
	}
	return false, true
}

func (l *connLimiter) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n, ok := l.perClient[addr]; ok {
		if n <= 1 {
			delete(l.perClient, addr)
		} else {
			l.perClient[addr] = n - 1
		}
	}
}

// open reports the connections counted now.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func connPeer(c net.Conn) netip.Addr {
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr, _ := netip.AddrFromSlice(tcp.IP)
		return addr.Unmap()
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
