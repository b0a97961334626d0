// Package export writes trained projection heads in formats other tools
// load without retune:
//
//   - HeadONNX: the head alone as an ONNX model, sentence_embedding =
//     L2-normalise(embedding·Wᵀ + b), for pipelines that already have base
//     embeddings.
//   - Fused: the frozen encoder's ONNX graph with pooling, normalisation and
//     the head appended, written as an ordinary encoder folder (model.onnx,
//     tokenizer.json, encoder.json) that model.Open and `retune embed --onnx`
//     load like any other encoder.
//   - Safetensors: the head as a sentence-transformers models.Dense folder
//     (model.safetensors + config.json).
//
// Every exporter applies the head whatever its apply mode. For a head
// trained with apply "query" the exported model is therefore the query
// encoder: documents must still be embedded with the base encoder.
package export

import "retune/models"

// FormatVersion is recorded in every exported artifact (ONNX metadata_props,
// encoder.json provenance) so that later readers can tell which layout they
// are looking at.
const FormatVersion = 1

// File names inside exported folders (a fused folder also holds the
// models.ModelFile, models.TokenizerFile and models.ConfigFile of an encoder).
const (
	HeadONNXName    = "head.onnx"
	ExternalFile    = models.DataFile
	SafetensorsFile = "model.safetensors"
	DenseConfigFile = "config.json"
)

// The files each folder format writes, its marker (the file that says the
// set is complete) last: an export replaces these and lists them, and
// leaves any other file of its folder alone.
var (
	fusedFiles       = []string{ExternalFile, models.TokenizerFile, models.ModelFile, models.ConfigFile}
	safetensorsFiles = []string{DenseConfigFile, SafetensorsFile}
)

// Graph tensor names of the exported models.
const (
	// InputEmbedding is the input of the head-only model: base embeddings,
	// float32 [batch, d_in].
	InputEmbedding = "embedding"
	// OutputEmbedding is the output of both ONNX exports, float32
	// [batch, d_out]; model.Encoder takes an output of this name as the
	// finished sentence embedding.
	OutputEmbedding = "sentence_embedding"
)
