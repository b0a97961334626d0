package objective

import "math"

// The CausalNeg query-view entropy term. For every query that has at least
// one Generated negative (explicit negatives of all its examples, deduplicated
// by DocID, judged positives and Exclude IDs dropped, in-batch negatives left
// out), with G the generated and M the mined negatives:
//
//	s_i     = cos(sg(q), d_i) / τ_ent          i ∈ M ∪ G
//	p       = softmax(s)
//	P_gen   = Σ_{j∈G} p_j,   p̃_j = p_j / P_gen   (= softmax of s over G)
//	H_gen   = −Σ_{j∈G} p̃_j log p̃_j
//	L_bal   = (P_gen − |G|/(|M|+|G|))²
//	term    = −H_gen + L_bal,     L_ent = mean of term over such queries.
//
// sg is stop-gradient on the query and on the mined negatives: the term is
// meant to reshape only the generated negatives (spread the query's attention
// over them and keep their total mass at the share they occupy), not to move
// the query or the real hard negatives. Their values still enter s and p.
// For k ∈ G the derivatives used are
//
//	∂(−H_gen)/∂s_k = p̃_k (log p̃_k + H_gen)
//	∂L_bal/∂s_k    = 2 (P_gen − r) · p_k (1 − P_gen),   r = |G|/(|M|+|G|)
//
// (from ∂p_i/∂s_k = p_i(δ_ik − p_k) and ∂p̃_j/∂s_k = p̃_j(δ_jk − p̃_k)), and
// 1 − P_gen is evaluated as Σ_{i∈M} p_i to keep precision when P_gen ≈ 1.

// pendingGrad is dterm/dcos(q, r) for a generated negative r, held back until
// the number of entropy queries (the mean's denominator) is known.
type pendingGrad struct {
	q, r int32
	g    float64
}

type entropyStats struct {
	loss, hGen, pGen, target float64
	queries                  int
}

// entropy evaluates L_ent and, when λ > 0, adds λ·∂L_ent/∂d_j to the
// generated rows only.
func (w *workspace) entropy(b *Batch, cfg Config) entropyStats {
	w.groupByQuery(b.Examples)
	invTau := 1 / cfg.EntropyTemperature
	w.pend = w.pend[:0]
	var st entropyStats
	for q, head := range w.qHead {
		if head < 0 {
			continue
		}
		rows, srcs := w.entropyNegatives(b.Examples, head)
		term, hGen, pGen, target, ok := w.entropyQuery(q, rows, srcs, invTau)
		if !ok {
			continue
		}
		st.loss += term
		st.hGen += hGen
		st.pGen += pGen
		st.target += target
		st.queries++
	}
	if st.queries == 0 {
		return st
	}
	n := float64(st.queries)
	st.loss /= n
	st.hGen /= n
	st.pGen /= n
	st.target /= n
	if cfg.EntropyWeight > 0 {
		// dL/dcos = λ · (1/n) · (1/τ_ent) · dterm/ds
		scale := cfg.EntropyWeight * invTau / n
		for _, p := range w.pend {
			w.addDocGrad(int(p.q), int(p.r), p.g*scale)
		}
	}
	return st
}

// entropyQuery computes one query's term from its deduplicated negatives and
// queues dterm/ds_k for its generated negatives. ok is false when the query
// has no generated negative and so does not enter the term.
func (w *workspace) entropyQuery(q int, rows []int32, srcs []Source, invTau float64) (term, hGen, pGen, target float64, ok bool) {
	nG := 0
	for _, s := range srcs {
		if s == Generated {
			nG++
		}
	}
	if nG == 0 {
		return 0, 0, 0, 0, false
	}

	w.vals = grow(w.vals, len(rows))
	s := w.vals
	mx, mxG := math.Inf(-1), math.Inf(-1)
	for i, r := range rows {
		s[i] = w.cos(q, int(r)) * invTau
		mx = math.Max(mx, s[i])
		if srcs[i] == Generated {
			mxG = math.Max(mxG, s[i])
		}
	}
	// Separate shifts for the full and the generated-only log-sum-exp keep
	// p̃ exact even when every generated score is far below the mined ones.
	var z, zG float64
	for i := range s {
		z += math.Exp(s[i] - mx)
		if srcs[i] == Generated {
			zG += math.Exp(s[i] - mxG)
		}
	}
	lse, lseG := mx+math.Log(z), mxG+math.Log(zG)

	var pMined float64
	for i := range s {
		if srcs[i] == Mined {
			pMined += math.Exp(s[i] - lse)
		}
	}
	pGen = math.Exp(lseG - lse)
	for i := range s {
		if srcs[i] == Generated {
			logPt := s[i] - lseG
			hGen -= math.Exp(logPt) * logPt
		}
	}
	target = float64(nG) / float64(len(rows))
	bal := pGen - target
	term = -hGen + bal*bal

	for i, r := range rows {
		if srcs[i] != Generated {
			continue
		}
		logPt := s[i] - lseG
		g := math.Exp(logPt)*(logPt+hGen) + 2*bal*math.Exp(s[i]-lse)*pMined
		w.pend = append(w.pend, pendingGrad{q: int32(q), r: r, g: g})
	}
	return term, hGen, pGen, target, true
}

// entropyNegatives returns the query group's explicit mined and generated
// negatives, deduplicated by DocID in example order, with the group's
// positives and Exclude IDs removed. The slices are scratch.
func (w *workspace) entropyNegatives(examples []Example, head int32) ([]int32, []Source) {
	w.newMask()
	for e := head; e >= 0; e = w.exNext[e] {
		w.mark(examples[e].Positive)
		w.markIDs(examples[e].Exclude)
	}
	rows, srcs := w.rows[:0], w.srcs[:0]
	for e := head; e >= 0; e = w.exNext[e] {
		for _, n := range examples[e].Negatives {
			if n.Source == InBatch || !w.mark(n.Doc) {
				continue
			}
			rows = append(rows, int32(n.Doc))
			srcs = append(srcs, n.Source)
		}
	}
	w.rows, w.srcs = rows, srcs
	return rows, srcs
}

// groupByQuery links the examples of each query in batch order:
// qHead[q] is the first, exNext[e] the next one, -1 ends a list.
func (w *workspace) groupByQuery(examples []Example) {
	w.qHead = grow(w.qHead, w.nq)
	for i := range w.qHead {
		w.qHead[i] = -1
	}
	w.exNext = grow(w.exNext, len(examples))
	for e := len(examples) - 1; e >= 0; e-- {
		q := examples[e].Query
		w.exNext[e] = w.qHead[q]
		w.qHead[q] = int32(e)
	}
}
