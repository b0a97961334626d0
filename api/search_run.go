package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"retune/index"
	"retune/internal/vecmath"
	"retune/model"
	"retune/store"
)

// search runs p against collection id: it checks the collection is ready,
// loads it on first use, embeds the queries in the collection's space and
// ranks each one.
func (s *Server) search(ctx context.Context, id string, p searchParams) (searchResponse, error) {
	lc, err := s.searchable(ctx, id)
	if err != nil {
		return searchResponse{}, err
	}
	modelName, vecs, err := s.queryVectors(ctx, lc, p)
	if err != nil {
		return searchResponse{}, err
	}
	qs := make([]index.Query, len(p.queries))
	for i, text := range p.queries {
		qs[i] = index.Query{Text: text, K: p.k, Mode: p.mode, Fusion: p.fusion, Alpha: p.alpha, RRFK: p.rrfK}
		if vecs != nil {
			qs[i].Vec = vecs[i]
		}
	}
	// One call for all the request's queries: their dense parts share each
	// pass over the collection. Each query waited as long as the batch.
	start := time.Now()
	hits, err := lc.ix.SearchBatch(qs)
	took := time.Since(start).Seconds()
	var bad *index.QueryError
	if errors.As(err, &bad) {
		name := queryName(p, bad.Index)
		return searchResponse{}, colBadParam(name, "%s: %v", name, bad.Err)
	}
	if err != nil {
		return searchResponse{}, err
	}
	res := searchResponse{Object: "list", Model: modelName, Mode: string(p.mode), Data: make([]searchResult, len(p.queries))}
	for i, text := range p.queries {
		s.metrics.search.WithLabelValues(string(p.mode)).Observe(took)
		res.Data[i] = searchResult{Query: text, Hits: toSearchHits(hits[i], !p.noText)}
		// Such a query has no dense candidates: no hits in dense mode,
		// BM25's alone in hybrid mode; the flag says why.
		res.Data[i].Unembeddable = vecs != nil && vectorNorm(vecs[i]) == 0
	}
	return res, nil
}

// searchable returns collection id ready for search: from memory when it is
// loaded (the common case, no database read), else after checking its
// status in the store and loading it from disk.
func (s *Server) searchable(ctx context.Context, id string) (*loadedCollection, error) {
	if lc, ok := s.cols.ready(id); ok {
		return lc, nil
	}
	col, err := s.storedCollection(ctx, id)
	if err != nil {
		return nil, err
	}
	switch col.Status {
	case store.CollectionIndexing:
		if s.cols.queued(id) {
			return nil, colConflict("collection %s waits for another collection's indexing to finish before its own starts; search it once its status is \"ready\"", id)
		}
		return nil, colConflict("collection %s is still indexing (%.0f%% done); search it once its status is \"ready\"", id, 100*col.Progress)
	case store.CollectionFailed:
		return nil, colConflict("collection %s failed: %s; delete it and create it again", id, col.Error)
	}
	lc, err := s.cols.get(ctx, id, func(ctx context.Context) (*index.Collection, collectionMeta, error) {
		return s.loadReadyCollection(ctx, id)
	})
	if err != nil {
		// A delete racing this search removes the files first-hand; report
		// what the client would see a moment later.
		if _, gone := s.storedCollection(ctx, id); gone != nil {
			return nil, gone
		}
		return nil, err
	}
	return lc, nil
}

func toSearchHits(hits []index.Hit, withText bool) []searchHit {
	out := make([]searchHit, len(hits))
	for i, h := range hits {
		out[i] = searchHit{ID: h.ID, Score: h.Score, DenseScore: h.DenseScore, BM25Score: h.BM25Score,
			DenseRank: h.DenseRank, BM25Rank: h.BM25Rank}
		if withText {
			out[i].Text = h.Text
		}
	}
	return out
}

// queryName names query i of a request as the request does, which is the
// error's param too: "query", or "queries[i]" in a batch (of one or more).
func queryName(p searchParams, i int) string {
	if !p.batch {
		return "query"
	}
	return fmt.Sprintf("queries[%d]", i)
}

// queryVectors embeds the queries the way the collection's documents were
// embedded: same encoder (by checksum), then the query-side head, which is
// the request's head or else the collection's. It returns the name of the
// model that embedded them ("encoder" or "encoder:ft-<head>") and nil
// vectors for bm25, which needs none.
//
// Heads that apply to documents too (apply "shared") only work with
// documents projected through that same head, so such a head must be the
// one the collection was indexed with; query-only heads work on
// collections of base embeddings.
func (s *Server) queryVectors(ctx context.Context, lc *loadedCollection, p searchParams) (string, [][]float32, error) {
	meta := lc.meta
	if p.mode == index.ModeBM25 {
		// Nothing embeds the queries: the encoder need not even be
		// installed. The response still names the collection's model.
		if meta.Head != "" {
			return fineTunedName(meta.Encoder, meta.Head), nil, nil
		}
		return meta.Encoder, nil, nil
	}
	enc, err := s.cfg.Models.Get(ctx, meta.Encoder)
	if errors.Is(err, model.ErrUnknownModel) {
		return "", nil, colConflict("encoder %q of this collection is no longer installed; re-install it or re-create the collection", meta.Encoder)
	}
	if err != nil {
		return "", nil, s.encoderBroken(err)
	}
	sum, err := enc.Checksum()
	if err != nil {
		return "", nil, err
	}
	if sum != meta.EncoderChecksum {
		return "", nil, colConflict("encoder %q changed since this collection was indexed (sha256 %s, now %s); re-create the collection",
			meta.Encoder, short(meta.EncoderChecksum), short(sum))
	}
	headID := p.head
	if headID == "" {
		headID = meta.Head
	}
	modelName := meta.Encoder
	var head *model.Head
	if headID != "" {
		modelName = fineTunedName(meta.Encoder, headID)
		head, err = s.collectionHead(ctx, headID, enc)
		if err == nil {
			err = checkQueryHead(headID, head, meta)
		}
		if err != nil {
			if p.head != "" {
				err = withParam(err, "head") // the request's head, not the collection's
			}
			return "", nil, err
		}
	}
	vecs, err := enc.Embed(ctx, p.queries)
	if err != nil {
		if i, why, ok := untokenizable(err); ok {
			name := queryName(p, i)
			return "", nil, colBadParam(name, "%s cannot be tokenized by encoder %q's tokenizer: %v", name, meta.Encoder, why)
		}
		return "", nil, fmt.Errorf("embed queries: %w", err)
	}
	s.countEmbedded("query", len(p.queries))
	if head != nil {
		vecs = head.ProjectBatch(vecs)
	}
	if i, j := vecmath.FirstNonFinite(vecs); i >= 0 {
		// The server made this vector: the index would refuse it as an
		// invalid query, a 400 blaming the client.
		return "", nil, fmt.Errorf("embed queries: query %d: the model gave a non-finite value at %d", i, j)
	}
	for _, v := range vecs {
		if len(v) != lc.ix.Dim() {
			err := colConflict("head %s outputs %d dimensions, but this collection's vectors have %d", headID, len(v), lc.ix.Dim())
			if p.head != "" {
				err = withParam(err, "head")
			}
			return "", nil, err
		}
	}
	return modelName, vecs, nil
}

// checkQueryHead refuses a query head whose document side does not match
// how the collection's documents were embedded.
func checkQueryHead(headID string, head *model.Head, meta collectionMeta) error {
	docSide := ""
	if head.AppliesToDocs() {
		docSide = headID
	}
	switch {
	case docSide == meta.DocHead:
		return nil
	case meta.DocHead != "":
		return colConflict("this collection's documents were embedded through shared head %s; searching with head %s would compare vectors from different spaces: omit \"head\", or create a collection with head %s",
			meta.DocHead, headID, headID)
	default:
		return colConflict("head %s applies to documents too (apply \"shared\"), but this collection's documents are plain %s embeddings: create a collection with \"head\": %q to search with it",
			headID, meta.Encoder, headID)
	}
}
