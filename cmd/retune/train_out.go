package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"retune/internal/atomicfile"
	"retune/model"
	"retune/models"
	"retune/train"
)

// checkTrainOut refuses a --out that would mix a head into other files: a
// folder holding an encoder never, a folder holding a head only with
// --force, any other non-empty folder never (its files are not the run's
// to overwrite or to sit beside). A missing or empty folder is fine. A
// refusal is a usageError (exit 2, like any command line to change).
func checkTrainOut(dir string, force bool) error {
	if empty, err := missingOrEmpty(dir); empty || err != nil {
		return err
	}
	for _, f := range []string{models.ModelFile, models.TokenizerFile, models.ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return usageError{fmt.Errorf("%s holds an encoder or a model (%s); refusing to write a head into it", dir, f)}
		}
	}
	switch hasHead, others := model.HeadFolder(dir, train.GeneratedFile); {
	case !hasHead:
		return usageError{fmt.Errorf("%s is not empty and holds no trained head; refusing to write a head among its files (give a new or empty folder)", dir)}
	case len(others) > 0:
		return usageError{fmt.Errorf("%s holds a trained head and other files (%s); refusing to replace the head among them (move them away, or give a new folder)",
			dir, strings.Join(others, ", "))}
	}
	if !force {
		return usageError{fmt.Errorf("%s holds a trained head; pass --force to replace it", dir)}
	}
	return nil
}

// checkTrainWork refuses a --work folder that holds files other than a
// previous run's: the run would scatter its stage outputs and checkpoints
// among them (--work . would fill the current folder).
func checkTrainWork(dir string) error {
	if empty, err := missingOrEmpty(dir); empty || err != nil {
		if err != nil {
			return fmt.Errorf("--work %w", err)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, train.WorkRunFile)); err == nil {
		return nil // a previous attempt's: resumed (or refused if its settings differ)
	}
	if entries, err := os.ReadDir(dir); err == nil && !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return !train.IsWorkFile(e.Name()) }) {
		// A build before 2026-11-26 recorded no run.json: what it left
		// cannot be checked against this run's settings.
		return fmt.Errorf("--work %s holds an earlier run from a build that did not record its settings (no %s): it cannot be resumed with a check that its settings were these; give a new folder, or empty this one to start over", dir, train.WorkRunFile)
	}
	return fmt.Errorf("--work %s is not empty and holds no earlier run (no %s); give a new or empty folder", dir, train.WorkRunFile)
}

// missingOrEmpty reports whether dir is missing or an empty folder; a
// file in its place is an error.
func missingOrEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return false, usageError{fmt.Errorf("%s is a file, not a folder", dir)}
		}
		return false, err
	}
	return len(entries) == 0, nil
}

// makeOutDir creates dir (and missing parents); remove deletes what it
// created, leaving a folder that existed before untouched. A new parent
// may meanwhile hold other folders of the run (--work np/work beside
// --out np/out, a cache): remove takes dir itself, unless one of keep is
// inside it, and then only the parents it made that are left empty.
func makeOutDir(dir string, keep ...string) (remove func(), err error) {
	first, err := atomicfile.FirstMissing(dir) // the outermost folder this call creates
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	return func() {
		for _, k := range keep {
			if k != "" && within(k, filepath.Clean(dir)) {
				return
			}
		}
		atomicfile.RemoveMade(dir, first)
	}, nil
}

// lockOutDir takes an exclusive lock on the folder dir (flock, released
// by unlock or when the process ends), refusing at once when another run
// holds it.
func lockOutDir(dir string) (unlock func(), err error) {
	fh, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fh.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, usageError{fmt.Errorf("--out %s: another retune train is writing its head there; give another folder, or wait for it to end", dir)}
		}
		return nil, fmt.Errorf("--out: lock %s: %w", dir, err)
	}
	// The folder locked must still be the one at the path: a failed run
	// that held it may have removed it since it was opened.
	held, herr := fh.Stat()
	now, nerr := os.Stat(dir)
	if herr != nil || nerr != nil || !os.SameFile(held, now) {
		fh.Close()
		return nil, usageError{fmt.Errorf("--out %s: another retune train removed the folder as this one started; run the command again", dir)}
	}
	return func() { fh.Close() }, nil
}

// nested reports whether a and b are the same folder or one is inside the
// other, by their real paths (symbolic links resolved as far as the paths
// exist), so a link to --out is not taken for another folder.
func nested(a, b string) bool {
	return within(a, b) || within(b, a)
}

// within reports whether x is y or inside it, by their real paths.
func within(x, y string) bool {
	x, errX := realPath(x)
	y, errY := realPath(y)
	if errX != nil || errY != nil {
		return false
	}
	rel, err := filepath.Rel(y, x)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// realPath is p absolute, with the links of its longest existing prefix
// resolved and the rest (folders yet to be made) appended.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest), nil
		}
		if filepath.Dir(dir) == dir {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
