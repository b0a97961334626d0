package train

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// countingEmbedder embeds deterministically and counts texts it was asked for.
type countingEmbedder struct {
	sum   string
	texts atomic.Int64
	calls atomic.Int64
}

func (c *countingEmbedder) Checksum() (string, error) { return c.sum, nil }

func (c *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), float32(t[0]), 1}
	}
	return out, nil
}

func TestCacheEmbedsEachTextOnceAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	enc := &countingEmbedder{sum: "abc123"}
	texts := []string{"alpha", "beta", "alpha", "gamma"}

	got, st, err := NewCache(dir).Embed(ctx, enc, texts)
	if err != nil {
		t.Fatal(err)
	}
	if enc.texts.Load() != 3 || st.Misses != 3 || st.Hits != 0 {
		t.Fatalf("first run embedded %d texts (stats %+v), want 3 unique", enc.texts.Load(), st)
	}
	if got[0][0] != 5 || got[2][0] != 5 || got[1][1] != 'b' {
		t.Fatalf("wrong vectors %v", got)
	}

	// A new Cache on the same folder (a later run) must not run the encoder.
	enc2 := &countingEmbedder{sum: "abc123"}
	got2, st2, err := NewCache(dir).Embed(ctx, enc2, texts)
	if err != nil {
		t.Fatal(err)
	}
	if enc2.calls.Load() != 0 || st2.Hits != 4 {
		t.Fatalf("second run: %d forward calls, stats %+v; want 0 calls", enc2.calls.Load(), st2)
	}
	for i := range got {
		for j := range got[i] {
			if got[i][j] != got2[i][j] {
				t.Fatalf("cached vector %d differs", i)
			}
		}
	}

	// A changed text is the only one embedded; another encoder checksum misses.
	enc3 := &countingEmbedder{sum: "abc123"}
	if _, _, err := NewCache(dir).Embed(ctx, enc3, []string{"alpha", "delta"}); err != nil {
		t.Fatal(err)
	}
	if enc3.texts.Load() != 1 {
		t.Fatalf("embedded %d texts, want only the new one", enc3.texts.Load())
	}
	enc4 := &countingEmbedder{sum: "other"}
	if _, _, err := NewCache(dir).Embed(ctx, enc4, []string{"alpha"}); err != nil || enc4.texts.Load() != 1 {
		t.Fatalf("a different encoder must not reuse vectors (err %v, embedded %d)", err, enc4.texts.Load())
	}
}

func TestCacheDropsTornTail(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	enc := &countingEmbedder{sum: "torn"}
	if _, _, err := NewCache(dir).Embed(ctx, enc, []string{"one", "two"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	if len(files) != 1 {
		t.Fatalf("want one cache file, got %v", files)
	}
	// Simulate a crash mid-append: a partial record at the end.
	f, _ := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{1, 2, 3, 4, 5})
	f.Close()

	enc2 := &countingEmbedder{sum: "torn"}
	c := NewCache(dir)
	if _, st, err := c.Embed(ctx, enc2, []string{"one", "two", "three"}); err != nil || st.Hits != 2 || st.Misses != 1 {
		t.Fatalf("after torn tail: stats %+v err %v; want 2 hits 1 miss", st, err)
	}
	enc3 := &countingEmbedder{sum: "torn"}
	if _, st, err := NewCache(dir).Embed(ctx, enc3, []string{"one", "two", "three"}); err != nil || st.Hits != 3 {
		t.Fatalf("records appended after repair must load: stats %+v err %v", st, err)
	}
}

func TestCacheRejectsForeignFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "embeddings-x.bin"), []byte("not a cache file at all"), 0o644)
	if _, _, err := NewCache(dir).Embed(context.Background(), &countingEmbedder{sum: "x"}, []string{"a"}); err == nil {
		t.Fatal("want an error for a file that is not a cache")
	}
}
