package index

import (
	"cmp"
	"slices"
)

// scoredDoc is a candidate in a top-k heap: a document position and score.
type scoredDoc struct {
	score float64
	doc   int32
}

// topK is a binary min-heap holding the best k candidates seen so far with
// the WORST at the root, so deciding whether a new document enters is one
// comparison with entries[0]. Hand-rolled rather than container/heap to keep
// interface calls out of the scan loop (the same design as eval's heap, which
// is unexported and float32).
type topK struct {
	entries []scoredDoc
	k       int
	idOrder []int32 // rank of each document's id in ascending id order
}

// worse reports whether a ranks below b: lower score, or equal score and a
// larger id (ties are broken by id ascending).
func (h *topK) worse(a, b scoredDoc) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return h.idOrder[a.doc] > h.idOrder[b.doc]
}

// offer considers one candidate.
func (h *topK) offer(e scoredDoc) {
	if len(h.entries) < h.k {
		h.entries = append(h.entries, e)
		h.up(len(h.entries) - 1)
		return
	}
	if h.worse(h.entries[0], e) {
		h.entries[0] = e
		h.down(0)
	}
}

func (h *topK) up(i int) {
	es := h.entries
	for i > 0 {
		parent := (i - 1) / 2
		if !h.worse(es[i], es[parent]) {
			return
		}
		es[i], es[parent] = es[parent], es[i]
		i = parent
	}
}

func (h *topK) down(i int) {
	es := h.entries
	for {
		l := 2*i + 1
		if l >= len(es) {
			return
		}
		w := l
		if r := l + 1; r < len(es) && h.worse(es[r], es[l]) {
			w = r
		}
		if !h.worse(es[w], es[i]) {
			return
		}
		es[i], es[w] = es[w], es[i]
		i = w
	}
}

// sorted returns the kept candidates best first. The heap is consumed.
func (h *topK) sorted() []scoredDoc {
	out := h.entries
	slices.SortFunc(out, func(a, b scoredDoc) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(h.idOrder[a.doc], h.idOrder[b.doc])
	})
	h.entries = nil
	return out
}

// idRanks returns, for each position i, the rank of ids[i] in ascending id
// order, so that tie-breaking compares ints instead of strings.
func idRanks(ids []string) []int32 {
	order := make([]int32, len(ids))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(ids[a], ids[b]) })
	ranks := make([]int32, len(ids))
	for pos, doc := range order {
		ranks[doc] = int32(pos)
	}
	return ranks
}
