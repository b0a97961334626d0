package model

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Project maps one embedding through the head (W·v + b) and L2-normalises
// the result, so cosine similarity becomes a dot product downstream. The
// arithmetic is float64; a zero result stays zero instead of becoming NaN.
// A zero v maps to zero, bias or not: it is what an encoder gives a text it
// knows no token of, which says nothing about that text, and mapping it to
// the bias direction would make every such text look alike and rankable.
// It panics if len(v) != d_in.
func (h *Head) Project(v []float32) []float32 {
	if len(v) != h.cfg.DIn {
		panic(fmt.Sprintf("model: head Project: vector has %d dims, head expects d_in=%d", len(v), h.cfg.DIn))
	}
	if allZero(v) {
		return make([]float32, h.cfg.DOut)
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

// ProjectBatch is Project for many vectors at once: one float32 matrix
// product (blas32 Sgemm, i.e. ONNX Runtime's MLAS once linalg.Install has
// run) instead of n matrix-vector products. Float32 is what the exported
// ONNX head computes too; results agree with Project to ~1e-6. Every buffer
// is local to the call, so concurrent calls are safe.
func (h *Head) ProjectBatch(vs [][]float32) [][]float32 {
	out := make([][]float32, len(vs))
	if len(vs) == 0 {
		return out
	}
	dIn, dOut := h.cfg.DIn, h.cfg.DOut
	x := make([]float32, len(vs)*dIn)
	for i, v := range vs {
		if len(v) != dIn {
			panic(fmt.Sprintf("model: head ProjectBatch: vector %d has %d dims, head expects d_in=%d", i, len(v), dIn))
		}
		copy(x[i*dIn:], v)
	}
	// One backing array for all outputs: fewer allocations for large batches.
	flat := make([]float32, len(vs)*dOut)
	h.ProjectRows(flat, x)
	for i := range out {
		out[i] = flat[i*dOut : (i+1)*dOut : (i+1)*dOut]
	}
	return out
}

// ProjectRows is ProjectBatch over row-major matrices: src holds n rows of
// d_in values, dst receives their n projections of d_out values. It spares
// a caller that already holds its vectors in one matrix (a corpus projected
// every epoch) the copies. It panics if the lengths do not fit the head.
func (h *Head) ProjectRows(dst, src []float32) {
	dIn, dOut := h.cfg.DIn, h.cfg.DOut
	n := len(src) / dIn
	if len(src) != n*dIn || len(dst) != n*dOut {
		panic(fmt.Sprintf("model: head ProjectRows: %d source and %d destination values for d_in=%d, d_out=%d", len(src), len(dst), dIn, dOut))
	}
	if n == 0 {
		return
	}
	blas32.Gemm(blas.NoTrans, blas.Trans, 1,
		blas32.General{Rows: n, Cols: dIn, Stride: dIn, Data: src},
		blas32.General{Rows: dOut, Cols: dIn, Stride: dIn, Data: h.weight32()},
		0, blas32.General{Rows: n, Cols: dOut, Stride: dOut, Data: dst})
	z := make([]float64, dOut)
	for i := range n {
		row := dst[i*dOut : (i+1)*dOut]
		if allZero(src[i*dIn : (i+1)*dIn]) { // as in Project: no bias
			clear(row)
			continue
		}
		for j, v := range row {
			z[j] = float64(v)
		}
		for j, b := range h.bias {
			z[j] += b
		}
		headNormalizeInto(row, z)
	}
}

// weight32 is the effective W (d_out×d_in, row-major) in float32.
func (h *Head) weight32() []float32 {
	if h.w32 != nil {
		return h.w32
	}
	return h.buildWeight32()
}

func (h *Head) buildWeight32() []float32 {
	w := h.Weight().RawMatrix()
	out := make([]float32, h.cfg.DOut*h.cfg.DIn)
	for i := 0; i < h.cfg.DOut; i++ {
		for j, v := range w.Data[i*w.Stride : i*w.Stride+h.cfg.DIn] {
			out[i*h.cfg.DIn+j] = float32(v)
		}
	}
	return out
}

// allZero reports whether every value of v is zero.
func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
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
