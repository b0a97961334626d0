package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"retune/internal/atomicfile"
)

// Pooling modes an encoder folder can ask for: sentence-transformers'
// single modes.
const (
	PoolingMean      = "mean"      // average of last_hidden_state over attention_mask
	PoolingCLS       = "cls"       // last_hidden_state of the first token
	PoolingMax       = "max"       // per dimension, the largest value over the real tokens
	PoolingLastToken = "lasttoken" // last_hidden_state of the last real token (decoder embedders)
	// PoolingMeanSqrtLen is the sum over the real tokens divided by the
	// square root of their number.
	PoolingMeanSqrtLen = "mean_sqrt_len"
	// PoolingWeightedMean weighs the k-th real token by k (SGPT's
	// position-weighted mean for decoders).
	PoolingWeightedMean = "weightedmean"
)

// PoolingModes lists the pooling modes, for messages and validation.
var PoolingModes = []string{PoolingMean, PoolingCLS, PoolingMax, PoolingLastToken, PoolingMeanSqrtLen, PoolingWeightedMean}

// ValidPooling reports whether p is one of PoolingModes.
func ValidPooling(p string) bool { return slices.Contains(PoolingModes, p) }

// EncoderFormatVersion is the encoder.json format this package writes and reads.
const EncoderFormatVersion = 1

// EncoderConfig is encoder.json: how to turn the model's last_hidden_state
// into one embedding, and where the weights came from.
type EncoderConfig struct {
	Name          string `json:"name"`
	FormatVersion int    `json:"format_version"`
	Pooling       string `json:"pooling"`    // one of PoolingModes
	Normalize     bool   `json:"normalize"`  // L2-normalise the pooled vector
	MaxLength     int    `json:"max_length"` // tokens per text, truncated beyond
	Dim           int    `json:"dim"`
	VocabSize     int    `json:"vocab_size,omitempty"`
	// Inputs are the model's input names in order; Output is the hidden-state
	// output pooling reads.
	Inputs []string `json:"inputs,omitempty"`
	Output string   `json:"output,omitempty"`
	// ModelSHA256 and ModelSize describe model.onnx as built; the size makes
	// the up-to-date check cheap, the checksum lets a loader verify fully.
	ModelSHA256 string `json:"model_sha256,omitempty"`
	ModelSize   int64  `json:"model_size,omitempty"`
	// DataSize is the size of model.onnx.data when the model keeps its
	// large tensors there (0: no external data).
	DataSize int64 `json:"data_size,omitempty"`
	// Build identifies the builder and its inputs; a folder whose Build
	// differs from what this code would produce is rebuilt.
	Build      string         `json:"build,omitempty"`
	Provenance map[string]any `json:"provenance,omitempty"`
}

// ProvenanceHeadApply is the provenance key under which a fused export
// (encoder + projection head) records its head's apply mode.
const ProvenanceHeadApply = "head_apply"

// QueryOnly reports whether the encoder is a fused export of a head that
// applies to queries only: its vectors are meant to be searched against
// documents embedded by the base encoder, so embedding documents with it
// (training, evaluation, indexing) gives wrong results.
func (c EncoderConfig) QueryOnly() bool {
	apply, _ := c.Provenance[ProvenanceHeadApply].(string)
	return apply == "query" // model.ApplyQuery; models cannot import model
}

// Validate checks the fields a loader relies on.
func (c EncoderConfig) Validate() error {
	if c.FormatVersion != EncoderFormatVersion {
		return fmt.Errorf("format_version %d, this build reads %d", c.FormatVersion, EncoderFormatVersion)
	}
	if !ValidPooling(c.Pooling) {
		return fmt.Errorf("pooling %q: want one of %s", c.Pooling, strings.Join(PoolingModes, ", "))
	}
	if c.Dim <= 0 {
		return fmt.Errorf("dim %d: must be positive", c.Dim)
	}
	if c.MaxLength <= 0 {
		return fmt.Errorf("max_length %d: must be positive", c.MaxLength)
	}
	return nil
}

// ReadEncoderConfig reads dir/encoder.json. present is false (with a nil
// error) when the file does not exist; a file that exists but does not parse
// or validate is an error.
func ReadEncoderConfig(dir string) (cfg EncoderConfig, present bool, err error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return EncoderConfig{}, false, nil
	}
	if err != nil {
		return EncoderConfig{}, false, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, true, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, true, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, true, nil
}

// writeEncoderConfig writes dir/encoder.json atomically.
func writeEncoderConfig(dir string, cfg EncoderConfig) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("encoder.json for %s: %w", cfg.Name, err)
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(data, '\n'), 0o644)
}

// upToDate is the cheap idempotency check of a built encoder folder:
// encoder.json (written last) records the expected build, model.onnx (and
// model.onnx.data, when recorded) have the recorded sizes, and
// tokenizer.json exists. It does not rehash the model.
func upToDate(dir, build string) bool {
	cfg, ok, err := ReadEncoderConfig(dir)
	if !ok || err != nil || cfg.Build != build || cfg.ModelSHA256 == "" {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, ModelFile))
	if err != nil || st.Size() != cfg.ModelSize {
		return false
	}
	if cfg.DataSize > 0 {
		if st, err := os.Stat(filepath.Join(dir, DataFile)); err != nil || st.Size() != cfg.DataSize {
			return false
		}
	}
	_, err = os.Stat(filepath.Join(dir, TokenizerFile))
	return err == nil
}

// invalidate removes encoder.json before a rebuild so that a half-finished
// rebuild can never pass upToDate.
func invalidate(dir string) error {
	err := os.Remove(filepath.Join(dir, ConfigFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
