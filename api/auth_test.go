package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	cfg := collectionConfig(t)
	cfg.APIKeys = []string{"first-key", " ", "second-key"}
	ls := startServer(t, cfg)

	// Probes need no key.
	if r := ls.do("GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz without a key: %d %s", r.Status, r.Body)
	}
	// HEAD raw: the spec client knows only the GET operation.
	w := httptest.NewRecorder()
	ls.srv.Handler().ServeHTTP(w, httptest.NewRequest("HEAD", "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("HEAD healthz without a key: %d %s", w.Code, w.Body)
	}
	for _, hdr := range []string{"", "Bearer", "Bearer ", "Bearer wrong-key", "Basic Zmlyc3Qta2V5", "first-key", "Bearer first-key-and-more"} {
		ls.hdr.Set("Authorization", hdr)
		for _, route := range [][2]string{{"GET", "/v1/models"}, {"GET", "/v1/collections"}, {"GET", "/metrics"}, {"POST", "/v1/collections"}} {
			r := ls.json(route[0], route[1], `{}`)
			wantAPIError(t, r, http.StatusUnauthorized, "API key")
			if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="retune"` {
				t.Fatalf("%s %s with %q: WWW-Authenticate %q", route[0], route[1], hdr, got)
			}
		}
	}
	for _, hdr := range []string{"Bearer first-key", "Bearer second-key", "bearer first-key"} {
		ls.hdr.Set("Authorization", hdr)
		for _, path := range []string{"/v1/models", "/v1/collections", "/metrics", "/healthz"} {
			if r := ls.do("GET", path, "", nil); r.Status != http.StatusOK {
				t.Fatalf("GET %s with %q: %d %s", path, hdr, r.Status, r.Body)
			}
		}
	}
	// Unknown routes are behind the key too, so they reveal nothing (raw
	// request: the spec client expects only 404 or 405 off the spec).
	res, err := http.Get(ls.base + "/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown route without a key: %d", res.StatusCode)
	}
}

// TestBlankAPIKeysLeaveServerOpen: configuring only blank keys must not
// turn "Authorization: Bearer " into a valid credential, nor lock the
// server; it is the same as configuring none.
func TestBlankAPIKeysLeaveServerOpen(t *testing.T) {
	cfg := collectionConfig(t)
	cfg.APIKeys = []string{"", "  "}
	ls := startServer(t, cfg)
	if r := ls.do("GET", "/v1/models", "", nil); r.Status != http.StatusOK {
		t.Fatalf("models without keys configured: %d %s", r.Status, r.Body)
	}
}
