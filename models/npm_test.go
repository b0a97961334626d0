package models

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTarballName(t *testing.T) {
	cases := []struct{ spec, want, err string }{
		{"onnxruntime-node@1.24.1", "onnxruntime-node-1.24.1.tgz", ""},
		{"@scope/pkg@2.0.0-rc.1", "scope-pkg-2.0.0-rc.1.tgz", ""},
		{"unpinned", "", "want name@version"},
		{"@scope/pkg", "", "want name@version"},
		{"pkg@", "", "want name@version"},
	}
	for _, tc := range cases {
		got, err := tarballName(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("tarballName(%q) error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("tarballName(%q) = %q, %v; want %q", tc.spec, got, err, tc.want)
		}
	}
}

// fakeNPM installs a stand-in for npm: a shell script with the given body,
// run in the folder npm pack would write to.
func fakeNPM(t *testing.T, body string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "npm")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := npmCommand
	npmCommand = script
	t.Cleanup(func() { npmCommand = old })
}

func TestPack(t *testing.T) {
	goodSHA := sha256Hex([]byte("good\n"))
	cases := []struct {
		name    string
		cached  string // content already in the cache, if any
		npm     string // fake npm body; "" means npm must not run
		wantErr string
	}{
		{name: "pinned tarball in cache is reused without npm", cached: "good\n"},
		{name: "missing tarball is fetched", npm: `echo good > pkg-1.0.0.tgz`},
		{name: "stale cache entry is refetched", cached: "old\n", npm: `echo good > pkg-1.0.0.tgz`},
		{name: "checksum mismatch is refused", npm: `echo evil > pkg-1.0.0.tgz`, wantErr: "refusing to use it"},
		{name: "npm failure is reported", npm: `echo "npm error 404 Not Found" >&2; exit 1`, wantErr: "404 Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			final := filepath.Join(cache, "pkg-1.0.0.tgz")
			if tc.cached != "" {
				os.WriteFile(final, []byte(tc.cached), 0o644)
			}
			if tc.npm == "" {
				fakeNPM(t, `echo "npm must not run" >&2; exit 1`)
			} else {
				fakeNPM(t, tc.npm)
			}
			got, err := Pack(context.Background(), "pkg@1.0.0", goodSHA, cache)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Pack error %v, want %q", err, tc.wantErr)
				}
				if mismatch := strings.Contains(tc.wantErr, "refusing"); errors.Is(err, ErrChecksumMismatch) != mismatch {
					t.Fatalf("errors.Is(%v, ErrChecksumMismatch) = %v, want %v", err, !mismatch, mismatch)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got != final {
					t.Fatalf("Pack = %s, want %s", got, final)
				}
				if sum, _ := fileSHA256(got); sum != goodSHA {
					t.Fatal("returned tarball does not have the pinned checksum")
				}
			}
			// Only the verified tarball (or what was there) remains: no work folders.
			entries, _ := os.ReadDir(cache)
			for _, e := range entries {
				if e.Name() != "pkg-1.0.0.tgz" {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

// writeTgz makes a gzipped tarball holding the given files.
func writeTgz(t *testing.T, files map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.tgz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/", Typeflag: tar.TypeDir, Mode: 0o755})
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()
	return path
}

func TestExtractMember(t *testing.T) {
	tgz := writeTgz(t, map[string]string{"package/a.txt": "alpha", "package/lib/b.so": "bravo"})
	cases := []struct {
		name, member, sha, want, wantErr string
	}{
		{name: "pinned member", member: "package/lib/b.so", sha: sha256Hex([]byte("bravo")), want: "bravo"},
		{name: "unpinned member", member: "package/a.txt", want: "alpha"},
		{name: "checksum mismatch", member: "package/a.txt", sha: sha256Hex([]byte("other")), wantErr: "pinned"},
		{name: "missing member", member: "package/none", wantErr: "has no member"},
		{name: "directory is not a file", member: "package/", wantErr: "has no member"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "sub", "out")
			err := ExtractMember(tgz, tc.member, dst, tc.sha, 0o644)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Fatal("destination written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dst)
			if string(got) != tc.want {
				t.Fatalf("extracted %q, want %q", got, tc.want)
			}
		})
	}
}
