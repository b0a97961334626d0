package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"retune/dataset"
	"retune/eval"
	"retune/store"
)

// The splits of a dataset converted from training pairs: train, and test
// when held-out pairs came with them.
const (
	pairsSplit     = "train"
	pairsTestSplit = "test"
)

// convertPairs reads train.jsonl, and test.jsonl when sent (FlagEmbedding
// or sentence-transformers lines), and writes the BEIR layout the pipeline
// trains on (see dataset.FromPairs):
//
//	corpus.jsonl     every distinct positive and negative passage
//	queries.jsonl    every distinct query
//	qrels/train.tsv  each training query's positives, grade 1
//	qrels/test.tsv   the same for the held-out queries
//	negatives.json   {query id: [doc id...]}: the hard negatives the lines
//	                 gave, used by jobs in place of mined ones
//
// It returns the splits written.
func (up *upload) convertPairs() ([]string, error) {
	splits := []dataset.PairsSplit{{Name: pairsSplit, File: fileTrain}}
	if _, ok := up.files[fileTest]; ok {
		splits = append(splits, dataset.PairsSplit{Name: pairsTestSplit, File: fileTest})
	}
	names := make([]string, len(splits))
	for i := range splits {
		f, err := os.Open(filepath.Join(up.dir, splits[i].File))
		if err != nil {
			return nil, err
		}
		splits[i].Pairs, err = dataset.ReadPairs(f)
		f.Close()
		if err != nil {
			return nil, datasetError(err, splits[i].File)
		}
		names[i] = splits[i].Name
	}
	data, negs, err := dataset.FromPairs(splits...)
	if err != nil {
		return nil, datasetError(err, "")
	}
	type output struct {
		rel   string
		write func(w io.Writer) error
	}
	writers := []output{
		{fileCorpus, func(w io.Writer) error { return writeCorpus(w, data.Corpus) }},
		{fileQueries, func(w io.Writer) error { return writeQueries(w, data.Queries) }},
	}
	for _, name := range names {
		writers = append(writers, output{qrelsDir + "/" + name + ".tsv", func(w io.Writer) error { return writeQrels(w, data.Queries, data.Qrels[name]) }})
	}
	if len(negs) > 0 {
		writers = append(writers, output{fileNegatives, func(w io.Writer) error { return json.NewEncoder(w).Encode(negs) }})
	}
	for _, wr := range writers {
		if err := up.generate(wr.rel, wr.write); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func writeCorpus(w io.Writer, docs []dataset.Doc) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(map[string]string{"_id": d.ID, "title": d.Title, "text": d.Text}); err != nil {
			return err
		}
	}
	return nil
}

func writeQueries(w io.Writer, queries []dataset.Query) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, q := range queries {
		if err := enc.Encode(map[string]string{"_id": q.ID, "text": q.Text}); err != nil {
			return err
		}
	}
	return nil
}

// writeQrels writes the split's judgements in query order, each query's
// documents sorted by id (the file is the same for the same pairs).
func writeQrels(w io.Writer, queries []dataset.Query, qrels eval.Qrels) error {
	if _, err := io.WriteString(w, "query-id\tcorpus-id\tscore\n"); err != nil {
		return err
	}
	for _, q := range queries {
		for _, id := range slices.Sorted(maps.Keys(qrels[q.ID])) {
			if _, err := fmt.Fprintf(w, "%s\t%s\t%d\n", q.ID, id, qrels[q.ID][id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// generate writes a converted file through WriteFileAtomic, streaming it
// from write through a pipe rather than building it in memory.
func (up *upload) generate(rel string, write func(io.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := write(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	n, sum, err := store.WriteFileAtomic(filepath.Join(up.dir, filepath.FromSlash(rel)), pr)
	pr.CloseWithError(err) // unblocks the writer if the copy stopped early
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	up.files[rel] = storedFile{bytes: n, sha256: sum}
	return nil
}
