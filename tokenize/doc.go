// Package tokenize loads Hugging Face tokenizer.json files (WordPiece,
// WordLevel, BPE, ... as far as github.com/sugarme/tokenizer v0.3.0 reads
// them) and turns texts into padded int64 batches for ONNX encoders.
//
// It leans on sugarme for normalisation, pre-tokenisation and the model, and
// works around it elsewhere:
//   - padding and truncation are done here (batch-longest, MaxLength), not
//     by the file's settings or sugarme's code (load.go, encode.go);
//   - accents are folded before encoding where the file lowercases, as
//     Hugging Face does and sugarme does not (normalize.go);
//   - special tokens are added from a wrap learnt once from the file's
//     post-processor (wrap.go);
//   - for space-splitting pipelines, chunks between spaces are encoded once
//     and cached, since sugarme costs ~20µs per word (chunks.go).
package tokenize
