package train

import (
	"errors"
	"fmt"
	"slices"

	"retune/eval"
	"retune/model"
)

// Corpus is the document collection that mining and evaluation search: its
// base vectors and an exact index over them, built once. A head that
// applies to documents gets an index over the same ids
// (eval.Index.WithMatrix) whose matrix is the head's projection of the base
// vectors, written once and normalised in place: a dev evaluation per epoch
// neither checks and sorts every id again nor copies the corpus three
// times. A Corpus is not safe for concurrent use.
type Corpus struct {
	vecs [][]float32
	base *eval.Index
	// flat is vecs as one row-major matrix, the projection's input; made on
	// the first projection, so base-only searches (mining, `retune eval`
	// without a head) never pay for it.
	flat []float32
}

// NewCorpus indexes vecs[i] under ids[i]. vecs is kept, not copied: the
// caller must not change it while the Corpus is in use.
func NewCorpus(ids []string, vecs [][]float32) (*Corpus, error) {
	if len(ids) == 0 {
		// Datasets hold documents, so none here means DropZeroVectors took
		// them all.
		return nil, errors.New("no document to search: the encoder knows no token of any (every one embeds to zero)")
	}
	ix, err := eval.NewIndex(ids, vecs)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return &Corpus{vecs: vecs, base: ix}, nil
}

// Index returns the index to search with head: the base index when head is
// nil or applies to queries only, else the documents through head.
func (c *Corpus) Index(head *model.Head) (*eval.Index, error) {
	if head == nil || !head.AppliesToDocs() {
		return c.base, nil
	}
	if c.flat == nil {
		c.flat = slices.Concat(c.vecs...)
	}
	projected := make([]float32, c.base.Len()*head.Config().DOut)
	head.ProjectRows(projected, c.flat)
	ix, err := c.base.WithMatrix(projected)
	if err != nil {
		return nil, fmt.Errorf("corpus through the head: %w", err)
	}
	return ix, nil
}
