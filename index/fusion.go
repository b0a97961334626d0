package index

import (
	"cmp"
	"slices"

	"retune/eval"
)

// scoredDoc is one entry of a single ranked list (dense or BM25): a document
// position and its score, as eval.TopK keeps them.
type scoredDoc = eval.Candidate

// fusedHit is one candidate of a hybrid search: its position in each input
// list (rank 1-based, 0 = absent), its score there, and the fused score.
type fusedHit struct {
	doc                 int32
	score               float64
	dense, bm25         float64 // valid only when the matching rank is > 0
	denseRank, bm25Rank int
}

// union merges two ranked lists (best first, no repeats within a list) into
// their union, recording each document's rank and score in each list. Order:
// the dense list's documents, then the BM25-only ones.
func union(dense, bm25 []scoredDoc) []fusedHit {
	out := make([]fusedHit, 0, len(dense)+len(bm25))
	at := make(map[int32]int, len(dense)+len(bm25))
	for i, h := range dense {
		at[h.Doc] = len(out)
		out = append(out, fusedHit{doc: h.Doc, dense: h.Score, denseRank: i + 1})
	}
	for i, h := range bm25 {
		j, ok := at[h.Doc]
		if !ok {
			j = len(out)
			at[h.Doc] = j
			out = append(out, fusedHit{doc: h.Doc})
		}
		out[j].bm25, out[j].bm25Rank = h.Score, i+1
	}
	return out
}

// fuseRRF is reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009):
//
//	score(d) = Σ_{lists L containing d} 1 / (rrfK + rank_L(d))
//
// with rank_L 1-based; a list that does not contain d contributes nothing.
// It looks only at ranks, so it needs no calibration between cosine and BM25
// scores, and rrfK (60 in the paper) damps the influence of the very top
// ranks. The dense term is added first, so equal inputs give bit-equal sums.
func fuseRRF(dense, bm25 []scoredDoc, rrfK int) []fusedHit {
	hits := union(dense, bm25)
	for i := range hits {
		h := &hits[i]
		h.score = 0
		if h.denseRank > 0 {
			h.score += 1 / float64(rrfK+h.denseRank)
		}
		if h.bm25Rank > 0 {
			h.score += 1 / float64(rrfK+h.bm25Rank)
		}
	}
	return hits
}

// fuseScores is convex combination of min-max normalised scores:
//
//	score(d) = alpha · norm_dense(d) + (1 − alpha) · norm_bm25(d)
//	norm_L(d) = (s_L(d) − min_L) / (max_L − min_L)
//
// where min_L and max_L are taken over list L's candidates (the retrieved
// depth, not the whole corpus), and norm_L(d) = 0 when d is not in L. When
// every candidate of L has the same score (including a one-document list),
// norm_L is 1 for all of them: they are all L's best. Note that L's last
// candidate also normalises to 0, the same as an absent document; that is
// inherent to min-max over a truncated list. When one list is empty (no
// lexical match, or a query without a vector) the other ranks alone, at
// weight 1: weighted by 0 (alpha = 1 and no vector) every hit would score
// 0 and fall into id order.
func fuseScores(dense, bm25 []scoredDoc, alpha float64) []fusedHit {
	switch {
	case len(dense) == 0:
		alpha = 0
	case len(bm25) == 0:
		alpha = 1
	}
	hits := union(dense, bm25)
	dLo, dHi := scoreRange(dense)
	bLo, bHi := scoreRange(bm25)
	for i := range hits {
		h := &hits[i]
		h.score = 0
		if h.denseRank > 0 {
			h.score += alpha * minMax(h.dense, dLo, dHi)
		}
		if h.bm25Rank > 0 {
			h.score += (1 - alpha) * minMax(h.bm25, bLo, bHi)
		}
	}
	return hits
}

func scoreRange(list []scoredDoc) (lo, hi float64) {
	if len(list) == 0 {
		return 0, 0
	}
	lo, hi = list[0].Score, list[0].Score
	for _, h := range list[1:] {
		lo, hi = min(lo, h.Score), max(hi, h.Score)
	}
	return lo, hi
}

func minMax(s, lo, hi float64) float64 {
	if hi == lo {
		return 1
	}
	return (s - lo) / (hi - lo)
}

// sortFused orders hits by fused score descending, ties by id ascending
// (idOrder as from eval.IDRanks), the same tie rule as each single list.
func sortFused(hits []fusedHit, idOrder []int32) {
	slices.SortFunc(hits, func(a, b fusedHit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(idOrder[a.doc], idOrder[b.doc])
	})
}
