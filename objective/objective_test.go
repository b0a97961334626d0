package objective

import (
	"errors"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{Mined: "mined", Generated: "generated", InBatch: "in-batch", 7: "Source(7)"} {
		if got := s.String(); got != want {
			t.Errorf("Source(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Temperature != 0.05 || c.EntropyWeight != 0.05 || c.EntropyTemperature != 0.1 || !c.InBatch {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
}

// TestComputeInto: reusing a Result gives the same answer as a fresh
// Compute (so the reused gradients are cleared, not accumulated), keeps the
// matrices when the shapes fit and replaces them when they do not.
func TestComputeInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 0))
	b1 := genBatch(rng, genOpts{examples: 4, mined: 2, generated: 2, d: 5})
	b2 := genBatch(rng, genOpts{examples: 4, mined: 2, generated: 2, d: 5})
	b3 := genBatch(rng, genOpts{examples: 3, mined: 2, generated: 2, d: 5})
	cfg := DefaultConfig()
	var dst Result
	if err := ComputeInto(&dst, b1, cfg); err != nil {
		t.Fatal(err)
	}
	gq, gd := dst.GradQueries, dst.GradDocs
	for _, tc := range []struct {
		name  string
		b     *Batch
		reuse bool
	}{{"same shape", b2, true}, {"other shape", b3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ComputeInto(&dst, tc.b, cfg); err != nil {
				t.Fatal(err)
			}
			want, _ := Compute(tc.b, cfg)
			if dst.Loss != want.Loss || !mat.Equal(dst.GradQueries, want.GradQueries) || !mat.Equal(dst.GradDocs, want.GradDocs) {
				t.Errorf("ComputeInto differs from Compute: loss %v vs %v", dst.Loss, want.Loss)
			}
			if reused := dst.GradQueries == gq && dst.GradDocs == gd; reused != tc.reuse {
				t.Errorf("matrices reused = %v, want %v", reused, tc.reuse)
			}
		})
	}
	before := dst
	bad := *b1
	bad.Examples = nil
	if err := ComputeInto(&dst, &bad, cfg); !errors.Is(err, ErrEmptyBatch) || dst != before {
		t.Errorf("failed ComputeInto: err %v, dst changed %v", err, dst != before)
	}
}

// TestStridedInputs: head outputs may be views into larger matrices (row
// stride > d); the result must match contiguous copies exactly.
func TestStridedInputs(t *testing.T) {
	b := genBatch(rand.New(rand.NewPCG(9, 0)), genOpts{examples: 4, mined: 2, generated: 2, d: 5, sharedQuery: true})
	pad := func(m *mat.Dense) *mat.Dense {
		r, c := m.Dims()
		big := mat.NewDense(r, c+3, nil)
		for i := 0; i < r; i++ {
			for j := 0; j < c+3; j++ {
				big.Set(i, j, 1e3) // garbage that must not be read
			}
		}
		v := big.Slice(0, r, 1, c+1).(*mat.Dense)
		v.Copy(m)
		return v
	}
	sb := *b
	sb.Queries, sb.Docs = pad(b.Queries), pad(b.Docs)
	if sb.Docs.RawMatrix().Stride == 5 {
		t.Fatal("view is contiguous; test would not exercise strides")
	}
	want, err := Compute(b, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Compute(&sb, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != want.Loss || !mat.Equal(got.GradQueries, want.GradQueries) || !mat.Equal(got.GradDocs, want.GradDocs) {
		t.Errorf("strided inputs: loss %v, want %v (or gradients differ)", got.Loss, want.Loss)
	}
}
