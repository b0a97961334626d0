package model_test

import (
	"os"
	"path/filepath"
	"testing"

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
