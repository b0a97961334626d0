package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"retune/internal/testvec"
)

// tieCorpus draws Gaussian rows (so a product and sgemv round differently)
// and plants exact duplicates (score ties, ordered by id) and rows one ulp
// away from another (near-ties a rounding difference could reorder).
func tieCorpus(r *rand.Rand, n, dim int) ([]string, [][]float32) {
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range vecs {
		ids[i] = strconv.Itoa(r.IntN(1_000_000)) + "-" + strconv.Itoa(i)
		switch {
		case i > 0 && i%5 == 0:
			vecs[i] = slices.Clone(vecs[r.IntN(i)])
		case i > 0 && i%7 == 0:
			v := slices.Clone(vecs[r.IntN(i)])
			j := r.IntN(dim)
			v[j] = math.Nextafter32(v[j], float32(math.Inf(1)))
			vecs[i] = v
		default:
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			vecs[i] = v
		}
	}
	return ids, vecs
}

// clusterCorpus draws rows within ~1e-6 of one direction, so nearly every
// score is a near-tie at the scale of float32 rounding: the case where a
// product's different summation order reorders documents.
func clusterCorpus(r *rand.Rand, n, dim int) ([]string, [][]float32) {
	_, base := testvec.Gaussian(r, 1, dim)
	ids, vecs := testvec.Gaussian(r, n, dim)
	for _, v := range vecs {
		for j, g := range v {
			v[j] = float32(float64(base[0][j]) * (1 + 1e-6*float64(g)))
		}
	}
	return ids, vecs
}

// tieQueries returns queries of many norms: corpus rows (which hit their
// own ties), scaled rows and fresh Gaussians, plus the ones the product
// cannot bound (zero, NaN, +Inf), which take Search's path.
func tieQueries(r *rand.Rand, vecs [][]float32, n int) [][]float32 {
	dim := len(vecs[0])
	qs := make([][]float32, n)
	for i := range qs {
		q := slices.Clone(vecs[r.IntN(len(vecs))])
		if i%3 == 1 {
			q = make([]float32, dim)
			for j := range q {
				q[j] = float32(r.NormFloat64())
			}
		}
		scale := float32(math.Pow(10, float64(r.IntN(7)-3)))
		for j := range q {
			q[j] *= scale
		}
		qs[i] = q
	}
	qs[0] = make([]float32, dim)
	qs[1] = slices.Clone(qs[1])
	qs[1][0] = float32(math.NaN())
	qs[2] = slices.Clone(qs[2])
	qs[2][dim-1] = float32(math.Inf(1))
	return qs
}

func TestSearchBatchEqualsSearch(t *testing.T) {
	defer func(q, m, d int) { batchQueries, batchMinQueries, batchDocs = q, m, d }(batchQueries, batchMinQueries, batchDocs)
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ n, dim, qBlock, qMin, dBlock int }{
		{1, 3, 64, 32, 4096},
		{40, 5, 3, 1, 7},
		{300, 16, 4, 2, 64},
		{1000, 33, 64, 32, 4096},
		{1000, 33, 64, 1, 4096},
		{1000, 33, 5, 1, 999},
	} {
		batchQueries, batchMinQueries, batchDocs = tc.qBlock, tc.qMin, tc.dBlock
		ids, vecs := tieCorpus(r, tc.n, tc.dim)
		ix, err := NewIndex(ids, vecs)
		if err != nil {
			t.Fatal(err)
		}
		qs := tieQueries(r, vecs, 23)
		for _, k := range []int{1, 3, 10, tc.n, tc.n + 5} {
			for _, workers := range []int{1, 2, 5} {
				t.Run(fmt.Sprintf("n=%d/dim=%d/blocks=%d(≥%d)x%d/k=%d/workers=%d", tc.n, tc.dim, tc.qBlock, tc.qMin, tc.dBlock, k, workers), func(t *testing.T) {
					requireBatchEqualsSearch(t, ix, qs, k, workers)
				})
			}
		}
	}
}

// requireBatchEqualsSearch fails unless SearchBatch returns exactly what
// Search returns for each query: same ids, same order, same float bits.
func requireBatchEqualsSearch(t *testing.T, ix *Index, qs [][]float32, k, workers int) {
	t.Helper()
	got := ix.SearchBatch(qs, k, workers)
	if len(got) != len(qs) {
		t.Fatalf("%d results for %d queries", len(got), len(qs))
	}
	for i, q := range qs {
		want := ix.Search(q, k)
		if len(got[i]) != len(want) {
			t.Fatalf("query %d: %d results, want %d", i, len(got[i]), len(want))
		}
		for j := range want {
			g, w := got[i][j], want[j]
			if g.ID != w.ID || math.Float64bits(g.Score) != math.Float64bits(w.Score) {
				t.Fatalf("query %d rank %d: %v, want %v", i, j, g, w)
			}
		}
	}
}
