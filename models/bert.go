package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"retune/internal/atomicfile"
	"retune/model/onnxgraph"
)

// Folder names of the random-weight BERT fixtures.
const (
	MiniLMFixture = "bert-minilm-fixture"
	TinyFixture   = "bert-tiny-fixture"
)

// BERTConfig is the shape of a BERT encoder.
type BERTConfig struct {
	Layers        int
	Hidden        int
	Heads         int
	FFN           int // intermediate (feed-forward) width
	VocabSize     int
	MaxPositions  int
	TypeVocabSize int
	LayerNormEps  float32
	MaxLength     int // tokens per text, recorded in encoder.json
	// PositionIDs makes position_ids an input of the graph, as decoder
	// exports have, instead of positions 0..seq-1 computed inside it; the
	// weights are the same for the same seed.
	PositionIDs bool
}

// MiniLMConfig is the shape of sentence-transformers/all-MiniLM-L6-v2.
func MiniLMConfig() BERTConfig {
	return BERTConfig{Layers: 6, Hidden: 384, Heads: 12, FFN: 1536, VocabSize: 30522,
		MaxPositions: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, MaxLength: 256}
}

// TinyBERTConfig is a 2-layer, 32-wide BERT that still takes the real BERT
// vocabulary, for fast structural tests.
func TinyBERTConfig() BERTConfig {
	return BERTConfig{Layers: 2, Hidden: 32, Heads: 4, FFN: 64, VocabSize: 30522,
		MaxPositions: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, MaxLength: 128}
}

// Validate checks that the shape is buildable.
func (c BERTConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Layers", c.Layers}, {"Hidden", c.Hidden}, {"Heads", c.Heads}, {"FFN", c.FFN},
		{"VocabSize", c.VocabSize}, {"MaxPositions", c.MaxPositions}, {"TypeVocabSize", c.TypeVocabSize}, {"MaxLength", c.MaxLength}} {
		if f.v <= 0 {
			return fmt.Errorf("BERT config: %s = %d, must be positive", f.name, f.v)
		}
	}
	if c.Hidden%c.Heads != 0 {
		return fmt.Errorf("BERT config: Hidden %d is not divisible by Heads %d", c.Hidden, c.Heads)
	}
	if c.MaxLength > c.MaxPositions {
		return fmt.Errorf("BERT config: MaxLength %d exceeds MaxPositions %d", c.MaxLength, c.MaxPositions)
	}
	if c.LayerNormEps <= 0 {
		return fmt.Errorf("BERT config: LayerNormEps %g, must be positive", c.LayerNormEps)
	}
	return nil
}

// key names the shape compactly for build strings and metadata.
func (c BERTConfig) key() string {
	k := fmt.Sprintf("L%d-H%d-A%d-F%d-V%d-P%d-T%d-eps%g-len%d",
		c.Layers, c.Hidden, c.Heads, c.FFN, c.VocabSize, c.MaxPositions, c.TypeVocabSize, c.LayerNormEps, c.MaxLength)
	if c.PositionIDs {
		k += "-posids"
	}
	return k
}

func bertBuild(cfg BERTConfig, seed int64) string {
	return fmt.Sprintf("bert-fixture/1 %s seed=%d", cfg.key(), seed)
}

// fixtureNote is the provenance every fixture carries, so nobody mistakes
// its numbers for a real model's.
func fixtureNote(seed int64) string {
	return fmt.Sprintf("random-weight fixture, seed %d — structure and speed only, never quality", seed)
}

// EnsureBERTFixture writes a random-weight BERT encoder folder root/name
// unless one with the same shape and seed is already there, and returns it.
func EnsureBERTFixture(ctx context.Context, root, name string, cfg BERTConfig, seed int64) (string, error) {
	dir := filepath.Join(root, name)
	if upToDate(dir, bertBuild(cfg, seed)) {
		return dir, nil
	}
	if err := WriteBERT(ctx, dir, cfg, seed); err != nil {
		return "", err
	}
	return dir, nil
}

// WriteBERT writes a complete encoder folder: model.onnx with weights drawn
// from N(0, 0.02) by a math/rand source seeded with seed (same seed, same
// bytes), the real BERT uncased tokenizer.json of all-MiniLM-L6-v2, and
// encoder.json (mean pooling, normalised). ctx bounds fetching the tokenizer.
func WriteBERT(ctx context.Context, dir string, cfg BERTConfig, seed int64) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.VocabSize < bertTokenizerVocab {
		return fmt.Errorf("BERT config: VocabSize %d is below the %d ids the shipped tokenizer produces", cfg.VocabSize, bertTokenizerVocab)
	}
	tok, err := bertTokenizerJSON(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := invalidate(dir); err != nil {
		return err
	}
	m, err := bertModel(cfg, seed)
	if err != nil {
		return fmt.Errorf("build BERT graph: %w", err)
	}
	data, err := onnxgraph.Marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ModelFile), data, 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, TokenizerFile), tok, 0o644); err != nil {
		return err
	}
	return writeEncoderConfig(dir, EncoderConfig{
		Name:          filepath.Base(dir),
		FormatVersion: EncoderFormatVersion,
		Pooling:       PoolingMean,
		Normalize:     true,
		MaxLength:     cfg.MaxLength,
		Dim:           cfg.Hidden,
		VocabSize:     cfg.VocabSize,
		Inputs:        []string{"input_ids", "attention_mask", "token_type_ids"},
		Output:        "last_hidden_state",
		ModelSHA256:   sha256Hex(data),
		ModelSize:     int64(len(data)),
		Build:         bertBuild(cfg, seed),
		Provenance: map[string]any{
			"source":    fixtureNote(seed),
			"seed":      seed,
			"shape":     cfg.key(),
			"tokenizer": fmt.Sprintf("Go module %s@%s, %s", bertTokenizerModule, bertTokenizerVersion, bertTokenizerPath),
		},
	})
}
