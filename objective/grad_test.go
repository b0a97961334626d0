package objective

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fdAll returns the central-difference gradient of f with respect to every
// entry of m.
func fdAll(t *testing.T, f func() float64, m *mat.Dense) *mat.Dense {
	t.Helper()
	r, c := m.Dims()
	g := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			g.Set(i, j, centralDiff(t, f, m, i, j))
		}
	}
	return g
}

// fdEntropyStopGrad is the numerical counterpart of the stop-gradient entropy
// gradient on Docs, λ·dL_ent/dDocs with sg(q) and sg(mined). L_ent is the
// mean of per-query terms, so its gradient is Σ_q (1/N)·∂term_q/∂d over the
// generated rows d ∈ G_q only. term_q is obtained as the Entropy of a
// sub-batch holding just q's examples (sharing the matrices), and only the
// generated rows are perturbed, so the query and mined values stay fixed —
// exactly what stop-gradient means.
func fdEntropyStopGrad(t *testing.T, b *Batch, cfg Config) *mat.Dense {
	t.Helper()
	nd, d := b.Docs.Dims()
	out := mat.NewDense(nd, d, nil)
	n := float64(mustCompute(t, b, cfg, termEntropy, nil).EntropyQueries)
	groups := map[int][]Example{}
	for _, ex := range b.Examples {
		groups[ex.Query] = append(groups[ex.Query], ex)
	}
	for _, exs := range groups {
		gen := map[int]bool{}
		for _, ex := range exs {
			for _, ng := range ex.Negatives {
				if ng.Source == Generated {
					gen[ng.Doc] = true
				}
			}
		}
		if len(gen) == 0 {
			continue
		}
		sub := &Batch{Queries: b.Queries, Docs: b.Docs, DocIDs: b.DocIDs, Examples: exs}
		f := func() float64 { return mustCompute(t, sub, cfg, termEntropy, nil).Entropy }
		for r := range gen {
			for j := 0; j < d; j++ {
				out.Set(r, j, out.At(r, j)+cfg.EntropyWeight/n*centralDiff(t, f, b.Docs, r, j))
			}
		}
	}
	return out
}

var gradCases = []struct {
	name string
	opts genOpts
}{
	{"plain", genOpts{examples: 4, mined: 3, generated: 2, d: 6}},
	{"multi-positive query", genOpts{examples: 4, mined: 2, generated: 3, d: 5, sharedQuery: true}},
	{"rows in several roles", genOpts{examples: 5, mined: 3, generated: 2, d: 6, sharedQuery: true, crossUse: true, dupRow: true}},
}

func TestGradInfoNCE(t *testing.T) {
	for _, inBatch := range []bool{false, true} {
		for i, tc := range gradCases {
			name := tc.name + map[bool]string{false: "/explicit", true: "/in-batch"}[inBatch]
			t.Run(name, func(t *testing.T) {
				b := genBatch(rand.New(rand.NewPCG(1, uint64(i))), tc.opts)
				cfg := Config{Temperature: 0.05, InBatch: inBatch}
				res := mustCompute(t, b, cfg, termAll, nil)
				if res.EntropyQueries != 0 || res.Loss != res.InfoNCE {
					t.Fatalf("entropy disabled but Loss %v, InfoNCE %v, EntropyQueries %d", res.Loss, res.InfoNCE, res.EntropyQueries)
				}
				f := func() float64 { return mustCompute(t, b, cfg, termAll, nil).Loss }
				compareGrad(t, "queries", res.GradQueries, fdAll(t, f, b.Queries))
				compareGrad(t, "docs", res.GradDocs, fdAll(t, f, b.Docs))
			})
		}
	}
}

func TestGradEntropy(t *testing.T) {
	for i, tc := range gradCases {
		t.Run(tc.name, func(t *testing.T) {
			b := genBatch(rand.New(rand.NewPCG(2, uint64(i))), tc.opts)
			cfg := Config{Temperature: 0.05, EntropyWeight: 0.7, EntropyTemperature: 0.1}
			res := mustCompute(t, b, cfg, termEntropy, nil)
			if res.EntropyQueries == 0 {
				t.Fatal("no entropy queries")
			}
			if got, want := res.Loss, cfg.EntropyWeight*res.Entropy; got != want {
				t.Fatalf("entropy-only Loss %v, want λ·Entropy %v", got, want)
			}
			if n := mat.Norm(res.GradQueries, 1); n != 0 {
				t.Errorf("entropy term moved the queries (|grad|₁ = %g) despite sg(q)", n)
			}
			compareGrad(t, "docs", res.GradDocs, fdEntropyStopGrad(t, b, cfg))
		})
	}
}

// TestGradTotal checks Compute's full gradient against the numerical
// gradient of the surrogate it differentiates: all of L_InfoNCE plus the
// stop-gradient entropy term.
func TestGradTotal(t *testing.T) {
	for _, inBatch := range []bool{false, true} {
		for i, tc := range gradCases {
			name := tc.name + map[bool]string{false: "/explicit", true: "/in-batch"}[inBatch]
			t.Run(name, func(t *testing.T) {
				b := genBatch(rand.New(rand.NewPCG(3, uint64(i))), tc.opts)
				cfg := Config{Temperature: 0.05, InBatch: inBatch, EntropyWeight: 0.5, EntropyTemperature: 0.1}
				res, err := Compute(b, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if want := res.InfoNCE + cfg.EntropyWeight*res.Entropy; math.Abs(res.Loss-want) > 1e-15*math.Abs(want) {
					t.Fatalf("Loss %v != InfoNCE + λ·Entropy = %v", res.Loss, want)
				}
				nce := func() float64 { return mustCompute(t, b, cfg, termInfoNCE, nil).Loss }
				wantQ := fdAll(t, nce, b.Queries)
				wantD := fdAll(t, nce, b.Docs)
				wantD.Add(wantD, fdEntropyStopGrad(t, b, cfg))
				compareGrad(t, "queries", res.GradQueries, wantQ)
				compareGrad(t, "docs", res.GradDocs, wantD)
			})
		}
	}
}

// TestStopGradient pins down the sg(·) in s_i = cos(sg(q), d_i)/τ_ent with
// sg on the mined negatives too: the entropy term's analytic gradient is
// exactly zero on the query and mined rows and non-zero on generated rows,
// although the term's value DOES depend on the query and the mined rows (their
// numerical derivative is clearly non-zero). So the zeros are a deliberate
// stop-gradient, not an accident of the term being constant in them.
func TestStopGradient(t *testing.T) {
	b := genBatch(rand.New(rand.NewPCG(4, 0)), genOpts{examples: 3, mined: 3, generated: 2, d: 5, sharedQuery: true})
	// τ_ent = 0.5 keeps every mined p_i well away from 0; the mined rows enter
	// the term only through P_gen in L_bal (p̃ is a softmax over G alone), so
	// at τ_ent = 0.1 a distant mined negative can have a derivative near the
	// FD noise floor (~1e-10).
	cfg := Config{Temperature: 0.05, EntropyWeight: 1, EntropyTemperature: 0.5}
	res := mustCompute(t, b, cfg, termEntropy, nil)
	f := func() float64 { return mustCompute(t, b, cfg, termEntropy, nil).Entropy }
	_, d := b.Docs.Dims()

	maxFD := func(m *mat.Dense, r int) float64 {
		v := 0.0
		for j := 0; j < d; j++ {
			v = math.Max(v, math.Abs(centralDiff(t, f, m, r, j)))
		}
		return v
	}
	for q := 0; q < 2; q++ {
		if n := mat.Norm(res.GradQueries.RowView(q), 2); n != 0 {
			t.Errorf("query %d: analytic entropy gradient %g, want exactly 0", q, n)
		}
		if v := maxFD(b.Queries, q); v < 1e-5 {
			t.Errorf("query %d: numerical derivative %g; the term should depend on q", q, v)
		}
	}
	for e, ex := range b.Examples {
		for _, ng := range ex.Negatives {
			n := mat.Norm(res.GradDocs.RowView(ng.Doc), 2)
			switch ng.Source {
			case Mined:
				if n != 0 {
					t.Errorf("example %d mined row %d: analytic gradient %g, want exactly 0", e, ng.Doc, n)
				}
				if v := maxFD(b.Docs, ng.Doc); v < 1e-5 {
					t.Errorf("example %d mined row %d: numerical derivative %g; the term should depend on it", e, ng.Doc, v)
				} else {
					t.Logf("mined row %d: analytic 0, numerical max |∂/∂d| = %.3g", ng.Doc, v)
				}
			case Generated:
				if n < 1e-3 {
					t.Errorf("example %d generated row %d: gradient %g, want non-zero", e, ng.Doc, n)
				}
			}
		}
		if n := mat.Norm(res.GradDocs.RowView(ex.Positive), 2); n != 0 {
			t.Errorf("example %d positive: entropy gradient %g, want 0", e, n)
		}
	}
}
