// Package vecmath holds the small float32 vector arithmetic several
// packages need outside the hot paths (which use BLAS), and the check that
// a model's vectors are finite.
package vecmath

import "math"

// Cosine is the cosine similarity of a and b, in float64; 0 when either is
// zero (no direction to compare). Vectors are not assumed to be unit.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range min(len(a), len(b)) {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// FirstNonFinite returns the first vector of vecs holding a NaN or an
// infinity, and that value's position, or -1, -1: JSON has no NaN, and an
// index refuses such a vector, so a model's output is checked before use.
func FirstNonFinite(vecs [][]float32) (vec, at int) {
	for i, v := range vecs {
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return i, j
			}
		}
	}
	return -1, -1
}
