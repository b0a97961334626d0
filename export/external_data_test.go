package export_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
)

// TestFusedExternalData forces the >2 GiB path on the tiny BERT fixture
// (limit 0, tensors over 64 KiB move out), checks the ONNX external-data
// records, and that onnxruntime loads and runs the split model. The split
// folder then serves as the base encoder of a second export, which must read
// the external data back and write a self-contained model again.
func TestFusedExternalData(t *testing.T) {
	ctx := context.Background()
	encDir := testenv.TinyBERT(t)
	base := baseEncoder(t, encDir)
	h := randomHead(t, model.HeadConfig{DIn: 32, DOut: 24, Bias: true}, 31)
	split := filepath.Join(t.TempDir(), "split")
	const minBytes = 64 << 10
	if err := export.FusedWithExternal(ctx, encDir, h, metaFor(t, base), split, 0, minBytes); err != nil {
		t.Fatal(err)
	}
	dataSize := fileSize(t, filepath.Join(split, export.ExternalFile))
	modelSize := fileSize(t, filepath.Join(split, models.ModelFile))
	t.Logf("split: model.onnx %d B + %s %d B (encoder was %d B)", modelSize, export.ExternalFile, dataSize,
		fileSize(t, filepath.Join(encDir, models.ModelFile)))
	checkExternalRecords(t, split, minBytes, dataSize)

	fused := testenv.OpenEncoder(t, split)
	assertClose(t, "external data", projectAll(h, embed(t, base, texts)), embed(t, fused, texts))

	// Chain: the split folder as a base encoder, default policy.
	fusedSum, err := fused.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h2 := randomHead(t, model.HeadConfig{DIn: 24, DOut: 24, Bias: true}, 32)
	joined := filepath.Join(t.TempDir(), "joined")
	if err := export.Fused(ctx, split, h2, model.HeadMeta{Encoder: "split", EncoderChecksum: fusedSum}, joined); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(joined, export.ExternalFile)); err == nil {
		t.Errorf("default policy wrote %s for a small model", export.ExternalFile)
	}
	chained := testenv.OpenEncoder(t, joined)
	assertClose(t, "read back external data", projectAll(h2, embed(t, fused, texts)), embed(t, chained, texts))

	// Re-exporting into the split folder with the default policy must not
	// leave the stale data file behind.
	if err := export.Fused(ctx, encDir, h, metaFor(t, base), split); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(split, export.ExternalFile)); err == nil {
		t.Errorf("stale %s left after re-export without external data", export.ExternalFile)
	}
}

// checkExternalRecords verifies every large initializer is external with
// location/offset/length inside the data file, page-aligned, and every small
// one inline.
func checkExternalRecords(t *testing.T, dir string, minBytes, dataSize int64) {
	t.Helper()
	m, err := onnxgraph.Load(filepath.Join(dir, models.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	external := 0
	for _, init := range m.Graph.Initializer {
		if init.DataLocation != onnx.TensorProto_EXTERNAL {
			if int64(len(init.RawData)) > minBytes {
				t.Errorf("initializer %s (%d B) stayed inline", init.Name, len(init.RawData))
			}
			continue
		}
		external++
		if init.RawData != nil {
			t.Errorf("external initializer %s still has raw_data", init.Name)
		}
		kv := map[string]string{}
		for _, e := range init.ExternalData {
			kv[e.Key] = e.Value
		}
		off, err1 := strconv.ParseInt(kv["offset"], 10, 64)
		length, err2 := strconv.ParseInt(kv["length"], 10, 64)
		if kv["location"] != export.ExternalFile || err1 != nil || err2 != nil {
			t.Fatalf("initializer %s external_data %v", init.Name, kv)
		}
		if off%4096 != 0 || off+length > dataSize || length <= minBytes {
			t.Errorf("initializer %s: offset %d length %d in a %d-byte file (want page-aligned, inside, > %d)", init.Name, off, length, dataSize, minBytes)
		}
	}
	if external == 0 {
		t.Fatal("no initializer was moved to external data")
	}
}

// TestExternalDataLocationMustStayInFolder: a model whose external data
// points outside its folder is refused rather than read.
func TestExternalDataLocationMustStayInFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evil")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := onnxgraph.New("evil")
	x := b.Input("input_ids", onnx.TensorProto_INT64, onnxgraph.Sym("batch"), onnxgraph.Sym("sequence"))
	e := b.Float32("E", []int64{2, 4}, make([]float32, 8))
	b.NamedOp("Gather", "last_hidden_state", []string{e, x})
	b.Output("last_hidden_state", onnx.TensorProto_FLOAT, onnxgraph.Sym("batch"), onnxgraph.Sym("sequence"), onnxgraph.Fixed(4))
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	init := m.Graph.Initializer[0]
	init.RawData = nil
	init.DataLocation = onnx.TensorProto_EXTERNAL
	init.ExternalData = []*onnx.StringStringEntryProto{{Key: "location", Value: "../secret.bin"}, {Key: "offset", Value: "0"}, {Key: "length", Value: "32"}}
	if err := onnxgraph.WriteFile(filepath.Join(dir, models.ModelFile), m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.bin"), make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.CopyFile(t, filepath.Join(testenv.TinyBERT(t), models.TokenizerFile), filepath.Join(dir, models.TokenizerFile))
	sum, err := model.EncoderChecksum(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := randomHead(t, model.HeadConfig{DIn: 4, DOut: 4}, 1)
	err = export.Fused(context.Background(), dir, h, model.HeadMeta{Encoder: "evil", EncoderChecksum: sum}, filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(err.Error(), "not a path inside the model folder") {
		t.Fatalf("external data outside the folder: err = %v", err)
	}
}

// TestEncoderChecksumMatchesModel pins the checksum Fused verifies against
// to the one model.Encoder reports and training records.
func TestEncoderChecksumMatchesModel(t *testing.T) {
	for _, dir := range []string{testenv.TinyBERT(t), testenv.Glove(t), testenv.TinyBERTPooled(t, models.PoolingCLS)} {
		want, err := baseEncoder(t, dir).Checksum()
		if err != nil {
			t.Fatal(err)
		}
		got, err := model.EncoderChecksum(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: export checksum %s, model.Encoder.Checksum %s", dir, got, want)
		}
	}
	// Without encoder.json the encoder still has a checksum.
	dir := customEncoder(t, false)
	want, err := baseEncoder(t, dir).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := model.EncoderChecksum(dir); got != want {
		t.Errorf("folder without encoder.json: export checksum %s, model.Encoder.Checksum %s", got, want)
	}
}
