package train

import (
	"fmt"
	"math/rand"
	"sort"

	"retune/eval"
	"retune/objective"
)

// NegRef is one explicit negative of a query, with its origin so the
// objective can tell mined from generated negatives.
type NegRef struct {
	DocID  string           `json:"doc_id"`
	Source objective.Source `json:"source"`
}

// Set is everything the trainer needs, as base-encoder embeddings: the head
// is trained on cached vectors, never re-running the encoder.
type Set struct {
	QueryVecs map[string][]float32 // queries: the training ones, and the test queries Evaluate needs
	DocVecs   map[string][]float32 // corpus documents and generated negatives
	CorpusIDs []string             // documents searched when evaluating (the corpus, not generated texts)
	Qrels     eval.Qrels           // judgements of the training queries
	Negatives map[string][]NegRef  // explicit negatives per query

	corpus *Corpus   // CorpusIDs and their DocVecs indexed, on first use
	rows   *rowTable // the rows samples refer to, built by samples
}

// searchCorpus returns the corpus (CorpusIDs with their DocVecs) indexed for
// mining and evaluation, built on first use and shared by both; CorpusIDs
// and their vectors must not change after that.
func (s *Set) searchCorpus() (*Corpus, error) {
	if s.corpus != nil {
		return s.corpus, nil
	}
	vecs := make([][]float32, len(s.CorpusIDs))
	for i, id := range s.CorpusIDs {
		vecs[i] = s.DocVecs[id]
	}
	c, err := NewCorpus(s.CorpusIDs, vecs)
	if err != nil {
		return nil, err
	}
	s.corpus = c
	return c, nil
}

// sample is one (query, positive) pair with the query's explicit negatives.
type sample struct {
	query, pos string // IDs (batches keeps a batch's positives distinct by them)
	q, p       int32  // rows of query and positive in the set's rowTable
	negs       []negRow
	exclude    []string // the query's judged positives, shared by its samples
}

// negRow is an explicit negative that has a vector: its rowTable row.
type negRow struct {
	doc    int32
	source objective.Source
}

// Dim is the embedding width of the set.
func (s *Set) Dim() int {
	for _, v := range s.QueryVecs {
		return len(v)
	}
	return 0
}

func (s *Set) validate() error {
	d := s.Dim()
	if d == 0 {
		return fmt.Errorf("training set has no query embeddings")
	}
	for id, v := range s.QueryVecs {
		if len(v) != d {
			return fmt.Errorf("query %s: embedding has %d dims, expected %d", id, len(v), d)
		}
	}
	for id, v := range s.DocVecs {
		if len(v) != d {
			return fmt.Errorf("doc %s: embedding has %d dims, expected %d", id, len(v), d)
		}
	}
	for _, id := range s.CorpusIDs {
		if _, ok := s.DocVecs[id]; !ok {
			return fmt.Errorf("corpus doc %s has no embedding", id)
		}
	}
	return nil
}

// MaxDevQueries caps the dev split: every epoch ranks the whole corpus for
// each dev query, so 10% of a million queries would cost more than the
// epoch, while 5,000 already measure nDCG@10 to about ±0.005.
const MaxDevQueries = 5000

// splitDev carves a seeded fraction of the judged queries (at most
// MaxDevQueries) off for early stopping, so dev queries never contribute
// training pairs.
func splitDev(qrels eval.Qrels, frac float64, seed int64) (train, dev eval.Qrels) {
	ids := make([]string, 0, len(qrels))
	for id := range qrels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rand.New(rand.NewSource(seed)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	nDev := min(int(frac*float64(len(ids))), MaxDevQueries)
	if frac > 0 && nDev == 0 && len(ids) > 1 {
		nDev = 1
	}
	train, dev = eval.Qrels{}, eval.Qrels{}
	for i, id := range ids {
		if i < nDev {
			dev[id] = qrels[id]
		} else {
			train[id] = qrels[id]
		}
	}
	return train, dev
}

// samples lists the training pairs in a fixed order (sorted ids) so a seed
// fully determines the run, with their queries and documents numbered in
// the set's rowTable. Negatives without a vector are dropped here.
func (s *Set) samples(qrels eval.Qrels) []sample {
	if s.rows == nil {
		s.rows = newRowTable()
	}
	var out []sample
	qids := make([]string, 0, len(qrels))
	for id := range qrels {
		qids = append(qids, id)
	}
	sort.Strings(qids)
	for _, q := range qids {
		qv, ok := s.QueryVecs[q]
		if !ok {
			continue
		}
		docs := make([]string, 0, len(qrels[q]))
		for d, rel := range qrels[q] {
			if _, ok := s.DocVecs[d]; ok && rel > 0 {
				docs = append(docs, d)
			}
		}
		if len(docs) == 0 {
			continue
		}
		sort.Strings(docs)
		var negs []negRow
		for _, ng := range s.Negatives[q] {
			if v, ok := s.DocVecs[ng.DocID]; ok {
				negs = append(negs, negRow{doc: s.rows.doc(ng.DocID, v), source: ng.Source})
			}
		}
		var exclude []string
		for d, rel := range s.Qrels[q] {
			if rel > 0 {
				exclude = append(exclude, d)
			}
		}
		sort.Strings(exclude)
		exclude = exclude[:len(exclude):len(exclude)] // shared by the query's samples: no appends into it
		qr := s.rows.query(q, qv)
		for _, d := range docs {
			out = append(out, sample{query: q, pos: d, q: qr, p: s.rows.doc(d, s.DocVecs[d]), negs: negs, exclude: exclude})
		}
	}
	return out
}

// batches shuffles the pairs and groups them so no batch holds the same
// positive twice (a duplicate positive would be scored as its own negative).
// Each batch is filled greedily in shuffled order, skipping a sample whose
// positive it already has; skipped samples keep their order ahead of the
// samples not yet looked at. Only the skipped ones are carried from batch to
// batch (front), the rest is read once from the shuffled order (tail), so a
// call is linear in the number of samples, not quadratic.
func batches(samples []sample, size int, rng *rand.Rand) [][]sample {
	order := rng.Perm(len(samples))
	var out [][]sample
	var front []sample // skipped earlier, in order; they come before order[next:]
	next := 0
	seen := map[string]bool{}
	for len(front) > 0 || next < len(order) {
		cur := make([]sample, 0, size)
		clear(seen)
		var skipped []sample
		take := func(s sample) {
			if len(cur) < size && !seen[s.pos] {
				seen[s.pos] = true
				cur = append(cur, s)
			} else {
				skipped = append(skipped, s)
			}
		}
		i := 0
		for ; i < len(front) && len(cur) < size; i++ {
			take(front[i])
		}
		front = append(skipped, front[i:]...)
		skipped = nil
		for len(cur) < size && next < len(order) {
			take(samples[order[next]])
			next++
		}
		front = append(front, skipped...)
		out = append(out, cur)
	}
	return out
}
