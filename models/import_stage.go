package models

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"retune/internal/atomicfile"
)

// An import builds its encoder in a staging folder beside the others,
// <root>/.import-<id>, and holds an exclusive flock on <root>/.import-<id>.lock
// while it runs. The lock, not a process id, tells the next import whether
// a staging folder is abandoned: it works across PID namespaces (a server
// in a container and a CLI on the host sharing the models folder).
// Replacing an encoder exchanges the two folders atomically (renameat2
// RENAME_EXCHANGE); where the file system cannot, the old folder is first
// renamed to <root>/.import-<id>.replaced, which the next import puts back
// if the process died before the new one took its place.
const (
	stagePrefix    = ".import-"
	lockSuffix     = ".lock"
	replacedSuffix = ".replaced"
)

type staging struct {
	dir  string   // the staging folder
	lock *os.File // held for the import's life
}

func newStaging(root string) (*staging, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	base := filepath.Join(root, stagePrefix+hex.EncodeToString(b[:]))
	lock, err := os.OpenFile(base+lockSuffix, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		os.Remove(base + lockSuffix)
		return nil, fmt.Errorf("lock %s: %w", base+lockSuffix, err)
	}
	if err := os.Mkdir(base, 0o755); err != nil {
		lock.Close()
		os.Remove(base + lockSuffix)
		return nil, err
	}
	return &staging{dir: base, lock: lock}, nil
}

// close removes what is left of the staging folder (all of it when the
// import failed) and then the lock.
func (s *staging) close() {
	os.RemoveAll(s.dir)
	os.RemoveAll(s.dir + replacedSuffix)
	os.Remove(s.dir + lockSuffix)
	s.lock.Close()
}

// place moves the staged encoder to dest. Without force, rename(2) refuses
// to replace a non-empty folder, so an import of the same name that
// finished meanwhile is not overwritten. With force, dest is exchanged
// with the staged folder, so it always holds one complete encoder.
func (s *staging) place(dest string, force bool) error {
	parent := filepath.Dir(dest)
	if !force {
		if err := os.Rename(s.dir, dest); err != nil {
			if _, serr := os.Stat(dest); serr == nil {
				return fmt.Errorf("%s appeared while this import ran; --force replaces it", dest)
			}
			return err
		}
		return atomicfile.SyncDir(parent)
	}
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(s.dir, dest); err != nil {
			return err
		}
		return atomicfile.SyncDir(parent)
	}
	err := unix.Renameat2(unix.AT_FDCWD, s.dir, unix.AT_FDCWD, dest, unix.RENAME_EXCHANGE)
	if err == nil {
		return atomicfile.SyncDir(parent) // close removes the old encoder, now at s.dir
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	old := s.dir + replacedSuffix
	if err := os.Rename(dest, old); err != nil {
		return err
	}
	if err := os.Rename(s.dir, dest); err != nil {
		os.Rename(old, dest)
		return err
	}
	return atomicfile.SyncDir(parent)
}

// cleanDeadStages removes the staging folders of imports that no longer
// run (killed mid-copy) and puts back an encoder such an import had moved
// aside when its replacement never took its place. Live imports, whose
// lock cannot be taken, are left alone.
func cleanDeadStages(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), lockSuffix)
		if !ok || !strings.HasPrefix(name, stagePrefix) {
			continue
		}
		lock, err := os.OpenFile(filepath.Join(root, e.Name()), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			lock.Close() // a live import
			continue
		}
		base := filepath.Join(root, name)
		restoreReplaced(root, base+replacedSuffix)
		os.RemoveAll(base)
		os.Remove(base + lockSuffix)
		lock.Close()
	}
}

// restoreReplaced puts a moved-aside encoder back under its name when
// nothing took its place, else removes it.
func restoreReplaced(root, old string) {
	cfg, ok, err := ReadEncoderConfig(old)
	if err == nil && ok && ValidName(cfg.Name) {
		if _, err := os.Lstat(filepath.Join(root, cfg.Name)); errors.Is(err, fs.ErrNotExist) {
			if os.Rename(old, filepath.Join(root, cfg.Name)) == nil {
				return
			}
		}
	}
	os.RemoveAll(old)
}
