// Package index holds what a search collection serves from memory: an exact
// dense index (retune/eval's), a BM25 inverted index, and hybrid search that
// fuses the two, plus the collection's on-disk form.
//
// Decisions, with the measurements behind them (SciFact, 5,183 abstracts, on
// the 2-core development machine):
//
//   - BM25 uses its own analyser (see tokenize) instead of retune/tokenize's
//     word pieces, with Lucene's English stop list and no stemming. Test
//     split nDCG@10 is 0.6635 (0.6618 without the stop list), against the
//     0.660 the shared data README quotes for plain BM25 and BEIR's 0.665
//     (Anserini, with Porter stemming).
//   - Query time is term-at-a-time into a pooled score array plus a top-k
//     heap over the matched documents only: 0.05-0.12 ms per SciFact query
//     (BenchmarkBM25SciFact), well inside the 1 ms budget.
//   - The BM25 index is not persisted: building it takes 54-60 ms for
//     SciFact (BenchmarkBuildBM25SciFact), far below the minutes it takes to encode
//     the same documents, so LoadCollection rebuilds it from the saved texts.
//     That also keeps one format instead of two and lets analyser fixes reach
//     existing collections without a migration (details in persist.go).
//   - Hybrid search fuses the union of each retriever's top max(k, 100) by
//     reciprocal rank fusion (default) or min-max normalised score fusion;
//     the formulas are on FusionRRF and FusionScore.
//
// Everything here is immutable after construction and safe for concurrent
// use; per-query scratch memory comes from sync.Pools.
package index
