package model

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// headSeedStream is the second PCG word; fixed so that a HeadConfig.Seed
// alone determines the initialisation.
const headSeedStream = 0x7265_7475_6e65 // "retune"

// initWeights sets the initial parameters of a zeroed head. The bias, when
// present, stays zero.
//
//   - Square, full form: W = I, so the untrained head reproduces the base
//     encoder's ranking exactly and training starts from a known-good point.
//   - Low-rank form: A = 0 and B ~ N(0, 1/d) (seeded), so W = I + A·B = I at
//     start while dL/dA = dL/dW·Bᵀ is non-zero. (With both A and B zero every
//     gradient would vanish; with both random W would not start at I.)
//   - Non-square: W is a seeded random semi-orthogonal matrix (the same
//     construction as torch.nn.init.orthogonal_). When d_out > d_in it has
//     orthonormal columns, so WᵀW = I and cosine similarities are preserved
//     exactly; when d_out < d_in it has orthonormal rows, i.e. an orthogonal
//     projection onto a random subspace, which preserves cosines
//     approximately (Johnson–Lindenstrauss) without the variance blow-up of
//     an unscaled normal init.
func (h *Head) initWeights() {
	rng := rand.New(rand.NewPCG(uint64(h.cfg.Seed), headSeedStream))
	switch {
	case h.cfg.Rank > 0:
		std := 1 / math.Sqrt(float64(h.cfg.DIn))
		raw := h.b.RawMatrix().Data
		for i := range raw {
			raw[i] = rng.NormFloat64() * std
		}
	case h.cfg.DIn == h.cfg.DOut:
		for i := 0; i < h.cfg.DIn; i++ {
			h.w.Set(i, i, 1)
		}
	default:
		h.w.Copy(headSemiOrthogonal(h.cfg.DOut, h.cfg.DIn, rng))
	}
}

// headSemiOrthogonal returns a rows×cols matrix with orthonormal columns (when
// rows >= cols) or orthonormal rows (when rows < cols), drawn uniformly
// (Haar measure) from rng.
func headSemiOrthogonal(rows, cols int, rng *rand.Rand) *mat.Dense {
	tall, narrow := rows, cols
	if rows < cols {
		tall, narrow = cols, rows
	}
	g := mat.NewDense(tall, narrow, nil)
	raw := g.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	// Q from Householder QR is only unique up to column signs; fixing them by
	// sign(R_jj) makes the distribution uniform rather than biased.
	thin := mat.DenseCopyOf(q.Slice(0, tall, 0, narrow))
	for j := 0; j < narrow; j++ {
		if r.At(j, j) < 0 {
			for i := 0; i < tall; i++ {
				thin.Set(i, j, -thin.At(i, j))
			}
		}
	}
	if rows >= cols {
		return thin
	}
	return mat.DenseCopyOf(thin.T())
}
