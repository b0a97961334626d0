package objective

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// genOpts describes a random batch. Every example gets its own positive,
// mined and generated rows with fresh IDs unless an option says otherwise.
type genOpts struct {
	examples, mined, generated, d int
	// sharedQuery makes examples 0 and 1 one multi-positive query: same
	// query row, and each excludes both positives.
	sharedQuery bool
	// crossUse reuses example 0's generated rows elsewhere: its first
	// generated row becomes example 2's first mined negative and its second
	// becomes example 3's positive, so gradients from several roles add up.
	crossUse bool
	// dupRow appends to example 2 an extra mined negative that is a copy
	// (same ID, same values) of example 1's first mined row.
	dupRow bool
}

func genBatch(rng *rand.Rand, o genOpts) *Batch {
	var docs [][]float64
	var ids []string
	newRow := func(id string) int {
		v := make([]float64, o.d)
		for k := range v {
			v[k] = rng.NormFloat64()
		}
		docs = append(docs, v)
		ids = append(ids, id)
		return len(docs) - 1
	}
	b := &Batch{}
	nq := 0
	for e := 0; e < o.examples; e++ {
		q := nq
		if o.sharedQuery && e == 1 {
			q = b.Examples[0].Query
		} else {
			nq++
		}
		ex := Example{Query: q, Positive: newRow(fmt.Sprintf("p%d", e))}
		ex.Exclude = []string{ids[ex.Positive]}
		for k := 0; k < o.mined; k++ {
			ex.Negatives = append(ex.Negatives, Negative{Doc: newRow(fmt.Sprintf("m%d_%d", e, k)), Source: Mined})
		}
		for k := 0; k < o.generated; k++ {
			ex.Negatives = append(ex.Negatives, Negative{Doc: newRow(fmt.Sprintf("g%d_%d", e, k)), Source: Generated})
		}
		b.Examples = append(b.Examples, ex)
	}
	if o.sharedQuery {
		both := []string{ids[b.Examples[0].Positive], ids[b.Examples[1].Positive]}
		b.Examples[0].Exclude, b.Examples[1].Exclude = both, both
	}
	if o.crossUse {
		g := b.Examples[0].Negatives[o.mined:]
		b.Examples[2].Negatives[0].Doc = g[0].Doc
		b.Examples[3].Positive = g[1].Doc
		b.Examples[3].Exclude = []string{ids[g[1].Doc]}
	}
	if o.dupRow {
		src := b.Examples[1].Negatives[0].Doc
		docs = append(docs, append([]float64(nil), docs[src]...))
		ids = append(ids, ids[src])
		b.Examples[2].Negatives = append(b.Examples[2].Negatives, Negative{Doc: len(docs) - 1, Source: Mined})
	}
	b.Queries = mat.NewDense(nq, o.d, nil)
	for i := 0; i < nq; i++ {
		for k := 0; k < o.d; k++ {
			b.Queries.Set(i, k, rng.NormFloat64())
		}
	}
	b.Docs = mat.NewDense(len(docs), o.d, nil)
	for i, v := range docs {
		b.Docs.SetRow(i, v)
	}
	b.DocIDs = ids
	return b
}

// near reports |a−b| ≤ tol.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// rows builds a matrix from literal rows.
func rows(r ...[]float64) *mat.Dense {
	m := mat.NewDense(len(r), len(r[0]), nil)
	for i, v := range r {
		m.SetRow(i, v)
	}
	return m
}

// fdStep is the central-difference step. With losses of order 1 the rounding
// error of (f(x+h) − f(x−h))/2h is ~1e-16/1e-6 = 1e-10 and the truncation
// error h²·f”'/6 stays below ~1e-8 even with 1/τ = 20.
const fdStep = 1e-6

// centralDiff returns (f(m+h·e_ij) − f(m−h·e_ij)) / 2h, restoring m.
func centralDiff(t *testing.T, f func() float64, m *mat.Dense, i, j int) float64 {
	t.Helper()
	orig := m.At(i, j)
	m.Set(i, j, orig+fdStep)
	fp := f()
	m.Set(i, j, orig-fdStep)
	fm := f()
	m.Set(i, j, orig)
	return (fp - fm) / (2 * fdStep)
}

// relErr is |a−n| / max(|a|, |n|, floor). The floor (1e-3) stops entries that
// are zero up to FD noise (~1e-9) from reading as large relative errors; for
// them the check is effectively |a−n| < 1e-7.
func relErr(a, n float64) float64 {
	return math.Abs(a-n) / math.Max(math.Max(math.Abs(a), math.Abs(n)), 1e-3)
}

// mustCompute runs compute and fails the test on error.
func mustCompute(t *testing.T, b *Batch, cfg Config, tm terms, exLoss []float64) Result {
	t.Helper()
	r, err := compute(b, cfg, tm, exLoss, nil, nil)
	if err != nil {
		t.Fatalf("compute: %v", err)
	}
	return r
}

// compareGrad checks analytic against expected entry by entry and also that
// the gradient is not trivially zero, so the comparison cannot pass vacuously.
func compareGrad(t *testing.T, name string, analytic, expected *mat.Dense) {
	t.Helper()
	r, c := analytic.Dims()
	worst, biggest := 0.0, 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			a, n := analytic.At(i, j), expected.At(i, j)
			biggest = math.Max(biggest, math.Abs(a))
			if e := relErr(a, n); e > worst {
				worst = e
			}
			if e := relErr(a, n); e >= 1e-4 {
				t.Errorf("%s[%d,%d]: analytic %.10g, numerical %.10g, rel err %.3g", name, i, j, a, n, e)
			}
		}
	}
	if biggest < 1e-2 {
		t.Errorf("%s: largest gradient entry %.3g; test would be vacuous", name, biggest)
	}
	t.Logf("%s: worst rel err %.3g", name, worst)
}
