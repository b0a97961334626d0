package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// headLoss is a scalar loss of the head output Z together with its gradient
// dL/dZ, which is what a trainer feeds to Backward.
type headLoss struct {
	name string
	// make builds the loss for an n×dOut output from random targets.
	make func(rng *rand.Rand, n, dOut int) (loss func(z *mat.Dense) float64, grad func(z *mat.Dense) *mat.Dense)
}

var headLosses = []headLoss{
	{
		// L = Σ c ⊙ Z: dL/dZ = c. Checks the linear algebra of Backward alone.
		name: "linear",
		make: func(rng *rand.Rand, n, dOut int) (func(*mat.Dense) float64, func(*mat.Dense) *mat.Dense) {
			c := headRandDense(rng, n, dOut)
			loss := func(z *mat.Dense) float64 {
				var e mat.Dense
				e.MulElem(c, z)
				return mat.Sum(&e)
			}
			return loss, func(*mat.Dense) *mat.Dense { return c }
		},
	},
	{
		// L = Σ_i cos(z_i, t_i): the shape of the real contrastive objective.
		// dL/dz = t/(‖z‖‖t‖) − (z·t)·z/(‖z‖³‖t‖).
		name: "cosine",
		make: func(rng *rand.Rand, n, dOut int) (func(*mat.Dense) float64, func(*mat.Dense) *mat.Dense) {
			tg := headRandDense(rng, n, dOut)
			loss := func(z *mat.Dense) float64 {
				s := 0.0
				for i := 0; i < n; i++ {
					zi, ti := z.RawRowView(i), tg.RawRowView(i)
					s += headDot(zi, ti) / (headNorm(zi) * headNorm(ti))
				}
				return s
			}
			grad := func(z *mat.Dense) *mat.Dense {
				g := mat.NewDense(n, dOut, nil)
				for i := 0; i < n; i++ {
					zi, ti := z.RawRowView(i), tg.RawRowView(i)
					nz, nt, zt := headNorm(zi), headNorm(ti), headDot(zi, ti)
					for j := range zi {
						g.Set(i, j, ti[j]/(nz*nt)-zt*zi[j]/(nz*nz*nz*nt))
					}
				}
				return g
			}
			return loss, grad
		},
	},
}

// TestHeadBackwardFiniteDifference compares Backward with central finite
// differences of L(θ) = loss(Forward(X; θ)) for every parameter.
func TestHeadBackwardFiniteDifference(t *testing.T) {
	const (
		n      = 4
		step   = 1e-6
		maxRel = 1e-4
	)
	for _, tc := range headTestConfigs {
		for _, lf := range headLosses {
			t.Run(tc.name+"/"+lf.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(tc.cfg.Seed), 77))
				h := headMust(t, tc.cfg)
				// Away from the init so A, B and b all carry gradient.
				headRandomizeParams(h, rng)
				x := headRandDense(rng, n, tc.cfg.DIn)
				loss, grad := lf.make(rng, n, tc.cfg.DOut)

				got := h.Backward(x, grad(h.Forward(x)))
				p := h.Params()
				if len(got) != len(p) {
					t.Fatalf("len(Backward) = %d, want len(Params) = %d", len(got), len(p))
				}
				want := make([]float64, len(p))
				for k := range p {
					orig := p[k]
					p[k] = orig + step
					up := loss(h.Forward(x))
					p[k] = orig - step
					down := loss(h.Forward(x))
					p[k] = orig
					want[k] = (up - down) / (2 * step)
				}

				diff := make([]float64, len(p))
				for k := range diff {
					diff[k] = got[k] - want[k]
				}
				scale := math.Max(headNorm(got), headNorm(want))
				if scale == 0 {
					t.Fatal("gradient is identically zero; the check would be vacuous")
				}
				if rel := headNorm(diff) / scale; rel > maxRel {
					t.Errorf("relative error %.3g > %g\nBackward: %v\nfinite difference: %v", rel, maxRel, got, want)
				}
			})
		}
	}
}

func TestHeadBackwardPanicsOnWrongGradShape(t *testing.T) {
	h := headMust(t, HeadConfig{DIn: 3, DOut: 2})
	defer func() {
		if recover() == nil {
			t.Fatal("Backward accepted dz with the wrong number of rows")
		}
	}()
	h.Backward(mat.NewDense(2, 3, nil), mat.NewDense(3, 2, nil))
}

func headDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func headNorm(a []float64) float64 { return math.Sqrt(headDot(a, a)) }
