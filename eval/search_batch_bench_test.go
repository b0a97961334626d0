package eval_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"retune/eval"
	"retune/internal/testenv"
	"retune/internal/testvec"
)

// largeIndex is 300,000 random 100-d documents (search cost depends on the
// shape, not the values) and nq of them as queries.
func largeIndex(b *testing.B, nq int) (*eval.Index, [][]float32) {
	b.Helper()
	const n, dim = 300_000, 100
	r := rand.New(rand.NewPCG(9, 9))
	ids, vecs := testvec.Gaussian(r, n, dim)
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		b.Fatal(err)
	}
	qs := make([][]float32, nq)
	for i := range qs {
		qs[i] = vecs[r.IntN(n)]
	}
	return ix, qs
}

func perQuery(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/query")
}

// BenchmarkSearchBatchLarge is mining's and evaluation's search at the
// scale of a large corpus: 512 top-100 queries over 300,000 × 100
// documents. "per-query" is what SearchBatch did before it used products
// (one sgemv per query, queries spread over the cores); "gonum" and "mlas"
// are SearchBatch with gonum's or ONNX Runtime's GEMM doing the products.
func BenchmarkSearchBatchLarge(b *testing.B) {
	const nq, k = 512, 100
	ix, qs := largeIndex(b, nq)
	batched := func(b *testing.B) {
		for b.Loop() {
			ix.SearchBatch(qs, k, 0)
		}
		perQuery(b, nq)
	}
	b.Run("per-query", func(b *testing.B) {
		procs := runtime.GOMAXPROCS(0)
		for b.Loop() {
			var wg sync.WaitGroup
			for w := range procs {
				wg.Go(func() {
					for i := w; i < nq; i += procs {
						ix.Search(qs[i], k)
					}
				})
			}
			wg.Wait()
		}
		perQuery(b, nq)
	})
	b.Run("gonum", batched)
	testenv.UseMLAS(b)
	b.Run("mlas", batched)
}

// BenchmarkSmallBatches is the service's case, a few concurrent top-10
// queries over 300,000 × 100 documents: one Search after another, against
// SearchBatch on MLAS with the queries in one block (as it does below
// 32 queries) or split into one block per core.
func BenchmarkSmallBatches(b *testing.B) {
	ix, all := largeIndex(b, 32)
	testenv.UseMLAS(b)
	for _, m := range []int{2, 4, 8, 16, 32} {
		qs := all[:m]
		b.Run(fmt.Sprintf("queries=%d/one-by-one", m), func(b *testing.B) {
			for b.Loop() {
				for _, q := range qs {
					ix.Search(q, 10)
				}
			}
			perQuery(b, m)
		})
		for _, split := range []bool{false, true} {
			name, minQueries := "one-block", 32
			if split {
				name, minQueries = "block-per-core", 1
			}
			b.Run(fmt.Sprintf("queries=%d/%s", m, name), func(b *testing.B) {
				defer eval.SetBatchMinQueries(minQueries)()
				for b.Loop() {
					ix.SearchBatch(qs, 10, 0)
				}
				perQuery(b, m)
			})
		}
	}
}

// BenchmarkIVFMining is mining's search on a large corpus with the
// structure of real embeddings (documents around 2,000 topics): 8,192
// top-100 queries over 300,000 × 100 documents, exactly and through an IVF
// of 2·√n lists probing one in sixteen (negatives.MineConfig.UseIVF), on
// MLAS: the IVF's build once, then its search, with its recall@100 against
// the exact top 100.
func BenchmarkIVFMining(b *testing.B) {
	const n, nq, k = 300_000, 8192, 100
	r := rand.New(rand.NewPCG(5, 5))
	ids, docs, qs := eval.TopicCorpus(r, n, nq, 2000, 100, 0.6)
	ix, err := eval.NewIndex(ids, docs)
	if err != nil {
		b.Fatal(err)
	}
	testenv.UseMLAS(b)
	lists := 1095 // 2·√300,000
	var exact [][]eval.Scored
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			exact = ix.SearchBatch(qs, k, 0)
		}
		perQuery(b, nq)
	})
	var ivf *eval.IVF
	b.Run("ivf-build", func(b *testing.B) {
		for b.Loop() {
			ivf = eval.NewIVF(ix, lists, lists/16, 1)
		}
	})
	b.Run("ivf-search", func(b *testing.B) {
		var got [][]eval.Scored
		for b.Loop() {
			got = ivf.SearchBatch(qs, k, 0)
		}
		perQuery(b, nq)
		if exact != nil {
			var found int
			for i := range qs {
				want := map[string]bool{}
				for _, h := range exact[i] {
					want[h.ID] = true
				}
				for _, h := range got[i] {
					if want[h.ID] {
						found++
					}
				}
			}
			b.ReportMetric(float64(found)/float64(nq*k), "recall@100")
		}
	})
}
