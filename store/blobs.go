package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"retune/internal/atomicfile"
)

// Blob kinds: the subdirectories of the data directory.
const (
	KindDatasets    = "datasets"
	KindJobs        = "jobs"
	KindHeads       = "heads"
	KindCollections = "collections"
	KindCache       = "cache"
)

// kindPrefix is the id prefix each kind's directories are named by. Cache
// entries are keyed by derived names (e.g. an encoder checksum and a
// dataset id) rather than by object ids; see cacheKeyRe.
var kindPrefix = map[string]string{
	KindDatasets:    PrefixDataset,
	KindJobs:        PrefixJob,
	KindHeads:       PrefixHead,
	KindCollections: PrefixCollection,
}

// cacheKeyRe admits lowercase letters, digits, '-' and '_': no '.', '/' or
// '\\', so a key cannot escape the cache directory, and a single case so two
// keys cannot collide on a case-insensitive file system.
var cacheKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,127}$`)

// trashPrefix marks directories RemoveDir has renamed away but not yet
// deleted; Open finishes deleting any a crash left behind.
const trashPrefix = ".trash-"

// Dir returns dataDir/<kind>/<id>, the directory holding an object's files.
// id must be a valid id for kind (a "ds-" id for "datasets", ...), or for
// "cache" a key matching ^[a-z0-9][a-z0-9_-]{0,127}$. Dir does not create the
// directory; WriteFileAtomic creates it on first write.
func (s *Store) Dir(kind, id string) (string, error) {
	if kind == KindCache {
		if !cacheKeyRe.MatchString(id) {
			return "", fmt.Errorf("%w: cache key %q", ErrInvalidID, id)
		}
		return filepath.Join(s.dir, kind, id), nil
	}
	prefix, ok := kindPrefix[kind]
	if !ok {
		return "", fmt.Errorf("%w: blob kind %q", ErrInvalidArgument, kind)
	}
	if err := checkID(kind, prefix, id); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, kind, id), nil
}

// RemoveDir deletes an object's directory and everything in it; a missing
// directory is not an error. The directory is first renamed to a trash name,
// so that a crash halfway through deletion never leaves a partial directory
// under the object's own name for a later reader to mistake for complete
// data.
func (s *Store) RemoveDir(kind, id string) error {
	dir, err := s.Dir(kind, id)
	if err != nil {
		return err
	}
	trash := filepath.Join(filepath.Dir(dir), trashPrefix+id+"-"+randomPart())
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %s/%s: %w", kind, id, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove %s/%s: %w", kind, id, err)
	}
	return nil
}

// copyBufSize is large because blobs are corpora and weight files of up to
// gigabytes: fewer, larger writes cost fewer system calls.
const copyBufSize = 1 << 20

// WriteFileAtomic streams r into path and returns the number of bytes
// written and their SHA-256 (lowercase hex). Readers of path see either the
// old file or the complete new one, never a partial write, even across a
// crash: the data goes to a temporary file in the same directory (so the
// rename cannot cross file systems), is fsynced, renamed over path, and the
// directory is fsynced so the rename itself survives power loss. Missing
// parent directories are created (mode 0750, durably), and the file gets
// mode 0600. On error the temporary file is removed and path is untouched,
// except for an error wrapping atomicfile.ErrSyncDir: then the new file is in
// place and n and sha256hex describe it.
func WriteFileAtomic(path string, r io.Reader) (n int64, sha256hex string, err error) {
	dir, base := filepath.Split(filepath.Clean(path))
	if base == "" || base == "." || base == string(filepath.Separator) {
		return 0, "", fmt.Errorf("%w: write %q: not a file path", ErrInvalidArgument, path)
	}
	if err := atomicfile.MkdirAllSync(dir, 0o750); err != nil {
		return 0, "", fmt.Errorf("write %s: %w", path, err)
	}
	h := sha256.New()
	err = atomicfile.Write(path, 0o600, func(w io.Writer) error {
		// The MultiWriter hashes while writing, so the data is read once
		// and never held in memory beyond one buffer.
		var err error
		n, err = io.CopyBuffer(io.MultiWriter(w, h), r, make([]byte, copyBufSize))
		return err
	})
	if err != nil && !errors.Is(err, atomicfile.ErrSyncDir) {
		return 0, "", err
	}
	// On ErrSyncDir the file is in place; only its durability is in doubt.
	return n, hex.EncodeToString(h.Sum(nil)), err
}
