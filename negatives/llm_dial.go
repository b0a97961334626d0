package negatives

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
// redirect to the metadata service gets through.
func publicOnlyClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{
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
	}).DialContext
	return &http.Client{Transport: t}
}
