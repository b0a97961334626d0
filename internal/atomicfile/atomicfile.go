// Package atomicfile replaces files so that readers, and a crash at any
// moment, see either the old content or the complete new one, never a
// prefix.
//
// The new content goes to a temporary file in the same folder (so the
// rename cannot cross file systems), named ".<base>.tmp-*", which is
// chmodded, fsynced, closed and renamed over the target; then the folder is
// fsynced so the rename itself survives power loss. On any error before the
// rename the temporary file is removed and the old file is untouched.
//
// The functions do not create missing folders; use MkdirAllSync (or
// os.MkdirAll) first. Concurrent writers to one path are safe in that the
// result is one writer's complete version; which one wins is unspecified.
package atomicfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// bufSize is large because files written through Write are corpora, models
// and weights of up to gigabytes: fewer, larger writes cost fewer system
// calls.
const bufSize = 1 << 20

// ErrSyncDir marks an error from fsyncing the folder after the rename: the
// new file is complete and in place, but the rename may not survive a crash.
// Callers that must return the new file's metadata anyway can test for it
// with errors.Is.
var ErrSyncDir = errors.New("file replaced, but syncing its folder failed")

// Write replaces path with what fill writes to the buffered writer it is
// given; see the package documentation for the guarantees. fill may wrap the
// writer, e.g. in an io.MultiWriter with a hash, to checksum the content
// while it is written. If fill returns an error, nothing changes. The file
// gets exactly the permissions perm (no umask).
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return WriteContext(context.Background(), path, perm, fill)
}

// WriteContext is Write that gives up, leaving path untouched, when ctx is
// done before the rename. fill should watch ctx itself during long writes.
func WriteContext(ctx context.Context, path string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(ctx, path, perm, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, bufSize)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// WriteFile is Write for data already in memory, like os.WriteFile.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return write(context.Background(), path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// tempMark is in the name of every temporary file write creates:
// ".NAME.tmp-RANDOM", next to NAME.
const tempMark = ".tmp-"

// IsTemp reports whether a file name is one of write's temporaries, which
// only a crash mid-write leaves behind: a process owning the folder may
// remove them when it starts.
func IsTemp(name string) bool {
	_, ok := TempTarget(name)
	return ok
}

// TempTarget is the name of the file a temporary file name (".NAME.tmp-*")
// was written to replace, and whether name is one.
func TempTarget(name string) (string, bool) {
	if !strings.HasPrefix(name, ".") {
		return "", false
	}
	target, _, ok := strings.Cut(name[1:], tempMark)
	if !ok {
		return "", false
	}
	return target, true
}

func write(ctx context.Context, path string, perm os.FileMode, fill func(*os.File) error) error {
	fail := func(err error) error { return fmt.Errorf("write %s: %w", path, err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempMark+"*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		// Also runs when fill panics. Closing twice is harmless.
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	// Last chance to abandon: after the rename the new file is visible.
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	renamed = true
	if err := SyncDir(dir); err != nil {
		// Removing the file now would lose the old content too; report
		// that only its durability is in doubt.
		return fmt.Errorf("write %s: %w: %w", path, ErrSyncDir, err)
	}
	return nil
}

// SyncDir fsyncs the folder dir, making the creations, renames and removals
// of entries in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// FirstMissing is the outermost folder of dir's path that does not exist
// yet (dir itself when only it is missing), or "" when dir exists: what
// os.MkdirAll(dir) would create first, and what removing it takes away.
func FirstMissing(dir string) (string, error) {
	first := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			return first, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		first = d
		if filepath.Dir(d) == d {
			return first, nil
		}
	}
}

// RemoveMade undoes the making of dir, whose outermost new folder was
// first (FirstMissing before it was made; "" when dir existed, which is
// then left alone): it removes dir with everything in it, then each parent
// up to first that is left empty. A parent that meanwhile holds something
// else (another process's folder) stays.
func RemoveMade(dir, first string) {
	if first == "" {
		return
	}
	d := filepath.Clean(dir)
	os.RemoveAll(d)
	for d != first {
		d = filepath.Dir(d)
		if os.Remove(d) != nil { // not empty: holds something else
			return
		}
	}
}

// MkdirAllSync is os.MkdirAll that also fsyncs the parent of each folder it
// creates, so a freshly created folder does not vanish on power loss
// together with the file just renamed into it. perm is used for every new
// folder (before the umask).
func MkdirAllSync(dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAllSync(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return SyncDir(parent)
}
