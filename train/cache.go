package train

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// Embedder is what the cache needs from an encoder: embeddings and an
// identity that changes whenever its outputs could.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Checksum() (string, error)
}

// Cache persists base-encoder embeddings on disk, keyed by (encoder checksum,
// sha256 of the text), so every text is embedded once per encoder across runs,
// jobs and restarts. One append-only file per encoder (see cache_file.go),
// safe to share between processes: `retune serve` and `retune train` run from
// the same folder use the same data/cache/embeddings. Memory holds where each
// text's record is, not its vector: a server's footprint does not grow with
// every text it has embedded.
type Cache struct {
	dir   string
	mu    sync.Mutex
	files map[string]*cacheFile

	hits, misses atomic.Int64 // texts served and embedded, over the Cache's life
}

// NewCache keeps its files in dir (created on first write).
func NewCache(dir string) *Cache { return &Cache{dir: dir, files: map[string]*cacheFile{}} }

type textKey [sha256.Size]byte

// cacheChunk is how many new texts are embedded and appended to the cache
// file at a time: a crash or cancel loses at most one chunk of forward
// passes (seconds for a transformer on 2 cores), and progress moves at
// each. Chunks cost nothing in throughput: the encoder batches within them.
const cacheChunk = 256

// Embed returns embeddings for texts, running the encoder only on texts it
// has never seen. Hits and misses are reported for progress and tests.
func (c *Cache) Embed(ctx context.Context, enc Embedder, texts []string) ([][]float32, CacheStats, error) {
	return c.EmbedProgress(ctx, enc, texts, nil)
}

// EmbedProgress is Embed calling progress (when not nil) with the number of
// texts done: the cache hits at once, then after each chunk of new texts,
// which is on disk by then.
func (c *Cache) EmbedProgress(ctx context.Context, enc Embedder, texts []string, progress func(done int)) ([][]float32, CacheStats, error) {
	sum, err := enc.Checksum()
	if err != nil {
		return nil, CacheStats{}, err
	}
	f, err := c.file(sum)
	if err != nil {
		return nil, CacheStats{}, err
	}
	out := make([][]float32, len(texts))
	keys := make([]textKey, len(texts))
	for i, t := range texts {
		keys[i] = sha256.Sum256([]byte(t))
	}
	missing, err := f.serve(keys, out)
	if err != nil {
		return nil, CacheStats{}, err
	}
	if missing {
		// Another process may have stored them since this one last looked
		// (or rebuilt the file): catch up before running the encoder.
		if err := f.refresh(); err != nil {
			return nil, CacheStats{}, err
		}
		if _, err := f.serve(keys, out); err != nil {
			return nil, CacheStats{}, err
		}
	}
	var missTexts []string
	var missKeys []textKey
	var missIdx []int
	seen := map[textKey]int{}
	for i, t := range texts {
		if out[i] != nil {
			continue
		}
		if _, dup := seen[keys[i]]; !dup {
			seen[keys[i]] = len(missTexts)
			missTexts = append(missTexts, t)
			missKeys = append(missKeys, keys[i])
		}
		missIdx = append(missIdx, i)
	}
	// A repeat of a text embedded in this call is served like a cached one:
	// Hits + Misses is always len(texts).
	st := CacheStats{Hits: len(texts) - len(missTexts)}
	defer func() {
		c.hits.Add(int64(st.Hits))
		c.misses.Add(int64(st.Misses))
	}()
	report := func(newDone int) {
		if progress == nil {
			return
		}
		if newDone == len(missTexts) {
			progress(len(texts)) // repeats of a new text included
		} else {
			progress(len(texts) - len(missIdx) + newDone)
		}
	}
	report(0)
	vecs := make([][]float32, len(missTexts))
	for start := 0; start < len(missTexts); start += cacheChunk {
		end := min(start+cacheChunk, len(missTexts))
		got := vecs[start:end]
		if start > 0 {
			// Another process may have stored some of these since this
			// call began: index what it appended; embedMissing looks them
			// up once it holds their claims (which catch this process's
			// other calls).
			if err := f.refresh(); err != nil {
				return nil, st, err
			}
		}
		// Texts another call is embedding now are waited for and read
		// back; a second pass embeds any it did not store after all.
		embedded := 0
		for _, share := range []bool{true, false} {
			n, err := f.embedMissing(ctx, enc, missTexts[start:end], missKeys[start:end], got, share)
			embedded += n
			if err != nil {
				st.Misses += embedded
				return nil, st, err
			}
		}
		st.Hits += len(got) - embedded
		st.Misses += embedded
		report(end)
	}
	for _, i := range missIdx {
		out[i] = vecs[seen[keys[i]]]
	}
	return out, st, nil
}

// embedMissing embeds the texts whose got entry is nil and stores them,
// returning how many it embedded. With share, it claims the texts no other
// call of this process is embedding, serves from the cache those already
// stored (by a call that just finished, or another process), embeds the
// rest, then waits for the texts others hold and reads them back; entries
// still nil afterwards (the other call failed) are left for a call without
// share.
func (f *cacheFile) embedMissing(ctx context.Context, enc Embedder, texts []string, keys []textKey, got [][]float32, share bool) (int, error) {
	var at []int
	for j, v := range got {
		if v == nil {
			at = append(at, j)
		}
	}
	if len(at) == 0 {
		return 0, nil
	}
	var waits []chan struct{}
	var ownedKeys []textKey
	if share {
		want := make([]textKey, len(at))
		for i, j := range at {
			want[i] = keys[j]
		}
		var owned []int
		owned, waits = f.inflight.claim(want)
		mine := make([]int, len(owned))
		ownedKeys = make([]textKey, len(owned))
		for i, o := range owned {
			mine[i], ownedKeys[i] = at[o], want[o]
		}
		// A call that stored some of them and released its claims between
		// the caller's look and this claim left them in the cache: an
		// owner stores before it releases, so looking now is exact.
		found := make([][]float32, len(mine))
		if _, err := f.serve(ownedKeys, found); err != nil {
			f.inflight.release(ownedKeys)
			return 0, err
		}
		at = at[:0]
		for i, j := range mine {
			if found[i] != nil {
				got[j] = found[i]
			} else {
				at = append(at, j)
			}
		}
	}
	// Released before waiting on others (two calls waiting on each other's
	// claims would otherwise never finish), and even if the encoder panics.
	err := func() error {
		defer f.inflight.release(ownedKeys)
		return f.embedStore(ctx, enc, texts, at, got)
	}()
	if err != nil {
		return 0, err
	}
	if len(waits) > 0 {
		if err := waitClaims(ctx, waits); err != nil {
			return len(at), err
		}
		if _, err := f.serve(keys, got); err != nil {
			return len(at), err
		}
	}
	return len(at), nil
}

// embedStore embeds texts[j] for j in at, stores them and fills got[j].
func (f *cacheFile) embedStore(ctx context.Context, enc Embedder, texts []string, at []int, got [][]float32) error {
	if len(at) == 0 {
		return nil
	}
	todo := make([]string, len(at))
	for i, j := range at {
		todo[i] = texts[j]
	}
	v, err := enc.Embed(ctx, todo)
	if err != nil {
		return err
	}
	if err := f.add(todo, v); err != nil {
		return err
	}
	for i, j := range at {
		got[j] = v[i]
	}
	return nil
}

// serve fills out[i], where still nil, with the stored vector of keys[i],
// and reports whether some remain nil. A record found stale (the file was
// replaced) is forgotten, so its text is embedded and stored again.
func (f *cacheFile) serve(keys []textKey, out [][]float32) (missing bool, err error) {
	var hits []cacheHit
	var hitIdx []int
	f.mu.Lock()
	for i, k := range keys {
		if out[i] != nil {
			continue
		}
		if off, ok := f.offs[k]; ok {
			hits = append(hits, cacheHit{k, off})
			hitIdx = append(hitIdx, i)
		}
	}
	dim := f.dim
	f.mu.Unlock()
	got, err := f.read(hits, dim)
	if err != nil {
		return false, err
	}
	var stale []cacheHit
	for j, v := range got {
		if v == nil {
			stale = append(stale, hits[j])
		}
		out[hitIdx[j]] = v
	}
	if len(stale) > 0 {
		f.forget(stale)
	}
	return slices.ContainsFunc(out, func(v []float32) bool { return v == nil }), nil
}

// CacheStats counts texts served from disk vs embedded now.
type CacheStats struct{ Hits, Misses int }

// Totals counts the texts every Embed call so far served from the cache
// and sent to the encoder (GET /metrics reports them).
func (c *Cache) Totals() CacheStats {
	return CacheStats{Hits: int(c.hits.Load()), Misses: int(c.misses.Load())}
}

// CacheFileName is the name of the file in a cache folder that holds the
// vectors of the encoder with this checksum.
func CacheFileName(checksum string) string {
	return "embeddings-" + checksum[:min(32, len(checksum))] + ".bin"
}

// cacheFileGlob matches the names CacheFileName gives.
const cacheFileGlob = "embeddings-*.bin"

func (c *Cache) file(checksum string) (*cacheFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[checksum]; ok {
		return f, nil
	}
	f := &cacheFile{path: filepath.Join(c.dir, CacheFileName(checksum)), offs: map[textKey]int64{}}
	if err := f.load(); err != nil {
		return nil, err
	}
	c.files[checksum] = f
	return f, nil
}
