package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
// Passages and queries are written as the pairs are read
// (dataset.StreamPairs), so the conversion holds ids, not texts. It returns
// the splits written.
func (up *upload) convertPairs() ([]string, error) {
	splits := []dataset.PairsInput{{Name: pairsSplit, File: fileTrain}}
	if _, ok := up.files[fileTest]; ok {
		splits = append(splits, dataset.PairsInput{Name: pairsTestSplit, File: fileTest})
	}
	for i := range splits {
		f, err := os.Open(filepath.Join(up.dir, splits[i].File))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		splits[i].R = contextReader{up.ctx, bufio.NewReaderSize(f, 1<<20)}
	}
	corpus, queries := up.create(fileCorpus), up.create(fileQueries)
	layout, err := dataset.StreamPairs(jsonlSink{corpus: newLineEncoder(corpus), queries: newLineEncoder(queries)}, splits...)
	if err != nil {
		corpus.abort(err)
		queries.abort(err)
		return nil, datasetError(err, "")
	}
	if err := errors.Join(corpus.close(), queries.close()); err != nil {
		return nil, err
	}
	names := make([]string, len(splits))
	for i, sp := range splits {
		names[i] = sp.Name
		if err := up.generate(qrelsDir+"/"+sp.Name+".tsv", func(w io.Writer) error { return writeQrels(w, layout.QueryIDs, layout.Qrels[sp.Name]) }); err != nil {
			return nil, err
		}
	}
	if len(layout.Negatives) > 0 {
		if err := up.generate(fileNegatives, func(w io.Writer) error { return json.NewEncoder(w).Encode(layout.Negatives) }); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// contextReader stops reading once ctx ends: a client that went away
// does not keep a conversion (and its validation slot) busy.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (r contextReader) Read(p []byte) (int, error) {
	if r.ctx != nil {
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return r.r.Read(p)
}

// jsonlSink writes a conversion's passages and queries as BEIR lines.
type jsonlSink struct{ corpus, queries *json.Encoder }

func (s jsonlSink) Doc(id, text string) error {
	return s.corpus.Encode(map[string]string{"_id": id, "title": "", "text": text})
}

func (s jsonlSink) Query(id, text string) error {
	return s.queries.Encode(map[string]string{"_id": id, "text": text})
}

// newLineEncoder writes JSON lines with <, > and & as themselves.
func newLineEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// writeQrels writes the split's judgements in query order, each query's
// documents sorted by id (the file is the same for the same pairs).
func writeQrels(w io.Writer, queryIDs []string, qrels eval.Qrels) error {
	if _, err := io.WriteString(w, "query-id\tcorpus-id\tscore\n"); err != nil {
		return err
	}
	for _, q := range queryIDs {
		for _, id := range slices.Sorted(maps.Keys(qrels[q])) {
			if _, err := fmt.Fprintf(w, "%s\t%s\t%d\n", q, id, qrels[q][id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// generate writes a converted file through WriteFileAtomic, streaming it
// from write rather than building it in memory.
func (up *upload) generate(rel string, write func(io.Writer) error) error {
	f := up.create(rel)
	if err := write(f); err != nil {
		f.abort(err)
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return f.close()
}

// convertedFile is a file of the upload being written: what goes into it
// is stored by WriteFileAtomic, through a pipe, and recorded by close.
type convertedFile struct {
	*bufio.Writer
	up   *upload
	rel  string
	pw   *io.PipeWriter
	done chan storedResult
}

type storedResult struct {
	file storedFile
	err  error
}

// create starts writing the converted file rel of the upload.
func (up *upload) create(rel string) *convertedFile {
	pr, pw := io.Pipe()
	f := &convertedFile{Writer: bufio.NewWriterSize(pw, 64<<10), up: up, rel: rel, pw: pw, done: make(chan storedResult, 1)}
	go func() {
		n, sum, err := store.WriteFileAtomic(filepath.Join(up.dir, filepath.FromSlash(rel)), pr)
		pr.CloseWithError(err) // unblocks the writer if the copy stopped early
		f.done <- storedResult{storedFile{bytes: n, sha256: sum}, err}
	}()
	return f
}

// close flushes the file, waits until it is stored and records it.
func (f *convertedFile) close() error {
	err := f.Flush()
	f.pw.CloseWithError(err)
	res := <-f.done
	if res.err != nil {
		return fmt.Errorf("write %s: %w", f.rel, res.err)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.rel, err)
	}
	f.up.files[f.rel] = res.file
	return nil
}

// abort gives the file up: nothing of it is recorded.
func (f *convertedFile) abort(cause error) {
	f.pw.CloseWithError(cause)
	<-f.done
}
