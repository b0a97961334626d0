package index

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"retune/eval"
)

// Collection is what a search collection holds in memory: document ids and
// texts, their final dense vectors (the encoder's, or projected through a
// head: whatever queries will be compared with), an exact dense index and a
// BM25 index over the texts. It is immutable and safe for concurrent use.
//
// Memory: the vectors are held twice, once as given (so Save writes exactly
// what the caller passed and a reload is bit-identical) and once normalised
// inside eval.Index, which exposes no rows to save from. That is 8·N·dim
// bytes (SciFact × 384 dims: 16 MB), fine at our scale; a row accessor on
// eval.Index would halve it.
type Collection struct {
	ids   []string
	texts []string
	pos   map[string]int32 // id -> position, for dense hits (eval returns ids)
	vecs  []float32        // N × dim, row-major, as given
	dim   int
	dense *eval.Index
	near  *coalescer // dense searches, coalesced under load
	bm25  *BM25
}

// NewCollection builds a collection of len(ids) documents. ids must be
// non-empty and unique, texts valid UTF-8 (they are stored as JSON and
// returned in API responses), and vecs all of one non-zero dimension with
// finite values. A zero vector (a text the encoder knows no token of) has
// no cosine to rank by: its document is left out of dense search, and
// BM25 (alone, or hybrid's lexical half) still finds it; at least one
// vector must be non-zero. opts configure the BM25 index and are persisted
// by Save. Inputs are copied; the caller may reuse them.
func NewCollection(ids, texts []string, vecs [][]float32, opts ...BM25Option) (*Collection, error) {
	if len(vecs) != len(ids) {
		return nil, fmt.Errorf("index: NewCollection: %d ids but %d vectors", len(ids), len(vecs))
	}
	dim := 0
	if len(vecs) > 0 {
		dim = len(vecs[0])
	}
	flat := make([]float32, 0, len(vecs)*dim)
	for i, v := range vecs {
		if len(v) != dim {
			return nil, fmt.Errorf("index: NewCollection: vector %d has dim %d, want %d", i, len(v), dim)
		}
		flat = append(flat, v...)
	}
	c, err := newCollection(ids, texts, flat, dim, opts)
	if err != nil {
		return nil, fmt.Errorf("index: NewCollection: %w", err)
	}
	return c, nil
}

// newCollection builds from a flat row-major matrix, which it takes
// ownership of; LoadCollection uses it to avoid a second copy.
func newCollection(ids, texts []string, flat []float32, dim int, opts []BM25Option) (*Collection, error) {
	if len(texts) != len(ids) {
		return nil, fmt.Errorf("%d ids but %d texts", len(ids), len(texts))
	}
	for i, t := range texts {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("text %d (id %q) is not valid UTF-8", i, ids[i])
		}
	}
	if dim == 0 && len(ids) > 0 {
		return nil, fmt.Errorf("the vectors are empty")
	}
	// The dense index holds the rows with a direction; eval.NewIndex
	// validates their ids (non-empty) and values (finite) and keeps its own
	// normalised copy. NewBM25 checks every id is non-empty and unique.
	var denseIDs []string
	var rows [][]float32
	for i := range ids {
		row := flat[i*dim : (i+1)*dim : (i+1)*dim]
		if slices.ContainsFunc(row, func(x float32) bool { return x != 0 }) {
			denseIDs, rows = append(denseIDs, ids[i]), append(rows, row)
		}
	}
	if len(ids) > 0 && len(rows) == 0 {
		return nil, fmt.Errorf("every one of the %d vectors is zero: no document can be ranked by cosine", len(ids))
	}
	dense, err := eval.NewIndex(denseIDs, rows)
	if err != nil {
		return nil, err
	}
	bm25, err := NewBM25(ids, texts, opts...)
	if err != nil {
		return nil, err
	}
	pos := make(map[string]int32, len(ids))
	for i, id := range ids {
		pos[id] = int32(i)
	}
	return &Collection{
		ids:   slices.Clone(ids),
		texts: slices.Clone(texts),
		pos:   pos,
		vecs:  flat,
		dim:   dim,
		dense: dense,
		near:  newCoalescer(dense),
		bm25:  bm25,
	}, nil
}

// Len is the number of documents.
func (c *Collection) Len() int { return len(c.ids) }

// Dim is the dimension of the dense vectors; query vectors must match it.
func (c *Collection) Dim() int { return c.dim }

// BM25Params returns the settings of the collection's BM25 index.
func (c *Collection) BM25Params() BM25Params { return c.bm25.Params() }
