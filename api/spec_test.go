package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"retune/api"
	"retune/internal/testenv"
)

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// spec loads and validates openapi.yaml once per test binary.
func spec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromFile(filepath.Join(testenv.RepoRoot(t), "openapi.yaml"))
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		specDoc.Servers = nil // match requests on any host
		specRouter, specErr = legacy.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc, specRouter
}

// TestRoutesMatchSpec walks Gin's routes and the spec both ways, each Gin
// pattern written as the server's messages write it (api.SpecPath).
func TestRoutesMatchSpec(t *testing.T) {
	doc, _ := spec(t)
	srv := newServer(t)
	inGin := map[string]bool{}
	for _, r := range srv.Routes() {
		inGin[r.Method+" "+api.SpecPath(r.Path)] = true
	}
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	var missing []string
	for r := range inGin {
		if !inSpec[r] {
			missing = append(missing, "in Gin, not in openapi.yaml: "+r)
		}
	}
	for r := range inSpec {
		if !inGin[r] {
			missing = append(missing, "in openapi.yaml, not in Gin: "+r)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatal(strings.Join(missing, "\n"))
	}
}

// client performs real HTTP requests against an in-process server and checks
// every response against openapi.yaml (status documented, body valid).
type client struct {
	t    *testing.T
	base string
	hdr  http.Header
}

func newClient(t *testing.T, h http.Handler) *client {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &client{t: t, base: ts.URL, hdr: http.Header{}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (c *client) do(method, path, contentType string, body []byte) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	return c.send(req)
}

// send performs req, reads the whole body and validates the response.
func (c *client) send(req *http.Request) response {
	c.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.validate(req, res, b)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (c *client) json(method, path, body string) response {
	c.t.Helper()
	return c.do(method, path, "application/json", []byte(body))
}

// validate checks the response against the operation the spec routes the request to.
func (c *client) validate(req *http.Request, res *http.Response, body []byte) {
	c.t.Helper()
	_, router := spec(c.t)
	if req.Method == http.MethodHead {
		// The spec documents GETs, each of which answers HEAD too: the
		// status must be one the GET documents, and there is no body.
		get := req.Clone(req.Context())
		get.Method = http.MethodGet
		route, _, err := router.FindRoute(get)
		if err != nil {
			c.t.Fatalf("HEAD %s: no GET route in openapi.yaml: %v", req.URL.Path, err)
		}
		if route.Operation.Responses.Status(res.StatusCode) == nil && route.Operation.Responses.Default() == nil {
			c.t.Fatalf("HEAD %s → %d: a status its GET does not document", req.URL.Path, res.StatusCode)
		}
		if len(body) != 0 {
			c.t.Fatalf("HEAD %s sent a body of %d bytes", req.URL.Path, len(body))
		}
		return
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return // unknown routes are not in the spec by definition
		}
		c.t.Fatalf("%s %s: no route in openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: res.StatusCode,
		Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Fatalf("%s %s → %d does not match openapi.yaml: %v\nbody: %.400s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
}

// newServer builds a server (workers not started) closed at cleanup.
func newServer(t *testing.T) *api.Server {
	t.Helper()
	srv, err := api.New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return srv
}

// OpenAPI 3.0.3 lets nullable add null only to a schema's own type: an
// enum must list null itself, and a schema without a type (a bare allOf)
// does not accept null at all. kin-openapi is lenient about both; strict
// validators and generated clients are not.
func TestSpecNullableSchemasAcceptNull(t *testing.T) {
	doc, _ := spec(t)
	seen := map[*openapi3.Schema]bool{}
	var walk func(path string, s *openapi3.SchemaRef)
	walk = func(path string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Nullable {
			if s.Type == nil || len(s.Type.Slice()) == 0 {
				t.Errorf("%s: nullable without a type accepts no null", path)
			}
			if len(s.Enum) > 0 && !slices.Contains(s.Enum, any(nil)) {
				t.Errorf("%s: nullable enum %v does not list null", path, s.Enum)
			}
		}
		for name, p := range s.Properties {
			walk(path+"."+name, p)
		}
		for i, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
			walk(fmt.Sprintf("%s[%d]", path, i), sub)
		}
		walk(path+"[]", s.Items)
		if s.AdditionalProperties.Schema != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			for _, p := range op.Parameters {
				walk(at+" "+p.Value.Name, p.Value.Schema)
			}
			if op.RequestBody != nil {
				for ct, m := range op.RequestBody.Value.Content {
					walk(at+" "+ct, m.Schema)
				}
			}
			for code, r := range op.Responses.Map() {
				for ct, m := range r.Value.Content {
					walk(at+" "+code+" "+ct, m.Schema)
				}
			}
		}
	}
}
