package negatives

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// PrivateEndpointError is a connection LLMConfig.PublicOnly refused: the
// endpoint's address is on the machine or its private network.
type PrivateEndpointError struct{ Addr netip.Addr }

func (e *PrivateEndpointError) Error() string {
	return fmt.Sprintf("the LLM endpoint's address %s is this machine's, or loopback, private, link-local or reserved: this server does not let a job reach its own network (its operator can allow that with retune serve --llm-allow-private)", e.Addr)
}

// specialRanges are the ranges, besides those netip names, that no public
// endpoint is on: carrier-grade NAT (private in practice), IETF protocol
// assignments, documentation, benchmarking, reserved and broadcast, and
// the IPv6 documentation, local NAT64 and deprecated site-local prefixes.
var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("fec0::/10"),
}

// Prefixes of IPv6 addresses that carry an IPv4 address a gateway reaches
// for them: NAT64's well-known prefix (the last 32 bits; an IPv6-only
// cloud reaches 10.0.0.5 as 64:ff9b::a00:5) and 6to4 (bits 16-47).
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 is the IPv4 address a NAT64 or 6to4 address stands for.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// isPrivateAddr reports whether a is one a client-named endpoint must not
// reach: loopback, private (RFC 1918, fc00::/7), link-local (the cloud
// metadata service at 169.254.169.254 among them), unspecified, multicast,
// one of specialRanges, or an address of this machine itself (a public one
// too: services firewalled from outside listen there).
func isPrivateAddr(a netip.Addr) bool {
	a = a.Unmap()
	if v4, ok := embeddedIPv4(a); ok && isPrivateAddr(v4) {
		return true
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(a) {
			return true
		}
	}
	return isOwnAddr(a)
}

// checkPublic refuses a with a PrivateEndpointError when isPrivateAddr.
func checkPublic(a netip.Addr) error {
	if isPrivateAddr(a) {
		return &PrivateEndpointError{Addr: a.Unmap()}
	}
	return nil
}

// isOwnAddr reports whether a is an address of one of this machine's
// network interfaces (looked up at each call: interfaces come and go).
func isOwnAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: refuse rather than risk the machine's own services
	}
	for _, ia := range addrs {
		if ipn, ok := ia.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(ipn.IP); ok && own.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// publicOnly makes t connect only to public addresses. The check runs on
// the address dialled, after name resolution and for every redirect, so
// neither a name resolving to 127.0.0.1 nor a redirect to the metadata
// service gets through. Through a proxy from the environment (HTTP_PROXY,
// HTTPS_PROXY), which the operator set up and may well be on a private
// address, the dial to the proxy is not checked; the target's own
// addresses are, as resolved here.
func publicOnly(t *http.Transport) {
	var proxies sync.Map // "host:port" of the proxies in use: dialled unchecked
	t.Proxy = func(req *http.Request) (*url.URL, error) {
		u, err := http.ProxyFromEnvironment(req)
		if u == nil || err != nil {
			return u, err
		}
		ips, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", req.URL.Hostname())
		if err != nil {
			return nil, fmt.Errorf("LLM endpoint %s: %w", req.URL.Hostname(), err)
		}
		for _, ip := range ips {
			if err := checkPublic(ip); err != nil {
				return nil, err
			}
		}
		proxies.Store(proxyAddr(u), true)
		return u, nil
	}
	checked := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("LLM endpoint address %q: %w", address, err)
			}
			return checkPublic(ap.Addr())
		},
	}
	plain := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, proxy := proxies.Load(addr); proxy {
			return plain.DialContext(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
}

// RedirectError is a redirect the client refused: to another origin than
// the request's.
type RedirectError struct{ To string }

func (e *RedirectError) Error() string {
	return fmt.Sprintf("the LLM endpoint redirected to another host (%s), which this client does not follow: give that URL as the base URL", e.To)
}

// sameOriginOnly is the clients' CheckRedirect: it follows a redirect only
// within the request's origin (scheme, host and port). Go drops the
// Authorization header on a redirect to another host but keeps headers such
// as Azure's api-key, which would hand the key to wherever the endpoint
// points; and through a proxy, a redirect to the proxy's own address would
// be dialled unchecked (publicOnly).
func sameOriginOnly(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if first := via[0].URL; req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return &RedirectError{To: req.URL.Scheme + "://" + req.URL.Host}
	}
	return nil
}

// llmTransport is Go's default transport keeping up to concurrency idle
// connections to the endpoint, one per request slot: the default keeps 2,
// so with more requests in flight most connections closed after one reply
// (a soak saw 3,642 connections carry 16,809 requests, and 160 sockets in
// TIME-WAIT), each new one costing a TLS handshake against a real endpoint.
func llmTransport(concurrency int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(concurrency, 2)
	t.MaxIdleConns = max(t.MaxIdleConns, concurrency)
	return t
}

// proxyAddr is the "host:port" a transport dials for proxy u.
func proxyAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	return net.JoinHostPort(u.Hostname(), port)
}
