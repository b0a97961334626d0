// Package testenv gives tests the assets `make setup` provides (ONNX
// Runtime, glove-100d, BERT fixtures), failing with the fix when one is
// missing, since `make test` installs them first.
package testenv

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"retune/internal/ortenv"
	"retune/linalg"
	"retune/model"
	"retune/models"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ModelsRoot is the models folder tests use: $RETUNE_MODELS or <repo>/models.
func ModelsRoot(t testing.TB) string {
	if r := os.Getenv("RETUNE_MODELS"); r != "" {
		return r
	}
	return filepath.Join(RepoRoot(t), "models")
}

// InitORT loads ONNX Runtime the way the binary does; a missing library is a
// test failure naming the fix, since `make test` installs it first.
func InitORT(t testing.TB) {
	t.Helper()
	lib, err := models.ResolveORTLib("", ModelsRoot(t))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := ortenv.Init(lib); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Glove returns the glove-100d encoder folder (built by `make setup`).
func Glove(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModelsRoot(t), "glove-100d")
	if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
		t.Fatalf("testenv: glove-100d missing in %s: run `make setup`", dir)
	}
	return dir
}

var fixtureMu sync.Mutex

// TinyBERT returns the tiny random-weight BERT fixture folder, writing it on
// first use (a second or so): structure tests only, never quality.
func TinyBERT(t testing.TB) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	dir, err := models.EnsureBERTFixture(context.Background(), ModelsRoot(t), "bert-tiny-fixture", models.TinyBERTConfig(), 1)
	if err != nil {
		t.Fatalf("testenv: tiny BERT fixture: %v", err)
	}
	return dir
}

// OpenEncoder opens an encoder folder for a test and closes it at cleanup.
func OpenEncoder(t testing.TB, dir string, opts ...model.Option) *model.Encoder {
	t.Helper()
	InitORT(t)
	enc, err := model.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// UseMLAS loads ONNX Runtime and routes the large matrix products to its
// MLAS, as the binary does, until the test ends.
func UseMLAS(t testing.TB) {
	t.Helper()
	InitORT(t)
	restore, err := linalg.Install(runtime.NumCPU())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(restore)
}

// CopyFile copies src to dst (e.g. an encoder's files into a test's own
// folder: ONNX Runtime refuses external data reached through a symlink).
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TinyBERTPooled is a copy of the tiny BERT fixture whose encoder.json asks
// for another pooling mode (models.PoolingModes), named bert-tiny-<mode>.
func TinyBERTPooled(t testing.TB, pooling string) string {
	t.Helper()
	return EditedCopy(t, TinyBERT(t), "bert-tiny-"+pooling, func(c *models.EncoderConfig) { c.Pooling = pooling }, nil)
}

// TinyBERTPositionIDs returns the tiny BERT fixture's twin that takes
// position_ids as an input (same weights), writing it on first use.
func TinyBERTPositionIDs(t testing.TB) string {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	cfg := models.TinyBERTConfig()
	cfg.PositionIDs = true
	dir, err := models.EnsureBERTFixture(context.Background(), ModelsRoot(t), "bert-tiny-posids-fixture", cfg, 1)
	if err != nil {
		t.Fatalf("testenv: tiny BERT fixture with position_ids: %v", err)
	}
	return dir
}

// LeftPadded is a copy of the encoder folder dir whose tokenizer.json pads
// on the left (as decoder embedders' do), with encoder.json's pooling set
// to pooling, named name.
func LeftPadded(t testing.TB, dir, name, pooling string) string {
	t.Helper()
	return EditedCopy(t, dir, name, func(c *models.EncoderConfig) { c.Pooling = pooling }, func(tok map[string]any) {
		pad, ok := tok["padding"].(map[string]any)
		if !ok {
			t.Fatalf("testenv: %s has no padding section", dir)
		}
		pad["direction"] = "Left"
	})
}

// EditedCopy copies the encoder folder dir (model.onnx, tokenizer.json,
// encoder.json) into a new folder called name, with encoder.json's name
// set to name and edited by cfg, and tokenizer.json edited by tok when it
// is not nil.
func EditedCopy(t testing.TB, dir, name string, cfg func(*models.EncoderConfig), tok func(map[string]any)) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	CopyFile(t, filepath.Join(dir, models.ModelFile), filepath.Join(out, models.ModelFile))
	CopyFile(t, filepath.Join(dir, models.TokenizerFile), filepath.Join(out, models.TokenizerFile))
	if tok != nil {
		EditJSON(t, filepath.Join(out, models.TokenizerFile), tok)
	}
	c, ok, err := models.ReadEncoderConfig(dir)
	if err != nil || !ok {
		t.Fatalf("testenv: %s's %s: %v", dir, models.ConfigFile, err)
	}
	c.Name = name
	cfg(&c)
	writeJSON(t, filepath.Join(out, models.ConfigFile), c)
	return out
}

// EditJSON rewrites the JSON object in the file at path as edit changes it
// (a tokenizer.json, say).
func EditJSON(t testing.TB, path string, edit func(map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	writeJSON(t, path, doc)
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
