package export_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"

	"retune/internal/testenv"
	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
)

// texts differ wildly in length so one Embed call pads most of them; the
// nonsense line has no GloVe word and embeds to the zero vector there.
var texts = []string{
	"the cat sat on the mat",
	"retrieval",
	"dense retrievers map queries and documents into one vector space so that nearest neighbours are relevant; " +
		"a projection head trained on a few hundred labelled queries adapts a frozen encoder to a new domain " +
		"without touching its weights, and exporting the head lets other stacks serve the tuned model",
	"What is the capital of France?",
	"qqzxv wwkrrp",
	"a",
	"Protein folding determines enzyme function in extreme thermophiles.",
}

// randomHead returns a head whose every parameter is perturbed by seeded
// noise, so no identity or orthogonal structure can hide a transposed or
// misplaced weight in an export.
func randomHead(t testing.TB, cfg model.HeadConfig, seed uint64) *model.Head {
	t.Helper()
	h, err := model.NewHead(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range h.Params() {
		h.Params()[i] += 0.15 * rng.NormFloat64()
	}
	return h
}

// metaFor describes a head trained on enc, with the checksum Fused checks.
func metaFor(t testing.TB, enc *model.Encoder) model.HeadMeta {
	t.Helper()
	sum, err := enc.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	return model.HeadMeta{
		Encoder:         enc.Name(),
		EncoderChecksum: sum,
		Training:        map[string]any{"epochs": 3.0, "lr": 0.001, "negatives": "mined"},
		Metrics:         map[string]any{"tuned": map[string]any{"ndcg@10": 0.71}},
	}
}

var (
	encMu    sync.Mutex
	encCache = map[string]*model.Encoder{}
)

// baseEncoder opens an encoder folder once per test binary: glove-100d
// takes a second to load, and several cases share it.
func baseEncoder(t testing.TB, dir string) *model.Encoder {
	t.Helper()
	encMu.Lock()
	defer encMu.Unlock()
	if e, ok := encCache[dir]; ok {
		return e
	}
	testenv.InitORT(t)
	e, err := model.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	encCache[dir] = e
	return e
}

func embed(t testing.TB, enc *model.Encoder, texts []string) [][]float32 {
	t.Helper()
	v, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// projectAll is the reference: base embeddings through model.Head.Project.
func projectAll(h *model.Head, base [][]float32) [][]float32 {
	out := make([][]float32, len(base))
	for i, v := range base {
		out[i] = h.Project(v)
	}
	return out
}

// assertClose requires got ≈ want row by row: max abs difference ≤ 1e-5 and
// cosine ≥ 0.99999, with zero rows required to be zero on both sides.
func assertClose(t testing.TB, label string, want, got [][]float32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d rows, want %d", label, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		if len(want[i]) != len(got[i]) {
			t.Fatalf("%s row %d: %d dims, want %d", label, i, len(got[i]), len(want[i]))
		}
		var dot, nw, ng, diff float64
		for j := range want[i] {
			w, g := float64(want[i][j]), float64(got[i][j])
			if math.IsNaN(g) || math.IsInf(g, 0) {
				t.Fatalf("%s row %d: value %d is %v", label, i, j, g)
			}
			dot += w * g
			nw += w * w
			ng += g * g
			diff = math.Max(diff, math.Abs(w-g))
		}
		worst = math.Max(worst, diff)
		if diff > 1e-5 {
			t.Errorf("%s row %d: max abs diff %.3g > 1e-5", label, i, diff)
		}
		switch {
		case nw == 0 && ng == 0:
		case nw == 0 || ng == 0:
			t.Errorf("%s row %d: norms %.3g vs %.3g: one side is the zero vector", label, i, math.Sqrt(nw), math.Sqrt(ng))
		default:
			if c := dot / math.Sqrt(nw*ng); c < 0.99999 {
				t.Errorf("%s row %d: cosine %.7f < 0.99999", label, i, c)
			}
		}
	}
	t.Logf("%s: %d rows, max abs diff %.3g", label, len(want), worst)
}

// runONNX runs a float32 [n, d] input through the model bytes with
// onnxruntime directly and returns the named output's rows.
func runONNX(t testing.TB, data []byte, input, output string, x [][]float32) [][]float32 {
	t.Helper()
	testenv.InitORT(t)
	d := len(x[0])
	flat := make([]float32, 0, len(x)*d)
	for _, v := range x {
		flat = append(flat, v...)
	}
	in, err := ort.NewTensor(ort.NewShape(int64(len(x)), int64(d)), flat)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(runtime.NumCPU()); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{input}, []string{output}, opts)
	if err != nil {
		t.Fatalf("onnxruntime rejected the model: %v", err)
	}
	defer sess.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	y := outs[0].(*ort.Tensor[float32])
	shape := y.GetShape()
	if len(shape) != 2 || shape[0] != int64(len(x)) {
		t.Fatalf("output shape %v, want [%d, d_out]", shape, len(x))
	}
	rows := make([][]float32, shape[0])
	for i := range rows {
		rows[i] = append([]float32(nil), y.GetData()[i*int(shape[1]):(i+1)*int(shape[1])]...)
	}
	return rows
}

// metadata returns a model's metadata_props as a map.
func metadata(m *onnx.ModelProto) map[string]string {
	out := map[string]string{}
	for _, p := range m.MetadataProps {
		out[p.Key] = p.Value
	}
	return out
}

// tinyBERTCopy copies the named files of the tiny BERT fixture into a new
// folder called name.
func tinyBERTCopy(t testing.TB, name string, files ...string) string {
	t.Helper()
	src := testenv.TinyBERT(t)
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		testenv.CopyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	return dir
}

// customEncoder writes a small bag-of-embeddings encoder folder using the
// tiny BERT tokenizer and no encoder.json (model.Open's defaults: mean
// pooling, normalised), in two shapes the fixtures do not cover:
//
//   - pooled: opset 17, inputs input_ids + attention_mask, outputs
//     sentence_embedding (masked sum, unnormalised), last_hidden_state and a
//     dead pooler_output = Tanh(sentence_embedding) that fusing must drop.
//   - opset 12: input_ids only, output last_hidden_state = Gather(E, ids)
//     with a non-zero [PAD] row, so mean pooling is only right if the fused
//     graph gains an attention_mask input and uses it, and Unsqueeze and
//     ReduceSum must be emitted in their attribute form.
func customEncoder(t testing.TB, pooled bool) string {
	t.Helper()
	const dim = 16
	vocab := int64(models.TinyBERTConfig().VocabSize)
	rng := rand.New(rand.NewPCG(7, 7))
	e := make([]float32, vocab*dim)
	for i := range e {
		e[i] = float32(rng.NormFloat64())
	}
	batch, seq := onnxgraph.Sym("batch"), onnxgraph.Sym("sequence")
	b := onnxgraph.New("custom")
	ids := b.Input("input_ids", onnx.TensorProto_INT64, batch, seq)
	table := b.Float32("E", []int64{vocab, dim}, e)
	name := "bag-opset12"
	if pooled {
		name = "bag-pooled"
		mask := b.Input("attention_mask", onnx.TensorProto_INT64, batch, seq)
		vecs := b.Op("Gather", []string{table, ids}, onnxgraph.AttrInt("axis", 0))
		mf := b.Op("Cast", []string{mask}, onnxgraph.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
		col := b.Op("Unsqueeze", []string{mf, b.Int64("ax_last", []int64{1}, []int64{-1})})
		b.NamedOp("Mul", "last_hidden_state", []string{vecs, col})
		b.NamedOp("ReduceSum", "sentence_embedding", []string{"last_hidden_state", b.Int64("ax_seq", []int64{1}, []int64{1})},
			onnxgraph.AttrInt("keepdims", 0))
		b.NamedOp("Tanh", "pooler_output", []string{"sentence_embedding"})
		b.Output("last_hidden_state", onnx.TensorProto_FLOAT, batch, seq, onnxgraph.Fixed(dim))
		b.Output("sentence_embedding", onnx.TensorProto_FLOAT, batch, onnxgraph.Fixed(dim))
		b.Output("pooler_output", onnx.TensorProto_FLOAT, batch, onnxgraph.Fixed(dim))
	} else {
		b.SetOpset("", 12)
		b.NamedOp("Gather", "last_hidden_state", []string{table, ids}, onnxgraph.AttrInt("axis", 0))
		b.Output("last_hidden_state", onnx.TensorProto_FLOAT, batch, seq, onnxgraph.Fixed(dim))
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(filepath.Join(dir, models.ModelFile)); err != nil {
		t.Fatal(err)
	}
	testenv.CopyFile(t, filepath.Join(testenv.TinyBERT(t), models.TokenizerFile), filepath.Join(dir, models.TokenizerFile))
	return dir
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// pooledCopy returns a fixture maker: the tiny BERT fixture with encoder.json
// switched to pooling.
func pooledCopy(pooling string) func(testing.TB) string {
	return func(t testing.TB) string { return testenv.TinyBERTPooled(t, pooling) }
}

// leftPadded returns a fixture maker: the tiny BERT fixture's position_ids
// twin with a tokenizer that pads on the left and the given pooling.
func leftPadded(pooling string) func(testing.TB) string {
	return func(t testing.TB) string {
		return testenv.LeftPadded(t, testenv.TinyBERTPositionIDs(t), "bert-tiny-left-"+pooling, pooling)
	}
}

// unnormalised returns a fixture maker: the tiny BERT fixture with
// encoder.json's pooling set and normalize off, so that a pooling's scale
// reaches the head.
func unnormalised(pooling string) func(testing.TB) string {
	return func(t testing.TB) string {
		return testenv.EditedCopy(t, testenv.TinyBERT(t), "bert-tiny-raw-"+pooling, func(c *models.EncoderConfig) {
			c.Pooling, c.Normalize = pooling, false
		}, nil)
	}
}
