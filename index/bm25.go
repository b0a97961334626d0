package index

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"retune/eval"
)

// Defaults for BM25's free parameters: Anserini's (and so BEIR's published
// BM25 baselines') values, which suit short, dense documents such as
// abstracts better than the textbook k1=1.2, b=0.75.
const (
	DefaultK1 = 0.9
	DefaultB  = 0.4
)

// BM25Option configures NewBM25.
type BM25Option func(*BM25Params)

// WithK1 sets the term-frequency saturation k1 (≥ 0; 0 ignores tf entirely).
func WithK1(k1 float64) BM25Option { return func(p *BM25Params) { p.K1 = k1 } }

// WithB sets the length normalisation b (0 = none, 1 = full).
func WithB(b float64) BM25Option { return func(p *BM25Params) { p.B = b } }

// WithStopWords replaces the stop list (default EnglishStopWords); nil or
// empty disables stop-word removal.
func WithStopWords(words []string) BM25Option {
	return func(p *BM25Params) { p.StopWords = slices.Clone(words) }
}

// BM25Params are the settings an index was built with; persisting them is
// enough to rebuild an identical index from the same texts.
type BM25Params struct {
	K1, B     float64
	StopWords []string
}

func bm25Params(opts []BM25Option) (BM25Params, error) {
	p := BM25Params{K1: DefaultK1, B: DefaultB, StopWords: EnglishStopWords}
	for _, o := range opts {
		o(&p)
	}
	if math.IsNaN(p.K1) || math.IsInf(p.K1, 0) || p.K1 < 0 {
		return p, fmt.Errorf("k1=%v must be finite and ≥ 0", p.K1)
	}
	if !(p.B >= 0 && p.B <= 1) { // also rejects NaN
		return p, fmt.Errorf("b=%v must be in [0, 1]", p.B)
	}
	p.StopWords = slices.Clone(p.StopWords)
	return p, nil
}

// BM25 is an immutable in-memory inverted index scored with Okapi BM25:
//
//	score(d, q) = Σ_{t ∈ q} qtf(t) · idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//	idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// N is the number of documents, df(t) the number containing t, |d| the
// number of terms of d after stop-word removal and avgdl its mean over the
// corpus. idf is Lucene's, which unlike the original Robertson–Spärck Jones
// idf is never negative, so a very common term can only add score. qtf(t)
// counts repeats in the query, exactly as summing over query tokens does
// (Lucene, rank_bm25). Two deliberate differences from Lucene/Anserini: the
// (k1+1) factor is kept (Lucene 8+ dropped it; the ranking is identical, only
// scores scale), and |d| is exact rather than Lucene's one-byte lossy norm,
// so scores match a textbook computation to the last bit, not Anserini's.
//
// Search is safe for concurrent use: the index is read-only after NewBM25,
// and per-query scratch comes from a sync.Pool.
type BM25 struct {
	params BM25Params

	ids     []string
	idOrder []int32 // see eval.IDRanks; ties are broken by id ascending

	terms map[string]int32 // term -> term id, or stopTerm
	idf   []float64        // per term id

	// Postings of term t are postDoc/postTF[postStart[t]:postStart[t+1]],
	// in ascending document order. Flat arrays instead of one slice per
	// term: two allocations instead of one per term, and better locality.
	postStart []int
	postDoc   []int32
	postTF    []int32

	docLen  []int32
	docNorm []float64 // k1·(1 − b + b·|d|/avgdl), precomputed per document
	avgdl   float64

	scratch sync.Pool // *accumulator
}

// accumulator is one query's score table: scores has one slot per document
// and touched lists the slots that are non-zero, so both the top-k scan and
// the reset cost O(matching documents) rather than O(N).
type accumulator struct {
	scores  []float64
	touched []int32
}

// NewBM25 indexes texts[i] under ids[i]. ids must be non-empty and unique;
// texts may be empty (such a document simply never matches). Building
// SciFact (5,183 abstracts, 850k terms after stop words) takes 54-60 ms on
// 2 cores (BenchmarkBuildBM25SciFact), which is why collections rebuild the
// index on load instead of persisting it (see the package comment); the
// whole load of 100,000 documents takes 0.62-0.72 s (BenchmarkLoadCollection).
func NewBM25(ids []string, texts []string, opts ...BM25Option) (*BM25, error) {
	params, err := bm25Params(opts)
	if err != nil {
		return nil, fmt.Errorf("index: NewBM25: %w", err)
	}
	if err := checkIDs(ids); err != nil {
		return nil, fmt.Errorf("index: NewBM25: %w", err)
	}
	if len(texts) != len(ids) {
		return nil, fmt.Errorf("index: NewBM25: %d ids but %d texts", len(ids), len(texts))
	}
	n := len(ids)
	ix := &BM25{
		params:  params,
		ids:     slices.Clone(ids),
		idOrder: eval.IDRanks(ids),
		terms:   stopTerms(params.StopWords),
		docLen:  make([]int32, n),
		docNorm: make([]float64, n),
	}

	// Pass 1: analyse each document into (term id, tf) pairs, in document
	// order, counting document frequencies on the way. Runs of documents are
	// analysed in parallel, each numbering its terms by first appearance;
	// merging the runs in order renumbers them by first appearance in the
	// whole corpus, so the index is the same as one sequential pass.
	runs := splitRuns(texts, bm25Workers(n))
	parts := make([]analysed, len(runs))
	var wg sync.WaitGroup
	for r, run := range runs {
		wg.Go(func() { parts[r] = analyse(texts[run[0]:run[1]], ix.terms) })
	}
	wg.Wait()
	var (
		df     []int32
		total  int
		pairs  int
		global = make([][]int32, len(parts)) // run-local term id -> term id, per run
	)
	for r, part := range parts {
		if part.tooLong >= 0 {
			d := runs[r][0] + part.tooLong
			return nil, fmt.Errorf("index: NewBM25: document %q has more terms than the int32 limit", ids[d])
		}
		global[r] = make([]int32, len(part.terms))
		for local, term := range part.terms {
			id, ok := ix.terms[term]
			if !ok {
				id = int32(len(df))
				ix.terms[term] = id
				df = append(df, 0)
			}
			global[r][local] = id
			df[id] += part.df[local]
		}
		copy(ix.docLen[runs[r][0]:], part.docLen)
		total += part.total
		pairs += part.pairs.n
	}

	// Pass 2: counting sort of the runs' pairs by term, read where pass 1
	// left them. Walking documents in order leaves every posting list
	// sorted by document.
	ix.postStart = make([]int, len(df)+1)
	for t, f := range df {
		ix.postStart[t+1] = ix.postStart[t] + int(f)
	}
	ix.postDoc = make([]int32, pairs)
	ix.postTF = make([]int32, pairs)
	next := slices.Clone(ix.postStart[:len(df)])
	for r, part := range parts {
		d, start := int32(runs[r][0]), 0
		for _, end := range part.pairEnd {
			for p := start; p < end; p++ {
				local, tf := part.pairs.at(p)
				t := global[r][local]
				ix.postDoc[next[t]] = d
				ix.postTF[next[t]] = tf
				next[t]++
			}
			start = end
			d++
		}
	}

	ix.idf = make([]float64, len(df))
	for t, f := range df {
		ix.idf[t] = math.Log(1 + (float64(n)-float64(f)+0.5)/(float64(f)+0.5))
	}
	ix.avgdl = float64(total) / float64(n)
	for d, l := range ix.docLen {
		norm := 1.0 // avgdl = 0 only when no document has a term: no postings use it
		if ix.avgdl > 0 {
			norm = 1 - params.B + params.B*float64(l)/ix.avgdl
		}
		ix.docNorm[d] = params.K1 * norm
	}

	ix.scratch.New = func() any {
		return &accumulator{scores: make([]float64, n)}
	}
	return ix, nil
}

// bm25MinRun is the fewest documents worth a goroutine of pass 1 (a
// variable so tests can split small corpora).
var bm25MinRun = 2048

// bm25Workers is how many runs pass 1 splits n documents into.
func bm25Workers(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/bm25MinRun))
}

// splitRuns cuts texts into k consecutive runs [from, to) of about equal
// byte size.
func splitRuns(texts []string, k int) [][2]int {
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	runs := make([][2]int, 0, k)
	from, acc := 0, 0
	for i, t := range texts {
		acc += len(t)
		if len(runs) < k-1 && acc*k >= total*(len(runs)+1) {
			runs = append(runs, [2]int{from, i + 1})
			from = i + 1
		}
	}
	return append(runs, [2]int{from, len(texts)})
}

// analysed is pass 1 over a run of documents: their (term, tf) pairs in
// document order, with terms numbered by first appearance in the run.
type analysed struct {
	terms   []string // run-local term id -> term
	df      []int32  // per run-local term id
	pairs   pairLog
	pairEnd []int   // pairs of the run's document i end at pairEnd[i]
	docLen  []int32 // terms per document, stop words dropped
	total   int
	tooLong int // run index of a document past the int32 limit, or -1
}

// analyse runs pass 1 over texts. stop (term -> stopTerm) is only read.
func analyse(texts []string, stop map[string]int32) analysed {
	a := analysed{pairEnd: make([]int, len(texts)), docLen: make([]int32, len(texts)), tooLong: -1}
	// The run's own term map starts with the stop words, so a token costs
	// one map lookup, not one in the stop list and one here.
	ids := make(map[string]int32, len(stop))
	for w, id := range stop {
		ids[w] = id
	}
	var (
		lastDoc  []int32 // per term: last document it occurred in
		lastPair []int   // per term: index of that document's pair
		buf      []byte
		doc      int32
		dl       int
	)
	addTerm := func(t []byte) {
		id, ok := ids[string(t)] // string(t) in a map index does not allocate
		if id == stopTerm && ok {
			return
		}
		dl++
		if !ok {
			id = int32(len(a.terms))
			ids[string(t)] = id
			a.terms = append(a.terms, string(t))
			a.df = append(a.df, 0)
			lastDoc = append(lastDoc, -1)
			lastPair = append(lastPair, 0)
		}
		if lastDoc[id] == doc {
			a.pairs.incTF(lastPair[id])
			return
		}
		lastDoc[id], lastPair[id] = doc, a.pairs.n
		a.pairs.add(id)
		a.df[id]++
	}
	for i, text := range texts {
		doc, dl = int32(i), 0
		buf = tokenize(text, buf, addTerm)
		if dl > math.MaxInt32 {
			a.tooLong = i
			return a
		}
		a.docLen[i] = int32(dl)
		a.total += dl
		a.pairEnd[i] = a.pairs.n
	}
	return a
}

// pairLog is an append-only list of (term, tf) pairs kept in fixed-size
// chunks, so growing it never copies what it holds: a doubling slice spent
// ~1.5 s of CPU re-copying pairs in a 300,000-document build, and no cheap
// estimate of the final count (distinct terms per document) fits every
// corpus.
type pairLog struct {
	term, tf [][]int32 // chunks of pairChunk pairs; the last may be partial
	n        int
}

const pairChunkBits = 16

func (l *pairLog) add(term int32) {
	if l.n&(1<<pairChunkBits-1) == 0 {
		l.term = append(l.term, make([]int32, 0, 1<<pairChunkBits))
		l.tf = append(l.tf, make([]int32, 0, 1<<pairChunkBits))
	}
	c := len(l.term) - 1
	l.term[c] = append(l.term[c], term)
	l.tf[c] = append(l.tf[c], 1)
	l.n++
}

func (l *pairLog) incTF(i int) { l.tf[i>>pairChunkBits][i&(1<<pairChunkBits-1)]++ }

func (l *pairLog) at(i int) (term, tf int32) {
	c, j := i>>pairChunkBits, i&(1<<pairChunkBits-1)
	return l.term[c][j], l.tf[c][j]
}

// stopTerm marks a stop word in BM25.terms, so one map lookup per token both
// drops stop words and finds real terms' ids.
const stopTerm = -1

// stopTerms returns a term map holding the stop words, tokenised like text
// so that "The" or "für" in a custom list removes the terms "the" and "fur"
// (an entry of several tokens, such as "don't", stops each of them).
func stopTerms(words []string) map[string]int32 {
	m := make(map[string]int32, len(words))
	var buf []byte
	for _, w := range words {
		buf = tokenize(w, buf, func(t []byte) { m[string(t)] = stopTerm })
	}
	return m
}

// checkIDs rejects what would make results ambiguous: no documents, empty
// ids, duplicates, or more documents than int32 positions.
func checkIDs(ids []string) error {
	if len(ids) == 0 {
		return errors.New("no documents")
	}
	if len(ids) > math.MaxInt32 {
		return fmt.Errorf("%d documents exceed the int32 limit", len(ids))
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("id %d is empty", i)
		}
		if j, dup := seen[id]; dup {
			return fmt.Errorf("duplicate id %q at %d and %d", id, j, i)
		}
		seen[id] = i
	}
	return nil
}

// Params returns the settings the index was built with.
func (ix *BM25) Params() BM25Params {
	p := ix.params
	p.StopWords = slices.Clone(p.StopWords)
	return p
}

// Search returns up to k documents that contain at least one query term,
// best first, ties broken by id ascending. A query with no indexed term (all
// unknown or stop words, or empty) matches nothing and returns nil, as does
// k ≤ 0: an empty result, not an error, because "no lexical match" is a
// normal answer. Callers that want to reject blank queries check first.
func (ix *BM25) Search(query string, k int) []eval.Scored {
	hits := ix.search(query, k)
	if len(hits) == 0 {
		return nil
	}
	out := make([]eval.Scored, len(hits))
	for i, h := range hits {
		out[i] = eval.Scored{ID: ix.ids[h.Doc], Score: h.Score}
	}
	return out
}

// queryTerm is a distinct indexed query term and its weight qtf·idf.
type queryTerm struct {
	id     int32
	weight float64
}

// queryTerms analyses query and keeps the indexed terms, merging repeats.
func (ix *BM25) queryTerms(query string) []queryTerm {
	var ids []int32
	tokenize(query, nil, func(t []byte) {
		if id, ok := ix.terms[string(t)]; ok && id != stopTerm {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	var qts []queryTerm
	for j := 0; j < len(ids); {
		k := j + 1
		for k < len(ids) && ids[k] == ids[j] {
			k++
		}
		qts = append(qts, queryTerm{id: ids[j], weight: float64(k-j) * ix.idf[ids[j]]})
		j = k
	}
	return qts
}

// search scores term-at-a-time into a pooled accumulator and keeps the top k
// matching documents, best first.
func (ix *BM25) search(query string, k int) []scoredDoc {
	k = min(k, len(ix.ids))
	if k <= 0 {
		return nil
	}
	qts := ix.queryTerms(query)
	if len(qts) == 0 {
		return nil
	}
	acc := ix.scratch.Get().(*accumulator)
	defer ix.scratch.Put(acc)

	k1p1 := ix.params.K1 + 1
	scores := acc.scores
	for _, qt := range qts {
		lo, hi := ix.postStart[qt.id], ix.postStart[qt.id+1]
		docs, tfs := ix.postDoc[lo:hi], ix.postTF[lo:hi]
		for p, d := range docs {
			tf := float64(tfs[p])
			// Every contribution is > 0 (idf > 0, tf ≥ 1), so a zero slot
			// means "not yet touched".
			if scores[d] == 0 {
				acc.touched = append(acc.touched, d)
			}
			scores[d] += qt.weight * tf * k1p1 / (tf + ix.docNorm[d])
		}
	}

	h := eval.NewTopK(k, len(acc.touched), ix.idOrder)
	for _, d := range acc.touched {
		h.Offer(scores[d], d)
		scores[d] = 0
	}
	acc.touched = acc.touched[:0]
	return h.Sorted()
}
