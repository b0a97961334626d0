package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"strings"

	"retune/dataset"
	"retune/model"
)

// dataFlags say where train and eval read queries, documents and
// judgements from: a BEIR folder, or JSONL training pairs (FlagEmbedding or
// sentence-transformers lines, as the API's pairs datasets), whose
// passages become the corpus.
type dataFlags struct {
	beir, pairs, testPairs string
}

// register adds --beir and --pairs, and --test-pairs when withTest.
func (d *dataFlags) register(fs *flag.FlagSet, pairsUsage string, withTest bool) {
	fs.StringVar(&d.beir, "beir", "", "BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
	fs.StringVar(&d.pairs, "pairs", "", pairsUsage)
	if withTest {
		fs.StringVar(&d.testPairs, "test-pairs", "", "held-out pairs JSONL to report base vs tuned metrics on (with --pairs; its passages join the corpus)")
	}
}

// check refuses a command line naming no source or two, and split flags
// (names of a BEIR folder's qrels files) given with --pairs.
func (d *dataFlags) check(fs *flag.FlagSet, splitFlags ...string) error {
	switch {
	case d.beir == "" && d.pairs == "":
		return usageError{errors.New("name the data with --beir FOLDER or --pairs FILE")}
	case d.beir != "" && d.pairs != "":
		return usageError{errors.New("--beir and --pairs are two sources of data: give one")}
	case d.testPairs != "" && d.pairs == "":
		return usageError{errors.New("--test-pairs goes with --pairs (a BEIR folder names its held-out split with --test-split)")}
	}
	if d.pairs == "" {
		return nil
	}
	for _, f := range []struct{ flag, path string }{{"pairs", d.pairs}, {"test-pairs", d.testPairs}} {
		if f.path == "-" {
			return usageError{fmt.Errorf("--%s -: give a file name (stdin is not read)", f.flag)}
		}
	}
	for _, name := range splitFlags {
		if flagSet(fs, name) {
			return usageError{fmt.Errorf("--%s names a qrels file of a BEIR folder; it does not apply to --pairs", name)}
		}
	}
	for _, f := range []struct{ flag, path string }{{"pairs", d.pairs}, {"test-pairs", d.testPairs}} {
		if f.path == "" {
			continue
		}
		switch st, err := os.Stat(f.path); {
		case errors.Is(err, iofs.ErrNotExist):
			return usageError{fmt.Errorf("--%s %s: no such file", f.flag, f.path)}
		case err == nil && st.IsDir():
			return usageError{fmt.Errorf("--%s %s is a folder: give the JSONL file of pairs", f.flag, f.path)}
		}
	}
	return nil
}

// beirSplit checks that the BEIR folder has the split *name names (flag
// --flagName) before anything loads. A missing split named on the command
// line is a usage error listing the folder's splits; a missing default one
// is dropped (*name = "") when optional, as a job drops a default test
// split its dataset lacks, with a note on stderr.
func (d *dataFlags) beirSplit(fs *flag.FlagSet, flagName string, name *string, optional bool) error {
	if !optional && *name == "" {
		return usageError{fmt.Errorf("--%s is empty: name a qrels split", flagName)}
	}
	if *name != "" && (strings.ContainsAny(*name, `/\`) || *name == "." || *name == "..") {
		return usageError{fmt.Errorf("--%s %q: a split is a file name in qrels/, without a path", flagName, *name)}
	}
	if d.beir == "" {
		return nil
	}
	switch st, err := os.Stat(d.beir); {
	case errors.Is(err, iofs.ErrNotExist):
		return usageError{fmt.Errorf("--beir %s: no such folder", d.beir)}
	case err == nil && !st.IsDir():
		return usageError{fmt.Errorf("--beir %s is a file: give the BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), unpacked", d.beir)}
	}
	have, err := dataset.SplitNames(d.beir)
	if err == nil && len(have) == 0 {
		return usageError{fmt.Errorf("--beir %s has no qrels/<split>.tsv: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/train.tsv, qrels/test.tsv, …", d.beir)}
	}
	if *name == "" {
		return nil
	}
	if _, err := os.Stat(dataset.QrelsFile(d.beir, *name)); !errors.Is(err, iofs.ErrNotExist) {
		return nil // there, or unreadable: loading says which
	}
	if err != nil {
		return nil // loading says what is wrong with the folder
	}
	if optional && !flagSet(fs, flagName) {
		fmt.Fprintf(os.Stderr, "note: %s has no split %q (qrels/%s.tsv): no held-out metrics; --%s names another\n", d.beir, *name, *name, flagName)
		*name = ""
		return nil
	}
	return usageError{fmt.Errorf("--%s %s: %s has no qrels/%s.tsv (its splits: %s)", flagName, *name, d.beir, *name, strings.Join(have, ", "))}
}

func flagSet(fs *flag.FlagSet, name string) (set bool) {
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// load reads the data: the BEIR folder's splits, or --pairs as split
// pairsSplit and --test-pairs as testSplit. negatives are the hard
// negatives the pairs gave (nil for BEIR).
func (d *dataFlags) load(pairsSplit, testSplit string, beirSplits ...string) (data *dataset.BEIR, negatives map[string][]string, err error) {
	if d.beir != "" {
		data, err = dataset.LoadBEIR(d.beir, beirSplits...)
		return data, nil, err
	}
	splits := []dataset.PairsSplit{{Name: pairsSplit, File: d.pairs}}
	if d.testPairs != "" {
		splits = append(splits, dataset.PairsSplit{Name: testSplit, File: d.testPairs})
	}
	for i := range splits {
		if splits[i].Pairs, err = readPairsFile(splits[i].File); err != nil {
			return nil, nil, err
		}
	}
	return dataset.FromPairs(splits...)
}

// readPairsFile reads a pairs JSONL file; its rejected lines name the file.
func readPairsFile(path string) ([]dataset.Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pairs, err := dataset.ReadPairs(f)
	var lines dataset.Errors
	if errors.As(err, &lines) {
		for i := range lines {
			lines[i].File = path
		}
		return nil, lines
	}
	return pairs, err
}

// openWithData opens the encoder while the data loads: each takes ~0.3-0.5 s
// on SciFact (the encoder mostly its tokenizer.json) and neither needs the
// other. The caller closes the encoder.
func (e *encoderFlags) openWithData(ctx context.Context, load func() (*dataset.BEIR, map[string][]string, error)) (*model.Encoder, *dataset.BEIR, map[string][]string, error) {
	type opened struct {
		enc *model.Encoder
		err error
	}
	done := make(chan opened, 1)
	go func() {
		enc, err := e.open(ctx)
		done <- opened{enc, err}
	}()
	data, negs, err := load()
	o := <-done
	if o.err != nil {
		return nil, nil, nil, o.err
	}
	if err == nil {
		err = o.enc.CheckDocumentEncoder() // both callers embed the corpus
	}
	if err != nil {
		o.enc.Close()
		return nil, nil, nil, err
	}
	return o.enc, data, negs, nil
}
