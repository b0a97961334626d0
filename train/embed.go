package train

import (
	"context"
	"fmt"

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
// cache, so each text costs a forward pass once per encoder.
func EmbedDataset(ctx context.Context, cache *Cache, enc Embedder, docs []dataset.Doc, queries []dataset.Query) (*Embedded, error) {
	e := &Embedded{DocIDs: make([]string, len(docs)), QueryVecs: make(map[string][]float32, len(queries))}
	texts := make([]string, len(docs))
	for i, d := range docs {
		e.DocIDs[i], texts[i] = d.ID, d.Content()
	}
	var err error
	if e.DocVecs, e.Stats, err = cache.Embed(ctx, enc, texts); err != nil {
		return nil, fmt.Errorf("embed corpus: %w", err)
	}
	qTexts := make([]string, len(queries))
	for i, q := range queries {
		qTexts[i] = q.Text
	}
	qv, st, err := cache.Embed(ctx, enc, qTexts)
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
