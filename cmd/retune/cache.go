package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"retune/model"
	"retune/models"
	"retune/train"
)

// runCache reports on the embedding cache or prunes it: the cache only
// grows (each encoder's file keeps every text it ever embedded), and an
// operator bounds it here.
func runCache(_ context.Context, args []string) error {
	const usage = "usage: retune cache stats [--cache FOLDER] | retune cache prune [--keep-mb N] [--stale [--models FOLDER]] [--cache FOLDER]  (-h after stats or prune for details)"
	if len(args) == 0 || isHelpFlag(args[0]) {
		return usageError{errors.New(usage)}
	}
	sub := args[0]
	if !slices.Contains(subcommands["cache"], sub) {
		return usageError{fmt.Errorf("unknown cache subcommand %q; %s", sub, usage)}
	}
	synopsis, about := "[--cache FOLDER]", "Prints each encoder's cache file (named by the encoder's checksum): its vectors' width, records and bytes; a file of an earlier build's format (old_format), which this build starts over at its encoder's next use, with its bytes."
	if sub == "prune" {
		synopsis, about = "[--keep-mb N] [--stale [--models FOLDER]] [--cache FOLDER]",
			"Keeps at most N MiB of each encoder's cache file: its newest records (texts embedded most recently); the rest is embedded again when a run next needs it. Files of an earlier build's format are deleted (this build reads nothing in them). "+
				"--stale first deletes the files of encoders not installed in the models folder (replaced by `models add --force`, or removed; also those of encoders used only through --onnx, such as fused exports, whose texts are embedded again when next used). Safe while a server or train run uses the cache."
	}
	fs := newFlags("cache "+sub, synopsis, about)
	dir := cacheFlag(fs)
	var keepMB *int64
	var stale *bool
	var modelsDir *hiddenString
	if sub == "prune" {
		keepMB = fs.Int64("keep-mb", 0, "MiB to keep of each encoder's file")
		stale = fs.Bool("stale", false, "delete the files of encoders not installed under --models")
		modelsDir = modelsFlag(fs)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	budget := int64(-1) // stats
	if sub == "prune" {
		if !flagSet(fs, "keep-mb") && !*stale {
			return usageError{errors.New("cache prune needs --keep-mb N, --stale or both")}
		}
		if flagSet(fs, "keep-mb") {
			if *keepMB < 0 || *keepMB > 1<<30 {
				return usageError{fmt.Errorf("cache prune --keep-mb N needs N in [0, %d]", 1<<30)}
			}
			budget = *keepMB << 20
		}
		if flagSet(fs, "models") && !*stale {
			return usageError{errors.New("--models names the installed encoders for --stale; add --stale or drop --models")}
		}
	}
	switch st, err := os.Stat(dir.Get()); {
	case errors.Is(err, os.ErrNotExist):
		return usageError{fmt.Errorf("--cache %s: no such folder", dir.Get())}
	case err != nil:
		return fmt.Errorf("--cache: %w", err)
	case !st.IsDir():
		return usageError{fmt.Errorf("--cache %s is a file, not a folder", dir.Get())}
	}
	out := map[string]any{"cache": dir.Get()}
	var skipped []string
	if sub == "prune" {
		// A prune killed mid-write left its copy: gone once no one writes it.
		freed, err := train.SweepCacheTemps(dir.Get())
		if err != nil { // the prune itself can still go on
			fmt.Fprintf(os.Stderr, "retune cache prune: warning: temporary files of interrupted prunes not all removed: %v\n", err)
		}
		if freed > 0 {
			out["interrupted_prunes_bytes"] = freed
		}
	}
	if sub == "prune" && *stale {
		installed, err := installedCacheFiles(modelsDir.Get())
		if err != nil {
			return err
		}
		dropped, skip, err := train.DropCacheFiles(dir.Get(), func(name string) bool { return installed[name] })
		if err != nil {
			return err
		}
		if dropped == nil {
			dropped = []train.CacheFileReport{}
		}
		out["dropped"], skipped = dropped, skip
	}
	reps, skip, err := train.PruneCache(dir.Get(), budget)
	if err != nil {
		return err
	}
	if reps == nil {
		reps = []train.CacheFileReport{}
	}
	out["files"] = reps
	if skipped = append(skipped, skip...); len(skipped) > 0 {
		slices.Sort(skipped)
		out["skipped"] = slices.Compact(skipped) // not retune caches: left alone, and their space with them
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// installedCacheFiles names the cache files of the encoders installed in
// the models folder. A folder with none is refused: --stale would take
// every file for stale (a mistyped --models, or another server's folder).
func installedCacheFiles(root string) (map[string]bool, error) {
	if err := models.CheckRoot(root); err != nil {
		return nil, err
	}
	names, err := model.NewRegistry(root).List()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, usageError{fmt.Errorf("--models %s holds no encoder, so --stale would delete every cache file; name the folder the cache's users load encoders from", root)}
	}
	files := map[string]bool{}
	for _, name := range names {
		sum, err := model.EncoderChecksum(filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("encoder %s: %w (nothing deleted)", name, err)
		}
		files[train.CacheFileName(sum)] = true
	}
	return files, nil
}
