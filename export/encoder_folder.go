package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"retune/internal/atomicfile"
	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
	"retune/tokenize"
)

// defaultMaxLength is model.Open's token limit for a folder without
// encoder.json; the fused folder records it explicitly so truncation stays
// the same.
const defaultMaxLength = 512

// buildPrefix starts the Build field of every fused export's encoder.json;
// Run replaces a folder holding an encoder only when it is one of these.
const buildPrefix = "retune-export/"

// writeEncoderFolder writes the fused model, the base tokenizer and an
// encoder.json into outDir, replacing an earlier export there only once
// all of them are written (atomicfile.ReplaceFiles, encoder.json last): an
// export that fails part-way, on a full disk say, leaves the earlier one
// whole, and a folder with encoder.json is always complete.
func writeEncoderFolder(encoderDir, outDir string, m *onnx.ModelProto, h *model.Head, meta model.HeadMeta,
	baseSum string, base models.EncoderConfig, hasBase bool, ext externalPolicy) error {
	return atomicfile.ReplaceFiles(outDir, fusedFiles, func(stage string) error {
		external := int64(proto.Size(m)) > ext.limit
		if external {
			chunks := onnxgraph.Externalize(m, ExternalFile, ext.minBytes)
			if err := atomicfile.Write(filepath.Join(stage, ExternalFile), 0o644, func(w io.Writer) error { return onnxgraph.WriteExternal(w, chunks) }); err != nil {
				return err
			}
		}
		data, err := onnxgraph.Marshal(m)
		if err != nil {
			return err
		}
		if int64(len(data)) > protoLimit {
			return fmt.Errorf("model is %d bytes even with initializers over %d bytes moved to %s; protobuf cannot hold it",
				len(data), ext.minBytes, ExternalFile)
		}
		if err := atomicfile.WriteFile(filepath.Join(stage, models.ModelFile), data, 0o644); err != nil {
			return err
		}
		cfg := fusedConfig(outDir, m, h, meta, baseSum, base, hasBase, external)
		if err := writePortableTokenizer(filepath.Join(encoderDir, models.TokenizerFile), filepath.Join(stage, models.TokenizerFile), cfg.MaxLength); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		cfg.ModelSHA256, cfg.ModelSize = hex.EncodeToString(sum[:]), int64(len(data))
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", models.ConfigFile, err)
		}
		js, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(filepath.Join(stage, models.ConfigFile), append(js, '\n'), 0o644)
	})
}

// writePortableTokenizer writes the encoder's tokenizer.json to dst as
// tokenize.Portable makes it for maxLength tokens, so that Hugging Face
// tokenizers, where the fused model is going, gives the ids retune gives.
func writePortableTokenizer(src, dst string, maxLength int) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if data, _, err = tokenize.Portable(data, maxLength); err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, data, 0o644)
}

// fusedConfig is the encoder.json of a fused export. Pooling is irrelevant
// (the model outputs sentence_embedding) but must be valid; normalize stays
// true, which only re-normalises unit vectors and keeps zero at zero.
func fusedConfig(outDir string, m *onnx.ModelProto, h *model.Head, meta model.HeadMeta,
	baseSum string, base models.EncoderConfig, hasBase, external bool) models.EncoderConfig {
	hc := h.Config()
	maxLen, baseName, basePooling := defaultMaxLength, meta.Encoder, models.PoolingMean
	if hasBase {
		maxLen, basePooling = base.MaxLength, base.Pooling
		if baseName == "" {
			baseName = base.Name
		}
	}
	var inputs []string
	for _, in := range m.Graph.Input {
		inputs = append(inputs, in.Name)
	}
	role := "query and document encoder (head apply shared)"
	if hc.Apply == model.ApplyQuery {
		role = "query encoder only (head apply query): embed documents with the base encoder"
	}
	headID := headSHA256(h)
	return models.EncoderConfig{
		Name:          filepath.Base(filepath.Clean(outDir)),
		FormatVersion: models.EncoderFormatVersion,
		Pooling:       models.PoolingMean,
		Normalize:     true,
		MaxLength:     maxLen,
		Dim:           hc.DOut,
		VocabSize:     base.VocabSize,
		Inputs:        inputs,
		Output:        OutputEmbedding,
		Build:         fmt.Sprintf("%s%d head=%s", buildPrefix, FormatVersion, headID[:16]),
		Provenance: map[string]any{
			"source":                   "retune export: base encoder + projection head fused into one graph",
			"retune_format_version":    FormatVersion,
			"base_encoder":             baseName,
			"base_encoder_checksum":    baseSum,
			"base_pooling":             basePooling,
			"head_sha256":              headID,
			models.ProvenanceHeadApply: hc.Apply,
			"head_d_in":                hc.DIn,
			"head_d_out":               hc.DOut,
			"head_rank":                hc.Rank,
			"head_bias":                hc.Bias,
			"role":                     role,
			"external_data":            external,
		},
	}
}
