package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseFlagsRefusesLeftovers(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--n", "3"}, ""},
		{[]string{"--n", "3", "extra"}, `unexpected argument "extra"`},
		{[]string{"--n", "3", "10"}, `unexpected argument "10"`},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.Int("n", 0, "")
		err := parseFlags(fs, tt.args)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: err %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, env string
		want            []string
		wantErr         string
	}{
		{"none: open server", "", "", nil, ""},
		{"env", "", " k1 , k2,", []string{"k1", "k2"}, ""},
		{"env set but blank", "", " , ,", nil, "$RETUNE_API_KEYS holds no key"},
		{"file wins over env", write("keys", "# comment\nk3\r\n\n"), "k1", []string{"k3"}, ""},
		{"file without keys", write("empty", "# only a comment\n"), "", nil, "holds no key"},
		{"byte-order mark before a comment", write("bom-comment", "\uFEFF# prod keys\nk4\n"), "", []string{"k4"}, ""},
		{"byte-order mark before a key", write("bom-key", "\uFEFFk5\n"), "", []string{"k5"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RETUNE_API_KEYS", tt.env)
			got, err := apiKeys(tt.file)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("keys %q, want %q", got, tt.want)
			}
		})
	}
}
