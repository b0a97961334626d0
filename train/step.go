package train

import (
	"errors"

	"gonum.org/v1/gonum/mat"

	"retune/model"
	"retune/objective"
)

// stepper computes one optimisation step at a time, keeping its buffers
// (row maps, the stacked input and output matrices, the gradients) from one
// batch to the next. Every batch of an epoch has about the same shape, so
// after the first step nothing large is allocated: a fresh ~1 MB matrix per
// product made the garbage collector run every epoch, which cost more than
// the products themselves once they run on ONNX Runtime.
type stepper struct {
	qRow, dRow []int32  // batch row of each rowTable row, -1 when not in the batch
	qIdx, dIdx []int32  // rowTable row of each batch row
	dIDs       []string // DocID of each batch doc row
	examples   []objective.Example

	x, z, g []float64 // (nq+nd)×d: inputs, head outputs, dLoss/doutputs
	res     objective.Result
	grad    []float64 // dLoss/dθ
}

// ErrDiverged is a step whose loss or gradient left the finite numbers.
var ErrDiverged = errors.New("training diverged: the loss or its gradient is not finite")

// finite is false for NaN and ±Inf, for which x-x is NaN.
func finite(x float64) bool { return x-x == 0 }

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if !finite(x) {
			return false
		}
	}
	return true
}

// step runs one optimisation step on a batch and returns the loss parts.
func (s *stepper) step(head *model.Head, opt *AdamW, set *Set, b []sample, cfg Config) (objective.Result, error) {
	res, grad, err := s.batchGrad(head, set, b, cfg)
	if err != nil {
		return res, err
	}
	if !finite(res.Loss) || !allFinite(grad) {
		// Before the update: the head keeps its last finite weights, and
		// the run says why it stopped instead of saving a head of NaNs.
		return res, ErrDiverged
	}
	opt.Update(head.Params(), grad)
	return res, nil
}

// batchGrad returns the batch loss and its gradient w.r.t. the head's
// parameters: the objective's gradients on the head outputs, chained through
// the head for queries and, when the head is shared, for documents too.
// Queries and documents are stacked into one matrix so that a shared head
// needs one forward and one backward product per batch, not two of each.
// The returned gradient is the stepper's buffer, valid until the next call.
func (s *stepper) batchGrad(head *model.Head, set *Set, b []sample, cfg Config) (objective.Result, []float64, error) {
	s.index(set.rows, b)
	nq, nd, d := len(s.qIdx), len(s.dIdx), set.Dim()
	n := nq + nd
	s.x, s.z, s.g = grow(s.x, n*d), grow(s.z, n*d), grow(s.g, n*d)
	gather(s.x[:nq*d], set.rows.qVecs, s.qIdx, d)
	gather(s.x[nq*d:], set.rows.dVecs, s.dIdx, d)
	x := mat.NewDense(n, d, s.x)
	z := mat.NewDense(n, d, s.z)
	g := mat.NewDense(n, d, s.g)
	xq, zq, gq := rowsOf(x, 0, nq), rowsOf(z, 0, nq), rowsOf(g, 0, nq)
	xd, zd, gd := rowsOf(x, nq, n), rowsOf(z, nq, n), rowsOf(g, nq, n)
	shared := head.AppliesToDocs()
	if shared {
		head.ForwardInto(z, x)
	} else {
		head.ForwardInto(zq, xq)
		zd = xd // documents stay raw
	}
	// The objective writes its gradients into the two views of g.
	s.res.GradQueries, s.res.GradDocs = gq, gd
	if err := objective.ComputeInto(&s.res, &objective.Batch{Queries: zq, Docs: zd, DocIDs: s.dIDs, Examples: s.examples}, cfg.objective()); err != nil {
		return objective.Result{}, nil, err
	}
	if s.res.GradQueries != gq || s.res.GradDocs != gd {
		// ComputeInto reuses correctly shaped contiguous matrices; anything
		// else is a bug here, and g would silently hold stale gradients.
		panic("train: objective did not write its gradients into the step's buffers")
	}
	s.grad = grow(s.grad, len(head.Params()))
	if shared {
		head.BackwardInto(s.grad, x, g)
	} else {
		head.BackwardInto(s.grad, xq, gq)
	}
	return s.res, s.grad, nil
}

// index assigns the batch's queries and documents to rows (a document used
// by several examples gets one row) and builds the objective's examples.
func (s *stepper) index(tab *rowTable, b []sample) {
	s.qRow = resetRows(s.qRow, s.qIdx, len(tab.qIDs))
	s.dRow = resetRows(s.dRow, s.dIdx, len(tab.dIDs))
	s.qIdx, s.dIdx, s.dIDs = s.qIdx[:0], s.dIdx[:0], s.dIDs[:0]
	s.examples = grow(s.examples, len(b))
	for i, smp := range b {
		ex := &s.examples[i]
		negs := ex.Negatives[:0]
		*ex = objective.Example{Query: s.queryRow(smp.q), Positive: s.docRow(tab, smp.p), Exclude: smp.exclude}
		for _, ng := range smp.negs {
			negs = append(negs, objective.Negative{Doc: s.docRow(tab, ng.doc), Source: ng.source})
		}
		ex.Negatives = negs
	}
}

// resetRows returns rows sized n with every entry -1, clearing only the
// entries the last batch set (listed in used) when the size is unchanged.
func resetRows(rows, used []int32, n int) []int32 {
	if len(rows) != n {
		rows = make([]int32, n)
		for i := range rows {
			rows[i] = -1
		}
		return rows
	}
	for _, r := range used {
		rows[r] = -1
	}
	return rows
}

func (s *stepper) queryRow(r int32) int {
	if s.qRow[r] < 0 {
		s.qRow[r] = int32(len(s.qIdx))
		s.qIdx = append(s.qIdx, r)
	}
	return int(s.qRow[r])
}

func (s *stepper) docRow(tab *rowTable, r int32) int {
	if s.dRow[r] < 0 {
		s.dRow[r] = int32(len(s.dIdx))
		s.dIdx = append(s.dIdx, r)
		s.dIDs = append(s.dIDs, tab.dIDs[r])
	}
	return int(s.dRow[r])
}

// batchGrad is a one-off stepper's batchGrad (tests).
func batchGrad(head *model.Head, set *Set, b []sample, cfg Config) (objective.Result, []float64, error) {
	return (&stepper{}).batchGrad(head, set, b, cfg)
}

// gather copies the vectors of rows, widened to float64, into dst (row-major).
func gather(dst []float64, vecs [][]float32, rows []int32, d int) {
	for i, r := range rows {
		row := dst[i*d : (i+1)*d]
		for j, v := range vecs[r] {
			row[j] = float64(v)
		}
	}
}

// rowsOf is rows [from, to) of m as a view sharing its storage; a batch
// always has at least one query and one document, so ranges are non-empty.
func rowsOf(m *mat.Dense, from, to int) *mat.Dense {
	_, c := m.Dims()
	return m.Slice(from, to, 0, c).(*mat.Dense)
}

// grow returns s resized to n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
