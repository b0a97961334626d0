package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func headRandVec(rng *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func TestHeadProjectIdentityNormalises(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, cfg := range []HeadConfig{
		{DIn: 8, DOut: 8},
		{DIn: 8, DOut: 8, Bias: true, Apply: ApplyQuery},
		{DIn: 8, DOut: 8, Rank: 3, Seed: 4},
	} {
		h := headMust(t, cfg)
		v := headRandVec(rng, 8)
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		got := h.Project(v)
		for i := range v {
			want := float64(v[i]) / math.Sqrt(ss)
			if math.Abs(float64(got[i])-want) > 1e-6 {
				t.Fatalf("%+v: Project(v)[%d] = %v, want normalise(v)[%d] = %v", cfg, i, got[i], i, want)
			}
		}
	}
}

func TestHeadProjectUnitNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, tc := range headTestConfigs {
		h := headMust(t, tc.cfg)
		headRandomizeParams(h, rng)
		out := h.Project(headRandVec(rng, tc.cfg.DIn))
		var ss float64
		for _, x := range out {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-6 {
			t.Errorf("%s: ‖Project(v)‖² = %v, want 1", tc.name, ss)
		}
	}
}

// A zero vector (e.g. an empty document) must stay zero rather than turning
// into NaN and poisoning every similarity it takes part in.
func TestHeadProjectZeroVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	tests := []struct {
		name      string
		cfg       HeadConfig
		randomize bool
	}{
		{"identity", HeadConfig{DIn: 5, DOut: 5}, false},
		{"low-rank identity", HeadConfig{DIn: 5, DOut: 5, Rank: 2}, false},
		{"random full", HeadConfig{DIn: 5, DOut: 3}, true},
		{"random low-rank", HeadConfig{DIn: 5, DOut: 5, Rank: 2}, true},
		// The bias is not added to a zero vector: it stands for a text the
		// encoder knows nothing of.
		{"random full+bias", HeadConfig{DIn: 5, DOut: 3, Bias: true}, true},
		{"random low-rank+bias", HeadConfig{DIn: 5, DOut: 5, Rank: 2, Bias: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := headMust(t, tt.cfg)
			if tt.randomize {
				headRandomizeParams(h, rng)
			}
			zero := make([]float32, tt.cfg.DIn)
			for _, out := range [][]float32{h.Project(zero), h.ProjectBatch([][]float32{headRandVec(rng, tt.cfg.DIn), zero})[1]} {
				if len(out) != tt.cfg.DOut {
					t.Fatalf("output has %d dims, want %d", len(out), tt.cfg.DOut)
				}
				for i, x := range out {
					if x != 0 {
						t.Fatalf("output[%d] = %v, want 0", i, x)
					}
				}
			}
		})
	}
}

func TestHeadProjectBatchMatchesProject(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	for _, tc := range headTestConfigs {
		t.Run(tc.name, func(t *testing.T) {
			h := headMust(t, tc.cfg)
			headRandomizeParams(h, rng)
			vs := make([][]float32, 7)
			for i := range vs {
				vs[i] = headRandVec(rng, tc.cfg.DIn)
			}
			vs[3] = make([]float32, tc.cfg.DIn) // zero row inside a batch
			batch := h.ProjectBatch(vs)
			if len(batch) != len(vs) {
				t.Fatalf("ProjectBatch returned %d rows, want %d", len(batch), len(vs))
			}
			for i, v := range vs {
				single := h.Project(v)
				for j := range single {
					if math.Abs(float64(batch[i][j]-single[j])) > 1e-6 {
						t.Fatalf("row %d dim %d: ProjectBatch %v, Project %v", i, j, batch[i][j], single[j])
					}
				}
			}
		})
	}
}

// A frozen head projects exactly as before, from one float32 W reused by
// every call.
func TestHeadFreeze(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	for _, tc := range headTestConfigs {
		t.Run(tc.name, func(t *testing.T) {
			h := headMust(t, tc.cfg)
			headRandomizeParams(h, rng)
			vs := [][]float32{headRandVec(rng, tc.cfg.DIn), headRandVec(rng, tc.cfg.DIn)}
			before := h.ProjectBatch(vs)
			h.Freeze()
			after := h.ProjectBatch(vs)
			for i := range before {
				if !slices.Equal(before[i], after[i]) {
					t.Fatalf("row %d: %v before Freeze, %v after", i, before[i], after[i])
				}
			}
			if a, b := h.weight32(), h.weight32(); &a[0] != &b[0] {
				t.Fatal("a frozen head builds W again per call")
			}
		})
	}
}

func TestHeadProjectBatchEmpty(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3})
	if got := h.ProjectBatch(nil); len(got) != 0 {
		t.Fatalf("ProjectBatch(nil) returned %d rows", len(got))
	}
}

// Concurrent callers must not share scratch space; run with -race for the
// strongest check, but differing results also fail without it.
func TestHeadProjectBatchConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	h := headMust(t, HeadConfig{DIn: 16, DOut: 8, Bias: true, Seed: 3})
	headRandomizeParams(h, rng)
	inputs := make([][][]float32, 8)
	want := make([][][]float32, len(inputs))
	for g := range inputs {
		inputs[g] = make([][]float32, 32)
		for i := range inputs[g] {
			inputs[g][i] = headRandVec(rng, 16)
		}
		want[g] = h.ProjectBatch(inputs[g])
	}
	var wg sync.WaitGroup
	got := make([][][]float32, len(inputs))
	for g := range inputs {
		wg.Go(func() {
			for range 20 {
				got[g] = h.ProjectBatch(inputs[g])
			}
		})
	}
	wg.Wait()
	for g := range inputs {
		for i := range want[g] {
			for j := range want[g][i] {
				if got[g][i][j] != want[g][i][j] {
					t.Fatalf("goroutine %d row %d dim %d: %v, want %v", g, i, j, got[g][i][j], want[g][i][j])
				}
			}
		}
	}
}

func TestHeadProjectPanicsOnWrongLength(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 3, DOut: 3})
	tests := []struct {
		name string
		call func()
	}{
		{"Project", func() { h.Project(make([]float32, 2)) }},
		{"ProjectBatch", func() { h.ProjectBatch([][]float32{make([]float32, 3), make([]float32, 4)}) }},
		{"ProjectRows source", func() { h.ProjectRows(make([]float32, 3), make([]float32, 4)) }},
		{"ProjectRows destination", func() { h.ProjectRows(make([]float32, 4), make([]float32, 3)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("wrong input length was accepted")
				}
			}()
			tt.call()
		})
	}
}
