package objective

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCompute uses a SciFact-sized batch: 64 examples, each with one
// positive and 15 explicit negatives (12 mined, 3 generated), d = 100, so
// 1024 doc rows. "ms/epoch" scales the per-batch time to the ≈730 training
// queries of a SciFact epoch. The reuse variants call ComputeInto with the
// previous Result, as a training loop would.
func BenchmarkCompute(b *testing.B) {
	batch := genBatch(rand.New(rand.NewPCG(7, 7)), genOpts{examples: 64, mined: 12, generated: 3, d: 100})
	for _, bc := range []struct {
		name           string
		inBatch, reuse bool
	}{
		{"in-batch", true, false},
		{"in-batch/reuse", true, true},
		{"explicit-only", false, false},
		{"explicit-only/reuse", false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.InBatch = bc.inBatch
			var res Result
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if bc.reuse {
					err = ComputeInto(&res, batch, cfg)
				} else {
					res, err = Compute(batch, cfg)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			perBatch := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perBatch*730/64/1e6, "ms/epoch")
		})
	}
}
