package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"retune/internal/atomicfile"
)

// lockFile is held (flock, exclusive) by the Store owning a data directory:
// a second server on the same folder would run its jobs twice and sweep the
// first one's files in progress as leftovers.
const lockFile = "lock"

// ErrDataDirBusy is returned by Open when another process holds the data
// directory.
var ErrDataDirBusy = errors.New("data folder in use")

// lockDataDir takes the data directory's lock without waiting.
func lockDataDir(dir string) (*flock.Flock, error) {
	lock := flock.New(filepath.Join(dir, lockFile))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is used by another process (one retune serve per data folder)", ErrDataDirBusy, dir)
	}
	return lock, nil
}

// scratchDir holds temporary folders (e.g. an export being written for a
// download); Open empties it, since nothing in it outlives its process.
const scratchDir = "tmp"

// cacheTempAge is how old a temporary file in the cache folders must be
// for sweep to remove it (see sweep).
const cacheTempAge = 24 * time.Hour

// TempDir creates a new folder in the data directory's scratch area, named
// by pattern as os.MkdirTemp does. The caller removes it when done; what a
// crash leaves there is removed at the next Open.
func (s *Store) TempDir(pattern string) (string, error) {
	root := filepath.Join(s.dir, scratchDir)
	if err := os.MkdirAll(root, 0o750); err != nil {
		return "", err
	}
	return os.MkdirTemp(root, pattern)
}

// sweep deletes what interrupted work left: folders RemoveDir renamed to
// trash but did not finish deleting, temporary files of atomic writes, and
// the scratch area. It runs in Open, under the data directory's lock, when
// no other server can be writing. `retune train` writes into the cache
// folders without that lock, so their temporary files are left alone until
// they are a day old: by then no write is still in progress.
func (s *Store) sweep() error {
	staleBefore := time.Now().Add(-cacheTempAge)
	if err := os.RemoveAll(filepath.Join(s.dir, scratchDir)); err != nil {
		return fmt.Errorf("sweep %s: %w", scratchDir, err)
	}
	for _, kind := range []string{KindDatasets, KindJobs, KindHeads, KindCollections, KindCache} {
		root := filepath.Join(s.dir, kind)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			switch {
			case errors.Is(err, fs.ErrNotExist) && path == root:
				return filepath.SkipDir
			case err != nil:
				return err
			case d.IsDir() && strings.HasPrefix(d.Name(), trashPrefix):
				if err := os.RemoveAll(path); err != nil {
					return err
				}
				return filepath.SkipDir
			case !d.IsDir() && atomicfile.IsTemp(d.Name()):
				if kind == KindCache {
					if info, err := d.Info(); err != nil || info.ModTime().After(staleBefore) {
						return nil // maybe a CLI run's write in progress
					}
				}
				return os.Remove(path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sweep %s: %w", kind, err)
		}
	}
	return nil
}
