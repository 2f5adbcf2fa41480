package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the peers whose X-Forwarded-For, -Proto and -Host
// headers count: the load balancers in front of the service. Headers from
// anyone else are ignored, so a client cannot choose the address it is
// rate limited and logged under, or the host put into meta.location.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads TRUSTED_PROXIES: CIDRs or single addresses,
// separated by commas or spaces ("10.0.0.0/8, 192.168.1.7"). Empty trusts
// nobody.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var tp TrustedProxies
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if !strings.Contains(f, "/") {
			addr, err := netip.ParseAddr(f)
			if err != nil {
				return TrustedProxies{}, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", f)
			}
			tp.prefixes = append(tp.prefixes, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", f)
		}
		tp.prefixes = append(tp.prefixes, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked())
	}
	return tp, nil
}

func (tp TrustedProxies) trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range tp.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// peer is the address the connection comes from.
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return addr.Unmap(), err == nil
}

// Forwarded reports whether the request came through a trusted proxy, so
// that its X-Forwarded-* headers count.
func (tp TrustedProxies) Forwarded(r *http.Request) bool {
	if len(tp.prefixes) == 0 {
		return false
	}
	addr, ok := peer(r)
	return ok && tp.trusts(addr)
}

// ClientAddr is the address of the client: the peer, or, when the peer is
// a trusted proxy, the right-most address in X-Forwarded-For that is not a
// trusted proxy (each proxy appends the address it saw; the ones further
// left are whatever the client claimed).
func (tp TrustedProxies) ClientAddr(r *http.Request) string {
	addr, ok := peer(r)
	if !ok {
		return remoteHost(r)
	}
	if len(tp.prefixes) == 0 || !tp.trusts(addr) {
		return addr.String()
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A hop a proxy would not write: stop at the last one we trust.
			break
		}
		addr = hop.Unmap()
		if !tp.trusts(addr) {
			break
		}
	}
	return addr.String()
}

// forwardedFor lists the X-Forwarded-For hops of every such header, left
// to right, without ports or brackets.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(h, ",") {
			hop = strings.TrimSpace(hop)
			if host, _, err := net.SplitHostPort(hop); err == nil {
				hop = host
			}
			hops = append(hops, strings.Trim(hop, "[]"))
		}
	}
	return hops
}
