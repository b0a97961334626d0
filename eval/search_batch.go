package eval

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Batched search scores a block of queries against a block of documents
// with one matrix product (blas32.Gemm: ONNX Runtime's MLAS once linalg is
// installed, gonum's blocked kernel otherwise), so each document row is read
// once per block of queries instead of once per query. Mining and every
// dev/test evaluation go through here; on a 300k-document corpus the
// per-query sgemv was 68% of `retune train`'s CPU.
//
// A product sums in another order than Search's sgemv, so its float32 scores
// can differ from Search's in the last bits and reorder near-ties. The
// product therefore only nominates: a document stays a candidate while its
// product score is within δ of the query's running k-th best, δ twice a
// bound on the rounding error of both computations. The candidates are then
// rescored with Search's own kernel and selected by Search's own rule, so
// SearchBatch returns what Search returns, bit for bit.

// Block sizes of the products: queries × documents scores per product
// (64 × 4096 float32 = 1 MiB of scores per worker), and the fewest queries
// a block is split down to so that every worker has one. Variables so tests can
// make blocks small enough to cross their boundaries.
var (
	batchQueries    = 64
	batchMinQueries = 32
	batchDocs       = 4096
)

// SearchBatch runs Search for every query on up to workers goroutines
// (≤ 0 means GOMAXPROCS) and returns the results in query order, identical
// to Search's. All query dimensions are checked before any work starts, so a
// bad query panics in the caller's goroutine rather than crashing a worker.
func (ix *Index) SearchBatch(qs [][]float32, k int, workers int) [][]Scored {
	for i, q := range qs {
		ix.checkDim(q, i)
	}
	out := make([][]Scored, len(qs))
	k = min(k, len(ix.ids))
	if k <= 0 || len(qs) == 0 {
		return out
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Blocks small enough that every worker gets one, but no larger than
	// batchQueries and no smaller than batchMinQueries: a product of a few
	// queries makes poor use of the GEMM, which is parallel itself, and
	// every block is one more pass over the documents (BenchmarkSmallBatches,
	// 300k documents: 8 queries take 1.3 ms each in one block, 2.4 ms in a
	// block per core, 4.4 ms one Search after another).
	per := min(batchQueries, max((len(qs)+workers-1)/workers, min(len(qs), batchMinQueries)))
	blocks := (len(qs) + per - 1) / per
	workers = min(workers, blocks)

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := ix.newBatchWorker(per, k)
			for {
				b := int(next.Add(1)) - 1
				if b >= blocks {
					return
				}
				lo := b * per
				hi := min(lo+per, len(qs))
				w.run(qs[lo:hi], out[lo:hi])
			}
		})
	}
	wg.Wait()
	return out
}

// batchWorker holds one goroutine's buffers: the query block, the score
// block and a nominator per query.
type batchWorker struct {
	ix     *Index
	k      int
	q      []float32 // per × dim, the block's queries
	scores []float32 // per × batchDocs
	noms   []nominator
}

func (ix *Index) newBatchWorker(per, k int) *batchWorker {
	w := &batchWorker{
		ix:     ix,
		k:      k,
		q:      make([]float32, per*ix.dim),
		scores: make([]float32, per*min(batchDocs, len(ix.ids))),
		noms:   make([]nominator, per),
	}
	for i := range w.noms {
		w.noms[i].top = NewTopK(k, len(ix.ids), ix.idOrder)
	}
	return w
}

// run searches one block of queries into out.
func (w *batchWorker) run(qs [][]float32, out [][]Scored) {
	ix, dim := w.ix, w.ix.dim
	// Queries the product cannot bound (non-finite or zero, where every
	// score ties) take Search's path; the rest go into the block.
	var rows []int
	for i, q := range qs {
		delta, ok := roundingMargin(q)
		if !ok {
			out[i] = ix.Search(q, w.k)
			continue
		}
		copy(w.q[len(rows)*dim:], q)
		w.noms[len(rows)].reset(delta)
		rows = append(rows, i)
	}
	if len(rows) == 0 {
		return
	}
	m, n := len(rows), len(ix.ids)
	for lo := 0; lo < n; lo += batchDocs {
		nb := min(batchDocs, n-lo)
		s := w.scores[:m*nb]
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: m, Cols: dim, Stride: dim, Data: w.q[:m*dim]},
			blas32.General{Rows: nb, Cols: dim, Stride: dim, Data: ix.data[lo*dim : (lo+nb)*dim]},
			0, blas32.General{Rows: m, Cols: nb, Stride: nb, Data: s})
		for r := range m {
			w.noms[r].scan(s[r*nb:(r+1)*nb], int32(lo), w.k)
		}
	}
	for r, i := range rows {
		out[i] = w.noms[r].finish(ix, qs[i])
	}
}

// roundingMargin returns δ for q: twice the largest difference between two
// float32 dot products of q with a unit row computed in different orders.
// Each is within γ_d·Σ|q_i·r_i| ≤ γ_d·‖q‖ of the exact value (Higham,
// Accuracy and Stability of Numerical Algorithms, §3.1, for any order and
// with or without FMA), so two differ by at most 2γ_d‖q‖; the rows are unit
// vectors rounded to float32, hence γ_{d+2} and a 1% allowance. ok is false
// when q has a non-finite value or is zero.
func roundingMargin(q []float32) (delta float64, ok bool) {
	var ss float64
	for _, x := range q {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return 0, false
	}
	const u = 1.0 / (1 << 24) // float32 unit roundoff
	d := float64(len(q) + 2)
	gamma := d * u / (1 - d*u)
	return 2 * 2 * gamma * math.Sqrt(ss) * 1.01, true
}

// nominator collects one query's candidates from the product scores: every
// document whose product score is at least the running k-th best minus δ.
type nominator struct {
	top   TopK // the k best product scores seen: its floor is the running k-th best
	delta float64
	cut   float32 // documents scoring below cut cannot reach the top k
	cands []Candidate
}

func (nm *nominator) reset(delta float64) {
	nm.delta = delta
	nm.cut = float32(math.Inf(-1))
	nm.cands = nm.cands[:0]
	nm.top.reset()
}

// scan offers one block of product scores, for documents first, first+1, …
func (nm *nominator) scan(scores []float32, first int32, k int) {
	for j, s := range scores {
		if s < nm.cut {
			continue
		}
		doc := first + int32(j)
		nm.cands = append(nm.cands, Candidate{Score: float64(s), Doc: doc})
		nm.top.Offer(float64(s), doc)
		if nm.top.floor > math.Inf(-1) {
			// Rounded down, so the float32 cut never excludes a document
			// the float64 margin keeps.
			nm.cut = math.Nextafter32(float32(nm.top.floor-nm.delta), float32(math.Inf(-1)))
		}
	}
	if len(nm.cands) > 4*k+256 {
		nm.prune()
	}
}

// prune drops the candidates that fell below the cut.
func (nm *nominator) prune() {
	kept := nm.cands[:0]
	for _, c := range nm.cands {
		if float32(c.Score) >= nm.cut {
			kept = append(kept, c)
		}
	}
	nm.cands = kept
}

// finish rescores the surviving candidates with Search's kernel (sgemv of
// each candidate's row, the same call Search makes) and selects the top k
// with Search's TopK.
func (nm *nominator) finish(ix *Index, q []float32) []Scored {
	nm.prune()
	e := make([]float32, 1)
	h := NewTopK(nm.top.k, len(nm.cands), ix.idOrder)
	for _, c := range nm.cands {
		row := ix.data[int(c.Doc)*ix.dim : (int(c.Doc)+1)*ix.dim]
		blas32.Gemv(blas.NoTrans, 1,
			blas32.General{Rows: 1, Cols: ix.dim, Stride: ix.dim, Data: row},
			blas32.Vector{N: ix.dim, Inc: 1, Data: q},
			0, blas32.Vector{N: 1, Inc: 1, Data: e})
		h.Offer(float64(e[0]), c.Doc)
	}
	hits := h.Sorted()
	res := make([]Scored, len(hits))
	for i, c := range hits {
		res[i] = Scored{ID: ix.ids[c.Doc], Score: c.Score}
	}
	return res
}
