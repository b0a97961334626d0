package export_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
)

func TestZip(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17)    // 2 MiB: stored, not deflated
	bigJSON := bytes.Repeat([]byte(`{"word": 1234},`), 1<<17) // 2 MiB of JSON: deflated all the same
	files := map[string][]byte{"config.json": []byte(`{"a":1}`), "sub/model.bin": big, "tokenizer.json": bigJSON}
	paths := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	var buf bytes.Buffer
	if err := export.Zip(&buf, paths, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range testenv.ReadZip(t, buf.Bytes()) {
		names = append(names, f.Name)
		if !bytes.Equal(f.Data, files[f.Name]) {
			t.Errorf("%s: content differs", f.Name)
		}
		if f.Name == "sub/model.bin" && f.Method != zip.Store {
			t.Errorf("large file method %d, want Store", f.Method)
		}
		if f.Name == "tokenizer.json" && f.Method != zip.Deflate {
			t.Errorf("large JSON method %d, want Deflate", f.Method)
		}
	}
	if strings.Join(names, ",") != "config.json,sub/model.bin,tokenizer.json" {
		t.Errorf("archive order %v, want sorted names", names)
	}
}

func TestZipRejectsEscapingNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../f", "/abs/f", "a/../../f", ""} {
		if err := export.Zip(io.Discard, map[string]string{name: p}, time.Time{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// TestZipDir archives an export folder (what an API download would send).
func TestZipDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dense")
	h := randomHead(t, model.HeadConfig{DIn: 4, DOut: 4, Bias: true}, 1)
	if err := export.Safetensors(h, model.HeadMeta{}, dir); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := export.ZipDir(&buf, dir, created); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range testenv.ReadZip(t, buf.Bytes()) {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "config.json,model.safetensors" {
		t.Errorf("zip of export folder holds %v", names)
	}
	// Dated by the head, not by its files: the same bytes when rebuilt.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "config.json"), later, later); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := export.ZipDir(&again, dir, created); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("the zip of a folder whose files were touched differs")
	}
}
