package model_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

// TestEncoderChecksumCoversEveryOutputFile changes each file that decides an
// encoder's outputs, external data included, and expects a new checksum;
// the optional files may be absent.
func TestEncoderChecksumCoversEveryOutputFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := func() string {
		t.Helper()
		s, err := model.EncoderChecksum(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write(models.ModelFile, "graph")
	write(models.TokenizerFile, "{}")
	seen := map[string]string{sum(): "model + tokenizer"}
	for _, step := range []struct{ file, content string }{
		{models.DataFile, "table v1"},
		{models.DataFile, "table v2"},
		{models.ConfigFile, `{"pooling":"mean"}`},
		{models.TokenizerFile, `{"v":2}`},
		{models.ModelFile, "graph v2"},
	} {
		write(step.file, step.content)
		s := sum()
		if prev, dup := seen[s]; dup {
			t.Fatalf("writing %s %q left the checksum of state %q", step.file, step.content, prev)
		}
		seen[s] = step.file + " " + step.content
	}
	os.Remove(filepath.Join(dir, models.ModelFile))
	if _, err := model.EncoderChecksum(dir); err == nil {
		t.Fatal("checksum of a folder without model.onnx succeeded")
	}
}

// TestOpenNamesTheFixForMissingExternalData opens a copy of glove-100d whose
// model.onnx.data is truncated, then absent: the error must say what to
// run instead of surfacing onnxruntime's file-system message.
func TestOpenNamesTheFixForMissingExternalData(t *testing.T) {
	testenv.InitORT(t)
	src := testenv.Glove(t)
	dir := t.TempDir()
	for _, f := range []string{models.ModelFile, models.TokenizerFile, models.ConfigFile} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, state := range []string{"truncated", "absent"} {
		if state == "truncated" {
			if err := os.WriteFile(filepath.Join(dir, models.DataFile), []byte{0}, 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(filepath.Join(dir, models.DataFile))
		}
		_, err := model.Open(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), models.DataFile) || !strings.Contains(err.Error(), "make setup") {
			t.Errorf("%s %s: err %v, want one naming the file and the fix", state, models.DataFile, err)
		}
	}
}
