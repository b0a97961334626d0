package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

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

// ErrPairsSplitOverlap is FromPairs' error for a query in two splits.
var ErrPairsSplitOverlap = errors.New("a held-out query must not be trained on")

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
// would score held-out metrics on a training query.
func FromPairs(splits ...PairsSplit) (*BEIR, map[string][]string, error) {
	b := &BEIR{Qrels: make(map[string]eval.Qrels, len(splits))}
	b.docAt, b.queryAt = map[string]int{}, map[string]int{}
	pos := map[string][]string{} // query id → positives, first-seen order
	neg := map[string][]string{}
	splitOf := map[string]PairsSplit{} // query id → its split (Pairs unset)
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
			if prev, ok := splitOf[qid]; ok && prev.Name != s.Name {
				return nil, nil, fmt.Errorf("the query %q is in both %s (%s) and %s (%s): %w",
					clip(p.Query), prev.File, prev.Name, s.File, s.Name, ErrPairsSplitOverlap)
			}
			splitOf[qid] = PairsSplit{Name: s.Name, File: s.File}
			if qrels[qid] == nil {
				qrels[qid] = map[string]int{}
			}
			for _, t := range p.Pos {
				id, err := b.addDoc(t)
				if err != nil {
					return nil, nil, err
				}
				qrels[qid][id] = 1
				pos[qid] = appendNew(pos[qid], id)
			}
			for _, t := range p.Neg {
				id, err := b.addDoc(t)
				if err != nil {
					return nil, nil, err
				}
				neg[qid] = appendNew(neg[qid], id)
			}
		}
		if len(qrels) == 0 {
			return nil, nil, Errors{{File: s.File, Reason: "no pairs"}}
		}
	}
	for _, q := range b.Queries {
		for _, id := range neg[q.ID] {
			if slices.Contains(pos[q.ID], id) {
				d, _ := b.Doc(id)
				return nil, nil, Errors{{File: splitOf[q.ID].File, Reason: fmt.Sprintf("the query %q has the passage %q both as a positive and as a negative (on different lines)",
					clip(q.Text), clip(d.Text))}}
			}
		}
	}
	return b, neg, nil
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

func appendNew(list []string, id string) []string {
	if slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}
