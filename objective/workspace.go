package objective

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"retune/internal/freelist"
)

// workspace holds the per-call scratch state. It is pooled so that a training
// loop calling Compute once per batch reuses its buffers instead of
// re-allocating the (nq x nd) similarity blocks every step.
type workspace struct {
	nq, nd, d int

	uq, ud       []float64 // unit rows u = z / max(‖z‖, ε), row-major
	qNorm, dNorm []float64 // ‖z‖ per row

	// gq, gd accumulate dL/du; they alias the Result gradient matrices.
	gq, gd []float64

	// dense is set when in-batch negatives make (almost) every query-doc
	// pair a candidate. Then sim = Uq·Udᵀ comes from one matrix product and
	// the pair gradients are gathered in gsim (= dL/dS) and pushed back with
	// two more products in flushPairGrads. Otherwise pairs are handled one
	// by one with dot/axpy, which is far cheaper for ~16 candidates each.
	dense bool
	sim   []float64 // nq x nd
	gsim  []float64 // nq x nd

	ids     []int32          // interned DocID per doc row
	idIndex map[string]int32 // DocID -> interned id
	stamp   []uint32         // per interned id: last mark() epoch that saw it
	epoch   uint32
	used    []bool  // per doc row: referenced by some example
	inBatch []int32 // one row per distinct used DocID, lowest row first

	// scratch for one example or query group
	rows   []int32
	srcs   []Source
	vals   []float64
	qHead  []int32 // per query: first example in its group, -1 if none
	exNext []int32 // per example: next example with the same query, -1 at end
	pend   []pendingGrad
}

// workspaces outlive garbage collections (a sync.Pool would drop them and
// reallocate the similarity blocks about every epoch).
var workspaces = freelist.List[workspace]{
	New: func() *workspace { return &workspace{idIndex: make(map[string]int32)} },
	Max: 8,
}

func getWorkspace() *workspace { return workspaces.Get() }

// ReleaseScratch drops the idle workspaces: a run's largest batch sized
// them (1.7 GB of score blocks at batch_size 4096 over 27,000 documents),
// and a server would keep them after the run.
func ReleaseScratch() { workspaces.Drain() }

func putWorkspace(w *workspace) {
	// Drop references to caller-owned memory before pooling.
	w.gq, w.gd = nil, nil
	workspaces.Put(w)
}

// grow returns s resized to n, reusing its backing array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// prepare normalises the rows, interns the doc IDs, lists the in-batch
// candidate rows and, in dense mode, computes S = Uq·Udᵀ.
// The caller sets gq and gd afterwards.
func (w *workspace) prepare(b *Batch, dense bool) error {
	qm, dm := b.Queries.RawMatrix(), b.Docs.RawMatrix()
	w.nq, w.nd, w.d = qm.Rows, dm.Rows, qm.Cols

	w.uq = grow(w.uq, w.nq*w.d)
	w.ud = grow(w.ud, w.nd*w.d)
	w.qNorm = grow(w.qNorm, w.nq)
	w.dNorm = grow(w.dNorm, w.nd)
	if i := normaliseRows(w.uq, w.qNorm, qm); i >= 0 {
		return fmt.Errorf("%w: query row %d", ErrNonFinite, i)
	}
	if i := normaliseRows(w.ud, w.dNorm, dm); i >= 0 {
		return fmt.Errorf("%w: doc row %d", ErrNonFinite, i)
	}

	w.internIDs(b.DocIDs)
	w.listInBatch(b.Examples)

	w.dense = dense
	if dense {
		if n := w.nq * w.nd; cap(w.sim) < n || cap(w.gsim) < n {
			// Let the smaller blocks go before making the larger ones: still
			// referenced while gsim grows, they took the step's peak to 1.5×
			// the two blocks (2.5 GB instead of 1.7 GB at batch_size 4096).
			w.sim, w.gsim = nil, nil
		}
		w.sim = grow(w.sim, w.nq*w.nd)
		w.gsim = grow(w.gsim, w.nq*w.nd)
		clear(w.gsim)
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, w.unitQ(), w.unitD(), 0, w.general(w.sim, w.nq, w.nd))
	}
	return nil
}

func (w *workspace) general(data []float64, r, c int) blas64.General {
	return blas64.General{Rows: r, Cols: c, Stride: c, Data: data}
}

func (w *workspace) unitQ() blas64.General { return w.general(w.uq, w.nq, w.d) }
func (w *workspace) unitD() blas64.General { return w.general(w.ud, w.nd, w.d) }

func (w *workspace) qRow(i int) []float64 { return w.uq[i*w.d : (i+1)*w.d] }
func (w *workspace) dRow(i int) []float64 { return w.ud[i*w.d : (i+1)*w.d] }

// cos returns cos(Queries[q], Docs[r]).
func (w *workspace) cos(q, r int) float64 {
	if w.dense {
		return w.sim[q*w.nd+r]
	}
	return dot(w.qRow(q), w.dRow(r))
}

// addPairGrad adds g to dL/dcos(q, r), which flows into both rows:
// d cos / d u_q = u_r and d cos / d u_r = u_q.
func (w *workspace) addPairGrad(q, r int, g float64) {
	if w.dense {
		w.gsim[q*w.nd+r] += g
		return
	}
	axpy(g, w.dRow(r), w.gq[q*w.d:(q+1)*w.d])
	axpy(g, w.qRow(q), w.gd[r*w.d:(r+1)*w.d])
}

// addDocGrad adds g to dL/dcos(q, r) with the query under stop-gradient, so
// only the doc row receives it.
func (w *workspace) addDocGrad(q, r int, g float64) {
	axpy(g, w.qRow(q), w.gd[r*w.d:(r+1)*w.d])
}

// flushPairGrads turns the gathered dL/dS into dL/dUq = G·Ud and
// dL/dUd = Gᵀ·Uq. It must run before anything else writes gq or gd, because
// the products overwrite them (beta = 0).
func (w *workspace) flushPairGrads() {
	if !w.dense {
		return
	}
	g := w.general(w.gsim, w.nq, w.nd)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, g, w.unitD(), 0, w.general(w.gq, w.nq, w.d))
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, g, w.unitQ(), 0, w.general(w.gd, w.nd, w.d))
}
