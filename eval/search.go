package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Search returns the k documents with the highest dot product with q, best
// first, ties broken by id ascending. k is clipped to Len(); k ≤ 0 returns
// nil. q is used as given: pass a unit vector to get cosine scores. A NaN
// score (only possible for a non-finite q) ranks below every number.
//
// Scoring is one BLAS sgemv over the whole matrix (gonum's assembly kernel,
// 2-3× faster than an unrolled pure-Go loop: see BenchmarkScoreKernel),
// followed by a size-k heap scan. Note that Evaluate re-sorts ties the
// trec_eval way (id descending); this order only fixes which tied documents
// survive the cut. It panics if len(q) != Dim(), a programming error.
func (ix *Index) Search(q []float32, k int) []Scored {
	ix.checkDim(q, -1)
	k = min(k, len(ix.ids))
	if k <= 0 {
		return nil
	}
	buf := ix.scratch.Get().(*[]float32)
	defer ix.scratch.Put(buf)
	return ix.search(q, k, *buf)
}

func (ix *Index) checkDim(q []float32, i int) {
	if len(q) == ix.dim {
		return
	}
	if i < 0 {
		panic(fmt.Sprintf("eval: query has dim %d, index has %d", len(q), ix.dim))
	}
	panic(fmt.Sprintf("eval: query %d has dim %d, index has %d", i, len(q), ix.dim))
}

var negInf = float32(math.Inf(-1))

// search scores every document into scores (len Len()) and selects the top
// k (1 ≤ k ≤ Len()).
func (ix *Index) search(q []float32, k int, scores []float32) []Scored {
	n := len(ix.ids)
	blas32.Gemv(blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: ix.dim, Stride: ix.dim, Data: ix.data},
		blas32.Vector{N: ix.dim, Inc: 1, Data: q},
		0, blas32.Vector{N: n, Inc: 1, Data: scores})

	h := NewTopK(k, n, ix.idOrder)
	for i, s := range scores {
		if s != s { // NaN: rank it below everything (see Search)
			s = negInf
		}
		h.Offer(float64(s), int32(i))
	}
	hits := h.Sorted()
	res := make([]Scored, len(hits))
	for i, e := range hits {
		res[i] = Scored{ID: ix.ids[e.Doc], Score: float64(scores[e.Doc])}
	}
	return res
}
