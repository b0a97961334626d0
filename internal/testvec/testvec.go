// Package testvec draws random embeddings for tests and benchmarks, where
// search cost depends on the shape of the vectors and not their values.
package testvec

import (
	"math/rand/v2"
	"strconv"
)

// Gaussian returns the ids "0", "1", … "n-1" and n vectors of dim standard
// normal values drawn from r.
func Gaussian(r *rand.Rand, n, dim int) ([]string, [][]float32) {
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range vecs {
		ids[i] = strconv.Itoa(i)
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		vecs[i] = v
	}
	return ids, vecs
}
