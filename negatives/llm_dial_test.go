package negatives

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestIsPrivateAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "100.64.0.1": true, "0.0.0.0": true, "::": true, "fd00::1": true,
		"fe80::1": true, "224.0.0.1": true, "::ffff:127.0.0.1": true,
		"192.0.2.2": true, "198.18.0.1": true, "240.0.0.1": true, "255.255.255.255": true, "2001:db8::1": true,
		"8.8.8.8": false, "1.1.1.1": false, "2606:4700::1111": false, "100.128.0.1": false,
		// Found by a security review: NAT64 and 6to4 addresses stand for
		// IPv4 ones a gateway reaches; site-local is private.
		"64:ff9b::7f00:1": true, "64:ff9b::a00:5": true, "64:ff9b::808:808": false,
		"2002:a00:5::1": true, "2002:808:808::1": false, "fec0::1": true,
	} {
		if got := isPrivateAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isPrivateAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

// A client that may reach public addresses only refuses the fake server on
// 127.0.0.1 before sending anything, and says why in a way that stops a
// run at once (a security probe read a loopback service's reply through a
// job's error).
func TestLLMPublicOnlyRefusesLoopback(t *testing.T) {
	f := newFakeChat(t, func(int, fakeRequest) fakeReply { return okReply(llmTestGood) })
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.PublicOnly = true })
	var got llmTestReply
	err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
	var refused *RefusedError
	var private *PrivateEndpointError
	if !errors.As(err, &refused) || !errors.As(err, &private) || private.Addr.String() != "127.0.0.1" {
		t.Fatalf("err = %v, want a RefusedError for the private address 127.0.0.1", err)
	}
	if f.count() != 0 {
		t.Errorf("the fake server received %d requests, want none", f.count())
	}
	if u := c.Usage(); u.Requests != 0 {
		t.Errorf("usage counts %d requests for one refused before it was sent", u.Requests)
	}
}

// Every address of this machine is refused, a public one too.
func TestIsPrivateAddrOwnAddresses(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ia := range addrs {
		ipn, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		if a, ok := netip.AddrFromSlice(ipn.IP); ok && (!isOwnAddr(a.Unmap()) || !isPrivateAddr(a)) {
			t.Errorf("this machine's address %s is not refused", a)
		}
	}
	if isOwnAddr(netip.MustParseAddr("8.8.8.8")) {
		t.Error("8.8.8.8 taken for this machine's")
	}
}

func TestProxyAddr(t *testing.T) {
	for raw, want := range map[string]string{
		"http://10.0.0.5:3128": "10.0.0.5:3128", "http://proxy.corp": "proxy.corp:80",
		"https://proxy.corp": "proxy.corp:443", "socks5://[fd00::1]": "[fd00::1]:1080",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := proxyAddr(u); got != want {
			t.Errorf("proxyAddr(%s) = %s, want %s", raw, got, want)
		}
	}
}

// Through the operator's proxy (here a fake on 127.0.0.1, a private
// address) a public endpoint is reached and private ones are still
// refused. net/http reads the proxy variables once per process, so the
// checks run in a child process with HTTP_PROXY set.
func TestLLMPublicOnlyThroughAProxy(t *testing.T) {
	if os.Getenv("RETUNE_PROXY_CHILD") != "" {
		publicOnlyProxyChecks(t)
		return
	}
	f := newFakeChat(t, func(int, fakeRequest) fakeReply { return okReply(llmTestGood) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestLLMPublicOnlyThroughAProxy$", "-test.v")
	cmd.Env = append(os.Environ(), "RETUNE_PROXY_CHILD=1", "HTTP_PROXY="+f.url(), "NO_PROXY=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if f.count() != 1 {
		t.Errorf("the proxy received %d requests, want the public endpoint's one\n%s", f.count(), out)
	}
}

func publicOnlyProxyChecks(t *testing.T) {
	for target, wantPrivate := range map[string]bool{"http://93.184.216.34/v1": false, "http://10.1.1.1/v1": true, "http://127.0.0.1:9/v1": true} {
		c, err := NewLLM(LLMConfig{BaseURL: target, Model: "m", PublicOnly: true, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		var got llmTestReply
		err = c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
		var private *PrivateEndpointError
		if errors.As(err, &private) != wantPrivate || (!wantPrivate && err != nil) {
			t.Errorf("%s: err = %v, want private %v", target, err, wantPrivate)
		}
	}
}

// Found by a security review: a redirect to another host carried Azure's
// api-key header along (Go drops only Authorization). Redirects within
// the endpoint's origin are followed; others are refused, and not retried.
func TestLLMRedirectsStayOnTheEndpoint(t *testing.T) {
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Get("api-key"))
		w.Header().Set("Content-Type", "application/json")
		w.Write(completionBody(0, fakeRequest{}, okReply(llmTestGood)))
	}))
	defer other.Close()
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/moved/openai/deployments/dep/chat/completions":
			w.Header().Set("Content-Type", "application/json")
			w.Write(completionBody(0, fakeRequest{}, okReply(llmTestGood)))
		case "/same/openai/deployments/dep/chat/completions":
			http.Redirect(w, r, "/moved"+strings.TrimPrefix(r.URL.Path, "/same")+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	call := func(base string) error {
		c, err := NewLLM(LLMConfig{BaseURL: srv.URL + base, Model: "dep", APIKey: "sk-operator", APIType: "azure", MaxRetries: 2, MinBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var out llmTestReply
		return c.JSON(context.Background(), "s", "u", llmTestSchema, &out)
	}
	if err := call("/same"); err != nil {
		t.Fatalf("a redirect within the endpoint: %v", err)
	}
	hits = 0
	err := call("/away")
	var re *RedirectError
	if !errors.As(err, &re) || hits != 1 || len(elsewhere) != 0 {
		t.Fatalf("a redirect to another host: err %v, %d requests, the other host saw keys %q", err, hits, elsewhere)
	}
}
