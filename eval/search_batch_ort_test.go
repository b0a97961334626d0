package eval_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"retune/eval"
	"retune/internal/testenv"
)

// TestSearchBatchEqualsSearchOnMLAS repeats the equality check with
// ONNX Runtime's MLAS doing the products, as in the service: MLAS sums in
// another order than gonum's sgemv, so this is where the rescoring matters
// (with δ = 0 the selection differs from Search's).
func TestSearchBatchEqualsSearchOnMLAS(t *testing.T) {
	testenv.UseMLAS(t)
	r := rand.New(rand.NewPCG(7, 8))
	// 10,000 × 64 with 150 queries: products of 64 × 4096 × 64 multiply-adds,
	// past linalg.MinMACs, and a last partial block of documents.
	for name, corpus := range map[string]func(*rand.Rand, int, int) ([]string, [][]float32){
		"ties": eval.TieCorpus, "cluster": eval.ClusterCorpus,
	} {
		ids, vecs := corpus(r, 10_000, 64)
		ix, err := eval.NewIndex(ids, vecs)
		if err != nil {
			t.Fatal(err)
		}
		qs := eval.TieQueries(r, vecs, 150)
		for _, k := range []int{1, 10, 100} {
			t.Run(fmt.Sprintf("%s/k=%d", name, k), func(t *testing.T) {
				eval.RequireBatchEqualsSearch(t, ix, qs, k, 0)
			})
		}
	}
}
