package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadDocsAnyBlockSize: however docs.jsonl is cut into blocks (smaller
// than one line, a few lines, the whole file), the documents come back in
// order, and a bad line is numbered by its place in the whole file.
func TestReadDocsAnyBlockSize(t *testing.T) {
	defer func(old int) { docsBlock = old }(docsBlock)
	var ids, texts []string
	var vecs [][]float32
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("d%d", i))
		texts = append(texts, strings.Repeat(fmt.Sprintf("word%d ", i), i%9)+"\"q\"\n日本")
		vecs = append(vecs, []float32{float32(i), 1})
	}
	c, err := NewCollection(ids, texts, vecs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := t.TempDir()
	if err := c.Save(ctx, good); err != nil {
		t.Fatal(err)
	}
	// A checksum-consistent folder whose 27th document has an unknown field.
	var lines []string
	for i := range 40 {
		extra := ""
		if i == 26 {
			extra = `,"title":"x"`
		}
		lines = append(lines, fmt.Sprintf(`{"id":"b%d","text":"t%d"%s}`, i, i, extra))
	}
	bad := t.TempDir()
	if err := c.Save(ctx, bad); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Join(lines, "\n") + "\n")
	write(t, bad, docsName, data)
	editManifest(t, bad, func(m *manifest) { m.DocsFile = sumOf(docsName, data) })

	for _, size := range []int{1, 7, 100, 333, 1 << 20} {
		docsBlock = size
		got, err := LoadCollection(ctx, good)
		if err != nil {
			t.Fatalf("block %d: %v", size, err)
		}
		if !slices.Equal(got.ids, ids) || !slices.Equal(got.texts, texts) {
			t.Fatalf("block %d: documents differ", size)
		}
		_, err = LoadCollection(ctx, bad)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "document 27:") {
			t.Fatalf("block %d: err %v, want document 27 reported corrupt", size, err)
		}
	}
}

// BenchmarkLoadCollection loads a saved collection of 100,000 synthetic
// documents (60 words each, d = 100): checksums, JSON documents, vectors,
// the BM25 rebuild. The readDocs sub-benchmark is the documents alone.
func BenchmarkLoadCollection(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	const n = 100_000
	ids, texts, vecs := make([]string, n), make([]string, n), make([][]float32, n)
	var sb strings.Builder
	for i := range n {
		sb.Reset()
		for range 60 {
			fmt.Fprintf(&sb, "w%d ", r.Intn(30_000))
		}
		ids[i], texts[i] = fmt.Sprintf("doc-%d", i), sb.String()
		vecs[i] = make([]float32, 100)
		for j := range vecs[i] {
			vecs[i][j] = float32(r.NormFloat64())
		}
	}
	c, err := NewCollection(ids, texts, vecs)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := c.Save(context.Background(), dir); err != nil {
		b.Fatal(err)
	}
	b.Run("collection", func(b *testing.B) {
		for b.Loop() {
			if _, err := LoadCollection(context.Background(), dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("readDocs", func(b *testing.B) {
		var m manifest
		raw, err := os.ReadFile(filepath.Join(dir, manifestName))
		if err == nil {
			err = json.Unmarshal(raw, &m)
		}
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, err := readDocs(context.Background(), dir, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
