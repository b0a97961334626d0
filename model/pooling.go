package model

import (
	"math"

	"gonum.org/v1/gonum/blas/blas32"

	"retune/models"
	"retune/tokenize"
)

// pool reduces the raw model output to one vector per text, L2-normalised
// when the encoder normalises: a sentence_embedding output is taken as is; a
// last_hidden_state output is mean- or max-pooled over real (mask=1)
// tokens, or its first real token (CLS) or last real token (decoder embedders)
// is taken. All-zero vectors are counted either way; a text without a real
// token pools to zero in every mode.
func (e *Encoder) pool(raw []float32, shape []int64, b *tokenize.Batch) [][]float32 {
	out := make([][]float32, b.Size)
	if e.pooled {
		dim := int(shape[len(shape)-1])
		for i := range out {
			out[i] = append([]float32(nil), raw[i*dim:(i+1)*dim]...)
		}
	} else {
		seq, dim := int(shape[1]), int(shape[2])
		for i := range out {
			v := make([]float32, dim)
			rows := raw[i*seq*dim : (i+1)*seq*dim]
			mask := b.Mask[i*b.SeqLen : (i+1)*b.SeqLen]
			switch e.pooling {
			case models.PoolingCLS:
				firstTokenPool(v, rows, mask, dim)
			case models.PoolingMax:
				maxPool(v, rows, mask, dim)
			case models.PoolingLastToken:
				lastTokenPool(v, rows, mask, dim)
			case models.PoolingMeanSqrtLen:
				weightedPool(v, rows, mask, dim, sqrtLenWeights)
			case models.PoolingWeightedMean:
				weightedPool(v, rows, mask, dim, positionWeights)
			default:
				meanPool(v, rows, mask, dim)
			}
			out[i] = v
		}
	}
	for _, v := range out {
		if e.normalize && !Normalize(v) || !e.normalize && allZero(v) {
			e.zeroVectors.Add(1)
		}
	}
	return out
}

// meanPool averages the token rows whose mask is 1 into dst. Rows are
// summed with BLAS saxpy (SIMD): pooling runs on the critical path after
// every forward pass, and for a lookup-table encoder like glove-100d it costs
// as much as the forward pass itself. float32 sums of a few hundred unit-scale
// rows stay within 1e-6 of a float64 sum, far below what normalisation and
// cosine ranking can see.
func meanPool(dst, rows []float32, mask []int64, dim int) {
	clear(dst)
	acc := blas32.Vector{N: dim, Inc: 1, Data: dst}
	n := 0
	for t, m := range mask {
		if m == 0 {
			continue
		}
		n++
		blas32.Axpy(1, blas32.Vector{N: dim, Inc: 1, Data: rows[t*dim : (t+1)*dim]}, acc)
	}
	if n == 0 {
		return
	}
	blas32.Scal(1/float32(n), acc)
}

// maxPool takes, per dimension, the largest value over the token rows
// whose mask is 1 (sentence-transformers' max pooling); dst stays zero when
// no mask is 1.
func maxPool(dst, rows []float32, mask []int64, dim int) {
	clear(dst)
	first := true
	for t, m := range mask {
		if m == 0 {
			continue
		}
		row := rows[t*dim : (t+1)*dim]
		if first {
			copy(dst, row)
			first = false
			continue
		}
		for j, x := range row {
			dst[j] = max(dst[j], x)
		}
	}
}

// firstTokenPool copies the row of the first real token (mask 1): CLS
// pooling, the first position unless the tokenizer pads on the left (where
// the first row is padding, and sentence-transformers' CLS pooling would
// read it); dst stays zero when no mask is 1.
func firstTokenPool(dst, rows []float32, mask []int64, dim int) {
	clear(dst)
	for t, m := range mask {
		if m != 0 {
			copy(dst, rows[t*dim:(t+1)*dim])
			return
		}
	}
}

// lastTokenPool takes the row of the last token whose mask is 1: the one a
// decoder's causal attention has let see the whole text, end-of-text
// marker included when the tokenizer adds one, whichever side the
// tokenizer pads. dst stays zero when no mask is 1.
func lastTokenPool(dst, rows []float32, mask []int64, dim int) {
	clear(dst)
	for t := len(mask) - 1; t >= 0; t-- {
		if mask[t] != 0 {
			copy(dst, rows[t*dim:(t+1)*dim])
			return
		}
	}
}

// weightedPool is Σ w_k·row_k / divisor over the real tokens (mask 1), the
// k-th of n weighted w_k = weight(k) and divisor(n) from weights; dst stays
// zero when no mask is 1.
func weightedPool(dst, rows []float32, mask []int64, dim int, weights func(n int) (w func(k int) float32, divisor float32)) {
	clear(dst)
	n := 0
	for _, m := range mask {
		if m != 0 {
			n++
		}
	}
	if n == 0 {
		return
	}
	w, div := weights(n)
	acc := blas32.Vector{N: dim, Inc: 1, Data: dst}
	k := 0
	for t, m := range mask {
		if m == 0 {
			continue
		}
		k++
		blas32.Axpy(w(k), blas32.Vector{N: dim, Inc: 1, Data: rows[t*dim : (t+1)*dim]}, acc)
	}
	blas32.Scal(1/div, acc)
}

// sqrtLenWeights: every token 1, the sum divided by √n
// (sentence-transformers' mean_sqrt_len_tokens).
func sqrtLenWeights(n int) (func(int) float32, float32) {
	return func(int) float32 { return 1 }, float32(math.Sqrt(float64(n)))
}

// positionWeights: the k-th real token k, the sum divided by Σk
// (sentence-transformers' weightedmean_tokens; it counts positions in the
// padded row, which differ from these only when the tokenizer pads left,
// where they would make a text's vector depend on its batch).
func positionWeights(n int) (func(int) float32, float32) {
	return func(k int) float32 { return float32(k) }, float32(n*(n+1)) / 2
}

// Normalize scales v to unit L2 norm in place. A zero vector stays zero (no
// NaN) and Normalize reports false for it.
func Normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return false
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return true
}
