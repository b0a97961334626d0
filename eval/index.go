package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Index is an exact (brute-force) dense index: one row-major float32 matrix
// of L2-normalised document embeddings plus their ids. Brute force is the
// right tool at our scale (SciFact: 5,183 docs) because it is exact, so
// evaluation never mixes retrieval error from an ANN structure into the
// model's score, and a single matrix-vector product is already fast.
type Index struct {
	ids  []string
	data []float32 // len(ids) × dim, row i = document ids[i]
	dim  int
	// idOrder[i] is the position of ids[i] in ascending id order. Search
	// breaks score ties by id; comparing these ints instead of strings keeps
	// string comparisons out of the scan loop.
	idOrder []int32
	// scratch holds *[]float32 score buffers of len(ids) so concurrent
	// Search calls do not allocate a fresh buffer each time.
	scratch sync.Pool
}

// NewIndex copies vecs into a flat matrix, L2-normalising each row so that a
// dot product with a unit-length query is the cosine similarity. ids must be
// non-empty and unique; every vector must have the same non-zero dimension,
// finite values and a non-zero norm.
func NewIndex(ids []string, vecs [][]float32) (*Index, error) {
	if len(ids) != len(vecs) {
		return nil, fmt.Errorf("eval: NewIndex: %d ids but %d vectors", len(ids), len(vecs))
	}
	if len(ids) == 0 {
		return nil, errors.New("eval: NewIndex: no documents")
	}
	if len(ids) > math.MaxInt32 {
		return nil, fmt.Errorf("eval: NewIndex: %d documents exceed the int32 limit", len(ids))
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("eval: NewIndex: id %d is empty", i)
		}
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("eval: NewIndex: duplicate id %q at %d and %d", id, j, i)
		}
		seen[id] = i
	}
	ix := &Index{ids: slices.Clone(ids), idOrder: IDRanks(ids)}
	if err := ix.load(vecs); err != nil {
		return nil, fmt.Errorf("eval: NewIndex: %w", err)
	}
	return ix, nil
}

// WithMatrix returns an index over the same ids with other vectors (the
// documents through a trained head, say): data holds one row per id in the
// same order, row-major. The new index takes data over and normalises it in
// place as NewIndex would (the caller must not use it afterwards), and
// shares the ids' checks and sort order instead of redoing them: on a large
// corpus those were most of NewIndex's cost, paid at every dev evaluation.
func (ix *Index) WithMatrix(data []float32) (*Index, error) {
	n := len(ix.ids)
	if len(data) == 0 || len(data)%n != 0 {
		return nil, fmt.Errorf("eval: WithMatrix: %d values are not %d rows", len(data), n)
	}
	out := &Index{ids: ix.ids, idOrder: ix.idOrder}
	dim := len(data) / n
	for i := range n {
		row := data[i*dim : (i+1)*dim]
		if err := normalizeRow(row, row); err != nil {
			return nil, fmt.Errorf("eval: WithMatrix: vector %d (id %q) %w", i, ix.ids[i], err)
		}
	}
	out.adopt(data, dim)
	return out, nil
}

// load checks vecs (one per id) and stores them L2-normalised.
func (ix *Index) load(vecs [][]float32) error {
	dim := len(vecs[0])
	if dim == 0 {
		return fmt.Errorf("vector 0 (id %q) is empty", ix.ids[0])
	}
	data := make([]float32, len(vecs)*dim)
	for i, v := range vecs {
		if len(v) != dim {
			return fmt.Errorf("vector %d (id %q) has dim %d, want %d", i, ix.ids[i], len(v), dim)
		}
		if err := normalizeRow(data[i*dim:(i+1)*dim], v); err != nil {
			return fmt.Errorf("vector %d (id %q) %w", i, ix.ids[i], err)
		}
	}
	ix.adopt(data, dim)
	return nil
}

// normalizeRow writes v/‖v‖ (computed in float64) into dst, which may be
// v itself, or says why v has no direction.
func normalizeRow(dst, v []float32) error {
	var ss float64
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("has non-finite value at %d", j)
		}
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return errors.New("has zero norm")
	}
	inv := 1 / math.Sqrt(ss)
	for j, x := range v {
		dst[j] = float32(float64(x) * inv)
	}
	return nil
}

// adopt makes data (normalised rows of dim values) the index's matrix.
func (ix *Index) adopt(data []float32, dim int) {
	ix.data, ix.dim = data, dim
	n := len(data) / dim
	ix.scratch.New = func() any {
		buf := make([]float32, n)
		return &buf
	}
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.ids) }

// Dim is the embedding dimension.
func (ix *Index) Dim() int { return ix.dim }

// ID returns the id of document i (0 ≤ i < Len), in insertion order.
func (ix *Index) ID(i int) string { return ix.ids[i] }
