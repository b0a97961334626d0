package train

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"retune/model"
)

// TestStepperReuseMatchesFresh runs one stepper over batches of changing
// sizes (larger, smaller, larger again) and checks every loss and gradient
// equals a fresh stepper's: buffers carried between steps must never leak
// rows, negatives or exclusions from an earlier batch.
func TestStepperReuseMatchesFresh(t *testing.T) {
	set := syntheticSet(40, 2, 3, 7)
	// Queries get 1–3 negatives, so rows land in different places from one
	// batch to the next and a stale negative would point at another document.
	for i, q := range slices.Sorted(maps.Keys(set.Negatives)) {
		set.Negatives[q] = set.Negatives[q][:1+i%3]
	}
	for _, tc := range []struct {
		apply   string
		inBatch bool
	}{{"shared", true}, {"shared", false}, {"query", false}} {
		apply := tc.apply
		t.Run(fmt.Sprintf("%s/inbatch=%v", apply, tc.inBatch), func(t *testing.T) {
			cfg := testConfig()
			// Without in-batch negatives every explicit negative counts on
			// its own, so a stale one left from an earlier batch shows.
			cfg.Apply, cfg.Bias, cfg.InBatch = apply, true, tc.inBatch
			head, err := model.NewHead(model.HeadConfig{DIn: set.Dim(), DOut: set.Dim(), Bias: true, Apply: apply, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			all := set.samples(set.Qrels)
			var reused stepper
			for i, b := range [][]sample{all[:20], all[20:25], all[5:30], all[30:31]} {
				gotRes, gotGrad, err := reused.batchGrad(head, set, b, cfg)
				if err != nil {
					t.Fatal(err)
				}
				gotGrad = slices.Clone(gotGrad)
				wantRes, wantGrad, err := batchGrad(head, set, b, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if gotRes.Loss != wantRes.Loss || gotRes.InfoNCE != wantRes.InfoNCE || gotRes.Entropy != wantRes.Entropy {
					t.Fatalf("batch %d: reused stepper loss %v, fresh %v", i, gotRes.Loss, wantRes.Loss)
				}
				if !slices.Equal(gotGrad, wantGrad) {
					t.Fatalf("batch %d: reused stepper gradient differs from a fresh one", i)
				}
			}
		})
	}
}

// A step whose loss or gradient overflows returns ErrDiverged and leaves
// the head as it was: a τ past float64 (1/τ = +Inf; Validate refuses
// τ < 1e-4) once trained a head of NaNs that failed only at evaluation.
func TestStepRefusesNonFiniteGradient(t *testing.T) {
	set := syntheticSet(20, 2, 3, 7)
	cfg := testConfig()
	head, err := model.NewHead(model.HeadConfig{DIn: set.Dim(), DOut: set.Dim(), Apply: cfg.Apply, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt := NewAdamW(len(head.Params()), cfg.LR, cfg.WeightDecay)
	batch := set.samples(set.Qrels)[:8]
	var sp stepper
	if _, err := sp.step(head, opt, set, batch, cfg); err != nil {
		t.Fatalf("τ %g: %v", cfg.Temperature, err)
	}
	before := slices.Clone(head.Params()) // after a finite step, which moved it
	cfg.Temperature = 5e-324
	if _, err := sp.step(head, opt, set, batch, cfg); !errors.Is(err, ErrDiverged) {
		t.Fatalf("τ %g: err = %v, want ErrDiverged", cfg.Temperature, err)
	}
	if !slices.Equal(head.Params(), before) {
		t.Fatalf("τ %g: the head changed on a diverged step", cfg.Temperature)
	}
}
