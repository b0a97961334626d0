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
		{`{"k":100e-2,"j":0.5e1,"z":-0.0,"n":-2.50e1}`, `{"k":1,"j":5,"z":0,"n":-25}`},
		{`{"k":9007199254740992.0,"l":9007199254740993.0,"big":1.5e18}`, `{"k":9007199254740992,"l":9007199254740993.0,"big":1.5e18}`},
		// Integral as a float64 only: not integers as written.
		{`{"k":1e-400,"j":1.0000000000000000001}`, `{"k":1e-400,"j":1.0000000000000000001}`},
	}
	for _, tt := range tests {
		got, changed := integralNumbers([]byte(tt.in))
		if string(got) != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("%s: %s (changed %v), want %s", tt.in, got, changed, tt.want)
		}
	}
}

func TestPlainInteger(t *testing.T) {
	tests := []struct {
		in, plain string
		integral  bool
	}{
		{"1e3", "1000", true}, {"1.5E3", "1500", true}, {"-2.0", "-2", true}, {"-0.0e5", "0", true},
		{"0.00", "0", true}, {"0e-99999999999", "0", true}, {"120e-1", "12", true}, {"1.5e18", "1500000000000000000", true},
		{"1e400", "", true}, {"1e99999999999", "", true}, {"12345678901234567890.0", "12345678901234567890", true},
		{"1.5", "", false}, {"1e-400", "", false}, {"1.0000000000000000001", "", false}, {"5e-99999999999", "", false},
	}
	for _, tt := range tests {
		if plain, integral := plainInteger(tt.in); plain != tt.plain || integral != tt.integral {
			t.Errorf("plainInteger(%s) = %q, %v; want %q, %v", tt.in, plain, integral, tt.plain, tt.integral)
		}
	}
}
