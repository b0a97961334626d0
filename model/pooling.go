package model

import (
	"math"

	"retune/tokenize"
)

// pool reduces the raw model output to one L2-normalised vector per text:
// a sentence_embedding output is taken as is; a last_hidden_state output is
// mean-pooled over real (mask=1) tokens, or its first token is taken (CLS).
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
			if e.pooling == "cls" {
				copy(v, rows[:dim])
			} else {
				meanPool(v, rows, b.Mask[i*b.SeqLen:(i+1)*b.SeqLen], dim)
			}
			out[i] = v
		}
	}
	if e.normalize {
		for _, v := range out {
			if !Normalize(v) {
				e.zeroVectors.Add(1)
			}
		}
	}
	return out
}

// meanPool averages the token rows whose mask is 1, accumulating in float64.
func meanPool(dst, rows []float32, mask []int64, dim int) {
	acc := make([]float64, dim)
	n := 0
	for t, m := range mask {
		if m == 0 {
			continue
		}
		n++
		row := rows[t*dim : (t+1)*dim]
		for j, x := range row {
			acc[j] += float64(x)
		}
	}
	if n == 0 {
		return
	}
	for j := range dst {
		dst[j] = float32(acc[j] / float64(n))
	}
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
