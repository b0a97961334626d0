package index

import (
	"math/rand/v2"
	"testing"

	"retune/dataset"
	"retune/eval"
	"retune/internal/testenv"
)

// sciFact is the shared SciFact corpus and test split.
type sciFact struct {
	ids, texts []string
	queries    []dataset.Query
	qrels      eval.Qrels
}

// loadSciFact returns SciFact's corpus and test split, or skips when the
// shared data is absent. Documents are indexed as title + " " + text,
// BEIR's convention.
func loadSciFact(tb testing.TB) *sciFact {
	tb.Helper()
	b := testenv.SciFact(tb, "test")
	s := &sciFact{}
	for _, d := range b.Corpus {
		s.ids = append(s.ids, d.ID)
		s.texts = append(s.texts, d.Content())
	}
	var err error
	if s.queries, s.qrels, err = b.Split("test"); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestBM25SciFact checks retrieval quality against the published plain-BM25
// figure (nDCG@10 ≈ 0.660; this analyser gives 0.6635). The bound leaves
// room for analyser changes but catches a broken formula: a BM25 without
// idf or length normalisation falls well below it.
func TestBM25SciFact(t *testing.T) {
	s := loadSciFact(t)
	ix, err := NewBM25(s.ids, s.texts)
	if err != nil {
		t.Fatal(err)
	}
	run := make(eval.Run, len(s.queries))
	for _, q := range s.queries {
		run[q.ID] = ix.Search(q.Text, 100)
	}
	if missing := eval.MissingQueries(s.qrels, run); len(missing) > 0 {
		t.Fatalf("queries without a run: %v", missing)
	}
	mean, _ := eval.Evaluate(s.qrels, run, []int{10, 100})
	ndcg := mean[eval.NDCG(10)]
	t.Logf("SciFact test BM25 (k1=%.1f b=%.1f, %d queries): nDCG@10 = %.4f, recall@100 = %.4f",
		DefaultK1, DefaultB, len(s.queries), ndcg, mean[eval.Recall(100)])
	if ndcg < 0.62 || ndcg > 0.70 {
		t.Errorf("nDCG@10 = %.4f, want about 0.65-0.67 (accepting [0.62, 0.70])", ndcg)
	}
}

// BenchmarkBuildBM25SciFact is the cost LoadCollection pays instead of
// reading a persisted index.
func BenchmarkBuildBM25SciFact(b *testing.B) {
	s := loadSciFact(b)
	for b.Loop() {
		if _, err := NewBM25(s.ids, s.texts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBM25SciFact is one top-10 query, cycling through the 300 test
// claims.
func BenchmarkBM25SciFact(b *testing.B) {
	s := loadSciFact(b)
	ix, err := NewBM25(s.ids, s.texts)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		ix.Search(s.queries[i%len(s.queries)].Text, 10)
		i++
	}
}

// BenchmarkHybrid is one top-10 hybrid query over SciFact's texts with
// random 100-d vectors (dense cost depends only on the shape): two
// depth-100 retrievals, fusion and hit assembly. Dense and BM25 alone are
// shown for comparison.
func BenchmarkHybrid(b *testing.B) {
	s := loadSciFact(b)
	const dim = 100
	r := rand.New(rand.NewPCG(1, 2))
	randVec := func() []float32 {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		return v
	}
	vecs := make([][]float32, len(s.ids))
	for i := range vecs {
		vecs[i] = randVec()
	}
	c, err := NewCollection(s.ids, s.texts, vecs)
	if err != nil {
		b.Fatal(err)
	}
	qvecs := make([][]float32, len(s.queries))
	for i := range qvecs {
		qvecs[i] = randVec()
	}
	for _, bc := range []struct {
		name   string
		mode   Mode
		fusion Fusion
	}{
		{"dense", ModeDense, ""},
		{"bm25", ModeBM25, ""},
		{"hybrid-rrf", ModeHybrid, FusionRRF},
		{"hybrid-score", ModeHybrid, FusionScore},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				j := i % len(s.queries)
				if _, err := c.Search(Query{Text: s.queries[j].Text, Vec: qvecs[j], K: 10, Mode: bc.mode, Fusion: bc.fusion}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
