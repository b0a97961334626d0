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
	synopsis, about := "[--cache FOLDER]", "Prints each encoder's cache file (named by the encoder's checksum): its vectors' width, records and bytes."
	if sub == "prune" {
		synopsis, about = "--keep-mb N [--cache FOLDER]",
			"Keeps at most N MiB of each encoder's cache file: its newest records (texts embedded most recently); the rest is embedded again when a run next needs it. Safe while a server or train run uses the cache."
	}
	fs := newFlags("cache "+sub, synopsis, about)
	dir := cacheFlag(fs)
	var keepMB *int64
	if sub == "prune" {
		keepMB = fs.Int64("keep-mb", 0, "MiB to keep of each encoder's file (required)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	budget := int64(-1) // stats
	if sub == "prune" {
		if !flagSet(fs, "keep-mb") || *keepMB < 0 || *keepMB > 1<<30 {
			return usageError{fmt.Errorf("cache prune needs --keep-mb N with N in [0, %d]", 1<<30)}
		}
		budget = *keepMB << 20
	}
	switch st, err := os.Stat(dir.Get()); {
	case errors.Is(err, os.ErrNotExist):
		return usageError{fmt.Errorf("--cache %s: no such folder", dir.Get())}
	case err != nil:
		return fmt.Errorf("--cache: %w", err)
	case !st.IsDir():
		return usageError{fmt.Errorf("--cache %s is a file, not a folder", dir.Get())}
	}
	reps, skipped, err := train.PruneCache(dir.Get(), budget)
	if err != nil {
		return err
	}
	if reps == nil {
		reps = []train.CacheFileReport{}
	}
	out := map[string]any{"cache": dir.Get(), "files": reps}
	if len(skipped) > 0 {
		out["skipped"] = skipped // not caches of this build's format: left alone, and their space with them
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
