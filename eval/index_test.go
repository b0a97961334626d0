package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNewIndexRejects(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		ids  []string
		vecs [][]float32
		want string
	}{
		{"count mismatch", []string{"a"}, [][]float32{{1}, {1}}, "1 ids but 2 vectors"},
		{"no documents", nil, nil, "no documents"},
		{"zero dim", []string{"a"}, [][]float32{{}}, "is empty"},
		{"dim mismatch", []string{"a", "b"}, [][]float32{{1, 0}, {1}}, `vector 1 (id "b") has dim 1, want 2`},
		{"empty id", []string{"a", ""}, [][]float32{{1}, {1}}, "id 1 is empty"},
		{"duplicate id", []string{"a", "b", "a"}, [][]float32{{1}, {1}, {1}}, `duplicate id "a" at 0 and 2`},
		{"NaN", []string{"a"}, [][]float32{{1, nan}}, "non-finite value at 1"},
		{"zero vector", []string{"a"}, [][]float32{{0, 0}}, "zero norm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIndex(tt.ids, tt.vecs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestIndexNormalisesAndCopies(t *testing.T) {
	vecs := [][]float32{{3, 4}, {0, -2}}
	ix, err := NewIndex([]string{"a", "b"}, vecs)
	if err != nil {
		t.Fatal(err)
	}
	vecs[0][0] = 100 // must not leak into the index
	if ix.Len() != 2 || ix.Dim() != 2 || ix.ID(1) != "b" {
		t.Fatalf("Len, Dim, ID(1) = %d, %d, %q", ix.Len(), ix.Dim(), ix.ID(1))
	}
	// a = (0.6, 0.8), b = (0, -1)
	got := ix.Search([]float32{1, 1}, 2)
	want := []Scored{{"a", 1.4}, {"b", -1}}
	for i := range want {
		if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-6 {
			t.Fatalf("Search = %v, want %v", got, want)
		}
	}
}

func TestSearchTiesAndClipping(t *testing.T) {
	// Identical vectors: every score ties, so the order is by id ascending.
	ids := []string{"c", "a", "d", "b"}
	vecs := [][]float32{{1, 0}, {1, 0}, {1, 0}, {1, 0}}
	ix, err := NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		k    int
		want []string
	}{
		{1, []string{"a"}},
		{2, []string{"a", "b"}},
		{4, []string{"a", "b", "c", "d"}},
		{99, []string{"a", "b", "c", "d"}},
		{0, nil},
		{-1, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range ix.Search([]float32{1, 0}, tt.k) {
			got = append(got, s.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("k=%d: got %v, want %v", tt.k, got, tt.want)
		}
	}
}

// bruteRank is the obvious reference: score everything in float64 and sort.
func bruteRank(ids []string, vecs [][]float32, q []float32) []Scored {
	all := make([]Scored, len(ids))
	for i, v := range vecs {
		var ss, dot float64
		for j := range v {
			ss += float64(v[j]) * float64(v[j])
		}
		for j := range v {
			dot += float64(v[j]) / math.Sqrt(ss) * float64(q[j])
		}
		all[i] = Scored{ids[i], dot}
	}
	slices.SortStableFunc(all, func(a, b Scored) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all
}

// randomCorpus draws vectors with few distinct values so that exact score
// ties (which the heap must order by id) actually occur.
func randomCorpus(r *rand.Rand, n, dim int) ([]string, [][]float32) {
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range ids {
		ids[i] = strconv.Itoa(r.IntN(1_000_000)) + "-" + strconv.Itoa(i)
		v := make([]float32, dim)
		v[r.IntN(dim)] = 1 // never the zero vector
		for j := range v {
			v[j] += float32(r.IntN(3))
		}
		vecs[i] = v
	}
	return ids, vecs
}

func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n, dim := 1+r.IntN(300), 1+r.IntN(8)
		ids, vecs := randomCorpus(r, n, dim)
		ix, err := NewIndex(ids, vecs)
		if err != nil {
			t.Fatal(err)
		}
		q := make([]float32, dim)
		for j := range q {
			q[j] = float32(r.IntN(3) - 1)
		}
		k := 1 + r.IntN(n+5)
		got := ix.Search(q, k)
		all := bruteRank(ids, vecs, q)
		want := all[:min(k, len(all))]
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d results, want %d", trial, len(got), len(want))
		}
		for i := range want {
			// Scores may differ in the last float32 bits, and so may the
			// order of near-ties; require the same score at each rank and
			// identical ids wherever the reference score is unique.
			if math.Abs(got[i].Score-want[i].Score) > 1e-5 {
				t.Fatalf("trial %d rank %d: %v, want %v", trial, i, got[i], want[i])
			}
		}
		for i := range want {
			// Uniqueness is judged on the full ranking: a tie may straddle
			// the cut.
			unique := (i == 0 || all[i-1].Score-all[i].Score > 1e-5) &&
				(i == len(all)-1 || all[i].Score-all[i+1].Score > 1e-5)
			if unique && got[i].ID != want[i].ID {
				t.Fatalf("trial %d rank %d: id %s, want %s", trial, i, got[i].ID, want[i].ID)
			}
			if i > 0 && got[i].Score == got[i-1].Score && got[i-1].ID > got[i].ID {
				t.Fatalf("trial %d rank %d: tie %v before %v, want ids ascending", trial, i, got[i-1], got[i])
			}
		}
		// With k = n the heap keeps everything, so only the final sort
		// decides the order; a smaller k must select exactly its prefix,
		// including which of several tied documents survive the cut.
		if full := ix.Search(q, n); !slices.Equal(got, full[:len(got)]) {
			t.Fatalf("trial %d: Search(k=%d) = %v, not a prefix of Search(k=n) = %v", trial, k, got, full)
		}
	}
}

func TestSearchBatchMatchesSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ids, vecs := randomCorpus(r, 500, 16)
	ix, err := NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	qs := make([][]float32, 37)
	for i := range qs {
		qs[i] = vecs[r.IntN(len(vecs))]
	}
	for _, workers := range []int{0, 1, 3, 100} {
		got := ix.SearchBatch(qs, 7, workers)
		if len(got) != len(qs) {
			t.Fatalf("workers=%d: %d results, want %d", workers, len(got), len(qs))
		}
		for i, q := range qs {
			if want := ix.Search(q, 7); !slices.Equal(got[i], want) {
				t.Fatalf("workers=%d query %d: %v, want %v", workers, i, got[i], want)
			}
		}
	}
	if got := ix.SearchBatch(qs, 0, 2); len(got) != len(qs) || got[0] != nil {
		t.Errorf("k=0: got %v, want %d nil results", got, len(qs))
	}
}

func TestSearchNaNQueryDoesNotPanic(t *testing.T) {
	ix, err := NewIndex([]string{"b", "a"}, [][]float32{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	got := ix.Search([]float32{float32(math.NaN()), 0}, 2)
	if len(got) != 2 || got[0].ID != "a" || !math.IsNaN(got[0].Score) {
		t.Errorf("Search(NaN) = %v, want both docs, NaN scores, ids ascending", got)
	}
}

func TestSearchPanicsOnDimMismatch(t *testing.T) {
	ix, err := NewIndex([]string{"a"}, [][]float32{{1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"Search":      func() { ix.Search([]float32{1}, 1) },
		"SearchBatch": func() { ix.SearchBatch([][]float32{{1, 0}, {1, 0, 0}}, 1, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestWithMatrixMatchesNewIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ids, vecs := tieCorpus(r, 200, 8)
	_, other := tieCorpus(r, 200, 8)
	base, err := NewIndex(ids, vecs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := NewIndex(ids, other)
	if err != nil {
		t.Fatal(err)
	}
	got, err := base.WithMatrix(slices.Concat(other...))
	if err != nil {
		t.Fatal(err)
	}
	before := base.Search(vecs[0], 10)
	for _, q := range tieQueries(r, other, 9)[3:] {
		if g, w := got.Search(q, 10), want.Search(q, 10); !slices.Equal(g, w) {
			t.Fatalf("WithMatrix search %v, NewIndex search %v", g, w)
		}
	}
	if after := base.Search(vecs[0], 10); !slices.Equal(before, after) {
		t.Errorf("the base index changed: %v, then %v", before, after)
	}

	for _, tc := range []struct {
		name string
		data []float32
		want string
	}{
		{"rows", make([]float32, 200*8-1), "1599 values are not 200 rows"},
		{"empty", nil, "0 values are not 200 rows"},
		{"NaN", slices.Concat(append([][]float32{{0, 0, float32(math.Inf(1)), 0, 0, 0, 0, 1}}, other[1:]...)...), "vector 0 (id " + strconv.Quote(ids[0]) + ") has non-finite value at 2"},
		{"zero", slices.Concat(append(slices.Clone(other[:5]), append([][]float32{make([]float32, 8)}, other[6:]...)...)...), "vector 5 (id " + strconv.Quote(ids[5]) + ") has zero norm"},
	} {
		if _, err := base.WithMatrix(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
