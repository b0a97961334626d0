package train

import (
	"fmt"
	"slices"

	"retune/eval"
	"retune/model"
)

// Corpus is the document collection that mining and evaluation search: its
// base vectors as one matrix and an exact index over them, built once. A
// head that applies to documents gets an index over the same ids
// (eval.Index.WithMatrix) whose matrix is the head's projection of the base
// one, written once and normalised in place: a dev evaluation per epoch
// neither checks and sorts every id again nor copies the corpus three times.
type Corpus struct {
	flat []float32 // the base vectors, row-major
	base *eval.Index
}

// NewCorpus indexes vecs[i] under ids[i].
func NewCorpus(ids []string, vecs [][]float32) (*Corpus, error) {
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return &Corpus{flat: slices.Concat(vecs...), base: ix}, nil
}

// Index returns the index to search with head: the base index when head is
// nil or applies to queries only, else the documents through head.
func (c *Corpus) Index(head *model.Head) (*eval.Index, error) {
	if head == nil || !head.AppliesToDocs() {
		return c.base, nil
	}
	projected := make([]float32, c.base.Len()*head.Config().DOut)
	head.ProjectRows(projected, c.flat)
	ix, err := c.base.WithMatrix(projected)
	if err != nil {
		return nil, fmt.Errorf("corpus through the head: %w", err)
	}
	return ix, nil
}
