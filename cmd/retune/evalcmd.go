package main

import (
	"context"
	"encoding/json"
	"os"

	"retune/dataset"
	"retune/train"
)

// runEval prints retrieval metrics of the encoder (optionally with a head) on
// a BEIR split or a pairs file.
func runEval(ctx context.Context, args []string) error {
	fs := newFlags("eval", "--beir DIR [--split S] | --pairs FILE  [--head DIR] [--model NAME | --onnx DIR]",
		"Prints nDCG, Recall, Precision, MRR and MAP at 1, 3, 5, 10 and 100 of the encoder, with a head if given, on a BEIR split or on held-out pairs.")
	var ef encoderFlags
	ef.register(fs, "glove-100d")
	var df dataFlags
	df.register(fs, "pairs JSONL to evaluate on instead of --beir: its queries, judged relevant to their positives, over all its passages", false)
	headDir := fs.String("head", "", "trained head folder (optional); its encoder is used unless --model or --onnx names one")
	split := fs.String("split", "test", "qrels split")
	cacheDir := cacheFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := df.check(fs, "split"); err != nil {
		return err
	}
	saved, err := ef.loadHead(fs, *headDir)
	if err != nil {
		return err
	}
	if err := df.beirSplit(fs, "split", split, false); err != nil {
		return err
	}
	if err := moveLegacyCaches(cacheDir.Get(), "", os.Stderr); err != nil {
		return err
	}
	enc, data, _, err := ef.openWithData(ctx, func() (*dataset.BEIR, map[string][]string, error) {
		return df.load(*split, "", *split)
	})
	if err != nil {
		return err
	}
	defer enc.Close()
	queries, qrels, err := data.Split(*split)
	if err != nil {
		return err
	}
	head, err := saved.checkedFor(enc)
	if err != nil {
		return err
	}
	emb, err := train.EmbedDataset(ctx, train.NewCache(cacheDir.Get()), enc, data.Corpus, queries, nil)
	if err != nil {
		return err
	}
	unembeddable := emb.DropZeroVectors()
	corpus, err := train.NewCorpus(emb.DocIDs, emb.DocVecs)
	if err != nil {
		return err
	}
	m, err := train.Evaluate(head, emb.QueryVecs, corpus, qrels)
	if err != nil {
		return err
	}
	summary := map[string]any{"encoder": enc.Name(), "head": *headDir, "queries": qrels.Scored(), "metrics": m}
	if df.pairs != "" {
		summary["pairs"] = df.pairs // the whole file; --split applies to BEIR folders
	} else {
		summary["split"] = *split
	}
	if unembeddable != nil {
		summary["unembeddable"] = unembeddable
	}
	return json.NewEncoder(os.Stdout).Encode(summary)
}
