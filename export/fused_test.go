package export_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
	"retune/tokenize"
)

// TestFusedMatchesEncoderPlusHead is the round trip the export promises:
// model.Open(fused folder) embeds like model.Open(encoder) + Head.Project,
// for one padded batch of very different text lengths.
func TestFusedMatchesEncoderPlusHead(t *testing.T) {
	testenv.InitORT(t)
	cases := []struct {
		name    string
		encoder func(t testing.TB) string
		cfg     model.HeadConfig
		inputs  []string // expected inputs of the fused graph
	}{
		{"glove/square+bias", testenv.Glove, model.HeadConfig{DIn: 100, DOut: 100, Bias: true},
			[]string{"input_ids", "attention_mask"}},
		// No bias: the all-unknown text must stay the zero vector end to end.
		{"glove/100→48 no bias", testenv.Glove, model.HeadConfig{DIn: 100, DOut: 48, Seed: 3},
			[]string{"input_ids", "attention_mask"}},
		{"glove/square no bias/query", testenv.Glove, model.HeadConfig{DIn: 100, DOut: 100, Apply: model.ApplyQuery, Seed: 19},
			[]string{"input_ids", "attention_mask"}},
		{"tinybert/square+bias", testenv.TinyBERT, model.HeadConfig{DIn: 32, DOut: 32, Bias: true},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert/32→80+bias", testenv.TinyBERT, model.HeadConfig{DIn: 32, DOut: 80, Bias: true, Seed: 5},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert/square+bias/query", testenv.TinyBERT, model.HeadConfig{DIn: 32, DOut: 32, Bias: true, Apply: model.ApplyQuery, Seed: 20},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert/low-rank 4", testenv.TinyBERT, model.HeadConfig{DIn: 32, DOut: 32, Rank: 4, Bias: true, Seed: 6},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert-cls/32→16+bias", pooledCopy(models.PoolingCLS), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 7},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert-max/32→16+bias", pooledCopy(models.PoolingMax), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 10},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert-lasttoken/32→16+bias", pooledCopy(models.PoolingLastToken), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 11},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert with position_ids/32→16+bias", testenv.TinyBERTPositionIDs, model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 12},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"left-padded, max/32→16+bias", leftPadded(models.PoolingMax), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 13},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"left-padded, last token/32→16+bias", leftPadded(models.PoolingLastToken), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 14},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"left-padded, mean/32→16+bias", leftPadded(models.PoolingMean), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 15},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"left-padded, cls/32→16+bias", leftPadded(models.PoolingCLS), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 21},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert-mean_sqrt_len, unnormalised/32→16+bias", unnormalised(models.PoolingMeanSqrtLen), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 16},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"tinybert-weightedmean/32→16+bias", pooledCopy(models.PoolingWeightedMean), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 17},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"left-padded, weightedmean/32→16+bias", leftPadded(models.PoolingWeightedMean), model.HeadConfig{DIn: 32, DOut: 16, Bias: true, Seed: 18},
			[]string{"input_ids", "attention_mask", "token_type_ids"}},
		{"pooled sentence_embedding encoder", func(t testing.TB) string { return customEncoder(t, true) },
			model.HeadConfig{DIn: 16, DOut: 24, Bias: true, Seed: 8}, []string{"input_ids", "attention_mask"}},
		{"opset-12 encoder without mask input", func(t testing.TB) string { return customEncoder(t, false) },
			model.HeadConfig{DIn: 16, DOut: 16, Bias: true, Seed: 9}, []string{"input_ids", "attention_mask"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			encDir := tc.encoder(t)
			base := baseEncoder(t, encDir)
			h := randomHead(t, tc.cfg, uint64(i+1))
			meta := metaFor(t, base)
			out := filepath.Join(t.TempDir(), "fused")
			if err := export.Fused(context.Background(), encDir, h, meta, out); err != nil {
				t.Fatal(err)
			}
			want := projectAll(h, embed(t, base, texts))
			fused := testenv.OpenEncoder(t, out)
			if fused.Dim() != tc.cfg.DOut {
				t.Fatalf("fused encoder dim %d, want d_out %d", fused.Dim(), tc.cfg.DOut)
			}
			// A query-side head's export must not embed documents.
			if queryOnly := tc.cfg.Apply == model.ApplyQuery; fused.QueryOnly() != queryOnly || (fused.CheckDocumentEncoder() != nil) != queryOnly {
				t.Fatalf("fused QueryOnly %v, CheckDocumentEncoder %v; want query-only %v", fused.QueryOnly(), fused.CheckDocumentEncoder(), queryOnly)
			}
			assertClose(t, tc.name, want, embed(t, fused, texts))
			checkFusedFolder(t, out, h, meta, tc.inputs)
		})
	}
}

// checkFusedFolder inspects what model.Open does not: one output, the
// original inputs, no leftover dead nodes, provenance in encoder.json and
// metadata_props.
func checkFusedFolder(t *testing.T, dir string, h *model.Head, meta model.HeadMeta, inputs []string) {
	t.Helper()
	m, err := onnxgraph.Load(filepath.Join(dir, models.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if len(g.Output) != 1 || g.Output[0].Name != export.OutputEmbedding {
		var names []string
		for _, o := range g.Output {
			names = append(names, o.Name)
		}
		t.Fatalf("fused outputs %v, want only %s", names, export.OutputEmbedding)
	}
	var ins []string
	for _, in := range g.Input {
		ins = append(ins, in.Name)
	}
	if !slices.Equal(ins, inputs) {
		t.Errorf("fused inputs %v, want %v", ins, inputs)
	}
	for _, n := range g.Node {
		if n.OpType == "Tanh" {
			t.Errorf("dead pooler node %s survived pruning", n.Name)
		}
	}
	md := metadata(m)
	for k, want := range map[string]string{
		"encoder": meta.Encoder, "encoder_checksum": meta.EncoderChecksum, "apply": h.Config().Apply,
		"retune_format_version": "1",
	} {
		if md[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, md[k], want)
		}
	}
	cfg, ok, err := models.ReadEncoderConfig(dir)
	if err != nil || !ok {
		t.Fatalf("encoder.json: present=%v err=%v", ok, err)
	}
	if cfg.Dim != h.Config().DOut || cfg.Output != export.OutputEmbedding || !cfg.Normalize {
		t.Errorf("encoder.json dim %d output %q normalize %v; want %d %q true", cfg.Dim, cfg.Output, cfg.Normalize, h.Config().DOut, export.OutputEmbedding)
	}
	if cfg.Provenance["base_encoder_checksum"] != meta.EncoderChecksum || cfg.Provenance["head_apply"] != h.Config().Apply {
		t.Errorf("encoder.json provenance %v lacks the base checksum / apply mode", cfg.Provenance)
	}
	if st, err := os.Stat(filepath.Join(dir, models.ModelFile)); err != nil || st.Size() != cfg.ModelSize {
		t.Errorf("encoder.json model_size %d does not match model.onnx (%v)", cfg.ModelSize, err)
	}
	if _, err := os.Stat(filepath.Join(dir, export.ExternalFile)); err == nil {
		t.Errorf("small model was split into %s", export.ExternalFile)
	}
	// Hugging Face must fold accents as retune does (glove's bare Lowercase
	// normalizer would not).
	tok, err := os.ReadFile(filepath.Join(dir, models.TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := tokenize.Portable(tok, cfg.MaxLength); err != nil || changed {
		t.Errorf("exported tokenizer.json is not portable (rewrite needed: %v, err %v)", changed, err)
	}
}

// TestFusedGloveSize checks the fused file is the encoder plus the head and
// nothing more (no duplicated embedding table), and reports the numbers.
func TestFusedGloveSize(t *testing.T) {
	encDir := testenv.Glove(t)
	base := baseEncoder(t, encDir)
	h := randomHead(t, model.HeadConfig{DIn: 100, DOut: 100, Bias: true}, 11)
	out := filepath.Join(t.TempDir(), "glove-tuned")
	if err := export.Fused(context.Background(), encDir, h, metaFor(t, base), out); err != nil {
		t.Fatal(err)
	}
	// The encoder keeps its table in external data; the fused model, far
	// below protobuf's 2 GiB limit, holds everything in one file.
	encSize := fileSize(t, filepath.Join(encDir, models.ModelFile)) + fileSize(t, filepath.Join(encDir, models.DataFile))
	if _, err := os.Stat(filepath.Join(out, models.DataFile)); err == nil {
		t.Errorf("fused glove-100d was split into %s", models.DataFile)
	}
	headSize := int64(4 * (100*100 + 100))
	fusedSize := fileSize(t, filepath.Join(out, models.ModelFile))
	extra := fusedSize - encSize - headSize
	t.Logf("glove-100d: encoder %d B + head %d B = %d B; fused %d B (difference %+d B)", encSize, headSize, encSize+headSize, fusedSize, extra)
	if extra < 0 || extra > 16<<10 {
		t.Errorf("fused model is %d B, encoder + head %d B: difference %+d B beyond the 16 KiB of graph and metadata expected",
			fusedSize, encSize+headSize, extra)
	}
}

// TestFusedEncoderJSONIsLoadable makes sure the written encoder.json passes
// the same validation model.Open applies and records the base max_length.
func TestFusedEncoderJSONIsLoadable(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	base := baseEncoder(t, encDir)
	h := randomHead(t, model.HeadConfig{DIn: 32, DOut: 32}, 12)
	out := filepath.Join(t.TempDir(), "tuned")
	if err := export.Fused(context.Background(), encDir, h, metaFor(t, base), out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, models.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg models.EncoderConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := models.TinyBERTConfig().MaxLength; cfg.MaxLength != want {
		t.Errorf("max_length %d, want the base encoder's %d", cfg.MaxLength, want)
	}
}

// A fused export that fails part-way (here: the tokenizer, written after
// the model) leaves the earlier export in its folder whole, so it still
// loads and a retry with --force may replace it: a probe on a full disk
// found encoder.json deleted and the retry refused.
func TestFusedFailureKeepsTheEarlierExport(t *testing.T) {
	encDir := testenv.TinyBERT(t)
	base := baseEncoder(t, encDir)
	out := filepath.Join(t.TempDir(), "tuned")
	if err := export.Fused(context.Background(), encDir, randomHead(t, model.HeadConfig{DIn: 32, DOut: 32}, 1), metaFor(t, base), out); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range []string{models.ModelFile, models.TokenizerFile, models.ConfigFile} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	broken, meta := brokenTokenizerEncoder(t)
	if err := export.Fused(context.Background(), broken, randomHead(t, model.HeadConfig{DIn: 32, DOut: 32}, 2), meta, out); err == nil {
		t.Fatal("no error from a tokenizer that does not load")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != len(before) {
		t.Errorf("folder holds %d entries after the failure, want the earlier export's %d (no stage left)", len(entries), len(before))
	}
	for f, b := range before {
		if now, err := os.ReadFile(filepath.Join(out, f)); err != nil || !slices.Equal(now, b) {
			t.Errorf("%s changed or went (%v)", f, err)
		}
	}
}

// brokenTokenizerEncoder is a copy of the tiny BERT whose tokenizer.json
// does not parse, and the metadata of a head trained on it: a fused export
// of it fails after writing the model.
func brokenTokenizerEncoder(t *testing.T) (string, model.HeadMeta) {
	t.Helper()
	broken := tinyBERTCopy(t, "broken", models.ModelFile, models.ConfigFile)
	if err := os.WriteFile(filepath.Join(broken, models.TokenizerFile), []byte(`not JSON`), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := model.EncoderChecksum(broken)
	if err != nil {
		t.Fatal(err)
	}
	return broken, model.HeadMeta{EncoderChecksum: sum}
}
