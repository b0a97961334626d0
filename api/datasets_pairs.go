package api

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"retune/dataset"
	"retune/store"
)

// pairsSplit is the only split of a dataset converted from training pairs.
const pairsSplit = "train"

// Content-hash ids: the same text always gets the same id, so repeated
// passages and queries merge, and ids are stable across re-uploads.
const (
	pairsDocPrefix   = "d-"
	pairsQueryPrefix = "q-"
	pairsIDHexChars  = 24 // 96 bits
)

func contentID(prefix, text string) string {
	sum := sha256.Sum256([]byte(text))
	return prefix + hex.EncodeToString(sum[:])[:pairsIDHexChars]
}

// pairsQuery is one distinct query of a pairs file with its passages.
type pairsQuery struct {
	id, text string
	pos, neg []string // doc ids, first-seen order
}

// convertPairs reads train.jsonl (FlagEmbedding or sentence-transformers
// lines) and writes the BEIR layout the pipeline trains on:
//
//	corpus.jsonl     every distinct positive and negative passage
//	queries.jsonl    every distinct query
//	qrels/train.tsv  each query's positives, grade 1
//	negatives.json   {query id: [doc id...]}: the hard negatives the lines
//	                 gave, used by jobs in place of mined ones
//
// Lines repeating a query merge into one query. A passage that is a
// positive of a query on one line and its negative on another is an error,
// as ReadPairs makes it within one line.
func (up *upload) convertPairs() error {
	f, err := os.Open(filepath.Join(up.dir, fileTrain))
	if err != nil {
		return err
	}
	pairs, err := dataset.ReadPairs(f)
	f.Close()
	if err != nil {
		return datasetError(err, fileTrain)
	}
	docs, queries, err := mergePairs(pairs)
	if err != nil {
		return err
	}
	writers := []struct {
		rel   string
		write func(w io.Writer) error
	}{
		{fileCorpus, func(w io.Writer) error { return writeCorpus(w, docs) }},
		{fileQueries, func(w io.Writer) error { return writeQueries(w, queries) }},
		{qrelsDir + "/" + pairsSplit + ".tsv", func(w io.Writer) error { return writeQrels(w, queries) }},
	}
	if hasNegatives(queries) {
		writers = append(writers, struct {
			rel   string
			write func(w io.Writer) error
		}{fileNegatives, func(w io.Writer) error { return writeNegatives(w, queries) }})
	}
	for _, wr := range writers {
		if err := up.generate(wr.rel, wr.write); err != nil {
			return err
		}
	}
	return nil
}

// pairsDoc is one distinct passage.
type pairsDoc struct{ id, text string }

func mergePairs(pairs []dataset.Pair) ([]pairsDoc, []*pairsQuery, error) {
	var (
		docs    []pairsDoc
		queries []*pairsQuery
		docText = map[string]string{}
		byID    = map[string]*pairsQuery{}
	)
	docID := func(text string) (string, error) {
		id := contentID(pairsDocPrefix, text)
		if prev, ok := docText[id]; ok {
			if prev != text {
				return "", fmt.Errorf("content id collision on %s", id)
			}
			return id, nil
		}
		docText[id] = text
		docs = append(docs, pairsDoc{id, text})
		return id, nil
	}
	for _, p := range pairs {
		qid := contentID(pairsQueryPrefix, p.Query)
		q, ok := byID[qid]
		if !ok {
			q = &pairsQuery{id: qid, text: p.Query}
			byID[qid] = q
			queries = append(queries, q)
		} else if q.text != p.Query {
			return nil, nil, fmt.Errorf("content id collision on %s", qid)
		}
		for _, list := range []struct {
			texts []string
			dst   *[]string
		}{{p.Pos, &q.pos}, {p.Neg, &q.neg}} {
			for _, t := range list.texts {
				id, err := docID(t)
				if err != nil {
					return nil, nil, err
				}
				if !slices.Contains(*list.dst, id) {
					*list.dst = append(*list.dst, id)
				}
			}
		}
	}
	for _, q := range queries {
		for _, id := range q.neg {
			if slices.Contains(q.pos, id) {
				return nil, nil, badUpload("%s: query %q has the passage %q both as a positive and as a negative (on different lines)",
					fileTrain, clipText(q.text, 80), clipText(docText[id], 80))
			}
		}
	}
	return docs, queries, nil
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func hasNegatives(queries []*pairsQuery) bool {
	for _, q := range queries {
		if len(q.neg) > 0 {
			return true
		}
	}
	return false
}

func writeCorpus(w io.Writer, docs []pairsDoc) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(map[string]string{"_id": d.id, "title": "", "text": d.text}); err != nil {
			return err
		}
	}
	return nil
}

func writeQueries(w io.Writer, queries []*pairsQuery) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, q := range queries {
		if err := enc.Encode(map[string]string{"_id": q.id, "text": q.text}); err != nil {
			return err
		}
	}
	return nil
}

func writeQrels(w io.Writer, queries []*pairsQuery) error {
	if _, err := io.WriteString(w, "query-id\tcorpus-id\tscore\n"); err != nil {
		return err
	}
	for _, q := range queries {
		for _, id := range q.pos {
			if _, err := fmt.Fprintf(w, "%s\t%s\t1\n", q.id, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeNegatives(w io.Writer, queries []*pairsQuery) error {
	m := make(map[string][]string, len(queries))
	for _, q := range queries {
		if len(q.neg) > 0 {
			m[q.id] = q.neg
		}
	}
	return json.NewEncoder(w).Encode(m)
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
