package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/internal/testenv"
	"retune/model"
	"retune/model/onnxgraph"
	"retune/models"
)

// bareFixture copies the tiny BERT fixture's model and tokenizer, without
// its encoder.json, into a folder of their own: a snapshot to import.
func bareFixture(t *testing.T) (fixture, src string) {
	t.Helper()
	testenv.InitORT(t)
	fixture = testenv.TinyBERT(t)
	src = t.TempDir()
	for _, f := range []string{models.ModelFile, models.TokenizerFile} {
		testenv.CopyFile(t, filepath.Join(fixture, f), filepath.Join(src, f))
	}
	return fixture, src
}

// An imported snapshot embeds exactly as the folder it came from, and a
// token limit beyond the model's positions is refused at import, with the
// models folder left as it was.
func TestImportedEncoderMatchesItsSource(t *testing.T) {
	fixture, src := bareFixture(t)
	root := t.TempDir()
	rep, err := models.Import(t.Context(), root, models.ImportOptions{Name: "imported", From: src, MaxLength: 128, Check: model.CheckFolder})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a dog runs in the park", "vitamin d deficiency and bone density in older adults"}
	want, err := testenv.OpenEncoder(t, fixture).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testenv.OpenEncoder(t, rep.Dir).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j := range want[i] {
			if d := got[i][j] - want[i][j]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("text %d value %d: %v imported vs %v source", i, j, got[i][j], want[i][j])
			}
		}
	}

	_, err = models.Import(t.Context(), root, models.ImportOptions{Name: "too-long", From: src, MaxLength: 1000, Check: model.CheckFolder})
	if err == nil || !strings.Contains(err.Error(), "more than the model's positions?") {
		t.Fatalf("a 1000-token limit on a 512-position model: %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "imported" {
		t.Errorf("models folder after a refused import: %v", entries)
	}
}

// Replacing an open encoder's folder (models add --force) makes the
// registry open the new files for the next user at once; the old encoder
// keeps the checksum of the files it runs (the registry takes it at open),
// so its vectors are never filed under the new files. An encoder opened
// directly, whose checksum was not taken before the replacement, refuses
// to give one.
func TestRegistryReopensAReplacedEncoder(t *testing.T) {
	_, src := bareFixture(t)
	root := t.TempDir()
	add := func(pooling string, force bool) {
		t.Helper()
		if _, err := models.Import(t.Context(), root, models.ImportOptions{Name: "enc", From: src, Pooling: pooling, MaxLength: 128,
			Force: force, Check: model.CheckFolder}); err != nil {
			t.Fatal(err)
		}
	}
	add(models.PoolingMean, false)
	reg := model.NewRegistry(root)
	defer reg.Close()
	old, err := reg.Get(t.Context(), "enc")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := reg.Get(t.Context(), "enc"); again != old {
		t.Fatal("an unchanged encoder was opened twice")
	}
	direct, err := model.Open(t.Context(), filepath.Join(root, "enc"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	add(models.PoolingCLS, true)
	fresh, err := reg.Get(t.Context(), "enc") // at once, not after the once-a-second look
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old {
		t.Fatal("the registry kept serving the replaced encoder")
	}
	oldSum, errOld := old.Checksum()
	freshSum, errFresh := fresh.Checksum()
	if errOld != nil || errFresh != nil || oldSum == freshSum {
		t.Fatalf("checksums: old %q (%v), new %q (%v); want two different ones", oldSum, errOld, freshSum, errFresh)
	}
	if _, err := direct.Checksum(); !errors.Is(err, model.ErrEncoderChanged) {
		t.Fatalf("checksum of a replaced encoder opened directly: %v, want ErrEncoderChanged", err)
	}
	runtime.GC() // a held encoder keeps its session
	a, errOld := old.Embed(t.Context(), []string{"a dog runs in the park"})
	b, errFresh := fresh.Embed(t.Context(), []string{"a dog runs in the park"})
	if errOld != nil || errFresh != nil {
		t.Fatalf("embedding with the old encoder: %v, the new one: %v", errOld, errFresh)
	}
	if a[0][0] == b[0][0] {
		t.Error("the old encoder (mean) and the new one (cls) embed alike")
	}

	// Once nothing holds the replaced encoder, its session is freed
	// without waiting for the registry to close.
	freed := model.SessionFreed(old)
	old = nil
	deadline := time.Now().Add(10 * time.Second)
	for !freed() {
		if time.Now().After(deadline) {
			t.Fatal("the replaced encoder's session was not freed once unreachable")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := fresh.Embed(t.Context(), []string{"still served"}); err != nil {
		t.Fatalf("the registry's current encoder after the old one was freed: %v", err)
	}
}

// A tokenizer whose ids run past the model's token table (not the model's
// tokenizer) is refused at import, naming both sizes.
func TestImportRefusesAForeignTokenizer(t *testing.T) {
	_, src := bareFixture(t)
	testenv.EditJSON(t, filepath.Join(src, models.TokenizerFile), func(tok map[string]any) {
		tok["model"].(map[string]any)["vocab"].(map[string]any)["zebra"] = 40000
	})
	_, err := models.Import(t.Context(), t.TempDir(), models.ImportOptions{Name: "foreign", From: src, MaxLength: 64, Check: model.CheckFolder})
	if err == nil || !strings.Contains(err.Error(), "ids up to 40000 but the model's token embedding table has 30522 rows") {
		t.Fatalf("a tokenizer with id 40000 on a 30522-row model: %v", err)
	}
}

// A run that held an encoder while it was replaced releases it, and its
// session is freed without anything else collecting garbage.
func TestRegistryReleaseFreesAReplacedEncoder(t *testing.T) {
	_, src := bareFixture(t)
	root := t.TempDir()
	add := func(force bool) {
		t.Helper()
		if _, err := models.Import(t.Context(), root, models.ImportOptions{Name: "enc", From: src, MaxLength: 128,
			Force: force, Check: model.CheckFolder}); err != nil {
			t.Fatal(err)
		}
	}
	add(false)
	reg := model.NewRegistry(root)
	defer reg.Close()
	held, err := reg.Get(t.Context(), "enc")
	if err != nil {
		t.Fatal(err)
	}
	add(true)
	if _, err := reg.Get(t.Context(), "enc"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the collection the replacement started has run
	// Used after the replacement, as a collection indexing on it would: its
	// output buffers go back to its pool, which must not keep it alive.
	if _, err := held.Embed(t.Context(), []string{"a text the old encoder embeds"}); err != nil {
		t.Fatal(err)
	}
	freed := model.SessionFreed(held)
	if freed() {
		t.Fatal("a held encoder lost its session")
	}
	reg.Release(held)
	held = nil
	deadline := time.Now().Add(10 * time.Second)
	for !freed() {
		if time.Now().After(deadline) {
			t.Fatal("the released, replaced encoder's session was not freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A model exported for one text at a time (a fixed batch axis of 1) is
// refused at import: a server embeds texts in batches, and every request of
// more than one text would fail.
func TestImportRefusesAFixedBatchAxis(t *testing.T) {
	_, src := bareFixture(t)
	path := filepath.Join(src, models.ModelFile)
	m, err := onnxgraph.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range m.GetGraph().GetInput() {
		dims := in.GetType().GetTensorType().GetShape().GetDim()
		dims[0].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 1}
	}
	if err := onnxgraph.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	_, err = models.Import(t.Context(), root, models.ImportOptions{Name: "one-at-a-time", From: src, MaxLength: 64, Check: model.CheckFolder})
	if err == nil || !strings.Contains(err.Error(), "embedding two texts in one batch") || !strings.Contains(err.Error(), "dynamic batch and sequence axes") {
		t.Fatalf("a model with a batch axis of 1: %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("models folder after a refused import: %v", entries)
	}
}

// A model whose vector changes with the padding a batch adds (here: it
// averages over every position, padding included) is refused at import:
// each text's vector would depend on the texts batched with it.
func TestImportRefusesAModelThatPoolsPadding(t *testing.T) {
	_, src := bareFixture(t)
	path := filepath.Join(src, models.ModelFile)
	m, err := onnxgraph.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Output = nil // last_hidden_state goes; the unmasked mean is the model's output
	b := onnxgraph.FromModel(m)
	b.NamedOp("ReduceMean", "sentence_embedding", []string{"last_hidden_state"}, onnxgraph.AttrInts("axes", 1), onnxgraph.AttrInt("keepdims", 0))
	b.Output("sentence_embedding", onnx.TensorProto_FLOAT, onnxgraph.Sym("batch"), onnxgraph.Fixed(32))
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	_, err = models.Import(t.Context(), t.TempDir(), models.ImportOptions{Name: "pools-padding", From: src, MaxLength: 64, Check: model.CheckFolder})
	if err == nil || !strings.Contains(err.Error(), "when a batch pads it to a longer text's length (cosine ") {
		t.Fatalf("a model pooling over padding: %v", err)
	}
}

// Left padding is checked like any padding: a model with position_ids
// (numbered from each text's first real token) imports, in CLS pooling too,
// which takes the first real token; one without them sees its positions
// shift by the padding, and the refusal says so.
func TestImportOfLeftPaddedEncoders(t *testing.T) {
	testenv.InitORT(t)
	withPositions := testenv.LeftPadded(t, testenv.TinyBERTPositionIDs(t), "left-cls", models.PoolingCLS)
	if _, err := models.Import(t.Context(), t.TempDir(), models.ImportOptions{Name: "left-cls", From: withPositions, Check: model.CheckFolder}); err != nil {
		t.Fatalf("left-padded, position_ids, CLS: %v", err)
	}
	without := testenv.LeftPadded(t, testenv.TinyBERT(t), "left-mean", models.PoolingMean)
	_, err := models.Import(t.Context(), t.TempDir(), models.ImportOptions{Name: "left-mean", From: without, Check: model.CheckFolder})
	if err == nil || !strings.Contains(err.Error(), "the tokenizer pads on the left and the model takes no position_ids") {
		t.Fatalf("left-padded without position_ids: %v", err)
	}
}
