package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"retune/model"
	"retune/models"
)

// runModels lists the encoders in the models folder or builds the default assets.
func runModels(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		return errors.New("usage: retune models list | retune models build [--fixtures]")
	}
	fs := flag.NewFlagSet("models "+args[0], flag.ContinueOnError)
	dir := fs.String("models", models.Root(), "models folder (default: $RETUNE_MODELS or ./models)")
	fixtures := fs.Bool("fixtures", false, "also write the random-weight BERT fixtures (structure and speed tests only)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "list":
		names, err := model.NewRegistry(*dir).List()
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintf(os.Stderr, "no encoders in %s: run `retune models build`\n", *dir)
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return nil
	case "build":
		if err := models.Setup(ctx, *dir, os.Stderr); err != nil {
			return err
		}
		if *fixtures {
			for _, f := range []struct {
				name string
				cfg  models.BERTConfig
			}{{"bert-tiny-fixture", models.TinyBERTConfig()}, {"bert-minilm-fixture", models.MiniLMConfig()}} {
				if _, err := models.EnsureBERTFixture(ctx, *dir, f.name, f.cfg, 1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return fmt.Errorf("unknown models subcommand %q (list or build)", args[0])
}
