package model

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Apply modes for a projection head.
const (
	// ApplyShared projects both queries and documents (symmetric retrieval).
	ApplyShared = "shared"
	// ApplyQuery projects queries only; documents keep the base embedding,
	// so an existing document index stays valid while the head is retrained.
	ApplyQuery = "query"
)

// HeadConfig describes a linear projection head z = W·x (+ b).
type HeadConfig struct {
	DIn  int  `json:"d_in"`
	DOut int  `json:"d_out"`
	Bias bool `json:"bias"`
	// Rank > 0 selects the low-rank residual form W = I + A·B (square only);
	// 0 means a full d_out×d_in matrix.
	Rank int `json:"rank"`
	// Apply is ApplyShared (default when empty) or ApplyQuery.
	Apply string `json:"apply"`
	// Seed drives the random part of the initialisation (non-square W, or B
	// in the low-rank form) so that a training run is reproducible.
	Seed int64 `json:"seed"`
}

// MaxHeadDim bounds a head's d_in and d_out: 8,192 is twice the widest
// embedding in common use (4,096). A head from elsewhere (an upload) may
// be wider than its encoder, and every vector it projects, every indexed
// document and every embedding returned through it is d_out wide: a
// security probe's 100 → 65,536 head took 7.9 GB to index SciFact.
const MaxHeadDim = 8192

// normalized returns cfg with defaults filled in, or an error describing the
// first invalid field.
func (cfg HeadConfig) normalized() (HeadConfig, error) {
	if cfg.DIn <= 0 || cfg.DOut <= 0 {
		return cfg, fmt.Errorf("model: head dimensions must be positive, got d_in=%d d_out=%d", cfg.DIn, cfg.DOut)
	}
	if cfg.DIn > MaxHeadDim || cfg.DOut > MaxHeadDim {
		// Bounds every parameter count below overflow (a head.json from
		// elsewhere could otherwise wrap d_out·d_in to a small number).
		return cfg, fmt.Errorf("model: head dimensions must be at most %d, got d_in=%d d_out=%d", MaxHeadDim, cfg.DIn, cfg.DOut)
	}
	if cfg.Rank < 0 {
		return cfg, fmt.Errorf("model: head rank must be >= 0, got %d", cfg.Rank)
	}
	if cfg.Rank > 0 {
		if cfg.DIn != cfg.DOut {
			return cfg, fmt.Errorf("model: low-rank head (rank %d) needs d_in == d_out because W = I + A·B, got d_in=%d d_out=%d", cfg.Rank, cfg.DIn, cfg.DOut)
		}
		if cfg.Rank > cfg.DIn {
			return cfg, fmt.Errorf("model: head rank %d exceeds dimension %d; use rank 0 for a full matrix", cfg.Rank, cfg.DIn)
		}
	}
	switch cfg.Apply {
	case "":
		cfg.Apply = ApplyShared
	case ApplyShared, ApplyQuery:
	default:
		return cfg, fmt.Errorf("model: head apply mode %q is not %q or %q", cfg.Apply, ApplyShared, ApplyQuery)
	}
	return cfg, nil
}

// CheckQueryWidth refuses a query-only head whose output width differs
// from its input's: documents keep the encoder's vectors, so its queries
// could be compared with none of them. NewHead applies it; LoadHead does
// not, so that a head stored before the rule still loads (its callers
// refuse it where it would compare, e.g. a collection's search).
func (cfg HeadConfig) CheckQueryWidth() error {
	if cfg.Apply == ApplyQuery && cfg.DIn != cfg.DOut {
		return fmt.Errorf("model: a query-only head must keep the encoder's width (documents are not projected), got d_in=%d d_out=%d", cfg.DIn, cfg.DOut)
	}
	return nil
}

// Head is a trainable linear projection on top of frozen encoder embeddings.
//
// All parameters live in one flat slice (see Params) so that an optimizer can
// update them in place; the matrices below are gonum views aliasing it.
// Parameter order:
//
//	full form:     W (d_out×d_in, row-major, PyTorch nn.Linear layout), then b (d_out)
//	low-rank form: A (d×r, row-major), then B (r×d, row-major), then b (d)
//
// The effective W of the low-rank form is never cached, so in-place updates
// are always visible to Forward, Project and Weight.
//
// A Head is safe for concurrent Forward/Project/ProjectBatch/Weight calls as
// long as nobody is updating Params at the same time.
type Head struct {
	cfg    HeadConfig
	params []float64
	w      *mat.Dense // full form only
	a, b   *mat.Dense // low-rank form only
	bias   []float64  // nil when cfg.Bias is false
	// w32 is the effective W in float32 once Freeze has run; nil while
	// the parameters may still change (training).
	w32 []float32
}

// Freeze declares that the parameters will not change again (a head
// loaded to serve), so projections reuse one float32 copy of W instead of
// building it per call: a copy of d_out×d_in values, and for the low-rank
// form a matrix product. Call it before sharing the head; changing the
// parameters after it is a bug.
func (h *Head) Freeze() { h.w32 = h.buildWeight32() }

// NewHead validates cfg and returns an initialised head: identity when
// square (also in the low-rank form), a seeded semi-orthogonal matrix
// otherwise (see initWeights).
func NewHead(cfg HeadConfig) (*Head, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckQueryWidth(); err != nil {
		return nil, err
	}
	h := newHeadStorage(cfg)
	h.initWeights()
	return h, nil
}

// newHeadStorage allocates the flat parameter slice and the views onto it,
// leaving every parameter zero.
func newHeadStorage(cfg HeadConfig) *Head {
	h := &Head{cfg: cfg, params: make([]float64, headNumParams(cfg))}
	h.bindViews()
	return h
}

// numParams is the length of Params() for cfg.
func headNumParams(cfg HeadConfig) int {
	n := cfg.DOut * cfg.DIn
	if cfg.Rank > 0 {
		n = 2 * cfg.DIn * cfg.Rank
	}
	if cfg.Bias {
		n += cfg.DOut
	}
	return n
}

// bindViews points the matrix views at sub-slices of h.params.
func (h *Head) bindViews() {
	off := 0
	if h.cfg.Rank > 0 {
		d, r := h.cfg.DIn, h.cfg.Rank
		h.a = mat.NewDense(d, r, h.params[off:off+d*r:off+d*r])
		off += d * r
		h.b = mat.NewDense(r, d, h.params[off:off+r*d:off+r*d])
		off += r * d
	} else {
		n := h.cfg.DOut * h.cfg.DIn
		h.w = mat.NewDense(h.cfg.DOut, h.cfg.DIn, h.params[off:off+n:off+n])
		off += n
	}
	if h.cfg.Bias {
		h.bias = h.params[off : off+h.cfg.DOut : off+h.cfg.DOut]
	}
}

// Config returns the validated configuration (defaults filled in).
func (h *Head) Config() HeadConfig { return h.cfg }

// Params returns the flat parameter vector. It aliases the head's storage:
// writes through it change the head.
func (h *Head) Params() []float64 { return h.params }

// Bias returns the bias vector (aliasing the parameters), or nil when the
// head has no bias.
func (h *Head) Bias() []float64 { return h.bias }

// AppliesToDocs reports whether documents should be projected too.
func (h *Head) AppliesToDocs() bool { return h.cfg.Apply == ApplyShared }

// Weight returns a fresh copy of the effective W (d_out×d_in). For the
// low-rank form it is computed as I + A·B from the current parameters.
func (h *Head) Weight() *mat.Dense {
	if h.cfg.Rank == 0 {
		return mat.DenseCopyOf(h.w)
	}
	var w mat.Dense
	w.Mul(h.a, h.b)
	for i := 0; i < h.cfg.DIn; i++ {
		w.Set(i, i, w.At(i, i)+1)
	}
	return &w
}

// Clone returns a deep copy that shares no storage with h.
func (h *Head) Clone() *Head {
	c := &Head{cfg: h.cfg, params: append([]float64(nil), h.params...)}
	c.bindViews()
	return c
}
