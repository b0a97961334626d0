package train

import (
	"fmt"
	"math"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled
// Weight Decay Regularization", ICLR 2019), matching torch.optim.AdamW
// (amsgrad=false, maximize=false).
//
// All state is in exported fields so a trainer can checkpoint it (e.g. with
// encoding/json, which round-trips float64 exactly) and resume bit-for-bit.
type AdamW struct {
	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
	// Step counts completed updates; it drives the bias correction.
	Step int `json:"step"`
	// M and V are the first and second moment estimates, one per parameter.
	M []float64 `json:"m"`
	V []float64 `json:"v"`
}

// NewAdamW returns an optimizer for n parameters with PyTorch's defaults
// beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
func NewAdamW(n int, lr, weightDecay float64) *AdamW {
	return &AdamW{
		LR:          lr,
		Beta1:       0.9,
		Beta2:       0.999,
		Eps:         1e-8,
		WeightDecay: weightDecay,
		M:           make([]float64, n),
		V:           make([]float64, n),
	}
}

// Update performs one optimisation step in place on params given dL/dparams.
//
// Like PyTorch, the decay is applied first and independently of the
// gradient, p ← p·(1 − lr·wd), and then the bias-corrected Adam step
//
//	m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
//	p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)
//
// is taken, written in PyTorch's operation order so results agree to
// rounding. Decoupling matters: with L2 regularisation folded into g, Adam's
// per-coordinate scaling would shrink large-gradient weights less than others.
//
// It panics if params, grads and the moment vectors differ in length, since
// that means the optimizer belongs to a different model.
func (o *AdamW) Update(params, grads []float64) {
	if len(params) != len(grads) || len(params) != len(o.M) || len(params) != len(o.V) {
		panic(fmt.Sprintf("train: AdamW.Update: %d params, %d grads, optimizer state for %d/%d",
			len(params), len(grads), len(o.M), len(o.V)))
	}
	o.Step++
	t := float64(o.Step)
	stepSize := o.LR / (1 - math.Pow(o.Beta1, t))
	bc2Sqrt := math.Sqrt(1 - math.Pow(o.Beta2, t))
	decay := 1 - o.LR*o.WeightDecay
	for i, g := range grads {
		params[i] *= decay
		o.M[i] = o.Beta1*o.M[i] + (1-o.Beta1)*g
		o.V[i] = o.Beta2*o.V[i] + (1-o.Beta2)*g*g
		denom := math.Sqrt(o.V[i])/bc2Sqrt + o.Eps
		params[i] -= stepSize * (o.M[i] / denom)
	}
}
