package eval

import (
	"cmp"
	"math"
	"slices"
)

// Candidate is a document and its score. Doc is the document's position in
// the id list the TopK's idOrder was computed from.
type Candidate struct {
	Score float64
	Doc   int32
}

// TopK keeps the k best candidates of a scan: highest score first, ties
// broken by id ascending. It is a binary min-heap holding the best k seen so
// far with the WORST at the root, so deciding whether a new document enters
// is one comparison with the root's score. Hand-rolled rather than
// container/heap to keep interface calls out of the scan loop. Scores must
// not be NaN.
type TopK struct {
	entries []Candidate
	k       int
	idOrder []int32 // see IDRanks
	// floor is the root's score once k candidates are kept, else -Inf: a
	// lower score cannot enter.
	floor float64
}

// NewTopK returns an empty TopK for the best k (≥ 1) of at most n offered
// candidates; n only sizes the storage. idOrder[doc] is the rank of the
// document's id in ascending id order, as IDRanks returns.
func NewTopK(k, n int, idOrder []int32) TopK {
	return TopK{entries: make([]Candidate, 0, min(k, n)), k: k, idOrder: idOrder, floor: math.Inf(-1)}
}

// Offer considers one candidate.
func (h *TopK) Offer(score float64, doc int32) {
	// Fast reject, inlined into the caller's scan loop: in a long scan almost
	// every document scores below the current k-th best, so only this
	// comparison runs for it.
	if score < h.floor {
		return
	}
	h.offer(Candidate{Score: score, Doc: doc})
}

func (h *TopK) offer(e Candidate) {
	if len(h.entries) < h.k {
		h.entries = append(h.entries, e)
		h.up(len(h.entries) - 1)
	} else if h.worse(h.entries[0], e) {
		h.entries[0] = e
		h.down(0)
	} else {
		return
	}
	if len(h.entries) == h.k {
		h.floor = h.entries[0].Score
	}
}

func (h *TopK) up(i int) {
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

func (h *TopK) down(i int) {
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

// worse reports whether a ranks below b: lower score, or equal score and a
// larger id.
func (h *TopK) worse(a, b Candidate) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return h.idOrder[a.Doc] > h.idOrder[b.Doc]
}

// Sorted returns the kept candidates best first and empties h.
func (h *TopK) Sorted() []Candidate {
	out := h.entries
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(h.idOrder[a.Doc], h.idOrder[b.Doc])
	})
	h.entries = nil
	h.floor = math.Inf(-1)
	return out
}

// reset empties h, keeping its storage.
func (h *TopK) reset() {
	h.entries = h.entries[:0]
	h.floor = math.Inf(-1)
}

// IDRanks returns, for each position i, the rank of ids[i] in ascending id
// order, so that tie-breaking compares ints instead of strings.
func IDRanks(ids []string) []int32 {
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
