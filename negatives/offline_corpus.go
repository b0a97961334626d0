package negatives

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
)

// CorpusNeighbours finds related terms from corpus statistics alone, so the
// offline generator works without any encoder. It counts how often two
// content words occur within a small window of each other (inside one
// sentence, stop-words and numbers removed) and weights the counts by
// positive pointwise mutual information (PPMI) with the usual context
// smoothing (context counts raised to 0.75, which keeps rare contexts from
// dominating).
//
// Two kinds of relatedness come out of the same counts:
//   - Neighbours: words whose PPMI context vectors have the highest cosine,
//     i.e. words used in the same contexts — substitutes of the same kind
//     ("insulin" → "leptin", "mice" → "rats"); the entity and attribute
//     breaks use these.
//   - Associates: words that share documents with it beyond chance (Ochiai
//     coefficient of document sets) — mechanisms, mediators, consequences
//     ("insulin" → "glucose", "glucagon"); the upstream/downstream break uses
//     these. Documents, not the window, because window partners are mostly
//     compound parts ("antitumor activity"), not related concepts.
//
// Everything is deterministic: ties break by term, and floating-point sums
// run in a fixed order. A CorpusNeighbours is safe for concurrent use.
type CorpusNeighbours struct {
	terms     []string
	ids       map[string]int32
	df        []int32
	docs      int
	minDF     int
	proposeDF int
	minSim    float32

	vec     [][]cfWeighted // per term: PPMI contexts, highest first, L2-normalised
	post    [][]cfWeighted // per context: (term, normalised weight)
	docTerm [][]int32      // per doc: its distinct counted terms
	termDoc [][]int32      // per term: the docs holding it

	pool  sync.Pool // *[]float32 score buffers of len(terms)
	mu    sync.Mutex
	cache map[string][]string
}

type cfWeighted struct {
	id int32
	w  float32
}

// CorpusOption tunes NewCorpusNeighbours.
type CorpusOption func(*corpusConfig)

type corpusConfig struct {
	window, minCount, topContexts, minDF, proposeDF, workers int
	minSim                                                   float64
}

// CorpusWorkers sets the tokenising goroutines (default GOMAXPROCS).
func CorpusWorkers(n int) CorpusOption { return func(c *corpusConfig) { c.workers = n } }

// cfMinContexts is how many contexts a word needs before it is proposed,
// and cfMinSourceContexts before its neighbours are trusted: with fewer,
// similarity rests on one or two shared words (SciFact: "estrogens", with 3
// contexts, has "abrogated" and "posttraumatic" as its nearest words).
const (
	cfMinContexts       = 8
	cfMinSourceContexts = 12
)

// cfNeighbourCache is how many neighbours are computed and cached per word.
const cfNeighbourCache = 16

// NewCorpusNeighbours counts co-occurrences over docs (SciFact's 5,183
// abstracts take well under a second on two cores).
func NewCorpusNeighbours(docs []string, opts ...CorpusOption) *CorpusNeighbours {
	// Settings measured on SciFact:
	//   window 2: following content words that count as co-occurring; narrow
	//     windows capture substitutability ("mortality" → "deaths"; window 4
	//     gave "mortality" → "births");
	//   minCount 2: a single co-occurrence is noise at this size;
	//   topContexts 256: contexts kept per word (64 gave "insulin" → "clamp"
	//     instead of "glucose");
	//   minDF 2: keeps typos and one-off tokens out;
	//   proposeDF 5: PPMI over a few thousand documents over-rates rare words,
	//     and a rare replacement reads as an obvious edit;
	//   minSim 0.10: below it "neighbours" are noise, and a type that finds
	//     none is skipped rather than filled with a random word.
	cfg := corpusConfig{window: 2, minCount: 2, topContexts: 256, minDF: 2, proposeDF: 5, minSim: 0.10, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.window, cfg.minCount, cfg.topContexts = max(cfg.window, 1), max(cfg.minCount, 1), max(cfg.topContexts, 1)
	cfg.minDF, cfg.workers = max(cfg.minDF, 1), max(cfg.workers, 1)

	c := &CorpusNeighbours{ids: map[string]int32{}, docs: len(docs), minDF: cfg.minDF, proposeDF: max(cfg.proposeDF, cfg.minDF),
		minSim: float32(cfg.minSim), cache: map[string][]string{}}
	words := cfContentWords(docs, cfg.workers)
	seqs := c.intern(words)
	counts := cfCountPairs(seqs, c.df, cfg)
	c.weigh(counts, cfg)
	c.indexDocs(seqs)
	n := len(c.terms)
	c.pool.New = func() any { b := make([]float32, n); return &b }
	return c
}

// cfContentWords tokenises docs in parallel into lowercased content words,
// with "" marking a sentence end (windows do not cross sentences).
func cfContentWords(docs []string, workers int) [][]string {
	out := make([][]string, len(docs))
	var wg sync.WaitGroup
	chunk := (len(docs) + workers - 1) / max(workers, 1)
	for lo := 0; lo < len(docs); lo += chunk {
		hi := min(lo+chunk, len(docs))
		wg.Go(func() {
			for d := lo; d < hi; d++ {
				sents := cfSentences(docs[d])
				toks := cfTokenize(docs[d], sents)
				seq := make([]string, 0, len(toks)+len(sents))
				last := 0
				for _, t := range toks {
					if t.sent != last {
						seq, last = append(seq, ""), t.sent
					}
					if cfIsContent(t) {
						seq = append(seq, t.lower)
					}
				}
				out[d] = seq
			}
		})
	}
	wg.Wait()
	return out
}

// intern assigns term ids in first-seen order and counts document
// frequencies; it returns the docs as id sequences (-1 = sentence end).
func (c *CorpusNeighbours) intern(words [][]string) [][]int32 {
	seqs := make([][]int32, len(words))
	var lastDoc []int32
	for d, ws := range words {
		seq := make([]int32, len(ws))
		for i, w := range ws {
			if w == "" {
				seq[i] = -1
				continue
			}
			id, ok := c.ids[w]
			if !ok {
				id = int32(len(c.terms))
				c.ids[w] = id
				c.terms = append(c.terms, w)
				c.df = append(c.df, 0)
				lastDoc = append(lastDoc, -1)
			}
			if lastDoc[id] != int32(d) {
				lastDoc[id] = int32(d)
				c.df[id]++
			}
			seq[i] = id
		}
		seqs[d] = seq
	}
	return seqs
}

// cfPairCount is one unordered word pair (lo < hi) and its count.
type cfPairCount struct {
	lo, hi int32
	n      int32
}

// cfCountPairs counts unordered co-occurrences within the window. Each
// worker packs its docs' pairs into uint64 keys, sorts and run-length
// encodes them (far smaller and faster than a map at a few million pairs);
// the sorted runs are then merged, so the result does not depend on the
// number of workers.
func cfCountPairs(seqs [][]int32, df []int32, cfg corpusConfig) []cfPairCount {
	workers := max(min(cfg.workers, len(seqs)), 1)
	runs := make([][]cfPairCount, workers)
	chunk := (len(seqs) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := min(w*chunk, len(seqs)), min((w+1)*chunk, len(seqs))
		wg.Go(func() { runs[w] = cfChunkPairs(seqs[lo:hi], df, cfg) })
	}
	wg.Wait()
	merged := runs[0]
	for _, r := range runs[1:] {
		merged = cfMergeCounts(merged, r)
	}
	out := merged[:0]
	for _, p := range merged {
		if int(p.n) >= cfg.minCount {
			out = append(out, p)
		}
	}
	return out
}

func cfChunkPairs(seqs [][]int32, df []int32, cfg corpusConfig) []cfPairCount {
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	keys := make([]uint64, 0, n*cfg.window)
	kept := make([]int32, 0, 256)
	for _, seq := range seqs {
		kept = kept[:0]
		for _, id := range seq {
			if id >= 0 && df[id] < int32(cfg.minDF) {
				continue
			}
			kept = append(kept, id)
		}
		for i, a := range kept {
			if a < 0 {
				continue
			}
			for j := i + 1; j < len(kept) && j <= i+cfg.window; j++ {
				b := kept[j]
				if b < 0 {
					break
				}
				if a == b {
					continue
				}
				keys = append(keys, uint64(min(a, b))<<32|uint64(max(a, b)))
			}
		}
	}
	slices.Sort(keys)
	runs := 0
	for i := range keys {
		if i == 0 || keys[i] != keys[i-1] {
			runs++
		}
	}
	out := make([]cfPairCount, 0, runs)
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		out = append(out, cfPairCount{lo: int32(keys[i] >> 32), hi: int32(uint32(keys[i])), n: int32(j - i)})
		i = j
	}
	return out
}

// cfMergeCounts merges two key-sorted count lists, adding equal keys.
func cfMergeCounts(a, b []cfPairCount) []cfPairCount {
	out := make([]cfPairCount, 0, len(a)+len(b))
	less := func(x, y cfPairCount) bool { return x.lo < y.lo || x.lo == y.lo && x.hi < y.hi }
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case less(a[i], b[j]):
			out = append(out, a[i])
			i++
		case less(b[j], a[i]):
			out = append(out, b[j])
			j++
		default:
			out = append(out, cfPairCount{a[i].lo, a[i].hi, a[i].n + b[j].n})
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// weigh turns pair counts into PPMI context lists, normalised vectors and
// the inverted context → term postings Neighbours scans.
func (c *CorpusNeighbours) weigh(counts []cfPairCount, cfg corpusConfig) {
	n := len(c.terms)
	marg := make([]float64, n)
	for _, p := range counts {
		marg[p.lo] += float64(p.n)
		marg[p.hi] += float64(p.n)
	}
	smooth := make([]float64, n)
	var sumSmooth float64
	for i, m := range marg {
		smooth[i] = math.Pow(m, 0.75)
		sumSmooth += smooth[i]
	}
	lists := make([][]cfWeighted, n)
	add := func(w, ctx int32, cnt float64) {
		if pmi := math.Log(cnt * sumSmooth / (marg[w] * smooth[ctx])); pmi > 0 {
			lists[w] = append(lists[w], cfWeighted{ctx, float32(pmi)})
		}
	}
	for _, p := range counts {
		add(p.lo, p.hi, float64(p.n))
		add(p.hi, p.lo, float64(p.n))
	}
	c.vec = make([][]cfWeighted, n)
	c.post = make([][]cfWeighted, n)
	for w, l := range lists {
		slices.SortFunc(l, func(a, b cfWeighted) int {
			if a.w != b.w {
				return cmp.Compare(b.w, a.w)
			}
			return cmp.Compare(a.id, b.id)
		})
		l = l[:min(len(l), cfg.topContexts)]
		var ss float64
		for _, e := range l {
			ss += float64(e.w) * float64(e.w)
		}
		if ss == 0 {
			continue
		}
		inv := 1 / math.Sqrt(ss)
		v := make([]cfWeighted, len(l))
		for i, e := range l {
			v[i] = cfWeighted{e.id, float32(float64(e.w) * inv)}
			c.post[e.id] = append(c.post[e.id], cfWeighted{int32(w), v[i].w})
		}
		c.vec[w] = v
	}
}

// Terms is the number of distinct content words seen.
func (c *CorpusNeighbours) Terms() int { return len(c.terms) }

// IDF is the smoothed inverse document frequency of a lowercased word;
// unseen words get the highest value (they are the most specific).
func (c *CorpusNeighbours) IDF(word string) float64 {
	df := 0
	if id, ok := c.ids[word]; ok {
		df = int(c.df[id])
	}
	return math.Log(float64(c.docs+1)/float64(df+1)) + 1
}

// usable reports whether term id may be proposed as a replacement for word.
func (c *CorpusNeighbours) usable(id int32, word string) bool {
	t := c.terms[id]
	return int(c.df[id]) >= c.proposeDF && len(c.vec[id]) >= cfMinContexts && cfWordish(t) && !cfRelatedForm(t, word)
}

// Neighbours returns up to k words used in the most similar contexts to
// word (lowercased), most similar first. Forms of word itself are excluded.
func (c *CorpusNeighbours) Neighbours(word string, k int) []string {
	if k <= 0 {
		return nil
	}
	if k <= cfNeighbourCache {
		c.mu.Lock()
		got, ok := c.cache[word]
		c.mu.Unlock()
		if ok {
			return slices.Clone(got[:min(k, len(got))])
		}
	}
	id, ok := c.ids[word]
	if !ok || len(c.vec[id]) < cfMinSourceContexts {
		return nil
	}
	buf := c.pool.Get().(*[]float32)
	defer c.pool.Put(buf)
	score := *buf
	var touched []int32
	for _, q := range c.vec[id] {
		for _, d := range c.post[q.id] {
			if score[d.id] == 0 {
				touched = append(touched, d.id)
			}
			score[d.id] += q.w * d.w
		}
	}
	cands := make([]scoredTerm, 0, len(touched))
	for _, t := range touched {
		if t != id && score[t] >= c.minSim && c.usable(t, word) {
			cands = append(cands, scoredTerm{t, float64(score[t])})
		}
		score[t] = 0
	}
	return c.rankAndCache(cands, word, k)
}

// indexDocs records which counted terms each document holds, for
// Associates.
func (c *CorpusNeighbours) indexDocs(seqs [][]int32) {
	c.docTerm = make([][]int32, len(seqs))
	c.termDoc = make([][]int32, len(c.terms))
	seen := make([]int32, len(c.terms))
	for i := range seen {
		seen[i] = -1
	}
	for d, seq := range seqs {
		for _, id := range seq {
			if id < 0 || int(c.df[id]) < c.minDF || seen[id] == int32(d) {
				continue
			}
			seen[id] = int32(d)
			c.docTerm[d] = append(c.docTerm[d], id)
			c.termDoc[id] = append(c.termDoc[id], int32(d))
		}
	}
}

// cfMinJointDocs is how many documents a word and an associate must share.
const cfMinJointDocs = 3

// Associates returns up to k words that share documents with word
// (lowercased) the most, by Ochiai coefficient |A∩B|/√(|A||B|), which
// unlike PMI does not reward rare words for a single shared document.
func (c *CorpusNeighbours) Associates(word string, k int) []string {
	if k <= 0 {
		return nil
	}
	key := "\x00a:" + word // "\x00" keeps associate keys apart from neighbour keys
	if k <= cfNeighbourCache {
		c.mu.Lock()
		got, ok := c.cache[key]
		c.mu.Unlock()
		if ok {
			return slices.Clone(got[:min(k, len(got))])
		}
	}
	id, ok := c.ids[word]
	if !ok || len(c.termDoc[id]) < cfMinJointDocs {
		return nil
	}
	buf := c.pool.Get().(*[]float32)
	defer c.pool.Put(buf)
	joint := *buf // counts of shared documents, as exact small integers
	var touched []int32
	for _, d := range c.termDoc[id] {
		for _, t := range c.docTerm[d] {
			if joint[t] == 0 {
				touched = append(touched, t)
			}
			joint[t]++
		}
	}
	var cands []scoredTerm
	for _, t := range touched {
		if n := joint[t]; t != id && n >= cfMinJointDocs && c.usable(t, word) {
			cands = append(cands, scoredTerm{t, float64(n) / math.Sqrt(float64(len(c.termDoc[id]))*float64(len(c.termDoc[t])))})
		}
		joint[t] = 0
	}
	return c.rankAndCache(cands, key, k)
}

// scoredTerm is a candidate related term and its score.
type scoredTerm struct {
	id int32
	s  float64
}

// rankAndCache orders candidates by score (ties by term), keeps enough of
// them to serve any k up to the cache size, caches that list under key and
// returns the top k.
func (c *CorpusNeighbours) rankAndCache(cands []scoredTerm, key string, k int) []string {
	slices.SortFunc(cands, func(a, b scoredTerm) int {
		if a.s != b.s {
			return cmp.Compare(b.s, a.s)
		}
		return cmp.Compare(c.terms[a.id], c.terms[b.id])
	})
	want := max(k, cfNeighbourCache)
	out := make([]string, 0, min(want, len(cands)))
	for _, x := range cands[:min(want, len(cands))] {
		out = append(out, c.terms[x.id])
	}
	if k <= cfNeighbourCache {
		c.mu.Lock()
		c.cache[key] = out
		c.mu.Unlock()
	}
	return slices.Clone(out[:min(k, len(out))])
}
