// Package objective implements the contrastive training objective for the
// retrieval head: InfoNCE over explicit (mined / generated) and optional
// in-batch negatives, plus the CausalNeg query-view entropy regulariser on
// generated negatives. Compute returns the loss and its exact analytic gradient
// with respect to the head OUTPUTS (the un-normalised projections z = W·x + b),
// so the head package only has to chain-rule dL/dz to its own parameters.
//
// Values are float64. The in-batch similarity block and its two gradient
// products go through blas64.Gemm, which is float32 arithmetic when the
// process has installed linalg's ONNX Runtime BLAS (retune's default); the
// gradient checks run on gonum's float64 BLAS.
package objective

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Source says where an explicit negative came from.
type Source uint8

const (
	// Mined negatives come from retrieval with the base model.
	Mined Source = iota
	// Generated negatives are synthesised (e.g. by an LLM); only these get
	// gradient from the entropy term.
	Generated
	// InBatch marks a negative that is another example's document. Such
	// negatives take part in InfoNCE but never in the entropy term's M or G.
	InBatch
)

// String returns "mined", "generated" or "in-batch".
func (s Source) String() string {
	switch s {
	case Mined:
		return "mined"
	case Generated:
		return "generated"
	case InBatch:
		return "in-batch"
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// Negative is one explicit negative of an example.
type Negative struct {
	Doc    int // row index in Batch.Docs
	Source Source
}

// Example is one (query, positive, negatives) training triple.
type Example struct {
	Query     int        // row in Batch.Queries
	Positive  int        // row in Batch.Docs
	Negatives []Negative // explicit negatives (mined or generated)
	// Exclude lists doc IDs that must never act as negatives for this query
	// (all its judged positives). IDs absent from the batch are ignored.
	Exclude []string
}

// Batch holds the head outputs for one optimisation step.
type Batch struct {
	Queries  *mat.Dense // nq x d un-normalised head outputs for queries
	Docs     *mat.Dense // nd x d un-normalised head outputs for documents
	DocIDs   []string   // len nd; identity of each doc row (a doc may occupy several rows)
	Examples []Example
}

// Config holds the objective's hyper-parameters.
type Config struct {
	Temperature float64 // τ of InfoNCE; must be > 0
	InBatch     bool    // add in-batch negatives
	// EntropyWeight is λ in L = L_InfoNCE + λ·L_ent; 0 disables the entropy
	// gradient (its value is still reported when EntropyTemperature > 0).
	EntropyWeight      float64
	EntropyTemperature float64 // τ_ent; must be > 0 when EntropyWeight > 0
}

// DefaultConfig returns τ = 0.05, in-batch negatives on, λ = 0.05, τ_ent = 0.1.
// In-batch negatives are on because they are free extra negatives: their
// similarities come out of the same matrix product as the explicit ones.
func DefaultConfig() Config {
	return Config{
		Temperature:        0.05,
		InBatch:            true,
		EntropyWeight:      0.05,
		EntropyTemperature: 0.1,
	}
}

// Result is the value of the objective and its gradient.
type Result struct {
	Loss    float64 // InfoNCE + λ·Entropy
	InfoNCE float64 // mean over examples of −log softmax(cos/τ)[positive]
	Entropy float64 // mean over entropy queries of −H_gen + L_bal (0 if none)

	// HGen and PGen are the means of H_gen and P_gen over the queries that
	// have at least one generated negative (diagnostics; 0 if none).
	HGen, PGen float64
	// PGenTarget is the mean of the balance target |G|/(|M|+|G|) over the
	// same queries: P_gen above it means the generated negatives are harder
	// than the mined ones, below it that the model pushes them away.
	PGenTarget     float64
	EntropyQueries int // number of queries that entered the entropy term

	GradQueries *mat.Dense // dLoss/dQueries, same shape as Batch.Queries
	GradDocs    *mat.Dense // dLoss/dDocs, same shape as Batch.Docs
}

// Compute evaluates the objective on b and its gradient with respect to
// b.Queries and b.Docs. It does not modify b and is safe for concurrent use.
// Invalid input yields an error wrapping one of the Err* sentinels.
func Compute(b *Batch, cfg Config) (Result, error) {
	var r Result
	err := ComputeInto(&r, b, cfg)
	return r, err
}

// ComputeInto is Compute writing into dst. It reuses dst.GradQueries and
// dst.GradDocs when they already have the right shapes (a training loop with
// a fixed batch shape then allocates nothing per step; the gradient matrices
// are ~0.9 MB for a 64-example SciFact batch) and allocates them otherwise.
// dst's matrices must not alias b's. On error dst is left unchanged.
func ComputeInto(dst *Result, b *Batch, cfg Config) error {
	r, err := compute(b, cfg, termAll, nil, dst.GradQueries, dst.GradDocs)
	if err != nil {
		return err
	}
	*dst = r
	return nil
}

// terms selects which parts of the objective compute evaluates; Compute
// always uses termAll, tests isolate one term to check its gradient.
type terms uint8

const (
	termInfoNCE terms = 1 << iota
	termEntropy
	termAll = termInfoNCE | termEntropy
)

// compute is Compute restricted to the terms in t. If exampleLoss is non-nil
// (len ≥ len(b.Examples)) it receives the per-example InfoNCE loss ℓ_e.
// gq and gd are reused for the gradients when non-nil and correctly shaped.
func compute(b *Batch, cfg Config, t terms, exampleLoss []float64, gq, gd *mat.Dense) (Result, error) {
	if err := validate(b, cfg); err != nil {
		return Result{}, err
	}
	w := getWorkspace()
	defer putWorkspace(w)

	nq, d := b.Queries.Dims()
	nd, _ := b.Docs.Dims()
	if err := w.prepare(b, cfg.InBatch && t&termInfoNCE != 0); err != nil {
		return Result{}, err
	}
	// The gradients are first accumulated with respect to the unit vectors
	// u = z/‖z‖ directly in the result matrices, then mapped back through the
	// normalisation in place (cosine.go), so no extra buffers are needed.
	res := Result{GradQueries: zeroed(gq, nq, d), GradDocs: zeroed(gd, nd, d)}
	gqRaw := res.GradQueries.RawMatrix().Data
	gdRaw := res.GradDocs.RawMatrix().Data
	w.gq, w.gd = gqRaw, gdRaw

	if t&termInfoNCE != 0 {
		res.InfoNCE = w.infoNCE(b, cfg, exampleLoss)
		w.flushPairGrads()
		res.Loss += res.InfoNCE
	}
	if t&termEntropy != 0 && cfg.EntropyTemperature > 0 {
		st := w.entropy(b, cfg)
		res.Entropy, res.HGen, res.PGen, res.PGenTarget, res.EntropyQueries = st.loss, st.hGen, st.pGen, st.target, st.queries
		res.Loss += cfg.EntropyWeight * res.Entropy
	}

	backpropNorm(gqRaw, w.uq, w.qNorm, d)
	backpropNorm(gdRaw, w.ud, w.dNorm, d)
	return res, nil
}

// zeroed returns m cleared if it is an r x c matrix with contiguous rows
// (the raw-slice kernels index with stride c), else a new zero matrix.
func zeroed(m *mat.Dense, r, c int) *mat.Dense {
	if m == nil || m.IsEmpty() {
		return mat.NewDense(r, c, nil)
	}
	if mr, mc := m.Dims(); mr != r || mc != c || m.RawMatrix().Stride != c {
		return mat.NewDense(r, c, nil)
	}
	m.Zero()
	return m
}
