package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/train"
)

func TestCheckTrainOut(t *testing.T) {
	root, mk := folderMaker(t)
	file := filepath.Join(mk("parent", "f"), "f")
	tests := []struct {
		dir   string
		force bool
		want  string // "" = accepted
	}{
		{filepath.Join(root, "missing", "head"), false, ""},
		{mk("empty"), false, ""},
		{mk("head", "head.json", "weights.bin", "negatives.json"), false, "holds a trained head; pass --force"},
		{mk("head2", "head.json", "weights.bin"), true, ""},
		{mk("encoder", "model.onnx", "tokenizer.json"), true, "holds an encoder or a model (model.onnx)"},
		{mk("glove", "encoder.json", "head.json", "weights.bin"), true, "holds an encoder or a model (encoder.json)"},
		{mk("export", "model.safetensors", "config.json"), true, "holds no trained head"},
		{mk("mixed", "head.json", "weights.bin", "notes.txt"), true, "holds a trained head and other files (notes.txt)"},
		{file, false, "is a file, not a folder"},
	}
	for _, tt := range tests {
		err := checkTrainOut(tt.dir, tt.force)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkTrainOut(%s, force=%v) = %v, want %q", tt.dir, tt.force, err, tt.want)
		}
		// Every refusal is a command line to change: exit 2.
		if tt.want != "" && !errors.As(err, new(usageError)) {
			t.Errorf("checkTrainOut(%s): %v is not a usage error", tt.dir, err)
		}
	}
}

// A link to a folder is that folder, whether or not it exists yet below.
func TestNestedThroughLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "E")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "L")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{real, link, true},
		{filepath.Join(real, "new", "w"), filepath.Join(link, "new"), true},
		{filepath.Join(dir, "other"), link, false},
	} {
		if got := nested(tt.a, tt.b); got != tt.want {
			t.Errorf("nested(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNested(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"w", "w", true}, {"w", "w/", true}, {"w/sub", "w", true}, {"w", "./w/sub", true},
		{"w", "w2", false}, {"a/w", "b/w", false}, {"../x", "x", false},
	} {
		if got := nested(tt.a, tt.b); got != tt.want {
			t.Errorf("nested(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCheckTrainWork(t *testing.T) {
	root, mk := folderMaker(t)
	for _, tt := range []struct{ dir, want string }{
		{filepath.Join(root, "new"), ""},
		{mk("empty"), ""},
		{mk("earlier", "run.json", "mined.json"), ""},
		{mk("notes", "notes.txt"), "is not empty and holds no earlier run (no run.json)"},
		{mk("older", "mined.json", "checkpoints"), "holds an earlier run from a build that did not record its settings (no run.json)"},
		{mk("older-killed", "mined.json", ".timings.json.tmp-7"), "holds an earlier run from a build that did not record its settings"},
		{mk("mixed", "mined.json", "notes.txt"), "is not empty and holds no earlier run (no run.json)"},
		{mk("head", "head.json", "weights.bin"), "holds no earlier run"},
		{filepath.Join(mk("parent", "f"), "f"), "is a file, not a folder"},
	} {
		err := checkTrainWork(tt.dir)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkTrainWork(%s) = %v, want %q", tt.dir, err, tt.want)
		}
	}
}

// folderMaker returns a temporary root and a function making a folder in it
// holding the named (one-byte) files.
func folderMaker(t *testing.T) (string, func(name string, files ...string) string) {
	root := t.TempDir()
	return root, func(name string, files ...string) string {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
}

// In a log (not a terminal) a stage's progress comes a line per tenth and
// ends with its last step: a probe's log stopped at 18/20.
func TestProgressPrinterLogShowsTheStageEnd(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := newProgressPrinter(f)
	for done := 0; done <= 20; done++ {
		p(train.StageEvent{Stage: train.StageGenerating, Done: done, Total: 20})
	}
	p(train.StageEvent{Stage: train.StageEmbedding, Total: 5}) // a stage with no steps between
	p(train.StageEvent{Stage: train.StageEmbedding, Done: 5, Total: 5})
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 12 || lines[0] != "generating: 20 items" || lines[1] != "generating: 2/20" ||
		lines[10] != "generating: 20/20" || lines[11] != "embedding: 5 items" {
		t.Errorf("log:\n%s", b)
	}
}
