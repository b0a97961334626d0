package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"retune/dataset"
	"retune/model"
	"retune/train"
)

// runEval prints retrieval metrics of the encoder (optionally with a head) on a BEIR split.
func runEval(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	beir := fs.String("beir", "", "BEIR folder")
	headDir := fs.String("head", "", "trained head folder (optional)")
	split := fs.String("split", "test", "qrels split")
	cacheDir := fs.String("cache", defaultCacheDir(), "embedding cache folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *beir == "" {
		return fmt.Errorf("--beir is required")
	}
	data, err := dataset.LoadBEIR(*beir, *split)
	if err != nil {
		return err
	}
	queries, qrels, err := data.Split(*split)
	if err != nil {
		return err
	}
	enc, err := ef.open(ctx)
	if err != nil {
		return err
	}
	defer enc.Close()
	var head *model.Head
	if *headDir != "" {
		h, meta, err := model.LoadHead(*headDir)
		if err != nil {
			return err
		}
		sum, err := enc.Checksum()
		if err != nil {
			return err
		}
		if err := model.VerifyEncoder(meta, sum); err != nil {
			return err
		}
		head = h
	}
	cache := train.NewCache(*cacheDir)
	ids := make([]string, len(data.Corpus))
	texts := make([]string, len(data.Corpus))
	for i, d := range data.Corpus {
		ids[i], texts[i] = d.ID, d.Content()
	}
	docs, _, err := cache.Embed(ctx, enc, texts)
	if err != nil {
		return err
	}
	qTexts := make([]string, len(queries))
	for i, q := range queries {
		qTexts[i] = q.Text
	}
	qv, _, err := cache.Embed(ctx, enc, qTexts)
	if err != nil {
		return err
	}
	qvecs := map[string][]float32{}
	for i, q := range queries {
		qvecs[q.ID] = qv[i]
	}
	m, err := train.Evaluate(head, qvecs, ids, docs, qrels)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"encoder": enc.Name(), "head": *headDir, "split": *split, "queries": len(qrels), "metrics": m})
}
