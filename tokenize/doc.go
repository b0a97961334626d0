// Package tokenize loads Hugging Face tokenizer.json files (WordPiece,
// WordLevel, BPE, ... as far as github.com/sugarme/tokenizer v0.3.0 reads
// them) and turns texts into padded int64 batches for ONNX encoders.
//
// It leans on sugarme for loading and for the files and inputs it does not
// handle itself, and works around it elsewhere:
//   - padding and truncation are done here (batch-longest, MaxLength), not
//     by the file's settings or sugarme's code (load.go, encode.go);
//   - accents are folded before encoding where the file lowercases, as
//     Hugging Face does and sugarme does not (normalize.go);
//   - special tokens are added from a wrap learnt once from the file's
//     post-processor (wrap.go);
//   - for space-splitting pipelines, texts are encoded chunk by chunk
//     (chunks between spaces), since sugarme costs ~20µs per chunk
//     (chunks.go): by a native encoder for the common BERT/GloVe shapes
//     (native*.go), which gives sugarme's ids at a fraction of the cost,
//     and otherwise through sugarme with a chunk cache;
//   - normalizers sugarme gets wrong (Precompiled, NFKC, a Replace by
//     regular expression…) and lone Metaspace pre-tokenizers are run
//     here, added tokens then found here too, and sugarme is left the
//     model (own.go); Unigram models are our own (unigram.go).
package tokenize
