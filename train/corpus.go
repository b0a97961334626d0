package train

import (
	"fmt"

	"retune/eval"
	"retune/model"
)

// Corpus is the document collection that mining and evaluation search: its
// ids and base vectors, with an exact index over them built once. A head that
// applies to documents gets an index over the same ids with the projected
// vectors (eval.Index.WithVectors), so a dev evaluation per epoch does not
// check and sort every id again.
type Corpus struct {
	vecs [][]float32
	base *eval.Index
}

// NewCorpus indexes vecs[i] under ids[i].
func NewCorpus(ids []string, vecs [][]float32) (*Corpus, error) {
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
	ix, err := c.base.WithVectors(head.ProjectBatch(c.vecs))
	if err != nil {
		return nil, fmt.Errorf("corpus through the head: %w", err)
	}
	return ix, nil
}
