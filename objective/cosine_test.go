package objective

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestZeroVector: a zero query has cosine 0 with everything, so its loss is
// exactly log(#candidates); a zero doc has cosine 0 too. Nothing may be NaN
// or Inf, neither the loss nor any gradient entry.
func TestZeroVector(t *testing.T) {
	b := &Batch{
		Queries: rows([]float64{0, 0, 0}, []float64{1, 2, 3}),
		Docs:    rows([]float64{1, 0, 0}, []float64{0, 0, 0}, []float64{0, 1, 0}, []float64{0, 0, 0}),
		DocIDs:  []string{"p0", "zero", "g", "p1"},
		Examples: []Example{
			{Query: 0, Positive: 0, Negatives: []Negative{{1, Mined}, {2, Generated}}},
			{Query: 1, Positive: 3, Negatives: []Negative{{1, Mined}, {2, Generated}}},
		},
	}
	cfg := DefaultConfig()
	cfg.InBatch = false
	ex := make([]float64, 2)
	res := mustCompute(t, b, cfg, termAll, ex)
	if !near(ex[0], math.Log(3), 1e-15) {
		t.Errorf("zero query loss %.17g, want log 3 = %.17g", ex[0], math.Log(3))
	}
	check := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v", name, v)
		}
	}
	check("Loss", res.Loss)
	check("Entropy", res.Entropy)
	for _, m := range []*mat.Dense{res.GradQueries, res.GradDocs} {
		r, c := m.Dims()
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				check("gradient entry", m.At(i, j))
			}
		}
	}
}

// TestZeroVectorGradient: at a zero row the norm is floored at ε = 1e-12, so
// near 0 the cosine is x·b̂/ε and the gradient is the un-projected g/ε. A
// central difference with h = 1e-16 stays inside that floored region
// (‖x‖ ≤ 1e-16 < ε) and must agree with it. The gradient is large (∝ 1/ε):
// that is the exact derivative of the floored function, as with
// torch.nn.functional.normalize.
func TestZeroVectorGradient(t *testing.T) {
	b := &Batch{
		Queries:  rows([]float64{0, 0, 0}, []float64{1, 2, 3}),
		Docs:     rows([]float64{1, 0.5, 0}, []float64{0, 0, 0}, []float64{0, 1, -2}),
		DocIDs:   []string{"p0", "zero", "n"},
		Examples: []Example{{Query: 0, Positive: 0, Negatives: []Negative{{1, Mined}, {2, Mined}}}, {Query: 1, Positive: 0, Negatives: []Negative{{1, Mined}, {2, Mined}}}},
	}
	cfg := Config{Temperature: 0.05}
	res := mustCompute(t, b, cfg, termAll, nil)
	const h = 1e-16
	f := func() float64 { return mustCompute(t, b, cfg, termAll, nil).Loss }
	for _, c := range []struct {
		name string
		m    *mat.Dense
		grad *mat.Dense
		row  int
	}{{"zero query", b.Queries, res.GradQueries, 0}, {"zero doc", b.Docs, res.GradDocs, 1}} {
		for j := 0; j < 3; j++ {
			c.m.Set(c.row, j, h)
			fp := f()
			c.m.Set(c.row, j, -h)
			fm := f()
			c.m.Set(c.row, j, 0)
			num, ana := (fp-fm)/(2*h), c.grad.At(c.row, j)
			if relErr(ana, num) > 1e-6 {
				t.Errorf("%s[%d]: analytic %.10g, numerical %.10g", c.name, j, ana, num)
			}
		}
	}
}
