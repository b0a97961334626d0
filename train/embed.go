package train

import (
	"context"
	"fmt"
	"strings"

	"retune/dataset"
)

// Embedded holds a dataset's base-encoder embeddings.
type Embedded struct {
	DocIDs    []string             // corpus order
	DocVecs   [][]float32          // aligned with DocIDs
	QueryVecs map[string][]float32 // by query id
	Stats     CacheStats           // texts served from the cache vs embedded now
}

// EmbedDataset embeds the corpus (title + text) and the queries through the
// cache, so each text costs a forward pass once per encoder. progress, when
// not nil, is called with the number of texts (documents, then queries)
// done so far.
func EmbedDataset(ctx context.Context, cache *Cache, enc Embedder, docs []dataset.Doc, queries []dataset.Query, progress func(done int)) (*Embedded, error) {
	e := &Embedded{DocIDs: make([]string, len(docs)), QueryVecs: make(map[string][]float32, len(queries))}
	texts := make([]string, len(docs))
	for i, d := range docs {
		e.DocIDs[i], texts[i] = d.ID, d.Content()
	}
	var err error
	if e.DocVecs, e.Stats, err = cache.EmbedProgress(ctx, enc, texts, progress); err != nil {
		return nil, fmt.Errorf("embed corpus: %w", err)
	}
	qTexts := make([]string, len(queries))
	for i, q := range queries {
		qTexts[i] = q.Text
	}
	var qProgress func(int)
	if progress != nil {
		qProgress = func(done int) { progress(len(docs) + done) }
	}
	qv, st, err := cache.EmbedProgress(ctx, enc, qTexts, qProgress)
	if err != nil {
		return nil, fmt.Errorf("embed queries: %w", err)
	}
	e.Stats.Hits += st.Hits
	e.Stats.Misses += st.Misses
	for i, q := range queries {
		e.QueryVecs[q.ID] = qv[i]
	}
	return e, nil
}

// Unembeddable counts the texts the encoder gave an all-zero vector (no
// token it knows, e.g. "2019" or emoji for GloVe). Cosine similarity cannot
// rank them, so such documents are left out of the searched corpus and of
// training, and such queries out of training and evaluation.
type Unembeddable struct {
	Docs     int      `json:"docs"`
	Queries  int      `json:"queries"`
	DocIDs   []string `json:"doc_ids"`   // the first few
	QueryIDs []string `json:"query_ids"` // the first few
}

// unembeddableExamples is how many ids of each kind a report lists.
const unembeddableExamples = 10

// DropZeroVectors removes the documents and queries whose vector is all
// zeros and says which; nil when there are none.
func (e *Embedded) DropZeroVectors() *Unembeddable {
	keep, docs, docIDs := NonZeroRows(e.DocIDs, e.DocVecs)
	e.DocIDs, e.DocVecs = PickRows(e.DocIDs, keep), PickRows(e.DocVecs, keep)
	u := Unembeddable{Docs: docs, DocIDs: docIDs}
	for _, id := range sortedKeys(e.QueryVecs) {
		if isZero(e.QueryVecs[id]) {
			u.Queries++
			if len(u.QueryIDs) < unembeddableExamples {
				u.QueryIDs = append(u.QueryIDs, id)
			}
			delete(e.QueryVecs, id)
		}
	}
	if u.Docs == 0 && u.Queries == 0 {
		return nil
	}
	// Both lists are arrays in the report, empty rather than null.
	u.DocIDs, u.QueryIDs = append([]string{}, u.DocIDs...), append([]string{}, u.QueryIDs...)
	return &u
}

// NonZeroRows returns the indexes, in order, of the rows whose vector is
// not all zeros, with the number of the others and the first ten of their
// ids. Jobs and collections both leave such rows out: cosine similarity
// cannot rank them.
func NonZeroRows(ids []string, vecs [][]float32) (keep []int, zero int, zeroIDs []string) {
	keep = make([]int, 0, len(vecs))
	for i, v := range vecs {
		if !isZero(v) {
			keep = append(keep, i)
			continue
		}
		zero++
		if len(zeroIDs) < unembeddableExamples {
			zeroIDs = append(zeroIDs, ids[i])
		}
	}
	return keep, zero, zeroIDs
}

// PickRows returns s's elements at keep (ascending), reusing s's storage.
func PickRows[T any](s []T, keep []int) []T {
	for j, i := range keep {
		s[j] = s[i]
	}
	return s[:len(keep)]
}

func (u *Unembeddable) String() string {
	part := func(n int, kind string, ids []string) string {
		s := fmt.Sprintf("%d %s", n, kind)
		if len(ids) > 0 {
			s += " (" + strings.Join(ids, ", ")
			if n > len(ids) {
				s += ", ..."
			}
			s += ")"
		}
		return s
	}
	return "left out " + part(u.Docs, "documents", u.DocIDs) + " and " + part(u.Queries, "queries", u.QueryIDs) +
		" the encoder has no vector for (no token it knows)"
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
