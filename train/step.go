package train

import (
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
	qRow, dRow map[string]int
	qIDs, dIDs []string
	examples   []objective.Example
	exclude    []string // backing array of every example's Exclude
	starts     []int    // where each example's Exclude begins in exclude

	x, z, g []float64 // (nq+nd)×d: inputs, head outputs, dLoss/doutputs
	res     objective.Result
	grad    []float64 // dLoss/dθ
}

// step runs one optimisation step on a batch and returns the loss parts.
func (s *stepper) step(head *model.Head, opt *AdamW, set *Set, b []sample, cfg Config) (objective.Result, error) {
	res, grad, err := s.batchGrad(head, set, b, cfg)
	if err != nil {
		return res, err
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
	s.index(set, b)
	nq, nd, d := len(s.qIDs), len(s.dIDs), set.Dim()
	n := nq + nd
	s.x, s.z, s.g = grow(s.x, n*d), grow(s.z, n*d), grow(s.g, n*d)
	gather(s.x[:nq*d], set.QueryVecs, s.qIDs, d)
	gather(s.x[nq*d:], set.DocVecs, s.dIDs, d)
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
func (s *stepper) index(set *Set, b []sample) {
	if s.qRow == nil {
		s.qRow, s.dRow = map[string]int{}, map[string]int{}
	}
	clear(s.qRow)
	clear(s.dRow)
	s.qIDs, s.dIDs, s.exclude = s.qIDs[:0], s.dIDs[:0], s.exclude[:0]
	row := func(rows map[string]int, ids *[]string, id string) int {
		if r, ok := rows[id]; ok {
			return r
		}
		rows[id] = len(*ids)
		*ids = append(*ids, id)
		return rows[id]
	}
	s.examples = grow(s.examples, len(b))
	s.starts = grow(s.starts, len(b)+1)
	starts := s.starts
	for i, smp := range b {
		ex := &s.examples[i]
		negs := ex.Negatives[:0]
		*ex = objective.Example{Query: row(s.qRow, &s.qIDs, smp.query), Positive: row(s.dRow, &s.dIDs, smp.pos)}
		starts[i] = len(s.exclude)
		for d, rel := range set.Qrels[smp.query] {
			if rel > 0 {
				s.exclude = append(s.exclude, d)
			}
		}
		for _, ng := range smp.negs {
			if _, ok := set.DocVecs[ng.DocID]; ok {
				negs = append(negs, objective.Negative{Doc: row(s.dRow, &s.dIDs, ng.DocID), Source: ng.Source})
			}
		}
		ex.Negatives = negs
	}
	// Exclude slices are cut only now: appends above may move the array.
	starts[len(b)] = len(s.exclude)
	for i := range b {
		s.examples[i].Exclude = s.exclude[starts[i]:starts[i+1]:starts[i+1]]
	}
}

// batchGrad is a one-off stepper's batchGrad (tests).
func batchGrad(head *model.Head, set *Set, b []sample, cfg Config) (objective.Result, []float64, error) {
	return (&stepper{}).batchGrad(head, set, b, cfg)
}

// gather copies the vectors of ids, widened to float64, into dst (row-major).
func gather(dst []float64, vecs map[string][]float32, ids []string, d int) {
	for i, id := range ids {
		row := dst[i*d : (i+1)*d]
		for j, v := range vecs[id] {
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
