// Package dataset reads retrieval data: BEIR directories (corpus.jsonl,
// queries.jsonl, qrels/<split>.tsv) and training pairs in the FlagEmbedding
// and sentence-transformers JSONL forms.
//
// The readers are strict because a silently skipped line becomes a silently
// wrong metric or a model trained on less data than claimed: every rejected
// line is reported as a LineError with its 1-based line number and reason,
// and all of a file's errors (up to MaxErrors) are returned together so a
// user can fix a file in one pass. Blank lines are the only lines skipped.
package dataset
