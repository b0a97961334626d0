package objective

import "math"

// infoNCE returns L_InfoNCE = (1/|E|) Σ_e ℓ_e with
//
//	ℓ_e = −log softmax(c/τ)[0] = LSE_j(c_j/τ) − c_0/τ,
//
// where c_0 = cos(q_e, positive) and c_j runs over the candidates of e, and
// accumulates ∂L/∂c_j = (p_j − 1[j=0]) / (τ·|E|) with p = softmax(c/τ).
// The log-sum-exp is shifted by the largest logit so that the small τ (logits
// up to ±1/τ = ±20 by default) cannot overflow. If exampleLoss is non-nil it
// receives every ℓ_e.
func (w *workspace) infoNCE(b *Batch, cfg Config, exampleLoss []float64) float64 {
	invTau := 1 / cfg.Temperature
	gScale := invTau / float64(len(b.Examples))
	var total float64
	for e, ex := range b.Examples {
		rows := w.candidates(ex, cfg.InBatch)
		w.vals = grow(w.vals, len(rows))
		v := w.vals

		mx := math.Inf(-1)
		for j, r := range rows {
			v[j] = w.cos(ex.Query, int(r)) * invTau
			if v[j] > mx {
				mx = v[j]
			}
		}
		l0 := v[0]
		var z float64
		for j := range v {
			v[j] = math.Exp(v[j] - mx)
			z += v[j]
		}
		loss := mx + math.Log(z) - l0
		total += loss
		if exampleLoss != nil {
			exampleLoss[e] = loss
		}

		invZ := 1 / z
		for j, r := range rows {
			g := v[j] * invZ
			if j == 0 {
				g--
			}
			w.addPairGrad(ex.Query, int(r), g*gScale)
		}
	}
	return total / float64(len(b.Examples))
}
