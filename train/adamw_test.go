package train

import (
	"encoding/json"
	"math"
	"testing"
)

// TestAdamWReference checks two steps against values derived by hand.
//
// lr = 0.1, wd = 0.01, β1 = 0.9, β2 = 0.999, ε = 1e-8, p₀ = (1, −2),
// g₁ = (0.5, −1), g₂ = (0.5, 0). Decay factor 1 − lr·wd = 0.999.
//
// Step 1 (bias corrections 1−β1 = 0.1, 1−β2 = 0.001):
//
//	decay  p = (0.999, −1.998)
//	m₁ = 0.1·g₁ = (0.05, −0.1)      v₁ = 0.001·g₁² = (0.00025, 0.001)
//	m̂ = (0.5, −1)                    √v̂ = (0.5, 1)
//	p₁ = (0.999 − 0.1·0.5/(0.5+ε), −1.998 + 0.1·1/(1+ε))
//	   = (0.899000001999999960…, −1.898000000999999990…)
//
// Step 2 (bias corrections 1−β1² = 0.19, 1−β2² = 0.001999):
//
//	decay  p = 0.999·p₁ = (0.898101001998…, −1.896102000999…)
//	m₂ = 0.9·m₁ + 0.1·g₂ = (0.095, −0.09)
//	v₂ = 0.999·v₁ + 0.001·g₂² = (0.00049975, 0.000999)
//	m̂ = (0.095/0.19, −0.09/0.19) = (0.5, −9/19)
//	v̂ = (0.00049975/0.001999, 0.000999/0.001999) = (0.25, 999/1999)
//	p₂ = (0.898101001998… − 0.1·0.5/(0.5+ε),
//	      −1.896102000999… + 0.1·(9/19)/(√(999/1999)+ε))
//	   = (0.798101003997999920…, −1.829096176533188207…)
//
// The first coordinate sees a constant gradient, so Adam takes the same
// ≈lr step twice; the second keeps moving on momentum alone in step 2.
// Folding the decay into the gradient (plain Adam + L2) would give
// p₁[0] ≈ 0.9 instead, so this also pins down the decoupled form.
func TestAdamWReference(t *testing.T) {
	o := NewAdamW(2, 0.1, 0.01)
	p := []float64{1, -2}
	steps := []struct {
		grad  []float64
		wantP []float64
		wantM []float64
		wantV []float64
	}{
		{
			grad:  []float64{0.5, -1},
			wantP: []float64{0.89900000199999996, -1.89800000099999999},
			wantM: []float64{0.05, -0.1},
			wantV: []float64{0.00025, 0.001},
		},
		{
			grad:  []float64{0.5, 0},
			wantP: []float64{0.79810100399799992, -1.82909617653318821},
			wantM: []float64{0.095, -0.09},
			wantV: []float64{0.00049975, 0.000999},
		},
	}
	for k, s := range steps {
		o.Update(p, s.grad)
		if o.Step != k+1 {
			t.Fatalf("after update %d: Step = %d", k+1, o.Step)
		}
		for i := range p {
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"param", p[i], s.wantP[i]},
				{"m", o.M[i], s.wantM[i]},
				{"v", o.V[i], s.wantV[i]},
			} {
				if math.Abs(c.got-c.want) > 1e-13 {
					t.Errorf("step %d %s[%d] = %.17g, want %.17g", k+1, c.what, i, c.got, c.want)
				}
			}
		}
	}
}

// With zero gradients the Adam step is 0/(0+ε) = 0, leaving only the
// decoupled decay p·(1 − lr·wd)ᵗ.
func TestAdamWDecayOnly(t *testing.T) {
	tests := []struct {
		name    string
		lr, wd  float64
		wantPer float64 // multiplicative factor per step
	}{
		{"no decay", 0.1, 0, 1},
		{"decay", 0.1, 0.5, 0.95},
		{"decay scales with lr", 0.01, 0.5, 0.995},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewAdamW(2, tt.lr, tt.wd)
			p := []float64{2, -4}
			for range 3 {
				o.Update(p, []float64{0, 0})
			}
			f := math.Pow(tt.wantPer, 3)
			for i, want := range []float64{2 * f, -4 * f} {
				if math.Abs(p[i]-want) > 1e-15 {
					t.Errorf("p[%d] = %.17g, want %.17g", i, p[i], want)
				}
			}
		})
	}
}

// f(p) = Σ aᵢ(pᵢ − cᵢ)² with curvatures spanning four orders of magnitude:
// Adam's per-coordinate scaling must converge on every coordinate.
func TestAdamWMinimisesQuadratic(t *testing.T) {
	a := []float64{100, 1, 0.01}
	c := []float64{3, -2, 0.5}
	f := func(p []float64) float64 {
		s := 0.0
		for i := range p {
			s += a[i] * (p[i] - c[i]) * (p[i] - c[i])
		}
		return s
	}
	tests := []struct {
		name     string
		lr, wd   float64
		steps    int
		maxParam float64 // max |pᵢ − cᵢ| at the end
	}{
		{"no decay", 0.05, 0, 3000, 1e-3},
		// Decay pulls the fixed point slightly towards 0; it must stay close.
		{"with decay", 0.05, 1e-4, 3000, 5e-2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewAdamW(3, tt.lr, tt.wd)
			p := []float64{0, 0, 0}
			start := f(p)
			g := make([]float64, 3)
			for range tt.steps {
				for i := range p {
					g[i] = 2 * a[i] * (p[i] - c[i])
				}
				o.Update(p, g)
			}
			if end := f(p); !(end < start*1e-3) {
				t.Errorf("f went from %g to %g", start, end)
			}
			for i := range p {
				if d := math.Abs(p[i] - c[i]); d > tt.maxParam {
					t.Errorf("p[%d] = %g, want %g ± %g", i, p[i], c[i], tt.maxParam)
				}
			}
		})
	}
}

// A checkpoint written mid-training and restored must continue exactly as
// the uninterrupted optimizer does.
func TestAdamWCheckpointResume(t *testing.T) {
	grad := func(p []float64, g []float64) {
		for i := range p {
			g[i] = math.Sin(p[i]*3) + 0.1*float64(i)
		}
	}
	o := NewAdamW(4, 0.03, 0.02)
	p := []float64{0.3, -1.2, 2.5, 0}
	g := make([]float64, len(p))
	for range 5 {
		grad(p, g)
		o.Update(p, g)
	}
	blob, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var restored AdamW
	if err := json.Unmarshal(blob, &restored); err != nil {
		t.Fatal(err)
	}
	q := append([]float64(nil), p...)
	for range 5 {
		grad(p, g)
		o.Update(p, g)
		grad(q, g)
		restored.Update(q, g)
	}
	for i := range p {
		if p[i] != q[i] {
			t.Errorf("param %d: uninterrupted %.17g, resumed %.17g", i, p[i], q[i])
		}
	}
	if restored.Step != 10 {
		t.Errorf("restored Step = %d, want 10", restored.Step)
	}
}

func TestAdamWPanicsOnLengthMismatch(t *testing.T) {
	tests := []struct {
		name          string
		params, grads []float64
	}{
		{"grads shorter", []float64{1, 2}, []float64{1}},
		{"state for another model", []float64{1, 2, 3}, []float64{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewAdamW(2, 0.1, 0)
			defer func() {
				if recover() == nil {
					t.Fatal("Update accepted mismatched lengths")
				}
			}()
			o.Update(tt.params, tt.grads)
		})
	}
}
