package negatives

import (
	"context"
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
	return fmt.Sprintf("the LLM endpoint's address %s is loopback, private or link-local: this server does not let a job reach its own network (its operator can allow that with retune serve --llm-allow-private)", e.Addr)
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range, private in
// practice though netip does not count it so.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// isPrivateAddr reports whether a is one a client-named endpoint must not
// reach: loopback, private (RFC 1918, fc00::/7), shared, link-local (the
// cloud metadata service at 169.254.169.254 among them), unspecified or
// multicast.
func isPrivateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || sharedAddressSpace.Contains(a)
}

// publicOnlyClient is an HTTP client that connects only to public
// addresses. The check runs on the address dialled, after name resolution
// and for every redirect, so neither a name resolving to 127.0.0.1 nor a
// redirect to the metadata service gets through. Through a proxy from the
// environment (HTTP_PROXY, HTTPS_PROXY), which the operator set up and may
// well be on a private address, the dial to the proxy is not checked; the
// target's own addresses are, as resolved here.
func publicOnlyClient() *http.Client {
	var proxies sync.Map // "host:port" of the proxies in use: dialled unchecked
	t := http.DefaultTransport.(*http.Transport).Clone()
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
			if isPrivateAddr(ip) {
				return nil, &PrivateEndpointError{Addr: ip.Unmap()}
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
			if isPrivateAddr(ap.Addr()) {
				return &PrivateEndpointError{Addr: ap.Addr().Unmap()}
			}
			return nil
		},
	}
	plain := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, proxy := proxies.Load(addr); proxy {
			return plain.DialContext(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: t}
}

// proxyAddr is the "host:port" a transport dials for proxy u.
func proxyAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	return net.JoinHostPort(u.Hostname(), port)
}
