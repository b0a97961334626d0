package train

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	if enc.texts.Load() != 3 || st.Misses != 3 || st.Hits != 1 {
		t.Fatalf("first run embedded %d texts (stats %+v), want 3 unique and the repeat a hit", enc.texts.Load(), st)
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

// A file at the cache's path that is not a cache is kept aside, not
// overwritten, and the cache starts over instead of failing every run.
func TestCacheMovesForeignFileAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "embeddings-x.bin")
	if err := os.WriteFile(path, []byte("not a cache file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, st, err := NewCache(dir).Embed(ctx, &countingEmbedder{sum: "x"}, []string{"a", "b"}); err != nil || st.Misses != 2 {
		t.Fatalf("stats %+v err %v; want both texts embedded", st, err)
	}
	if b, err := os.ReadFile(path + ".foreign"); err != nil || string(b) != "not a cache file at all" {
		t.Fatalf("foreign file: %q, %v; want it kept whole beside the cache", b, err)
	}
	enc := &countingEmbedder{sum: "x"}
	if _, _, err := NewCache(dir).Embed(ctx, enc, []string{"a", "b"}); err != nil || enc.calls.Load() != 0 {
		t.Fatalf("the rebuilt cache: err %v, %d forward calls; want none", err, enc.calls.Load())
	}
}

// Texts another process stored after this one indexed the file are read
// from it, not embedded again.
func TestCacheSeesWhatOthersAppended(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := NewCache(dir)
	if _, _, err := c.Embed(ctx, &countingEmbedder{sum: "s"}, []string{"alpha"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewCache(dir).Embed(ctx, &countingEmbedder{sum: "s"}, []string{"bravo", "charlie"}); err != nil {
		t.Fatal(err)
	}
	enc := &countingEmbedder{sum: "s"}
	got, st, err := c.Embed(ctx, enc, []string{"alpha", "bravo", "charlie"})
	if err != nil || enc.calls.Load() != 0 || st.Hits != 3 {
		t.Fatalf("stats %+v err %v, %d forward calls; want all three read from the file", st, err, enc.calls.Load())
	}
	if want, _ := (&countingEmbedder{}).Embed(ctx, []string{"charlie"}); !slices.Equal(got[2], want[0]) {
		t.Fatalf("charlie: %v, want %v", got[2], want[0])
	}
}

// hashEmbedder gives every text its own vector, so a text paired with
// another's vector is detectable.
type hashEmbedder struct{ sum string }

func (h hashEmbedder) Checksum() (string, error) { return h.sum, nil }

func (h hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		k := sha256.Sum256([]byte(t))
		out[i] = []float32{float32(k[0]), float32(k[1]), float32(k[2]), float32(len(t))}
	}
	return out, nil
}

// A cache file deleted and rebuilt by another process holds other texts at
// the offsets a running process indexed: those texts are embedded again,
// never served with another text's vector, and the new file is reindexed.
func TestCacheNoticesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := NewCache(dir)
	if _, _, err := c.Embed(ctx, &countingEmbedder{sum: "swap"}, []string{"alpha", "bravo", "charlie"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewCache(dir).Embed(ctx, &countingEmbedder{sum: "swap"}, []string{"delta", "echo", "foxtrot", "golf"}); err != nil {
		t.Fatal(err)
	}

	enc := &countingEmbedder{sum: "swap"}
	texts := []string{"alpha", "bravo", "delta"}
	got, st, err := c.Embed(ctx, enc, texts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&countingEmbedder{}).Embed(ctx, texts)
	for i := range texts {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%q: got %v, want %v (another text's record?)", texts[i], got[i], want[i])
		}
	}
	if st.Misses != 2 || st.Hits != 1 {
		t.Fatalf("stats %+v, want 2 misses (alpha and bravo are gone) and delta read from the new file", st)
	}
	enc2 := &countingEmbedder{sum: "swap"}
	if _, st, err := c.Embed(ctx, enc2, []string{"alpha", "echo", "golf"}); err != nil || enc2.calls.Load() != 0 {
		t.Fatalf("after reindexing: stats %+v err %v, %d forward calls; want all hits", st, err, enc2.calls.Load())
	}
}

// Two processes sharing a cache folder (here two Caches, each with its own
// file handle) append at the same time. Each batch is larger than the
// writer's 1 MiB buffer, so without the file lock their writes interleave.
func TestCacheSharedBetweenProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	enc := hashEmbedder{sum: "shared"}
	texts := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s text %d", prefix, i)
		}
		return out
	}
	const perBatch = 30000 // × 52-byte records > 1 MiB
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			// Writers 0 and 1 overlap (same texts), 2 and 3 have their own.
			prefix := fmt.Sprintf("w%d", max(w, 1))
			if _, _, err := NewCache(dir).Embed(ctx, enc, texts(prefix, perBatch)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	all := append(append(texts("w1", perBatch), texts("w2", perBatch)...), texts("w3", perBatch)...)
	want, _ := enc.Embed(ctx, all)
	probe := &countingEmbedder{sum: "shared"}
	c := NewCache(dir)
	f, err := c.file("shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.offs) != len(all) {
		t.Fatalf("cache holds %d vectors, want %d (one per distinct text)", len(f.offs), len(all))
	}
	got, st, err := c.Embed(ctx, probe, all)
	if err != nil || st.Misses != 0 {
		t.Fatalf("stats %+v err %v; want every text cached", st, err)
	}
	for i := range all {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("text %q: cached %v, want %v", all[i], got[i], want[i])
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	st2, _ := os.Stat(files[0])
	if wantSize := int64(cacheHeaderLen + len(all)*f.recordLen()); st2.Size() != wantSize {
		t.Fatalf("file is %d bytes, want %d (a header and one record per text)", st2.Size(), wantSize)
	}
}

// A record whose CRC fails ends the valid prefix: it and what follows are
// embedded again, never served.
func TestCacheDropsCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	enc := hashEmbedder{sum: "crc"}
	if _, _, err := NewCache(dir).Embed(ctx, enc, []string{"one", "two", "three"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "embeddings-*.bin"))
	raw, _ := os.ReadFile(files[0])
	recLen := (len(raw) - cacheHeaderLen) / 3
	raw[cacheHeaderLen+recLen+sha256.Size] ^= 0xff // the second record's first value
	os.WriteFile(files[0], raw, 0o644)

	_, st, err := NewCache(dir).Embed(ctx, enc, []string{"one", "two", "three"})
	if err != nil || st.Hits != 1 || st.Misses != 2 {
		t.Fatalf("stats %+v err %v; want 1 hit (the record before the bad one), 2 misses", st, err)
	}
	if _, st, err := NewCache(dir).Embed(ctx, enc, []string{"one", "two", "three"}); err != nil || st.Hits != 3 {
		t.Fatalf("after repair: stats %+v err %v; want 3 hits", st, err)
	}
}

// Files of the first format (no CRC, written without a lock) are rebuilt.
func TestCacheRebuildsOlderFormats(t *testing.T) {
	for _, magic := range oldCacheMagics {
		dir := t.TempDir()
		path := filepath.Join(dir, "embeddings-v1.bin")
		old := append([]byte(magic), 4, 0, 0, 0)
		old = append(old, make([]byte, 2*(sha256.Size+16))...)
		os.WriteFile(path, old, 0o644)
		enc := hashEmbedder{sum: "v1"}
		if _, st, err := NewCache(dir).Embed(context.Background(), enc, []string{"a"}); err != nil || st.Misses != 1 {
			t.Fatalf("%s: stats %+v err %v; want the old file ignored", magic, st, err)
		}
		raw, _ := os.ReadFile(path)
		if string(raw[:8]) != cacheMagic || len(raw) != cacheHeaderLen+sha256.Size+16+4 {
			t.Fatalf("%s: file not rebuilt: %q… (%d bytes)", magic, raw[:8], len(raw))
		}
	}
}

// mixedDims gives its second text a vector one value longer.
type mixedDims struct{ hashEmbedder }

func (m mixedDims) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out, _ := m.hashEmbedder.Embed(ctx, texts)
	out[1] = append(out[1], 0)
	return out, nil
}

// A batch with a vector of the wrong width is stored not at all: the
// process's memory and the file agree afterwards.
func TestCacheRefusesBatchWithWrongWidth(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c := NewCache(dir)
	if _, _, err := c.Embed(ctx, hashEmbedder{sum: "w"}, []string{"zero"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Embed(ctx, mixedDims{hashEmbedder{sum: "w"}}, []string{"one", "two"}); err == nil {
		t.Fatal("a 5-wide vector stored in a 4-wide cache")
	}
	for name, cache := range map[string]*Cache{"same process": c, "next process": NewCache(dir)} {
		f, err := cache.file("w")
		if err != nil || len(f.offs) != 1 {
			t.Errorf("%s: %d vectors cached (err %v), want only the first batch's 1", name, len(f.offs), err)
		}
	}
}

// failingEmbedder fails its call number failAt (1-based) and embeds as
// countingEmbedder otherwise.
type failingEmbedder struct {
	countingEmbedder
	failAt int64
}

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.calls.Load()+1 == f.failAt {
		f.calls.Add(1)
		return nil, fmt.Errorf("encoder died")
	}
	return f.countingEmbedder.Embed(ctx, texts)
}

// New texts are embedded and saved a chunk at a time: an encoder failing
// (or a crash) in the third chunk loses that chunk only, and progress moves
// with every chunk up to all texts, repeats included.
func TestCacheSavesEachChunk(t *testing.T) {
	dir := t.TempDir()
	texts := make([]string, 3*cacheChunk+100)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d", i)
	}
	enc := &failingEmbedder{countingEmbedder: countingEmbedder{sum: "abc"}, failAt: 3}
	if _, _, err := NewCache(dir).Embed(t.Context(), enc, texts); err == nil {
		t.Fatal("the encoder's failure was not returned")
	}
	again := &countingEmbedder{sum: "abc"}
	var done []int
	withRepeat := append(slices.Clone(texts), texts[0], texts[len(texts)-1])
	_, st, err := NewCache(dir).EmbedProgress(t.Context(), again, withRepeat, func(n int) { done = append(done, n) })
	if err != nil {
		t.Fatal(err)
	}
	// Hits: the two saved chunks, the repeat of a saved text and the repeat
	// of a new one.
	if st.Hits != 2*cacheChunk+2 || st.Misses != cacheChunk+100 || again.texts.Load() != int64(cacheChunk+100) {
		t.Fatalf("after a failure in chunk 3: %+v, %d texts embedded again; want the first two chunks kept", st, again.texts.Load())
	}
	want := []int{2*cacheChunk + 1, 3*cacheChunk + 1, len(withRepeat)}
	if !slices.Equal(done, want) {
		t.Fatalf("progress %v, want %v", done, want)
	}
}

// Texts whose write failed (here: the disk is full) are not taken as
// cached by the process that tried: they are embedded again next time.
func TestCacheKeepsNoVectorItFailedToWrite(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	f := &cacheFile{path: "/dev/full", offs: map[textKey]int64{}}
	if err := f.add([]string{"a", "b"}, [][]float32{{1, 2}, {3, 4}}); err == nil {
		t.Fatal("a write to a full disk succeeded")
	}
	if len(f.offs) != 0 {
		t.Errorf("%d vectors held as cached after the write failed, want 0", len(f.offs))
	}
}

// A writer waiting for the lock while another deletes the file locks the
// file the path names afterwards, instead of failing or locking the
// deleted one.
func TestOpenLockedFollowsADeletedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "embeddings-x.bin")
	_, unlock, err := openLocked(path)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		fh     *os.File
		unlock func()
		err    error
	}
	got := make(chan result, 1)
	go func() {
		fh, unlock, err := openLocked(path)
		got <- result{fh, unlock, err}
	}()
	// Give the goroutine time to block on the lock (were it slower, it
	// would open the new file directly: the same end state), and check the
	// lock really excluded it meanwhile.
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-got:
		t.Fatalf("a second writer got the lock while it was held (err %v)", r.err)
	default:
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	unlock()
	r := <-got
	if r.err != nil {
		t.Fatalf("waiting writer: %v", r.err)
	}
	defer r.unlock()
	held, _ := r.fh.Stat()
	now, err := os.Stat(path)
	if err != nil || !os.SameFile(held, now) {
		t.Fatalf("the waiting writer holds a file the path no longer names (%v)", err)
	}
}

// sideEmbedder, on its first call, lets another user of the same cache
// embed and store the texts in others (a collection indexing the same
// corpus beside a job), then embeds its own chunk.
type sideEmbedder struct {
	countingEmbedder
	cache  *Cache
	others []string
	side   *countingEmbedder
}

func (s *sideEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if s.calls.Load() == 0 {
		if _, _, err := s.cache.Embed(ctx, s.side, s.others); err != nil {
			return nil, err
		}
	}
	return s.countingEmbedder.Embed(ctx, texts)
}

// Texts another user stores while a call is under way are served from the
// cache, not embedded twice: the call looks again before each chunk.
func TestCacheServesWhatAnotherUserStoredMidCall(t *testing.T) {
	cache := NewCache(t.TempDir())
	texts := make([]string, 2*cacheChunk+88)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d", i)
	}
	side := &countingEmbedder{sum: "shared"}
	enc := &sideEmbedder{countingEmbedder: countingEmbedder{sum: "shared"}, cache: cache, others: texts[cacheChunk:], side: side}
	got, st, err := cache.Embed(t.Context(), enc, texts)
	if err != nil {
		t.Fatal(err)
	}
	if enc.texts.Load() != cacheChunk || side.texts.Load() != int64(len(texts)-cacheChunk) {
		t.Errorf("embedded %d here and %d beside, want %d and %d", enc.texts.Load(), side.texts.Load(), cacheChunk, len(texts)-cacheChunk)
	}
	if st.Misses != cacheChunk || st.Hits != len(texts)-cacheChunk {
		t.Errorf("stats %+v, want %d misses and %d hits", st, cacheChunk, len(texts)-cacheChunk)
	}
	for i, v := range got {
		if v == nil || v[0] != float32(len(texts[i])) {
			t.Fatalf("text %d: vector %v", i, v)
		}
	}
}

// slowEmbedder is a countingEmbedder whose calls take a while, so two
// callers overlap.
type slowEmbedder struct{ countingEmbedder }

func (s *slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	time.Sleep(20 * time.Millisecond)
	return s.countingEmbedder.Embed(ctx, texts)
}

// Two callers embedding the same new texts at once, in the same order (a
// job and a collection on one corpus), embed each text once between them.
func TestCacheConcurrentCallersShareTheWork(t *testing.T) {
	cache := NewCache(t.TempDir())
	texts := make([]string, 2*cacheChunk+88)
	for i := range texts {
		texts[i] = fmt.Sprintf("shared text %d", i)
	}
	enc := &slowEmbedder{countingEmbedder{sum: "both"}}
	var wg sync.WaitGroup
	stats := make([]CacheStats, 2)
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, st, err := cache.Embed(t.Context(), enc, texts)
			if err != nil {
				t.Error(err)
				return
			}
			for i, v := range got {
				if v == nil || v[0] != float32(len(texts[i])) {
					t.Errorf("caller %d text %d: %v", c, i, v)
					return
				}
			}
			stats[c] = st
		}()
	}
	wg.Wait()
	if n := enc.texts.Load(); n != int64(len(texts)) {
		t.Errorf("the two callers embedded %d texts for %d distinct ones", n, len(texts))
	}
	if m := stats[0].Misses + stats[1].Misses; m != len(texts) || stats[0].Hits+stats[0].Misses != len(texts) || stats[1].Hits+stats[1].Misses != len(texts) {
		t.Errorf("stats %+v: misses should add up to %d", stats, len(texts))
	}
}
