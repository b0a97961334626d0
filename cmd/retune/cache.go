package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"retune/train"
)

// runCache reports on the embedding cache or prunes it: the cache only
// grows (each encoder's file keeps every text it ever embedded), and an
// operator bounds it here.
func runCache(_ context.Context, args []string) error {
	const usage = "usage: retune cache stats [--cache FOLDER] | retune cache prune --keep-mb N [--cache FOLDER]  (-h after stats or prune for details)"
	if len(args) == 0 || isHelpFlag(args[0]) {
		return usageError{errors.New(usage)}
	}
	sub := args[0]
	if sub != "stats" && sub != "prune" {
		return usageError{fmt.Errorf("unknown cache subcommand %q; %s", sub, usage)}
	}
	synopsis, about := "[--cache FOLDER]", "Prints each encoder's cache file: its vectors' width, records and bytes."
	if sub == "prune" {
		synopsis, about = "--keep-mb N [--cache FOLDER]",
			"Keeps at most N MiB of each encoder's cache file: its newest records (texts embedded most recently); the rest is embedded again when a run next needs it. Safe while a server or train run uses the cache."
	}
	fs := newFlags("cache "+sub, synopsis, about)
	dir := cacheFlag(fs)
	keepMB := fs.Int64("keep-mb", -1, "MiB to keep of each encoder's file (prune; required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	budget := int64(-1)
	switch {
	case sub == "stats" && flagSet(fs, "keep-mb"):
		return usageError{errors.New("--keep-mb applies to cache prune")}
	case sub == "prune" && (*keepMB < 0 || *keepMB > 1<<30):
		return usageError{fmt.Errorf("cache prune needs --keep-mb N with N in [0, %d]", 1<<30)}
	case sub == "prune":
		budget = *keepMB << 20
	}
	if _, err := os.Stat(dir.Get()); err != nil {
		return fmt.Errorf("--cache %s: %w", dir.Get(), err)
	}
	reps, err := train.PruneCache(dir.Get(), budget)
	if err != nil {
		return err
	}
	if reps == nil {
		reps = []train.CacheFileReport{}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"cache": dir.Get(), "files": reps})
}
