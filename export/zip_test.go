package export_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if err := export.Zip(&buf, paths); err != nil {
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
		if err := export.Zip(io.Discard, map[string]string{name: p}); err == nil {
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
	var buf bytes.Buffer
	if err := export.ZipDir(&buf, dir); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range testenv.ReadZip(t, buf.Bytes()) {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "config.json,model.safetensors" {
		t.Errorf("zip of export folder holds %v", names)
	}
}
