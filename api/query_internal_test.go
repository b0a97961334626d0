package api

import (
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"retune/internal/testenv"
)

// The routes' query parameters are what openapi.yaml declares: every GET
// parameter "in: query", and none anywhere else.
func TestQueryParamsMatchSpec(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(testenv.RepoRoot(t), "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	braces := regexp.MustCompile(`\{([A-Za-z_]+)\}`)
	spec := map[string][]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			var names []string
			for _, p := range slices.Concat(item.Parameters, op.Parameters) {
				if p.Value.In == "query" {
					names = append(names, p.Value.Name)
				}
			}
			if len(names) == 0 {
				continue
			}
			if method != http.MethodGet {
				t.Errorf("%s %s declares query parameters %v; only GET routes read any", method, path, names)
			}
			spec[braces.ReplaceAllString(path, ":$1")] = names
		}
	}
	code := map[string][]string{}
	for route, names := range queryParams {
		code[route] = slices.Sorted(slices.Values(names))
	}
	for route, names := range spec {
		spec[route] = slices.Sorted(slices.Values(names))
	}
	if !maps.EqualFunc(code, spec, slices.Equal) {
		t.Errorf("queryParams %v\nopenapi.yaml %v", code, spec)
	}
}

func TestIntegralNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"k":1000.0}`, `{"k":1000}`},
		{`{"k":1e3,"lr":1e-3,"t":0.05}`, `{"k":1000,"lr":1e-3,"t":0.05}`},
		{`{"s":"1000.0 \"2.0\"","n":[-2.0,3,4.5]}`, `{"s":"1000.0 \"2.0\"","n":[-2,3,4.5]}`},
		{`{"big":1e300}`, `{"big":1e300}`},
	}
	for _, tt := range tests {
		got, changed := integralNumbers([]byte(tt.in))
		if string(got) != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("%s: %s (changed %v), want %s", tt.in, got, changed, tt.want)
		}
	}
}
