package models

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sugarme/tokenizer/pretrained"
)

// writeFixture writes a BERT fixture into a temp folder, skipping when the
// tokenizer module cannot be fetched.
func writeFixture(t *testing.T, cfg BERTConfig, seed int64) string {
	t.Helper()
	if _, err := bertTokenizerJSON(context.Background()); err != nil {
		t.Skipf("skipping: BERT tokenizer unavailable: %v", err)
	}
	dir := filepath.Join(t.TempDir(), TinyFixture)
	if err := WriteBERT(context.Background(), dir, cfg, seed); err != nil {
		t.Fatal(err)
	}
	return dir
}

// encodeReal tokenizes text with the fixture's tokenizer and returns the ids
// of its real tokens ([CLS] … [SEP]), without the tokenizer's padding.
func encodeReal(t *testing.T, dir, text string) []int64 {
	t.Helper()
	tk, err := pretrained.FromFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Fatalf("sugarme cannot load the fixture's tokenizer.json: %v", err)
	}
	enc, err := tk.EncodeSingle(text, true)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, m := range enc.AttentionMask {
		if m == 1 {
			ids = append(ids, int64(enc.Ids[i]))
		}
	}
	return ids
}

// bertInputs lays rows out as a padded [len(rows), seq] batch; maskAll
// marks padding as real tokens, to show what ignoring the mask would do.
func bertInputs(rows [][]int64, maskAll bool) (map[string][]int64, int) {
	seq := 0
	for _, r := range rows {
		seq = max(seq, len(r))
	}
	in := map[string][]int64{}
	for _, r := range rows {
		for j := 0; j < seq; j++ {
			id, m := int64(0), int64(0)
			if j < len(r) {
				id, m = r[j], 1
			}
			if maskAll {
				m = 1
			}
			in["input_ids"] = append(in["input_ids"], id)
			in["attention_mask"] = append(in["attention_mask"], m)
			in["token_type_ids"] = append(in["token_type_ids"], 0)
		}
	}
	return in, seq
}

func TestTinyBERTFixtureMasksPadding(t *testing.T) {
	dir := writeFixture(t, TinyBERTConfig(), 7)
	requireORT(t)
	model := filepath.Join(dir, ModelFile)
	cfg, ok, err := ReadEncoderConfig(dir)
	if !ok || err != nil {
		t.Fatalf("encoder.json: %v %v", ok, err)
	}
	const H = 32
	long := encodeReal(t, dir, "The quick brown fox jumps over the lazy dog near the river bank.")
	short := encodeReal(t, dir, "A short one.")
	if short[0] != 101 || short[len(short)-1] != 102 || len(short) >= len(long) {
		t.Fatalf("tokenizer output unexpected: short %v long %v", short, long)
	}

	in, seq := bertInputs([][]int64{long, short}, false)
	batch, shape := runEncoder(t, model, 2, seq, in, cfg.Inputs)
	if !slices.Equal([]int64(shape), []int64{2, int64(seq), H}) {
		t.Fatalf("output shape %v", shape)
	}
	aloneIn, n := bertInputs([][]int64{short}, false)
	alone, _ := runEncoder(t, model, 1, n, aloneIn, cfg.Inputs)
	padded := batch[seq*H : seq*H+n*H] // row 1, real tokens only
	if d := maxAbsDiff(padded, alone); d >= 1e-5 {
		t.Errorf("padded row differs from the sentence run alone: max abs diff %g", d)
	}

	// Control: if the mask were ignored, padding would change the real
	// tokens' outputs. Without this the comparison above could pass vacuously.
	unmaskedIn, _ := bertInputs([][]int64{long, short}, true)
	unmasked, _ := runEncoder(t, model, 2, seq, unmaskedIn, cfg.Inputs)
	if d := maxAbsDiff(unmasked[seq*H:seq*H+n*H], alone); d < 1e-3 {
		t.Errorf("attending to padding changed outputs by only %g; the test cannot see masking", d)
	}

	// The last op is LayerNorm with gamma 1, beta 0: every token vector has
	// mean 0 and variance 1.
	for tok := 0; tok < 2*seq; tok++ {
		v := batch[tok*H : (tok+1)*H]
		var mean, sq float64
		for _, x := range v {
			mean += float64(x) / H
		}
		for _, x := range v {
			sq += (float64(x) - mean) * (float64(x) - mean) / H
		}
		if math.Abs(mean) > 1e-4 || math.Abs(sq-1) > 1e-3 {
			t.Fatalf("token %d: mean %g variance %g after the final LayerNorm", tok, mean, sq)
		}
	}
}

func TestWriteBERTIsDeterministic(t *testing.T) {
	a := writeFixture(t, TinyBERTConfig(), 7)
	b := writeFixture(t, TinyBERTConfig(), 7)
	c := writeFixture(t, TinyBERTConfig(), 8)
	read := func(dir string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if !bytes.Equal(read(a), read(b)) {
		t.Error("same seed wrote different model bytes")
	}
	if bytes.Equal(read(a), read(c)) {
		t.Error("different seeds wrote identical models")
	}
	tok, _ := os.ReadFile(filepath.Join(a, TokenizerFile))
	if sha256Hex(tok) != bertTokenizerSHA256 {
		t.Error("tokenizer.json is not the pinned copy")
	}
	cfg, _, _ := ReadEncoderConfig(a)
	if src, _ := cfg.Provenance["source"].(string); !strings.Contains(src, "random-weight fixture, seed 7") {
		t.Errorf("provenance %v does not flag the fixture", cfg.Provenance)
	}
}

func TestEnsureBERTFixtureRebuildsOnlyWhenNeeded(t *testing.T) {
	if _, err := bertTokenizerJSON(context.Background()); err != nil {
		t.Skipf("skipping: BERT tokenizer unavailable: %v", err)
	}
	ctx, root := context.Background(), t.TempDir()
	dir, err := EnsureBERTFixture(ctx, root, TinyFixture, TinyBERTConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	stamp := func() time.Time {
		st, err := os.Stat(filepath.Join(dir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	first := stamp()
	if _, err := EnsureBERTFixture(ctx, root, TinyFixture, TinyBERTConfig(), 1); err != nil {
		t.Fatal(err)
	}
	if !stamp().Equal(first) {
		t.Error("unchanged fixture was rewritten")
	}
	if _, err := EnsureBERTFixture(ctx, root, TinyFixture, TinyBERTConfig(), 2); err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := ReadEncoderConfig(dir)
	if cfg.Build != bertBuild(TinyBERTConfig(), 2) {
		t.Errorf("new seed not rebuilt: build %q", cfg.Build)
	}
}

// The MiniLM-shape fixture is what benchmarks use, so check it writes fast
// and runs.
func TestMiniLMFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 90 MB MiniLM-shape fixture in -short mode")
	}
	if _, err := bertTokenizerJSON(context.Background()); err != nil {
		t.Skipf("skipping: BERT tokenizer unavailable: %v", err)
	}
	dir := filepath.Join(t.TempDir(), MiniLMFixture)
	start := time.Now()
	if err := WriteBERT(context.Background(), dir, MiniLMConfig(), 1); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	st, _ := os.Stat(filepath.Join(dir, ModelFile))
	t.Logf("MiniLM-shape fixture written in %v, model.onnx %d bytes", el.Round(time.Millisecond), st.Size())
	if el > 10*time.Second {
		t.Errorf("writing the MiniLM fixture took %v, want a few seconds", el)
	}
	requireORT(t)
	cfg, _, _ := ReadEncoderConfig(dir)
	ids := encodeReal(t, dir, "retune fine-tunes dense retrievers.")
	in, seq := bertInputs([][]int64{ids}, false)
	out, shape := runEncoder(t, filepath.Join(dir, ModelFile), 1, seq, in, cfg.Inputs)
	if !slices.Equal([]int64(shape), []int64{1, int64(seq), 384}) {
		t.Fatalf("output shape %v", shape)
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite output")
		}
	}
}

func TestBERTConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*BERTConfig)
		want string
	}{
		{"MiniLM", func(*BERTConfig) {}, ""},
		{"heads do not divide hidden", func(c *BERTConfig) { c.Heads = 5 }, "not divisible"},
		{"zero layers", func(c *BERTConfig) { c.Layers = 0 }, "Layers = 0"},
		{"max length beyond positions", func(c *BERTConfig) { c.MaxLength = 1024 }, "exceeds MaxPositions"},
		{"no epsilon", func(c *BERTConfig) { c.LayerNormEps = 0 }, "LayerNormEps"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := MiniLMConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if err := TinyBERTConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
