package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// ReplaceFiles replaces a set of files in dir that belong together (a
// head's weights and description, an exported model and its settings)
// so that a failure while writing them leaves the old set as it was.
//
// fill writes the new set into a staging folder inside dir, named as a
// temporary (IsTemp), so that writes that run out of room fail there.
// Only once fill has succeeded are its files renamed into dir, in the
// order of owned (files fill wrote that owned does not name go first),
// and the owned files the new set lacks are removed. owned's last name is
// the set's marker (the file that says the set is complete): the old one
// is removed before any file moves, so a crash among the renames leaves no
// marker beside a mixed set. The staging folder is removed either way.
func ReplaceFiles(dir string, owned []string, fill func(stage string) error) error {
	if len(owned) == 0 {
		return errors.New("atomicfile: replace files: no owned names")
	}
	if err := MkdirAllSync(dir, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(dir, ".files"+tempMark+"*")
	if err != nil {
		return fmt.Errorf("replace files in %s: %w", dir, err)
	}
	defer os.RemoveAll(stage)
	if err := fill(stage); err != nil {
		return err
	}
	entries, err := os.ReadDir(stage)
	if err != nil {
		return fmt.Errorf("replace files in %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// Unknown names first, then owned's order: the marker last.
	rank := func(name string) int { return slices.Index(owned, name) }
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	marker := owned[len(owned)-1]
	if err := removeIfPresent(filepath.Join(dir, marker)); err != nil {
		return fmt.Errorf("replace files in %s: %w", dir, err)
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("replace files in %s: %w", dir, err)
		}
	}
	for _, name := range owned {
		if !slices.Contains(names, name) {
			if err := removeIfPresent(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("replace files in %s: %w", dir, err)
			}
		}
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("replace files in %s: %w: %w", dir, ErrSyncDir, err)
	}
	return nil
}

func removeIfPresent(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
