package index

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// smallCollection: four documents in 2-d, so cosines with the query (1, 0)
// are a 1, b 0.8, c 0, d −1. BM25 "cherry" matches b and c, both of length
// 2 = avgdl, with equal scores (b first by id).
func smallCollection(t testing.TB) *Collection {
	t.Helper()
	c, err := NewCollection(
		[]string{"a", "b", "c", "d"},
		[]string{"apple banana", "banana cherry", "cherry date", "elder fig"},
		[][]float32{{2, 0}, {0.8, 0.6}, {0, 3}, {-1, 0}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hitSummary is the comparable part of a Hit, with absent scores as NaN.
type hitSummary struct {
	ID                           string
	Score, DenseScore, BM25Score float64
	DenseRank, BM25Rank          int
}

func summarize(h Hit) hitSummary {
	s := hitSummary{ID: h.ID, Score: h.Score, DenseScore: math.NaN(), BM25Score: math.NaN(), DenseRank: h.DenseRank, BM25Rank: h.BM25Rank}
	if h.DenseScore != nil {
		s.DenseScore = *h.DenseScore
	}
	if h.BM25Score != nil {
		s.BM25Score = *h.BM25Score
	}
	return s
}

// sameScore compares to 1e-6: dense scores are float32 cosines.
func sameScore(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-6
}

func TestCollectionSearch(t *testing.T) {
	c := smallCollection(t)
	nan := math.NaN()
	// BM25 of "cherry" in b and c: N = 4, df = 2, idf = ln(1 + 2.5/2.5) =
	// ln 2; |d| = avgdl so norm = k1 = 0.9; score = ln2·1.9/1.9 = ln 2.
	ln2 := math.Ln2
	tests := []struct {
		name string
		q    Query
		want []hitSummary
	}{
		{
			name: "dense scores are cosines", q: Query{Vec: []float32{5, 0}, K: 3, Mode: ModeDense},
			want: []hitSummary{
				{"a", 1, 1, nan, 1, 0},
				{"b", 0.8, 0.8, nan, 2, 0},
				{"c", 0, 0, nan, 3, 0},
			},
		},
		{
			name: "bm25", q: Query{Text: "Cherry!", K: 10, Mode: ModeBM25},
			want: []hitSummary{
				{"b", ln2, nan, ln2, 0, 1},
				{"c", ln2, nan, ln2, 0, 2},
			},
		},
		{
			// Dense ranks a1 b2 c3 d4, BM25 ranks b1 c2:
			// b 1/62 + 1/61, c 1/63 + 1/62, a 1/61, d 1/64.
			name: "hybrid rrf", q: Query{Text: "cherry", Vec: []float32{1, 0}, K: 4, Mode: ModeHybrid},
			want: []hitSummary{
				{"b", 1.0/62 + 1.0/61, 0.8, ln2, 2, 1},
				{"c", 1.0/63 + 1.0/62, 0, ln2, 3, 2},
				{"a", 1.0 / 61, 1, nan, 1, 0},
				{"d", 1.0 / 64, -1, nan, 4, 0},
			},
		},
		{
			// rrf_k = 10: b 1/12 + 1/11, c 1/13 + 1/12, a 1/11, d 1/14.
			name: "hybrid rrf_k", q: Query{Text: "cherry", Vec: []float32{1, 0}, K: 2, Mode: ModeHybrid, Fusion: FusionRRF, RRFK: 10},
			want: []hitSummary{
				{"b", 1.0/12 + 1.0/11, 0.8, ln2, 2, 1},
				{"c", 1.0/13 + 1.0/12, 0, ln2, 3, 2},
			},
		},
		{
			// Dense min-max over [−1, 1]: a 1, b 0.9, c 0.5, d 0. BM25: b
			// and c tie, so both normalise to 1. alpha 0.5:
			// b 0.45 + 0.5, c 0.25 + 0.5, a 0.5, d 0.
			name: "hybrid score", q: Query{Text: "cherry", Vec: []float32{1, 0}, K: 4, Mode: ModeHybrid, Fusion: FusionScore},
			want: []hitSummary{
				{"b", 0.95, 0.8, ln2, 2, 1},
				{"c", 0.75, 0, ln2, 3, 2},
				{"a", 0.5, 1, nan, 1, 0},
				{"d", 0, -1, nan, 4, 0},
			},
		},
		{
			// alpha 1 is pure dense over the union: a 1, b 0.9, c 0.5, d 0.
			name: "hybrid score alpha=1", q: Query{Text: "cherry", Vec: []float32{1, 0}, K: 4, Mode: ModeHybrid, Fusion: FusionScore, Alpha: 1},
			want: []hitSummary{
				{"a", 1, 1, nan, 1, 0},
				{"b", 0.9, 0.8, ln2, 2, 1},
				{"c", 0.5, 0, ln2, 3, 2},
				{"d", 0, -1, nan, 4, 0},
			},
		},
		{
			// No indexed term: hybrid degrades to the dense list's RRF.
			name: "hybrid without lexical match", q: Query{Text: "the zzz", Vec: []float32{0, 1}, K: 2, Mode: ModeHybrid},
			want: []hitSummary{
				{"c", 1.0 / 61, 1, nan, 1, 0},
				{"b", 1.0 / 62, 0.6, nan, 2, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := c.Search(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != len(tt.want) {
				t.Fatalf("got %d hits, want %d: %+v", len(hits), len(tt.want), hits)
			}
			for i, w := range tt.want {
				g := summarize(hits[i])
				if g.ID != w.ID || g.DenseRank != w.DenseRank || g.BM25Rank != w.BM25Rank ||
					!sameScore(g.Score, w.Score) || !sameScore(g.DenseScore, w.DenseScore) || !sameScore(g.BM25Score, w.BM25Score) {
					t.Errorf("hit %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestCollectionHitText(t *testing.T) {
	c := smallCollection(t)
	hits, err := c.Search(Query{Text: "fig", K: 1, Mode: ModeBM25})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != "d" || hits[0].Text != "elder fig" {
		t.Errorf("hits = %+v", hits)
	}
}

func TestCollectionNoLexicalMatchIsEmptyNotError(t *testing.T) {
	c := smallCollection(t)
	hits, err := c.Search(Query{Text: "kiwi", K: 5, Mode: ModeBM25})
	if err != nil {
		t.Fatal(err)
	}
	// Non-nil so that the API encodes [] rather than null.
	if hits == nil || len(hits) != 0 {
		t.Errorf("hits = %#v, want an empty non-nil slice", hits)
	}
}

// A query whose vector is zero (its words unknown to the encoder) has no
// dense candidates: a dense search returns no hits (not nil, not an error)
// and a hybrid one ranks by BM25 alone, in a batch beside ordinary queries.
func TestCollectionHybridZeroVectorIsLexical(t *testing.T) {
	c := smallCollection(t)
	res, err := c.SearchBatch([]Query{
		{Vec: []float32{0, 0}, K: 2, Mode: ModeDense},
		{Vec: []float32{1, 0}, K: 2, Mode: ModeDense},
	})
	if err != nil || res[0] == nil || len(res[0]) != 0 || len(res[1]) != 2 {
		t.Fatalf("dense batch with a zero vector: %v, %v", res, err)
	}
	ln2 := math.Log(2)
	for _, fusion := range []Fusion{FusionRRF, FusionScore} {
		t.Run(string(fusion), func(t *testing.T) {
			res, err := c.SearchBatch([]Query{
				{Text: "cherry", Vec: []float32{1, 0}, K: 4, Mode: ModeHybrid, Fusion: fusion},
				{Text: "cherry", Vec: []float32{0, 0}, K: 4, Mode: ModeHybrid, Fusion: fusion},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res[0] {
				if len(res[0]) != 4 || h.DenseRank == 0 {
					t.Errorf("ordinary query: hit %+v, want all four with a dense rank", h)
				}
			}
			want := 1 / float64(DefaultRRFK+1)
			if fusion == FusionScore {
				want = 1 // b and c tie: both normalise to 1, and BM25 ranks alone
			}
			got := make([]hitSummary, len(res[1]))
			for i, h := range res[1] {
				got[i] = summarize(h)
			}
			if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" {
				t.Fatalf("zero-vector query: %+v, want b, c from BM25", got)
			}
			for i, h := range got {
				if h.DenseRank != 0 || !math.IsNaN(h.DenseScore) || h.BM25Rank != i+1 || !sameScore(h.BM25Score, ln2) {
					t.Errorf("hit %d = %+v: want BM25 rank %d, score ln 2, no dense part", i, h, i+1)
				}
			}
			if !sameScore(got[0].Score, want) {
				t.Errorf("fused score %v, want %v", got[0].Score, want)
			}
		})
	}
}

// A document whose vector is zero (no token the encoder knows) is left
// out of dense ranking but found by BM25, alone and in hybrid, also after
// a save and load.
func TestCollectionZeroVectorDocumentIsLexicalOnly(t *testing.T) {
	c, err := NewCollection([]string{"a", "n", "z"}, []string{"apple banana", "2019 report", "cherry date"},
		[][]float32{{1, 0}, {0, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Save(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCollection(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Collection{"built": c, "loaded": loaded} {
		res, err := c.SearchBatch([]Query{
			{Vec: []float32{1, 0.1}, K: 10, Mode: ModeDense},
			{Text: "2019", K: 10, Mode: ModeBM25},
			{Text: "2019", Vec: []float32{1, 0.1}, K: 10, Mode: ModeHybrid, Fusion: FusionRRF},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids := func(hs []Hit) (out []string) {
			for _, h := range hs {
				out = append(out, h.ID)
			}
			return out
		}
		if got := ids(res[0]); !slices.Equal(got, []string{"a", "z"}) {
			t.Errorf("%s: dense hits %v, want a, z", name, got)
		}
		if got := ids(res[1]); !slices.Equal(got, []string{"n"}) || res[1][0].Text != "2019 report" {
			t.Errorf("%s: BM25 hits %+v, want n", name, res[1])
		}
		if got := ids(res[2]); !slices.Contains(got, "n") || len(got) != 3 {
			t.Errorf("%s: hybrid hits %v, want all three with n from BM25", name, got)
		}
		if c.Len() != 3 {
			t.Errorf("%s: Len %d, want 3", name, c.Len())
		}
	}
}

func TestCollectionSearchValidation(t *testing.T) {
	c := smallCollection(t)
	vec := []float32{1, 0}
	tests := []struct {
		name string
		q    Query
		want string // in the error message
	}{
		{"k zero", Query{Vec: vec, K: 0, Mode: ModeDense}, "k=0"},
		{"k negative", Query{Vec: vec, K: -3, Mode: ModeDense}, "k=-3"},
		{"k above max", Query{Vec: vec, K: MaxK + 1, Mode: ModeDense}, "k=1001"},
		{"mode empty", Query{Vec: vec, K: 1}, `mode ""`},
		{"mode unknown", Query{Vec: vec, K: 1, Mode: "sparse"}, `mode "sparse"`},
		{"fusion unknown", Query{Text: "x", Vec: vec, K: 1, Mode: ModeHybrid, Fusion: "max"}, `fusion "max"`},
		{"alpha negative", Query{Text: "x", Vec: vec, K: 1, Mode: ModeHybrid, Fusion: FusionScore, Alpha: -0.1}, "alpha"},
		{"alpha above 1", Query{Text: "x", Vec: vec, K: 1, Mode: ModeHybrid, Fusion: FusionScore, Alpha: 1.5}, "alpha"},
		{"alpha NaN", Query{Text: "x", Vec: vec, K: 1, Mode: ModeHybrid, Alpha: math.NaN()}, "alpha"},
		{"rrf_k negative", Query{Text: "x", Vec: vec, K: 1, Mode: ModeHybrid, RRFK: -1}, "rrf_k"},
		{"bm25 empty text", Query{Text: "", K: 1, Mode: ModeBM25}, "text is empty"},
		{"bm25 blank text", Query{Text: " \t\n", K: 1, Mode: ModeBM25}, "text is empty"},
		{"hybrid empty text", Query{Vec: vec, K: 1, Mode: ModeHybrid}, "text is empty"},
		{"dense no vector", Query{K: 1, Mode: ModeDense}, "dim 0"},
		{"dense wrong dim", Query{Vec: []float32{1, 0, 0}, K: 1, Mode: ModeDense}, "dim 3"},
		{"dense NaN", Query{Vec: []float32{float32(math.NaN()), 1}, K: 1, Mode: ModeDense}, "non-finite"},
		{"dense Inf", Query{Vec: []float32{float32(math.Inf(1)), 1}, K: 1, Mode: ModeDense}, "non-finite"},
		{"hybrid no vector", Query{Text: "x", K: 1, Mode: ModeHybrid}, "dim 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := c.Search(tt.q)
			if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidQuery mentioning %q", err, tt.want)
			}
			if hits != nil {
				t.Errorf("hits = %v alongside an error", hits)
			}
		})
	}
}

func TestCollectionSearchAcceptsBounds(t *testing.T) {
	c := smallCollection(t)
	for _, q := range []Query{
		{Vec: []float32{1, 0}, K: 1, Mode: ModeDense},
		{Vec: []float32{1, 0}, K: MaxK, Mode: ModeDense},                   // clipped to Len
		{Text: "banana", K: MaxK, Mode: ModeBM25, Vec: []float32{1, 2, 3}}, // Vec ignored in bm25
		{Text: "banana", Vec: []float32{1, 0}, K: 1, Mode: ModeHybrid, Fusion: FusionScore, Alpha: 1},
		{Text: "", Vec: []float32{1, 0}, K: 2, Mode: ModeDense}, // Text ignored in dense
	} {
		hits, err := c.Search(q)
		if err != nil {
			t.Errorf("%+v: %v", q, err)
			continue
		}
		if want := min(q.K, c.Len()); q.Mode != ModeBM25 && len(hits) != want {
			t.Errorf("%+v: %d hits, want %d", q, len(hits), want)
		}
	}
}

// unionCollection has 300 documents whose dense rank for the query (1, 0)
// is their number (angles increase with it) and of which only doc-250..259
// contain "zebra", so the dense top 100 and the BM25 list are disjoint.
func unionCollection(t testing.TB) *Collection {
	t.Helper()
	const n = 300
	ids := make([]string, n)
	texts := make([]string, n)
	vecs := make([][]float32, n)
	for i := range n {
		ids[i] = fmt.Sprintf("doc-%03d", i)
		texts[i] = fmt.Sprintf("filler words number %d", i)
		if i >= 250 && i < 260 {
			texts[i] = "zebra stripes"
		}
		theta := float64(i) * math.Pi / 400
		vecs[i] = []float32{float32(math.Cos(theta)), float32(math.Sin(theta))}
	}
	c, err := NewCollection(ids, texts, vecs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHybridReturnsUnionOfCandidates(t *testing.T) {
	c := unionCollection(t)
	seq := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("%s%03d", prefix, i))
		}
		return out
	}
	tests := []struct {
		fusion Fusion
		top10  []string
	}{
		// RRF: doc-n of the dense list scores 1/(61+n), the r-th zebra doc
		// 1/(60+r), so they interleave, ties going to the smaller id.
		{FusionRRF, []string{"doc-000", "doc-250", "doc-001", "doc-251", "doc-002", "doc-252", "doc-003", "doc-253", "doc-004", "doc-254"}},
		// Score fusion: the zebra docs tie in BM25 and all normalise to 1,
		// scoring 0.5 like doc-000 (dense max); every other dense doc is
		// below 0.5.
		{FusionScore, append([]string{"doc-000"}, seq("doc-", 250, 259)...)},
	}
	for _, tt := range tests {
		t.Run(string(tt.fusion), func(t *testing.T) {
			hits, err := c.Search(Query{Text: "zebra", Vec: []float32{1, 0}, K: 10, Mode: ModeHybrid, Fusion: tt.fusion})
			if err != nil {
				t.Fatal(err)
			}
			if got := hitIDs(hits); !slices.Equal(got, tt.top10) {
				t.Errorf("top 10 = %v, want %v", got, tt.top10)
			}

			// K=100: depth max(100, HybridDepth) = 100 from each list,
			// so the candidates are doc-000..099 (dense) ∪ doc-250..259
			// (BM25), 110 in all; under both fusions the 10 dropped are
			// the dense ranks 91..100.
			hits, err = c.Search(Query{Text: "zebra", Vec: []float32{1, 0}, K: 100, Mode: ModeHybrid, Fusion: tt.fusion})
			if err != nil {
				t.Fatal(err)
			}
			checkFusedOrder(t, hits)
			got := slices.Sorted(slices.Values(hitIDs(hits)))
			if want := append(seq("doc-", 0, 90), seq("doc-", 250, 260)...); !slices.Equal(got, want) {
				t.Errorf("top 100 = %v, want %v", got, want)
			}
			for _, h := range hits {
				var n int
				if _, err := fmt.Sscanf(h.ID, "doc-%d", &n); err != nil {
					t.Fatal(err)
				}
				if n < 100 && (h.DenseRank != n+1 || h.DenseScore == nil || h.BM25Rank != 0 || h.BM25Score != nil) {
					t.Errorf("%s: dense-only candidate has %+v", h.ID, summarize(h))
				}
				if n >= 250 && (h.BM25Rank != n-249 || h.BM25Score == nil || h.DenseRank != 0 || h.DenseScore != nil) {
					t.Errorf("%s: bm25-only candidate has %+v", h.ID, summarize(h))
				}
			}
		})
	}
}

func hitIDs(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// checkFusedOrder asserts scores are non-increasing with ties by id.
func checkFusedOrder(t *testing.T, hits []Hit) {
	t.Helper()
	for i := 1; i < len(hits); i++ {
		a, b := hits[i-1], hits[i]
		if a.Score < b.Score || (a.Score == b.Score && a.ID > b.ID) {
			t.Errorf("hits %d and %d out of order: %s %v, %s %v", i-1, i, a.ID, a.Score, b.ID, b.Score)
		}
	}
}

func TestNewCollectionErrors(t *testing.T) {
	tests := []struct {
		name  string
		ids   []string
		texts []string
		vecs  [][]float32
		want  string
	}{
		{"no documents", nil, nil, nil, "no documents"},
		{"vector count", []string{"a", "b"}, []string{"x", "y"}, [][]float32{{1}}, "2 ids but 1 vectors"},
		{"text count", []string{"a", "b"}, []string{"x"}, [][]float32{{1}, {1}}, "2 ids but 1 texts"},
		{"ragged vectors", []string{"a", "b"}, []string{"x", "y"}, [][]float32{{1, 0}, {1}}, "vector 1 has dim 1"},
		{"empty vectors", []string{"a"}, []string{"x"}, [][]float32{{}}, "empty"},
		{"duplicate id", []string{"a", "a"}, []string{"x", "y"}, [][]float32{{1}, {1}}, "duplicate id"},
		{"NaN vector", []string{"a"}, []string{"x"}, [][]float32{{float32(math.NaN())}}, "non-finite"},
		{"only zero vectors", []string{"a", "b"}, []string{"x", "y"}, [][]float32{{0, 0}, {0, 0}}, "every one of the 2 vectors is zero"},
		{"invalid UTF-8", []string{"a"}, []string{"ok \xff"}, [][]float32{{1}}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCollection(tt.ids, tt.texts, tt.vecs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := NewCollection([]string{"a"}, []string{"x"}, [][]float32{{1}}, WithB(2)); err == nil {
		t.Error("invalid BM25 option accepted")
	}
}

func TestNewCollectionCopiesInputs(t *testing.T) {
	ids := []string{"a", "b"}
	texts := []string{"apple", "banana"}
	vecs := [][]float32{{1, 0}, {0, 1}}
	c, err := NewCollection(ids, texts, vecs)
	if err != nil {
		t.Fatal(err)
	}
	ids[0], texts[0], vecs[0][0], vecs[0][1] = "z", "zebra", 0, 1
	hits, err := c.Search(Query{Vec: []float32{1, 0}, K: 1, Mode: ModeDense})
	if err != nil {
		t.Fatal(err)
	}
	if hits[0].ID != "a" || hits[0].Text != "apple" || !sameScore(hits[0].Score, 1) {
		t.Errorf("caller's edits leaked into the collection: %+v", hits[0])
	}
	if !slices.Equal(c.vecs, []float32{1, 0, 0, 1}) {
		t.Errorf("saved vectors changed: %v", c.vecs)
	}
	if c.Len() != 2 || c.Dim() != 2 {
		t.Errorf("Len, Dim = %d, %d", c.Len(), c.Dim())
	}
}

// TestConcurrentSearch runs every mode from many goroutines against one
// collection and compares with sequential answers; under -race it also
// proves the pooled scratch is not shared between queries.
func TestConcurrentSearch(t *testing.T) {
	c := unionCollection(t)
	queries := []Query{
		{Text: "zebra", K: 20, Mode: ModeBM25},
		{Text: "filler number 7", K: 50, Mode: ModeBM25},
		{Vec: []float32{0.3, 0.7}, K: 25, Mode: ModeDense},
		{Text: "zebra words", Vec: []float32{1, 0.2}, K: 30, Mode: ModeHybrid},
		{Text: "number 12 stripes", Vec: []float32{-0.2, 1}, K: 40, Mode: ModeHybrid, Fusion: FusionScore, Alpha: 0.3},
	}
	want := make([][]Hit, len(queries))
	for i, q := range queries {
		hits, err := c.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = hits
	}
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				i := (w + r) % len(queries)
				got, err := c.Search(queries[i])
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Errorf("worker %d round %d query %d: result differs from the sequential one", w, r, i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
