package export_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
	"retune/model/onnxgraph"
)

// TestHeadONNXMatchesProject runs the head-only model in onnxruntime on real
// base embeddings (tiny BERT), an explicit zero row and random rows of norm
// far from 1, against model.Head.Project.
func TestHeadONNXMatchesProject(t *testing.T) {
	base := embed(t, baseEncoder(t, testenv.TinyBERT(t)), texts)
	cases := []struct {
		name string
		cfg  model.HeadConfig
	}{
		{"square+bias", model.HeadConfig{DIn: 32, DOut: 32, Bias: true}},
		{"32→12 no bias", model.HeadConfig{DIn: 32, DOut: 12, Seed: 2}},
		{"32→64+bias", model.HeadConfig{DIn: 32, DOut: 64, Bias: true, Seed: 3}},
		{"square+bias/query", model.HeadConfig{DIn: 32, DOut: 32, Bias: true, Apply: model.ApplyQuery, Seed: 5}},
		{"low-rank 3+bias", model.HeadConfig{DIn: 32, DOut: 32, Rank: 3, Bias: true, Seed: 4}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := append([][]float32{make([]float32, 32)}, base...)
	for range 5 {
		v := make([]float32, 32)
		for j := range v {
			v[j] = float32(rng.NormFloat64() * 3)
		}
		x = append(x, v)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := randomHead(t, tc.cfg, uint64(100+i))
			var buf bytes.Buffer
			if err := export.HeadONNX(h, model.HeadMeta{Encoder: "bert-tiny-fixture", EncoderChecksum: "abc"}, &buf); err != nil {
				t.Fatal(err)
			}
			got := runONNX(t, buf.Bytes(), export.InputEmbedding, export.OutputEmbedding, x)
			assertClose(t, tc.name, projectAll(h, x), got)
			for j, v := range got[0] { // bias or not
				if v != 0 {
					t.Fatalf("zero input: output[%d] = %v, want exactly 0", j, v)
				}
			}
		})
	}
}

// TestHeadONNXGloveZeroVector: GloVe embeds a text of unknown words to the
// zero vector; the head model must keep it zero, with a bias too (as
// model.Head.Project does), never NaN.
func TestHeadONNXGloveZeroVector(t *testing.T) {
	base := embed(t, baseEncoder(t, testenv.Glove(t)), texts)
	for j, v := range base[4] {
		if v != 0 {
			t.Fatalf("%q should embed to the zero vector in GloVe, got [%d] = %v", texts[4], j, v)
		}
	}
	for _, bias := range []bool{true, false} {
		h := randomHead(t, model.HeadConfig{DIn: 100, DOut: 100, Bias: bias}, 7)
		var buf bytes.Buffer
		if err := export.HeadONNX(h, model.HeadMeta{}, &buf); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "glove bias="+strconv.FormatBool(bias), projectAll(h, base),
			runONNX(t, buf.Bytes(), export.InputEmbedding, export.OutputEmbedding, base))
	}
}

// TestHeadONNXMetadata checks the graph interface and the provenance
// written to metadata_props, and that the file and writer forms agree.
func TestHeadONNXMetadata(t *testing.T) {
	h := randomHead(t, model.HeadConfig{DIn: 8, DOut: 8, Bias: true, Apply: model.ApplyQuery}, 1)
	meta := model.HeadMeta{
		Encoder: "glove-100d", EncoderChecksum: "deadbeef",
		Training: map[string]any{"epochs": 4.0, "lr": 0.002},
		Metrics:  map[string]any{"tuned": map[string]any{"ndcg@10": 0.5}},
	}
	path := filepath.Join(t.TempDir(), "not", "yet", "head.onnx") // folders are created, as for the other formats
	if err := export.HeadONNXFile(h, meta, path); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := export.HeadONNX(h, meta, &buf); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, buf.Bytes()) {
		t.Error("HeadONNXFile and HeadONNX wrote different bytes for the same head")
	}
	m, err := onnxgraph.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Input) != 1 || m.Graph.Input[0].Name != export.InputEmbedding ||
		len(m.Graph.Output) != 1 || m.Graph.Output[0].Name != export.OutputEmbedding {
		t.Fatalf("graph interface %v → %v, want embedding → sentence_embedding", m.Graph.Input, m.Graph.Output)
	}
	md := metadata(m)
	for k, want := range map[string]string{
		"encoder": "glove-100d", "encoder_checksum": "deadbeef", "d_in": "8", "d_out": "8",
		"apply": "query", "bias": "true", "retune_format_version": strconv.Itoa(export.FormatVersion),
	} {
		if md[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, md[k], want)
		}
	}
	var training, metrics map[string]any
	if err := json.Unmarshal([]byte(md["training"]), &training); err != nil || training["lr"] != 0.002 {
		t.Errorf("training metadata %q: %v", md["training"], err)
	}
	if err := json.Unmarshal([]byte(md["metrics"]), &metrics); err != nil || metrics["tuned"] == nil {
		t.Errorf("metrics metadata %q: %v", md["metrics"], err)
	}
	if len(md["head_sha256"]) != 64 {
		t.Errorf("head_sha256 %q is not a sha256", md["head_sha256"])
	}
}

// TestHeadSHA256MatchesSavedWeights: the head id in exports equals
// head.json's weights_sha256, tying an export to its head folder.
func TestHeadSHA256MatchesSavedWeights(t *testing.T) {
	h := randomHead(t, model.HeadConfig{DIn: 6, DOut: 4, Bias: true}, 2)
	dir := t.TempDir()
	if err := h.Save(dir, model.HeadMeta{Encoder: "x", EncoderChecksum: "y"}); err != nil {
		t.Fatal(err)
	}
	_, meta, err := model.LoadHead(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := export.HeadONNX(h, meta, &buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "h.onnx")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := onnxgraph.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := metadata(m)["head_sha256"]; got != meta.WeightsSHA256 {
		t.Errorf("head_sha256 %s, head.json weights_sha256 %s", got, meta.WeightsSHA256)
	}
}
