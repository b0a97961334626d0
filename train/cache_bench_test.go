package train

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// wideEmbedder gives dim-wide vectors that differ by text.
type wideEmbedder struct{ dim int }

func (w wideEmbedder) Checksum() (string, error) { return fmt.Sprintf("wide%d", w.dim), nil }

func (w wideEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, w.dim)
		for j := range v {
			v[j] = float32(len(t)*(j+1)%97) + float32(t[len(t)-1])
		}
		out[i] = v
	}
	return out, nil
}

// BenchmarkCacheReopen: a cache file of 100,000 texts of 384 values (a
// MiniLM-size encoder, 160 MB), opened by a fresh Cache as a restarted
// server would: "index" is the time to read it and the heap the Cache keeps
// for it (heap-B/text), "serve" the time to return every text's vector.
func BenchmarkCacheReopen(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	enc := wideEmbedder{dim: 384}
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("passage %d of the benchmark corpus", i)
	}
	dir := b.TempDir()
	if _, _, err := NewCache(dir).Embed(ctx, enc, texts); err != nil {
		b.Fatal(err)
	}
	sum, _ := enc.Checksum()
	b.Run("index", func(b *testing.B) {
		var held float64
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := NewCache(dir)
			if _, err := c.file(sum); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held = float64(after.HeapAlloc) - float64(before.HeapAlloc)
			runtime.KeepAlive(c)
		}
		b.ReportMetric(held/n, "heap-B/text")
	})
	b.Run("serve", func(b *testing.B) {
		c := NewCache(dir)
		for b.Loop() {
			if _, st, err := c.Embed(ctx, enc, texts); err != nil || st.Misses != 0 {
				b.Fatalf("stats %+v err %v", st, err)
			}
		}
	})
}
