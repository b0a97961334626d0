package eval

import "math"

var negInf = float32(math.Inf(-1))

// hit is a candidate in the top-k heap.
type hit struct {
	score float32
	doc   int32
}

// topK is a binary min-heap holding the best k hits seen so far with the
// WORST at the root, so deciding whether a new document enters is a single
// comparison with entries[0]. Hand-rolled instead of container/heap to avoid
// interface calls in the scan loop.
type topK struct {
	entries []hit
	idOrder []int32 // see Index.idOrder
}

// worse reports whether a ranks below b: lower score, or equal score and a
// larger id.
func (h *topK) worse(a, b hit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return h.idOrder[a.doc] > h.idOrder[b.doc]
}

func (h *topK) push(e hit) {
	h.entries = append(h.entries, e)
	i := len(h.entries) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.worse(h.entries[i], h.entries[parent]) {
			break
		}
		h.entries[i], h.entries[parent] = h.entries[parent], h.entries[i]
		i = parent
	}
}

// replaceRoot swaps the worst hit for e and restores the heap order.
func (h *topK) replaceRoot(e hit) {
	es := h.entries
	es[0] = e
	i := 0
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
