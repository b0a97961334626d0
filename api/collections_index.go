package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"retune/index"
	"retune/internal/memroom"
	"retune/model"
	"retune/store"
	"retune/train"
)

// Indexing tuning.
const (
	// indexChunk is how many documents go to the embedding cache at once:
	// large enough for full encoder batches, small enough that progress
	// moves and cancellation is prompt.
	indexChunk = 256
	// progressEvery throttles progress writes to the store's single writer.
	progressEvery = 500 * time.Millisecond
	// embedShare is the part of progress given to embedding; building and
	// saving the index takes the rest.
	embedShare = 0.9
	// maxErrorLen keeps a stored failure message readable.
	maxErrorLen = 2000
)

// startIndexing runs col's indexing in the background, at most
// collectionState.slots runs at a time. Every outcome is recorded in the
// store, except an interruption by shutdown, which leaves the collection
// "indexing" for resumeCollections to pick up at the next start.
func (s *Server) startIndexing(col store.Collection) {
	ctx, done, err := s.cols.startRun(col.ID)
	if err != nil {
		s.log.Info("collection not indexed", "collection", col.ID, "reason", err.Error())
		return
	}
	// A slot taken now, when one is free, lets the caller tell a client
	// at once whether the run waits (queued).
	slot := s.cols.tryAcquire(col.ID)
	go func() {
		defer done()
		if !slot {
			if err := s.cols.acquire(ctx, col.ID); err != nil {
				return
			}
		}
		defer s.cols.release()
		start := time.Now()
		mem, err := s.indexCollectionSafely(ctx, col)
		s.cacheGrew()
		switch {
		case err == nil:
			s.log.Info("collection indexed", "collection", col.ID, "s", time.Since(start).Seconds(),
				"memory_estimate_bytes", mem.EstimateBytes, "peak_heap_growth_bytes", mem.PeakHeapGrowthBytes)
		case ctx.Err() != nil:
			s.log.Info("collection indexing interrupted", "collection", col.ID, "reason", context.Cause(ctx).Error())
		default:
			level := slog.LevelError
			if ce := (*collectionError)(nil); errors.As(err, &ce) {
				level = slog.LevelWarn // the collection's to fix (its data, memory), not the server's
			}
			s.log.Log(ctx, level, "collection indexing failed", "collection", col.ID, "err", err.Error())
			err := s.recordCollection(ctx, col.ID, store.CollectionFailed, col.Docs, failureMessage(err))
			switch {
			case err == nil:
				// A failed collection is never indexed again (it is deleted
				// and created anew): what its run wrote, posted documents
				// and a partly saved index, would only hold disk space,
				// perhaps on the disk whose filling failed it.
				if err := s.store.RemoveDir(store.KindCollections, col.ID); err != nil {
					s.log.Warn("remove failed collection's files", "collection", col.ID, "err", err.Error())
				}
			case !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil:
				s.log.Error("record collection failure", "collection", col.ID, "err", err.Error())
			}
		}
	}()
}

// recordCollection writes a finished run's status (ready or failed). A
// write the machine refuses (a full disk, a locked database) is retried,
// as a job's end is (endJob), until it lands or ctx ends (the next start
// then resumes the run): given up, the collection would read "indexing"
// with nothing behind it until a restart.
func (s *Server) recordCollection(ctx context.Context, id, status string, docs int, msg string) error {
	progress := 0.0
	if status == store.CollectionReady {
		progress = 1
	}
	return s.retryWrite(ctx, id, "recording the collection as "+status, "record collection status", []any{"collection", id, "status", status}, func() error {
		return s.store.UpdateCollection(context.WithoutCancel(ctx), id, status, docs, progress, msg)
	})
}

// indexCollectionSafely is indexCollection with a panic turned into the
// collection's failure: it runs in its own goroutine, where a panic would
// take the server down, and again at every start that resumes it.
func (s *Server) indexCollectionSafely(ctx context.Context, col store.Collection) (mem train.MemoryReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("collection indexing panicked", "collection", col.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return s.indexCollection(ctx, col)
}

// failureMessage is what a failed collection shows its users: the reason
// when it is theirs to act on (a collectionError), else a pointer to the
// log, which has the details, server paths included.
func failureMessage(err error) string {
	if p := store.StorageProblem(err); p != "" {
		return p + " (while indexing)"
	}
	var ce *collectionError
	if !errors.As(err, &ce) {
		return "internal error while indexing; see the server log"
	}
	if len(ce.msg) > maxErrorLen {
		return strings.ToValidUTF8(ce.msg[:maxErrorLen], "") + "…"
	}
	return ce.msg
}

// resumeCollections restarts the indexing runs a shutdown or crash
// interrupted. The server's Start calls it once.
func (s *Server) resumeCollections(ctx context.Context) error {
	cols, err := s.store.UnfinishedCollections(ctx)
	if err != nil {
		return fmt.Errorf("resume collections: %w", err)
	}
	for _, col := range cols {
		s.log.Info("resuming collection indexing", "collection", col.ID)
		s.startIndexing(col)
	}
	return nil
}

// preloadCollections loads every ready collection, one after another, in
// the background: a restarted server answers its first searches without
// first reading an index and rebuilding its BM25 (seconds for a large
// collection). A search arriving meanwhile shares the load in progress;
// a collection that fails to load is logged and loaded again, with the
// error, by its first search.
func (s *Server) preloadCollections() {
	s.cols.background(func(ctx context.Context) {
		page := store.Page{Limit: store.MaxPageLimit}
		for {
			cols, more, err := s.store.ListCollections(ctx, page)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("preloading collections: listing failed", "err", err)
				}
				return
			}
			for _, col := range cols {
				if col.Status != store.CollectionReady {
					continue
				}
				start := time.Now()
				_, err := s.cols.get(ctx, col.ID, func(ctx context.Context) (*index.Collection, collectionMeta, error) {
					return s.loadReadyCollection(ctx, col.ID)
				})
				if ctx.Err() != nil {
					return
				}
				if ce := (*collectionError)(nil); errors.As(err, &ce) && ce.code == codeNotFound {
					continue // deleted since the listing
				}
				if err != nil {
					s.log.Warn("preloading collection failed", "collection", col.ID, "err", err)
					continue
				}
				s.log.Info("collection loaded", "collection", col.ID, "docs", col.Docs, "seconds", time.Since(start).Seconds())
			}
			if !more || len(cols) == 0 {
				return
			}
			page.After = cols[len(cols)-1].ID
		}
	})
}

// indexCollection embeds col's documents (through its head when the head
// applies to documents), builds and saves the index, and marks it ready. It
// returns its memory estimate beside what it took, for the log.
func (s *Server) indexCollection(ctx context.Context, col store.Collection) (mem train.MemoryReport, err error) {
	dir, err := s.store.Dir(store.KindCollections, col.ID)
	if err != nil {
		return mem, err
	}
	corpus, err := s.collectionCorpus(ctx, col, dir)
	if err != nil {
		return mem, err
	}
	enc, err := s.cfg.Models.Get(ctx, col.Encoder)
	if errors.Is(err, model.ErrUnknownModel) {
		return mem, colConflict("encoder %q is not installed", col.Encoder)
	}
	if err != nil {
		return mem, s.encoderBroken(fmt.Errorf("encoder %q: %w", col.Encoder, err))
	}
	defer s.cfg.Models.Release(enc)
	sum, err := enc.Checksum()
	if err != nil {
		return mem, err
	}
	var head *model.Head
	if col.HeadID != "" {
		if head, err = s.collectionHead(ctx, col.HeadID, enc); err != nil {
			return mem, err
		}
	}
	shape := newIndexShape(col.Docs, fileBytes(corpus), enc, head)
	mem.EstimateBytes = indexingMemory(shape)
	hold, err := s.admitIndexing(shape)
	if err != nil {
		return mem, err
	}
	defer hold.Release()
	heap := memroom.StartWatch()
	defer func() { mem.PeakHeapGrowthBytes = heap.Growth() }()
	docs, err := readCorpusFile(corpus)
	if err != nil {
		return mem, fmt.Errorf("read the documents of collection %s: %w", col.ID, err)
	}
	ids := make([]string, len(docs))
	texts := make([]string, len(docs))
	for i, d := range docs {
		ids[i], texts[i] = d.ID, d.Content()
	}
	vecs, err := s.embedDocuments(ctx, col, enc, texts)
	if bad := (*untokenizableDoc)(nil); errors.As(err, &bad) {
		return mem, colBadParam("documents", "document %q cannot be tokenized by encoder %q's tokenizer: %v", ids[bad.index], enc.Name(), bad.why)
	}
	if err != nil {
		return mem, err
	}
	meta := collectionMeta{FormatVersion: collectionMetaFormat, Encoder: enc.Name(), EncoderChecksum: sum, Head: col.HeadID}
	if head != nil && head.AppliesToDocs() {
		vecs = head.ProjectBatch(vecs)
		meta.DocHead = col.HeadID
	}
	// Documents with a zero vector stay in the collection for BM25; the
	// index leaves them out of dense ranking, which has no cosine for them.
	keep, zero, zeroIDs := train.NonZeroRows(ids, vecs)
	if len(keep) == 0 {
		if meta.DocHead != "" {
			return mem, colBadRequest("no document has a vector: the encoder knows no token of any of them, or head %s maps every vector to zero", col.HeadID)
		}
		return mem, colBadRequest("no document has a vector: the encoder knows no token of any of them")
	}
	if zero > 0 {
		left := unembeddableDocs{Docs: zero, DocIDs: zeroIDs}
		raw, _ := json.Marshal(left) // ints and strings: cannot fail
		if err := s.store.SetCollectionUnembeddable(ctx, col.ID, raw); err != nil {
			return mem, err
		}
		s.log.Warn("documents left out of dense search: no vector", "collection", col.ID, "docs", left.Docs, "first", left.DocIDs)
	}
	ix, err := index.NewCollection(ids, texts, vecs)
	if err != nil {
		return mem, err
	}
	meta.Dim = ix.Dim()
	if err := ix.Save(ctx, dir); err != nil {
		return mem, err
	}
	if err := writeCollectionMeta(dir, meta); err != nil {
		return mem, err
	}
	s.cols.put(col.ID, ix, meta)
	if err := s.recordCollection(ctx, col.ID, store.CollectionReady, len(ids), ""); err != nil {
		s.cols.forget(col.ID)
		return mem, err
	}
	s.dropPostedDocuments(col.ID, dir)
	return mem, nil
}

// collectionCorpus is the path of what col indexes: its dataset's corpus,
// checked against the dataset's checksum, or the documents posted with it.
func (s *Server) collectionCorpus(ctx context.Context, col store.Collection, dir string) (string, error) {
	if col.DatasetID == "" {
		return filepath.Join(dir, collectionCorpusFile), nil
	}
	ds, err := s.store.GetDataset(ctx, col.DatasetID)
	if errors.Is(err, store.ErrNotFound) {
		return "", colConflict("dataset %s no longer exists", col.DatasetID)
	}
	if err != nil {
		return "", fmt.Errorf("dataset %s: %w", col.DatasetID, err)
	}
	path, err := s.datasetCorpusPath(ds)
	if err != nil {
		return "", err
	}
	if err := s.checkDataset(ctx, filepath.Dir(path), ds); err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", colConflict("%v", err)
	}
	return path, nil
}

// embedDocuments embeds texts through the shared embedding cache in
// chunks, recording progress: texts embedded before (by a training job or
// an earlier index of the same corpus) cost a lookup, not a forward pass.
func (s *Server) embedDocuments(ctx context.Context, col store.Collection, enc *model.Encoder, texts []string) ([][]float32, error) {
	vecs := make([][]float32, 0, len(texts))
	last := time.Now()
	for lo := 0; lo < len(texts); lo += indexChunk {
		chunk := texts[lo:min(lo+indexChunk, len(texts))]
		out, st, err := s.cache.Embed(ctx, enc, chunk)
		if _, _, ok := untokenizable(err); ok {
			// Its index is into the texts the cache had to embed: find
			// the document again, in this chunk, one text at a time.
			for k, t := range chunk {
				if ctx.Err() != nil {
					break
				}
				if _, terr := enc.Tokenizer().EncodeBatch([]string{t}); terr != nil {
					return nil, &untokenizableDoc{index: lo + k, why: errors.Unwrap(terr)}
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("embed documents %d-%d: %w", lo, lo+len(chunk)-1, err)
		}
		s.countEmbedded("index", st.Misses)
		vecs = append(vecs, out...)
		// The last chunk always reports: with cached embeddings the whole
		// loop can take less than progressEvery, and building and saving
		// the index, which report nothing, would then show 0 throughout.
		if time.Since(last) >= progressEvery || len(vecs) == len(texts) {
			last = time.Now()
			p := embedShare * float64(len(vecs)) / float64(len(texts))
			if err := s.store.UpdateCollection(ctx, col.ID, store.CollectionIndexing, len(texts), p, ""); err != nil {
				return nil, fmt.Errorf("record progress: %w", err)
			}
		}
	}
	return vecs, nil
}

// untokenizableDoc is the document, by index, the encoder's tokenizer
// cannot take, and why.
type untokenizableDoc struct {
	index int
	why   error
}

func (e *untokenizableDoc) Error() string {
	return fmt.Sprintf("document %d cannot be tokenized: %v", e.index, e.why)
}

// unembeddableDocs are the documents a collection left out of dense
// ranking because the encoder (or the head) gave them an all-zero vector,
// e.g. text with no word GloVe knows: cosine similarity cannot rank them,
// BM25 can, and one of them must not fail a whole corpus.
type unembeddableDocs struct {
	Docs   int      `json:"docs"`
	DocIDs []string `json:"doc_ids"` // the first ten
}

func vectorNorm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}
