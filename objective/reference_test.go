package objective

import (
	"testing"
)

// TestInfoNCEReference: d=2, q=(1,0), positive (1,0), negative (0,1), τ=1.
// cos = (1, 0), so ℓ = −log(e¹/(e¹+e⁰)) = log(1+e⁻¹) = 0.31326168751822286.
// p = (σ(1), σ(−1)) = (0.7310585786300049, 0.2689414213699951), so
// dL/dcos = (p₀−1, p₁) = (−σ(−1), σ(−1)), and with u_q = (1,0):
//
//	dL/dq   = (I − u_q u_qᵀ)(−σ(−1)·(1,0) + σ(−1)·(0,1)) = (0, σ(−1))
//	dL/dpos = (I − e₁e₁ᵀ)(−σ(−1)·(1,0))                 = (0, 0)
//	dL/dneg = (I − e₂e₂ᵀ)( σ(−1)·(1,0))                 = (σ(−1), 0)
//
// The inputs are scaled (‖q‖ = 2, ‖neg‖ = 3) so the 1/‖x‖ of the
// normalisation shows: dL/dq and dL/dneg shrink by 2 and 3.
func TestInfoNCEReference(t *testing.T) {
	const sigmaNeg1 = 0.2689414213699951
	b := &Batch{
		Queries:  rows([]float64{2, 0}),
		Docs:     rows([]float64{1, 0}, []float64{0, 3}),
		DocIDs:   []string{"pos", "neg"},
		Examples: []Example{{Query: 0, Positive: 0, Negatives: []Negative{{Doc: 1, Source: Mined}}}},
	}
	res, err := Compute(b, Config{Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.Loss, 0.31326168751822286, 1e-15) || res.InfoNCE != res.Loss {
		t.Errorf("Loss %.17g InfoNCE %.17g, want 0.31326168751822286", res.Loss, res.InfoNCE)
	}
	wantQ := []float64{0, sigmaNeg1 / 2}
	wantD := [][]float64{{0, 0}, {sigmaNeg1 / 3, 0}}
	for j, w := range wantQ {
		if !near(res.GradQueries.At(0, j), w, 1e-15) {
			t.Errorf("dL/dq[%d] = %.17g, want %.17g", j, res.GradQueries.At(0, j), w)
		}
	}
	for i, row := range wantD {
		for j, w := range row {
			if !near(res.GradDocs.At(i, j), w, 1e-15) {
				t.Errorf("dL/ddoc[%d][%d] = %.17g, want %.17g", i, j, res.GradDocs.At(i, j), w)
			}
		}
	}
}

// TestEntropyReference uses q = (1,0) (scaled), mined m with cos 1,
// generated g₁ with cos 0 and g₂ with cos −1 (scaled to non-unit norms), and
// an unrelated positive. Values worked out by hand:
//
// τ_ent = 1: s = (1, 0, −1), Z = e + 1 + e⁻¹ = 4.0861611696
//
//	p      = (e, 1, e⁻¹)/Z = (0.66524096, 0.24472847, 0.09003057)
//	P_gen  = (1 + e⁻¹)/Z   = 0.3347590442251781
//	p̃      = (σ(1), σ(−1))  = (0.7310585786, 0.2689414214)
//	H_gen  = −σ(1)ln σ(1) − σ(−1)ln σ(−1) = 0.5822031088882179
//	L_bal  = (0.3347590442 − 2/3)² = 0.1101626698347617
//	term   = −H_gen + L_bal = −0.4720404390534562
//
// τ_ent = 0.5: s = (2, 0, −2), P_gen = (1+e⁻²)/(e²+1+e⁻²) = 0.13318666780266514,
// p̃ = (σ(2), σ(−2)), H_gen = 0.3653338550872076,
// L_bal = (0.1331866678 − 2/3)² = 0.28460090918793507, term = −0.08073294589927255.
//
// No mined negative (τ_ent = 1): s = (0, −1), P_gen = 1, L_bal = 0,
// H_gen = 0.5822031088882179 as above, term = −0.5822031088882179.
func TestEntropyReference(t *testing.T) {
	docs := rows(
		[]float64{0.6, 0.8}, // positive, never in the entropy term
		[]float64{3, 0},     // mined, cos 1
		[]float64{0, 0.5},   // generated, cos 0
		[]float64{-2, 0},    // generated, cos −1
	)
	negs := []Negative{{1, Mined}, {2, Generated}, {3, Generated}}
	cases := []struct {
		name             string
		tauEnt           float64
		negs             []Negative
		term, hGen, pGen float64
		target           float64 // |G|/(|M|+|G|)
	}{
		{"tau 1", 1, negs, -0.4720404390534562, 0.5822031088882179, 0.3347590442251781, 2.0 / 3},
		{"tau 0.5", 0.5, negs, -0.08073294589927255, 0.3653338550872076, 0.13318666780266514, 2.0 / 3},
		{"no mined", 1, negs[1:], -0.5822031088882179, 0.5822031088882179, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &Batch{
				Queries:  rows([]float64{4, 0}),
				Docs:     docs,
				DocIDs:   []string{"p", "m", "g1", "g2"},
				Examples: []Example{{Query: 0, Positive: 0, Negatives: tc.negs, Exclude: []string{"p"}}},
			}
			cfg := Config{Temperature: 1, EntropyWeight: 0.3, EntropyTemperature: tc.tauEnt}
			res, err := Compute(b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.EntropyQueries != 1 {
				t.Fatalf("EntropyQueries = %d, want 1", res.EntropyQueries)
			}
			if !near(res.Entropy, tc.term, 1e-14) || !near(res.HGen, tc.hGen, 1e-14) || !near(res.PGen, tc.pGen, 1e-14) {
				t.Errorf("Entropy %.17g HGen %.17g PGen %.17g, want %.17g %.17g %.17g",
					res.Entropy, res.HGen, res.PGen, tc.term, tc.hGen, tc.pGen)
			}
			if res.PGenTarget != tc.target {
				t.Errorf("PGenTarget %.17g, want %.17g", res.PGenTarget, tc.target)
			}
			if !near(res.Loss, res.InfoNCE+0.3*tc.term, 1e-14) {
				t.Errorf("Loss %.17g, want InfoNCE + λ·term = %.17g", res.Loss, res.InfoNCE+0.3*tc.term)
			}
		})
	}
}
