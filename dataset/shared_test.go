package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindSharedData(t *testing.T) {
	// Layout: root/shared/data/scifact and root/repo/pkg as the cwd, the way
	// a checkout sits beside shared/ here and in CI.
	root := t.TempDir()
	data := filepath.Join(root, "shared", "data")
	pkg := filepath.Join(root, "repo", "pkg")
	for _, d := range []string{filepath.Join(data, "scifact"), pkg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("walks up from the working directory", func(t *testing.T) {
		t.Setenv(SharedDataEnv, "")
		t.Chdir(pkg)
		if got, ok := FindSharedData(); !ok || !sameDir(t, got, data) {
			t.Errorf("FindSharedData = %q, %v; want %q", got, ok, data)
		}
		if got, ok := FindSharedDataset("scifact"); !ok || !sameDir(t, got, filepath.Join(data, "scifact")) {
			t.Errorf("FindSharedDataset(scifact) = %q, %v", got, ok)
		}
		if _, ok := FindSharedDataset("msmarco"); ok {
			t.Error("FindSharedDataset(msmarco) found a data set that does not exist")
		}
	})
	t.Run("environment variable wins", func(t *testing.T) {
		other := t.TempDir()
		t.Setenv(SharedDataEnv, other)
		t.Chdir(pkg)
		if got, ok := FindSharedData(); !ok || got != other {
			t.Errorf("FindSharedData = %q, %v; want %q", got, ok, other)
		}
	})
	t.Run("environment variable naming a missing folder", func(t *testing.T) {
		missing := filepath.Join(root, "nope")
		t.Setenv(SharedDataEnv, missing)
		if got, ok := FindSharedData(); ok || got != missing {
			t.Errorf("FindSharedData = %q, %v; want %q, false", got, ok, missing)
		}
	})
}

// sameDir compares directories by identity, since the temp dir may be
// reached through a symlink (macOS /var -> /private/var).
func sameDir(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
