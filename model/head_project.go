package model

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Project maps one embedding through the head (W·v + b) and L2-normalises
// the result, so cosine similarity becomes a dot product downstream. The
// arithmetic is float64; a zero result stays zero instead of becoming NaN.
// It panics if len(v) != d_in.
func (h *Head) Project(v []float32) []float32 {
	if len(v) != h.cfg.DIn {
		panic(fmt.Sprintf("model: head Project: vector has %d dims, head expects d_in=%d", len(v), h.cfg.DIn))
	}
	z := make([]float64, h.cfg.DOut)
	if h.cfg.Rank > 0 {
		// z = v + A·(B·v): O(d·r) and no d×d temporary.
		t := make([]float64, h.cfg.Rank)
		for k := range t {
			t[k] = headDot32(h.b.RawRowView(k), v)
		}
		for i := range z {
			z[i] = float64(v[i])
			for k, a := range h.a.RawRowView(i) {
				z[i] += a * t[k]
			}
		}
	} else {
		for i := range z {
			z[i] = headDot32(h.w.RawRowView(i), v)
		}
	}
	for i, b := range h.bias {
		z[i] += b
	}
	out := make([]float32, len(z))
	headNormalizeInto(out, z)
	return out
}

// ProjectBatch is Project for many vectors at once: one matrix product
// (gonum Dgemm) instead of n matrix-vector products. Every buffer is local to
// the call, so concurrent calls are safe.
func (h *Head) ProjectBatch(vs [][]float32) [][]float32 {
	out := make([][]float32, len(vs))
	if len(vs) == 0 {
		return out
	}
	x := mat.NewDense(len(vs), h.cfg.DIn, nil)
	for i, v := range vs {
		if len(v) != h.cfg.DIn {
			panic(fmt.Sprintf("model: head ProjectBatch: vector %d has %d dims, head expects d_in=%d", i, len(v), h.cfg.DIn))
		}
		row := x.RawRowView(i)
		for j, f := range v {
			row[j] = float64(f)
		}
	}
	z := h.Forward(x)
	// One backing array for all outputs: fewer allocations for large batches.
	flat := make([]float32, len(vs)*h.cfg.DOut)
	for i := range out {
		out[i] = flat[i*h.cfg.DOut : (i+1)*h.cfg.DOut : (i+1)*h.cfg.DOut]
		headNormalizeInto(out[i], z.RawRowView(i))
	}
	return out
}

// headDot32 is Σ w[j]·v[j] with v widened to float64.
func headDot32(w []float64, v []float32) float64 {
	var s float64
	for j, x := range v {
		s += w[j] * float64(x)
	}
	return s
}

// headNormalizeInto writes z/‖z‖ into dst, or zeros when ‖z‖ is zero.
func headNormalizeInto(dst []float32, z []float64) {
	var ss float64
	for _, x := range z {
		ss += x * x
	}
	if ss == 0 {
		clear(dst)
		return
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range z {
		dst[i] = float32(x * inv)
	}
}
