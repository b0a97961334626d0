package train

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"retune/internal/atomicfile"
)

// SweepCacheTemps removes the temporary files that rewrites of dir's cache
// files (prunes) left when their process died, and returns how many bytes
// it freed. A rewrite holds its cache file's lock while it writes the
// temporary file (see pruneFile), so a temporary file whose cache file's
// lock is free has no writer: it can go at once, while the data folder's
// own sweep waits a day for temporary files it cannot tell apart (another
// process may be writing them). Each such file is nearly a cache file's
// size, so repeated crashes during prunes would otherwise pile them up,
// unseen by the cache's bound.
func SweepCacheTemps(dir string) (freed int64, _ error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range entries {
		target, ok := cacheTempTarget(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		n, err := removeUnwritten(filepath.Join(dir, e.Name()), filepath.Join(dir, target))
		freed += n
		errs = append(errs, err)
	}
	return freed, errors.Join(errs...)
}

// cacheTempTarget is the cache file a temporary file name was to replace,
// when it is one.
func cacheTempTarget(name string) (string, bool) {
	target, ok := atomicfile.TempTarget(name)
	if !ok {
		return "", false
	}
	match, _ := filepath.Match(cacheFileGlob, target)
	return target, match
}

// removeUnwritten removes tmp when target's lock is free, holding it while
// it does so that no rewrite starts in between; a target that is missing
// or locked leaves tmp alone.
func removeUnwritten(tmp, target string) (int64, error) {
	fh, err := os.Open(target) // not created: a missing one says nothing
	if err != nil {
		return 0, nil
	}
	defer fh.Close()
	if syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return 0, nil // a rewrite under way
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return 0, nil // renamed or removed meanwhile
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	return st.Size(), nil
}
