package eval_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"retune/eval"
	"retune/internal/testenv"
	"retune/linalg"
)

// BenchmarkSearchBatchLarge is mining's and evaluation's search at the
// scale of a large corpus: 512 top-100 queries over 300,000 × 100
// documents. "per-query" is what SearchBatch did before it used products
// (one sgemv per query, queries spread over the cores); "gonum" and "mlas"
// are SearchBatch with gonum's or ONNX Runtime's GEMM doing the products.
func BenchmarkSearchBatchLarge(b *testing.B) {
	const n, dim, nq, k = 300_000, 100, 512, 100
	r := rand.New(rand.NewPCG(9, 9))
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
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		b.Fatal(err)
	}
	qs := make([][]float32, nq)
	for i := range qs {
		qs[i] = vecs[r.IntN(n)]
	}
	perQuery := func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for w := range runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					for i := w; i < nq; i += runtime.GOMAXPROCS(0) {
						ix.Search(qs[i], k)
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*nq), "µs/query")
	}
	batched := func(b *testing.B) {
		for b.Loop() {
			ix.SearchBatch(qs, k, 0)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*nq), "µs/query")
	}
	b.Run(fmt.Sprintf("docs=%d/dim=%d/per-query", n, dim), perQuery)
	b.Run(fmt.Sprintf("docs=%d/dim=%d/gonum", n, dim), batched)
	testenv.InitORT(b)
	restore, err := linalg.Install(runtime.NumCPU())
	if err != nil {
		b.Fatal(err)
	}
	defer restore()
	b.Run(fmt.Sprintf("docs=%d/dim=%d/mlas", n, dim), batched)
}
