package eval

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"retune/internal/testvec"
)

// benchIndex builds a SciFact-sized index of random unit vectors; search cost
// depends only on the shape, not the values.
func benchIndex(b *testing.B, n, dim int) (*Index, [][]float32) {
	b.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	ids, vecs := testvec.Gaussian(r, n, dim)
	ix, err := NewIndex(ids, vecs)
	if err != nil {
		b.Fatal(err)
	}
	qs := make([][]float32, 64)
	for i := range qs {
		qs[i] = vecs[r.IntN(n)]
	}
	return ix, qs
}

// BenchmarkSearch is one top-10 query against SciFact's 5,183 documents at
// the two embedding sizes we use (GloVe-100d heads and MiniLM's 384).
func BenchmarkSearch(b *testing.B) {
	for _, dim := range []int{100, 384} {
		b.Run(fmt.Sprintf("docs=5183/dim=%d/k=10", dim), func(b *testing.B) {
			ix, qs := benchIndex(b, 5183, dim)
			i := 0
			for b.Loop() {
				ix.Search(qs[i%len(qs)], 10)
				i++
			}
		})
	}
}

func BenchmarkSearchBatch(b *testing.B) {
	ix, qs := benchIndex(b, 5183, 100)
	for b.Loop() {
		ix.SearchBatch(qs, 10, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
}

// dotGo is the best pure-Go kernel we tried (4 independent accumulators so
// the adds pipeline); kept here only so BenchmarkScoreKernel can show why
// Search uses BLAS instead.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		aa, bb := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// BenchmarkScoreKernel compares scoring all documents with gonum's sgemv
// (what Search does) against the pure-Go loop.
func BenchmarkScoreKernel(b *testing.B) {
	ix, qs := benchIndex(b, 5183, 100)
	scores := make([]float32, ix.Len())
	b.Run("blas32.Gemv+select", func(b *testing.B) {
		for b.Loop() {
			ix.search(qs[0], 1, scores)
		}
	})
	b.Run("pure-Go", func(b *testing.B) {
		for b.Loop() {
			for r := range scores {
				scores[r] = dotGo(ix.data[r*ix.dim:(r+1)*ix.dim], qs[0])
			}
		}
	})
}
