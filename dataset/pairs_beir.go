package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"retune/eval"
)

// Content-hash ids of training pairs: the same text always gets the same
// id, so repeated passages and queries merge, and ids are stable across
// re-uploads and between the CLI and the service.
const (
	PairsDocPrefix   = "d-"
	PairsQueryPrefix = "q-"
	pairsIDHexChars  = 24 // 96 bits
)

// ContentID is prefix + the first 96 bits of text's SHA-256, in hex.
func ContentID(prefix, text string) string {
	sum := sha256.Sum256([]byte(text))
	return prefix + hex.EncodeToString(sum[:])[:pairsIDHexChars]
}

// PairsSplit is one named split of training pairs ("train", "test", ...)
// and the file they were read from, which errors name.
type PairsSplit struct {
	Name, File string
	Pairs      []Pair
}

// FromPairs builds the BEIR layout that training and evaluation work on
// from training pairs:
//
//   - Corpus: every distinct passage, positive or negative, of every split,
//     in first-seen order (Title empty);
//   - Queries: every distinct query text, in first-seen order;
//   - Qrels[split]: each of the split's queries judges its positives 1;
//
// and returns the hard negatives the lines gave (query id → doc ids, in
// first-seen order), which a pipeline uses in place of mined ones.
//
// Lines repeating a query merge into one query. A passage that is a
// positive of a query on one line and its negative on another is an error,
// as ReadPairs makes it within one line; so is a query in two splits, which
// would score held-out metrics on a training query. They come back as
// Errors naming the file and line (Pair.Line) of each.
func FromPairs(splits ...PairsSplit) (*BEIR, map[string][]string, error) {
	b := &BEIR{Qrels: make(map[string]eval.Qrels, len(splits))}
	b.docAt, b.queryAt = map[string]int{}, map[string]int{}
	// Where each (query, passage) was first a positive and a negative, and
	// where each query was first seen: errors point at both lines.
	type seen struct {
		split PairsSplit // Pairs unset
		line  int
	}
	posAt, negAt := map[[2]string]int{}, map[[2]string]int{}
	queryAt := map[string]seen{}
	neg := map[string][]string{} // query id → negatives, first-seen order
	var errs Errors
	for _, s := range splits {
		if _, dup := b.Qrels[s.Name]; dup || s.Name == "" {
			return nil, nil, fmt.Errorf("dataset: pairs: split name %q empty or repeated", s.Name)
		}
		qrels := eval.Qrels{}
		b.Qrels[s.Name] = qrels
		for _, p := range s.Pairs {
			qid, err := b.addQuery(p.Query)
			if err != nil {
				return nil, nil, err
			}
			if prev, ok := queryAt[qid]; !ok {
				queryAt[qid] = seen{PairsSplit{Name: s.Name, File: s.File}, p.Line}
			} else if prev.split.Name != s.Name {
				errs = append(errs, LineError{File: s.File, Line: p.Line, Reason: fmt.Sprintf(
					"the query %q is also in %s (line %d, split %s): a held-out query must not be trained on",
					clip(p.Query), prev.split.File, prev.line, prev.split.Name)})
				continue
			}
			if qrels[qid] == nil {
				qrels[qid] = map[string]int{}
			}
			for _, t := range p.Pos {
				id, err := b.addDoc(t)
				if err != nil {
					return nil, nil, err
				}
				qrels[qid][id] = 1
				key := [2]string{qid, id}
				if _, ok := posAt[key]; !ok {
					posAt[key] = p.Line
				}
				if at, ok := negAt[key]; ok {
					errs = append(errs, conflict(s.File, p.Line, p.Query, t, "positive", "negative", at))
				}
			}
			for _, t := range p.Neg {
				id, err := b.addDoc(t)
				if err != nil {
					return nil, nil, err
				}
				key := [2]string{qid, id}
				if _, ok := negAt[key]; !ok {
					negAt[key] = p.Line
					neg[qid] = append(neg[qid], id)
				}
				if at, ok := posAt[key]; ok {
					errs = append(errs, conflict(s.File, p.Line, p.Query, t, "negative", "positive", at))
				}
			}
		}
		if len(qrels) == 0 && len(errs) == 0 {
			return nil, nil, Errors{{File: s.File, Reason: "no pairs"}}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs[:min(len(errs), MaxErrors)]
	}
	return b, neg, nil
}

// conflict is the error for a passage given as both a positive and a
// negative of one query (ReadPairs refuses it within one line).
func conflict(file string, line int, query, passage, here, there string, thereLine int) LineError {
	return LineError{File: file, Line: line, Reason: fmt.Sprintf("the passage %q is a %s of the query %q here and a %s on line %d",
		clip(passage), here, clip(query), there, thereLine)}
}

func (b *BEIR) addQuery(text string) (string, error) {
	return intern(b.queryAt, &b.Queries, PairsQueryPrefix, text,
		func(q Query) string { return q.Text }, func(id string) Query { return Query{ID: id, Text: text} })
}

func (b *BEIR) addDoc(text string) (string, error) {
	return intern(b.docAt, &b.Corpus, PairsDocPrefix, text,
		func(d Doc) string { return d.Text }, func(id string) Doc { return Doc{ID: id, Text: text} })
}

// intern returns text's content id, appending a new entry to list (indexed
// by at) the first time the text is seen.
func intern[T any](at map[string]int, list *[]T, prefix, text string, textOf func(T) string, entry func(id string) T) (string, error) {
	id := ContentID(prefix, text)
	if i, ok := at[id]; ok {
		if textOf((*list)[i]) != text {
			return "", fmt.Errorf("dataset: pairs: content id collision on %s", id)
		}
		return id, nil
	}
	at[id] = len(*list)
	*list = append(*list, entry(id))
	return id, nil
}
