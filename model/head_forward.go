package model

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Forward maps a batch of inputs (rows of x, n×d_in) to un-normalised
// outputs Z = X·Wᵀ + 1·bᵀ (n×d_out). The low-rank form is evaluated as
// X + (X·Bᵀ)·Aᵀ, which costs O(n·d·r) instead of materialising W.
// It panics if x does not have d_in columns, like gonum's own shape checks.
func (h *Head) Forward(x *mat.Dense) *mat.Dense {
	n := h.checkInput("Forward", x)
	z := mat.NewDense(n, h.cfg.DOut, nil)
	h.ForwardInto(z, x)
	return z
}

// ForwardInto is Forward writing into z, which must be n×d_out (a view into
// a larger matrix is fine) and must not alias x. A training loop reuses z
// across steps instead of allocating a fresh ~1 MB matrix per batch.
func (h *Head) ForwardInto(z, x *mat.Dense) {
	n := h.checkInput("Forward", x)
	if r, c := z.Dims(); r != n || c != h.cfg.DOut {
		panic(fmt.Sprintf("model: head Forward: output is %d×%d, want %d×%d", r, c, n, h.cfg.DOut))
	}
	if h.cfg.Rank > 0 {
		var xb mat.Dense
		xb.Mul(x, h.b.T())
		z.Mul(&xb, h.a.T())
		z.Add(z, x)
	} else {
		z.Mul(x, h.w.T())
	}
	if h.bias != nil {
		for i := 0; i < n; i++ {
			row := z.RawRowView(i)
			for j, bj := range h.bias {
				row[j] += bj
			}
		}
	}
}

// Backward returns dL/dθ for the batch x given dz = dL/dZ (n×d_out),
// flattened in the same order as Params (so it can be passed straight to an
// optimizer). The head keeps no activations, hence x is passed again.
//
//	full:     dW = dZᵀ·X,  db = Σ_rows dZ
//	low-rank: with G = dZᵀ·X = dL/dW and W = I + A·B,
//	          dA = G·Bᵀ = dZᵀ·(X·Bᵀ),  dB = Aᵀ·G = (dZ·A)ᵀ·X
func (h *Head) Backward(x, dz *mat.Dense) []float64 {
	grad := make([]float64, len(h.params))
	h.BackwardInto(grad, x, dz)
	return grad
}

// BackwardInto is Backward overwriting grad (len(Params())), so a training
// loop can keep one gradient buffer.
func (h *Head) BackwardInto(grad []float64, x, dz *mat.Dense) {
	n := h.checkInput("Backward", x)
	if r, c := dz.Dims(); r != n || c != h.cfg.DOut {
		panic(fmt.Sprintf("model: head Backward: dz is %d×%d, want %d×%d", r, c, n, h.cfg.DOut))
	}
	if len(grad) != len(h.params) {
		panic(fmt.Sprintf("model: head Backward: grad has %d entries, want %d", len(grad), len(h.params)))
	}
	off := 0
	if h.cfg.Rank > 0 {
		d, r := h.cfg.DIn, h.cfg.Rank
		// Writing into Dense views of grad fills the flat slice directly.
		dA := mat.NewDense(d, r, grad[off:off+d*r])
		off += d * r
		dB := mat.NewDense(r, d, grad[off:off+r*d])
		off += r * d
		var xb, dzA mat.Dense
		xb.Mul(x, h.b.T())
		dA.Mul(dz.T(), &xb)
		dzA.Mul(dz, h.a)
		dB.Mul(dzA.T(), x)
	} else {
		size := h.cfg.DOut * h.cfg.DIn
		dW := mat.NewDense(h.cfg.DOut, h.cfg.DIn, grad[off:off+size])
		off += size
		dW.Mul(dz.T(), x)
	}
	if h.bias != nil {
		db := grad[off : off+h.cfg.DOut]
		clear(db)
		for i := 0; i < n; i++ {
			for j, v := range dz.RawRowView(i) {
				db[j] += v
			}
		}
	}
}

// checkInput panics unless x has d_in columns and returns its row count.
func (h *Head) checkInput(op string, x *mat.Dense) int {
	n, c := x.Dims()
	if c != h.cfg.DIn {
		panic(fmt.Sprintf("model: head %s: input has %d columns, head expects d_in=%d", op, c, h.cfg.DIn))
	}
	return n
}
