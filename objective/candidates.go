package objective

// Candidate bookkeeping. Masking is by doc IDENTITY, not by row: the same
// document may occupy several rows, and a judged positive must never be
// pushed away just because it arrived through another example. Doc IDs are
// interned to small integers once per call so that the per-example masks are
// array lookups with an epoch stamp (no clearing, no map in the inner loop).

// internIDs assigns every distinct DocID an int32 and resets the stamps.
func (w *workspace) internIDs(docIDs []string) {
	clear(w.idIndex)
	w.ids = grow(w.ids, len(docIDs))
	for r, id := range docIDs {
		k, ok := w.idIndex[id]
		if !ok {
			k = int32(len(w.idIndex))
			w.idIndex[id] = k
		}
		w.ids[r] = k
	}
	w.stamp = grow(w.stamp, len(w.idIndex))
	clear(w.stamp)
	w.epoch = 0
}

// newMask starts an empty set of doc IDs.
func (w *workspace) newMask() { w.epoch++ }

// mark adds the ID of doc row r to the current set and reports whether it
// was new.
func (w *workspace) mark(r int) bool {
	k := w.ids[r]
	if w.stamp[k] == w.epoch {
		return false
	}
	w.stamp[k] = w.epoch
	return true
}

// marked reports whether the ID of doc row r is in the current set.
func (w *workspace) marked(r int) bool { return w.stamp[w.ids[r]] == w.epoch }

// markIDs adds doc IDs given as strings; IDs not in the batch cannot collide
// with any candidate and are ignored.
func (w *workspace) markIDs(ids []string) {
	for _, id := range ids {
		if k, ok := w.idIndex[id]; ok {
			w.stamp[k] = w.epoch
		}
	}
}

// listInBatch collects the in-batch candidate pool: every doc row referenced
// by some example (positive or explicit negative), keeping only the lowest
// row of each DocID since an ID counts at most once.
//
// One shared pool serves all examples. The definition asks for rows used by
// the OTHER examples, but every row an example uses itself has its ID already
// marked (as positive, kept negative, excluded or duplicate) before the pool
// is scanned, so those rows are masked either way. For the same reason the
// lowest row of an ID is always a row of another example whenever that ID is
// not masked.
func (w *workspace) listInBatch(examples []Example) {
	w.used = grow(w.used, w.nd)
	clear(w.used)
	for _, ex := range examples {
		w.used[ex.Positive] = true
		for _, n := range ex.Negatives {
			w.used[n.Doc] = true
		}
	}
	w.inBatch = w.inBatch[:0]
	w.newMask()
	for r, u := range w.used {
		if u && w.mark(r) {
			w.inBatch = append(w.inBatch, int32(r))
		}
	}
}

// candidates returns the InfoNCE candidate rows of ex, positive first:
// {positive} ∪ explicit negatives ∪ (if inBatch) the in-batch pool, where a
// negative is dropped when its DocID is in ex.Exclude, equals the positive's
// DocID, or was already taken (explicit negatives first, in list order).
// The slice is scratch, valid until the next call.
func (w *workspace) candidates(ex Example, inBatch bool) []int32 {
	w.newMask()
	w.mark(ex.Positive)
	w.markIDs(ex.Exclude)
	rows := append(w.rows[:0], int32(ex.Positive))
	for _, n := range ex.Negatives {
		if w.mark(n.Doc) {
			rows = append(rows, int32(n.Doc))
		}
	}
	if inBatch {
		for _, r := range w.inBatch {
			if !w.marked(int(r)) {
				rows = append(rows, r)
			}
		}
	}
	w.rows = rows
	return rows
}
