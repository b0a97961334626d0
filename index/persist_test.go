package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// trickyCollection has texts that stress the JSONL encoding and vectors
// whose bits must survive exactly (subnormal, negative zero, large).
func trickyCollection(t testing.TB, opts ...BM25Option) *Collection {
	t.Helper()
	c, err := NewCollection(
		[]string{"q\"uote", "new\nline", "日本", "plain"},
		[]string{"<b>bold</b> & \"quoted\" text", "line one\nline two\ttab", "日本語のテキスト café", ""},
		[][]float32{
			{1e-40, float32(math.Copysign(0, -1)), 3}, // Go's -0.0 constant is +0
			{-1.5, 2.25, 1e30},
			{0.1, 0.2, 0.3},
			{float32(math.Pi), -1, 0},
		},
		opts...,
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []BM25Option
	}{
		{"defaults", nil},
		{"custom bm25", []BM25Option{WithK1(1.2), WithB(0.75), WithStopWords(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			orig := trickyCollection(t, tc.opts...)
			dir := filepath.Join(t.TempDir(), "col")
			if err := orig.Save(ctx, dir); err != nil {
				t.Fatal(err)
			}
			got, err := LoadCollection(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.ids, orig.ids) || !slices.Equal(got.texts, orig.texts) {
				t.Errorf("docs differ:\n got %q %q\nwant %q %q", got.ids, got.texts, orig.ids, orig.texts)
			}
			if !bitsEqual(got.vecs, orig.vecs) {
				t.Errorf("vectors differ:\n got %v\nwant %v", got.vecs, orig.vecs)
			}
			if got.Len() != 4 || got.Dim() != 3 {
				t.Errorf("Len, Dim = %d, %d", got.Len(), got.Dim())
			}
			if !reflect.DeepEqual(got.BM25Params(), orig.BM25Params()) {
				t.Errorf("BM25 params %+v, want %+v", got.BM25Params(), orig.BM25Params())
			}
			for _, q := range []Query{
				{Vec: []float32{1, 1, 1}, K: 4, Mode: ModeDense},
				{Text: "the text café", K: 4, Mode: ModeBM25},
				{Text: "日本 line", Vec: []float32{-1, 0, 2}, K: 3, Mode: ModeHybrid},
				{Text: "quoted line", Vec: []float32{0, 1, 0}, K: 4, Mode: ModeHybrid, Fusion: FusionScore},
			} {
				want, err := orig.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				have, err := got.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(have, want) {
					t.Errorf("%+v after reload:\n got %+v\nwant %+v", q, have, want)
				}
			}
		})
	}
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

func TestSaveReplacesAndLeavesNoTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := trickyCollection(t).Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	second := smallCollection(t)
	if err := second.Save(ctx, dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCollection(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.ids, second.ids) {
		t.Errorf("loaded ids %q, want the second save's %q", got.ids, second.ids)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{docsName, manifestName, vectorsName}; !slices.Equal(names, want) {
		t.Errorf("dir holds %q, want %q", names, want)
	}
}

func TestLoadRejectsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   error
	}{
		{"vector bit flipped", func(t *testing.T, dir string) { flipByte(t, dir, vectorsName, 5) }, ErrCorrupt},
		{"doc text byte flipped", func(t *testing.T, dir string) { flipByte(t, dir, docsName, 25) }, ErrCorrupt}, // "<b>" → "<c>"
		{"doc JSON broken", func(t *testing.T, dir string) { flipByte(t, dir, docsName, 0) }, ErrCorrupt},
		{"vectors truncated", func(t *testing.T, dir string) { truncate(t, dir, vectorsName, 4) }, ErrCorrupt},
		{"docs truncated", func(t *testing.T, dir string) { truncate(t, dir, docsName, 1) }, ErrCorrupt},
		{"vectors missing", func(t *testing.T, dir string) { remove(t, dir, vectorsName) }, fs.ErrNotExist},
		{"manifest missing", func(t *testing.T, dir string) { remove(t, dir, manifestName) }, fs.ErrNotExist},
		{"manifest not JSON", func(t *testing.T, dir string) { write(t, dir, manifestName, []byte("{")) }, ErrCorrupt},
		{"future format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.FormatVersion = 2 })
		}, ErrFormatVersion},
		{"docs count edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.Docs = 3 })
		}, ErrCorrupt},
		{"dim edited", func(t *testing.T, dir string) {
			// 4×3 floats re-read as 6×2: the byte count still matches, so
			// only the recorded vectors size catches it.
			editManifest(t, dir, func(m *manifest) { m.Dim = 2 })
		}, ErrCorrupt},
		{"dtype edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.VectorsDType = "float16le" })
		}, ErrCorrupt},
		{"file name points elsewhere", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *manifest) { m.VectorsFile.Name = "../vectors.bin" })
		}, ErrCorrupt},
		{"consistent but invalid content", func(t *testing.T, dir string) {
			// A hand-made folder whose checksums match but whose ids repeat.
			data := []byte(`{"id":"a","text":"x"}` + "\n" + `{"id":"a","text":"y"}` + "\n")
			write(t, dir, docsName, data)
			raw := make([]byte, 2*3*4)
			raw[3], raw[15] = 0x3f, 0x3f // two vectors with a non-zero float
			write(t, dir, vectorsName, raw)
			editManifest(t, dir, func(m *manifest) {
				m.Docs = 2
				m.DocsFile = sumOf(docsName, data)
				m.VectorsFile = sumOf(vectorsName, raw)
			})
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := trickyCollection(t).Save(context.Background(), dir); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)
			c, err := LoadCollection(context.Background(), dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Error("a collection came back with the error")
			}
		})
	}
}

func TestLoadChecksumMessage(t *testing.T) {
	dir := t.TempDir()
	if err := trickyCollection(t).Save(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	flipByte(t, dir, docsName, 0) // breaks the JSON too: the checksum must be reported
	_, err := LoadCollection(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("err = %v, want a checksum mismatch", err)
	}
}

func TestSaveLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "col")
	if err := trickyCollection(t).Save(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("Save err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, manifestName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled Save left a manifest (stat err %v)", err)
	}
	if err := trickyCollection(t).Save(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCollection(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("Load err = %v, want context.Canceled", err)
	}
}

func flipByte(t *testing.T, dir, name string, at int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	data[at] ^= 0x01
	write(t, dir, name, data)
}

func truncate(t *testing.T, dir, name string, by int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, name, data[:len(data)-by])
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editManifest(t *testing.T, dir string, edit func(*manifest)) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	data, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, manifestName, data)
}

func sumOf(name string, data []byte) fileSum {
	h := sha256.Sum256(data)
	return fileSum{Name: name, Bytes: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
}
