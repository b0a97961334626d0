package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReplaceFiles(t *testing.T) {
	owned := []string{"weights.bin", "extra.json", "head.json"}
	errFull := errors.New("no space left on device")
	tests := []struct {
		name  string
		write map[string]string // what fill writes
		fail  bool              // fill fails after writing
		want  map[string]string // dir afterwards
	}{
		{"replaced, and an owned file the new set lacks removed",
			map[string]string{"weights.bin": "w2", "head.json": "h2"}, false,
			map[string]string{"weights.bin": "w2", "head.json": "h2", "notes.txt": "mine"}},
		{"a failed fill leaves the old set",
			map[string]string{"weights.bin": "w2", "head.json": "h2"}, true,
			map[string]string{"weights.bin": "w1", "extra.json": "e1", "head.json": "h1", "notes.txt": "mine"}},
		{"a file owned does not name goes in too",
			map[string]string{"weights.bin": "w2", "extra.json": "e2", "head.json": "h2", "more.bin": "m2"}, false,
			map[string]string{"weights.bin": "w2", "extra.json": "e2", "head.json": "h2", "more.bin": "m2", "notes.txt": "mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"weights.bin": "w1", "extra.json": "e1", "head.json": "h1", "notes.txt": "mine"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := ReplaceFiles(dir, owned, func(stage string) error {
				if filepath.Dir(stage) != dir || !IsTemp(filepath.Base(stage)) {
					t.Errorf("stage %s is not a temporary inside %s", stage, dir)
				}
				for name, body := range tt.write {
					if err := os.WriteFile(filepath.Join(stage, name), []byte(body), 0o644); err != nil {
						return err
					}
				}
				if tt.fail {
					return errFull
				}
				return nil
			})
			if tt.fail != errors.Is(err, errFull) || (!tt.fail && err != nil) {
				t.Fatalf("err = %v", err)
			}
			var want []string
			for name, body := range tt.want {
				want = append(want, name)
				if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != body {
					t.Errorf("%s holds %q (%v), want %q", name, got, err, body)
				}
			}
			slices.Sort(want)
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("folder holds %v, want %v (no stage left)", got, want)
			}
		})
	}
}

func TestFirstMissing(t *testing.T) {
	root := t.TempDir()
	for _, tt := range []struct{ dir, want string }{
		{root, ""},
		{filepath.Join(root, "a"), filepath.Join(root, "a")},
		{filepath.Join(root, "a", "b", "c"), filepath.Join(root, "a")},
	} {
		if got, err := FirstMissing(tt.dir); err != nil || got != tt.want {
			t.Errorf("FirstMissing(%s) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
}
