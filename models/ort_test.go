package models

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolveORTLib(t *testing.T) {
	tmp := t.TempDir()
	someLib := filepath.Join(tmp, "custom", "libonnxruntime.so")
	os.MkdirAll(filepath.Dir(someLib), 0o755)
	os.WriteFile(someLib, []byte("any build the user chose"), 0o644)
	wrongRoot := filepath.Join(tmp, "wrong")
	os.MkdirAll(filepath.Dir(ORTLibPath(wrongRoot)), 0o755)
	os.WriteFile(ORTLibPath(wrongRoot), []byte("not the pinned build"), 0o644)
	emptyRoot := filepath.Join(tmp, "empty")
	os.MkdirAll(emptyRoot, 0o755)
	noRoot := filepath.Join(tmp, "no-models-here")

	cases := []struct {
		name, flag, env, root string
		want                  string // path, or "" for an error
		errHas                []string
	}{
		{name: "flag wins and is not checksummed", flag: someLib, env: "/nonexistent/env.so", root: emptyRoot, want: someLib},
		{name: "env when no flag", env: someLib, root: emptyRoot, want: someLib},
		{name: "missing flag path is an error, no fallback", flag: filepath.Join(tmp, "nope.so"), env: someLib, root: emptyRoot,
			errHas: []string{"nope.so", "from --ort-lib", "make setup", "RETUNE_ORT_LIB"}},
		{name: "missing env path", env: filepath.Join(tmp, "gone.so"), root: emptyRoot, errHas: []string{"gone.so", "from RETUNE_ORT_LIB"}},
		{name: "models folder without library", root: emptyRoot,
			errHas: []string{ORTLibPath(emptyRoot), "make setup", "--ort-lib"}},
		{name: "no models folder at all", root: noRoot,
			errHas: []string{"the models folder " + noRoot + " does not exist", "--models", "RETUNE_MODELS"}},
		{name: "models folder with a different build", root: wrongRoot,
			errHas: []string{"not the pinned ONNX Runtime 1.24.1 build", "make setup"}},
		{name: "directory is not a library", flag: tmp, root: emptyRoot, errHas: []string{"not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RETUNE_ORT_LIB", tc.env)
			got, err := ResolveORTLib(tc.flag, tc.root)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("ResolveORTLib = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ResolveORTLib = %q, want an error", got)
			}
			if !errors.Is(err, ErrORTNotFound) {
				t.Errorf("error %v does not wrap ErrORTNotFound", err)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestEnsureORT(t *testing.T) {
	pinnedTarball(t, ortNpmSpec, ortTarballSHA256)
	root := t.TempDir()
	start := time.Now()
	lib, err := ensureORT(context.Background(), root, testCache)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("installed %s in %v", lib, time.Since(start).Round(time.Millisecond))
	if sum, _ := fileSHA256(lib); sum != ORTLibSHA256 {
		t.Fatalf("installed library sha256 %s", sum)
	}
	t.Setenv("RETUNE_ORT_LIB", "")
	if got, err := ResolveORTLib("", root); err != nil || !strings.HasSuffix(got, ORTLibPath(root)) {
		t.Fatalf("ResolveORTLib after EnsureORT = %q, %v", got, err)
	}

	// A damaged copy is replaced; an intact one is left alone.
	if err := os.WriteFile(lib, []byte("damaged"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureORT(context.Background(), root, testCache); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(lib)
	if sum, _ := fileSHA256(lib); sum != ORTLibSHA256 {
		t.Fatal("damaged library was not replaced")
	}
	if _, err := ensureORT(context.Background(), root, filepath.Join(t.TempDir(), "no-cache")); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(lib); !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("intact library was rewritten")
	}
}
