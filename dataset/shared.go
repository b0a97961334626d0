package dataset

import (
	"os"
	"path/filepath"
)

// SharedDataEnv names the environment variable that overrides where
// FindSharedData looks: the path of the shared data folder itself (the one
// holding scifact/).
const SharedDataEnv = "RETUNE_DATA"

// FindSharedData locates the workplace's shared evaluation data, which is
// kept outside the repository (it must not be copied in) and sits beside the
// checkout as ../shared/data, in CI too. It returns $RETUNE_DATA when set,
// and otherwise the nearest shared/data found walking up from the working
// directory, so it works from any package's test directory. ok is false when
// the folder does not exist; tests then skip.
func FindSharedData() (dir string, ok bool) {
	if env := os.Getenv(SharedDataEnv); env != "" {
		return env, isDir(env)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; {
		if candidate := filepath.Join(d, "shared", "data"); isDir(candidate) {
			return candidate, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// FindSharedDataset returns the folder of one shared data set, e.g.
// FindSharedDataset("scifact"), and whether it exists.
func FindSharedDataset(name string) (dir string, ok bool) {
	root, ok := FindSharedData()
	if !ok {
		return "", false
	}
	dir = filepath.Join(root, name)
	return dir, isDir(dir)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
