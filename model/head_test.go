package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// headTestConfigs covers every parameterisation the gradient, projection
// and persistence tests must agree on.
var headTestConfigs = []struct {
	name string
	cfg  HeadConfig
}{
	{"full square", HeadConfig{DIn: 5, DOut: 5, Seed: 1}},
	{"full square bias", HeadConfig{DIn: 5, DOut: 5, Bias: true, Seed: 2}},
	{"expand bias", HeadConfig{DIn: 4, DOut: 6, Bias: true, Seed: 3}},
	{"reduce", HeadConfig{DIn: 6, DOut: 3, Seed: 4}},
	{"low-rank", HeadConfig{DIn: 5, DOut: 5, Rank: 2, Seed: 5}},
	{"low-rank bias query", HeadConfig{DIn: 5, DOut: 5, Rank: 2, Bias: true, Apply: ApplyQuery, Seed: 6}},
}

func headMust(t *testing.T, cfg HeadConfig) *Head {
	t.Helper()
	h, err := NewHead(cfg)
	if err != nil {
		t.Fatalf("NewHead(%+v): %v", cfg, err)
	}
	return h
}

// randomizeParams moves a head away from its initialisation so that every
// parameter block (including A·B and the bias) influences the output.
func headRandomizeParams(h *Head, rng *rand.Rand) {
	for i := range h.Params() {
		h.Params()[i] = rng.NormFloat64() * 0.5
	}
}

func headRandDense(rng *rand.Rand, r, c int) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	raw := m.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	return m
}

func TestNewHeadValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HeadConfig
		wantErr bool
	}{
		{"square", HeadConfig{DIn: 4, DOut: 4}, false},
		{"non-square", HeadConfig{DIn: 4, DOut: 2}, false},
		{"low-rank full rank", HeadConfig{DIn: 4, DOut: 4, Rank: 4}, false},
		{"query mode", HeadConfig{DIn: 4, DOut: 4, Apply: ApplyQuery}, false},
		{"query mode, another width", HeadConfig{DIn: 4, DOut: 2, Apply: ApplyQuery}, true},
		{"zero d_in", HeadConfig{DIn: 0, DOut: 4}, true},
		{"negative d_out", HeadConfig{DIn: 4, DOut: -1}, true},
		{"negative rank", HeadConfig{DIn: 4, DOut: 4, Rank: -1}, true},
		{"widest d_out", HeadConfig{DIn: 4, DOut: MaxHeadDim}, false},
		{"d_out too wide", HeadConfig{DIn: 100, DOut: 65536}, true},
		{"low-rank non-square", HeadConfig{DIn: 4, DOut: 3, Rank: 2}, true},
		{"rank above dim", HeadConfig{DIn: 4, DOut: 4, Rank: 5}, true},
		{"unknown apply", HeadConfig{DIn: 4, DOut: 4, Apply: "docs"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHead(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewHead(%+v) error = %v, wantErr %v", tt.cfg, err, tt.wantErr)
			}
			if err == nil && h.Config().Apply == "" {
				t.Errorf("Config().Apply is empty; want the default %q filled in", ApplyShared)
			}
		})
	}
}

func TestHeadAppliesToDocs(t *testing.T) {
	tests := []struct {
		apply string
		want  bool
	}{
		{"", true},
		{ApplyShared, true},
		{ApplyQuery, false},
	}
	for _, tt := range tests {
		h := headMust(t, HeadConfig{DIn: 3, DOut: 3, Apply: tt.apply})
		if got := h.AppliesToDocs(); got != tt.want {
			t.Errorf("Apply %q: AppliesToDocs() = %v, want %v", tt.apply, got, tt.want)
		}
	}
}

func TestHeadInitSquareIsIdentity(t *testing.T) {
	for _, cfg := range []HeadConfig{
		{DIn: 6, DOut: 6, Bias: true},
		{DIn: 6, DOut: 6, Rank: 3, Bias: true, Seed: 9},
	} {
		h := headMust(t, cfg)
		w := h.Weight()
		for i := 0; i < 6; i++ {
			for j := 0; j < 6; j++ {
				want := 0.0
				if i == j {
					want = 1
				}
				if w.At(i, j) != want {
					t.Fatalf("%+v: W[%d,%d] = %v, want %v", cfg, i, j, w.At(i, j), want)
				}
			}
		}
		for i, b := range h.Bias() {
			if b != 0 {
				t.Fatalf("%+v: bias[%d] = %v, want 0", cfg, i, b)
			}
		}
	}
}

func TestHeadInitLowRankHasGradient(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 5, DOut: 5, Rank: 2, Seed: 11})
	rng := rand.New(rand.NewPCG(1, 2))
	x := headRandDense(rng, 3, 5)
	dz := headRandDense(rng, 3, 5)
	g := h.Backward(x, dz)
	var dA float64
	for _, v := range g[:5*2] {
		dA += v * v
	}
	if dA == 0 {
		t.Fatal("gradient w.r.t. A is zero at initialisation; the low-rank head could never leave the identity")
	}
}

func TestHeadInitNonSquareSemiOrthogonal(t *testing.T) {
	tests := []struct {
		dIn, dOut int
	}{
		{4, 7}, // orthonormal columns: WᵀW = I
		{7, 4}, // orthonormal rows:    WWᵀ = I
	}
	for _, tt := range tests {
		h := headMust(t, HeadConfig{DIn: tt.dIn, DOut: tt.dOut, Seed: 42})
		w := h.Weight()
		var g mat.Dense
		if tt.dOut > tt.dIn {
			g.Mul(w.T(), w)
		} else {
			g.Mul(w, w.T())
		}
		n, _ := g.Dims()
		if !mat.EqualApprox(&g, headIdentity(n), 1e-12) {
			t.Errorf("d_in=%d d_out=%d: Gram matrix is not I:\n%v", tt.dIn, tt.dOut, mat.Formatted(&g))
		}
	}
}

func TestHeadInitSeeded(t *testing.T) {
	for _, cfg := range []HeadConfig{
		{DIn: 4, DOut: 6, Seed: 7},
		{DIn: 6, DOut: 6, Rank: 2, Seed: 7},
	} {
		a, b := headMust(t, cfg), headMust(t, cfg)
		other := cfg
		other.Seed++
		c := headMust(t, other)
		if !headEqualFloats(a.Params(), b.Params()) {
			t.Errorf("%+v: same seed gave different parameters", cfg)
		}
		if headEqualFloats(a.Params(), c.Params()) {
			t.Errorf("%+v: seeds %d and %d gave identical parameters", cfg, cfg.Seed, other.Seed)
		}
	}
}

// An optimizer updates Params() in place; Forward and Weight must see it.
func TestHeadParamsAliasStorage(t *testing.T) {
	for _, tc := range headTestConfigs {
		t.Run(tc.name, func(t *testing.T) {
			h := headMust(t, tc.cfg)
			rng := rand.New(rand.NewPCG(3, 4))
			x := headRandDense(rng, 2, tc.cfg.DIn)
			before := h.Forward(x)
			p := h.Params()
			for i := range p {
				p[i] += 0.25
			}
			after := h.Forward(x)
			if mat.EqualApprox(before, after, 1e-12) {
				t.Fatal("Forward did not change after updating Params() in place")
			}
			if !mat.EqualApprox(after, headReferenceForward(h, x), 1e-12) {
				t.Fatal("Forward disagrees with X·Weight()ᵀ + b after an in-place update")
			}
		})
	}
}

func TestHeadForwardMatchesWeight(t *testing.T) {
	for _, tc := range headTestConfigs {
		t.Run(tc.name, func(t *testing.T) {
			h := headMust(t, tc.cfg)
			rng := rand.New(rand.NewPCG(5, 6))
			headRandomizeParams(h, rng)
			x := headRandDense(rng, 4, tc.cfg.DIn)
			if got, want := h.Forward(x), headReferenceForward(h, x); !mat.EqualApprox(got, want, 1e-12) {
				t.Fatalf("Forward =\n%v\nwant\n%v", mat.Formatted(got), mat.Formatted(want))
			}
		})
	}
}

// Weight must be exactly I + A·B for the low-rank form, with A and B read
// from Params in the documented order.
func TestHeadLowRankWeightLayout(t *testing.T) {
	const d, r = 4, 2
	h := headMust(t, HeadConfig{DIn: d, DOut: d, Rank: r})
	p := h.Params()
	for i := range p {
		p[i] = float64(i + 1)
	}
	a := mat.NewDense(d, r, p[:d*r])
	b := mat.NewDense(r, d, p[d*r:])
	w := h.Weight()
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			for k := 0; k < r; k++ {
				want += a.At(i, k) * b.At(k, j)
			}
			if w.At(i, j) != want {
				t.Fatalf("W[%d,%d] = %v, want %v", i, j, w.At(i, j), want)
			}
		}
	}
}

func TestHeadClone(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3, Rank: 1, Bias: true, Seed: 1})
	c := h.Clone()
	if !headEqualFloats(h.Params(), c.Params()) || c.Config() != h.Config() {
		t.Fatal("clone differs from original")
	}
	c.Params()[0] = 99
	c.Bias()[0] = 98
	if h.Params()[0] == 99 || h.Bias()[0] == 98 {
		t.Fatal("clone shares storage with the original")
	}
	if c.Weight().At(0, 0) == h.Weight().At(0, 0) {
		t.Fatal("clone's matrix views do not point at its own parameters")
	}
}

func TestHeadForwardPanicsOnWrongWidth(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3})
	defer func() {
		if recover() == nil {
			t.Fatal("Forward accepted a 2-column input for d_in=3")
		}
	}()
	h.Forward(mat.NewDense(1, 2, nil))
}

// referenceForward computes X·Wᵀ + b element by element from Weight().
func headReferenceForward(h *Head, x *mat.Dense) *mat.Dense {
	w := h.Weight()
	n, dIn := x.Dims()
	dOut, _ := w.Dims()
	z := mat.NewDense(n, dOut, nil)
	for i := 0; i < n; i++ {
		for o := 0; o < dOut; o++ {
			s := 0.0
			if h.Bias() != nil {
				s = h.Bias()[o]
			}
			for j := 0; j < dIn; j++ {
				s += w.At(o, j) * x.At(i, j)
			}
			z.Set(i, o, s)
		}
	}
	return z
}

func headIdentity(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		m.Set(i, i, 1)
	}
	return m
}

func headEqualFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
