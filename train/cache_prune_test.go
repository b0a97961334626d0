package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Pruning keeps each file's newest records, within the budget; a later run
// finds those and embeds the rest again; a Cache that indexed the file
// before the prune still serves correct vectors.
func TestPruneCacheKeepsTheNewestRecords(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	enc := &countingEmbedder{sum: "prune1"}
	var texts []string
	for i := range 10 {
		texts = append(texts, fmt.Sprintf("text number %d", i))
	}
	early := NewCache(dir)
	want, _, err := early.Embed(ctx, enc, texts[:6])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewCache(dir).Embed(ctx, enc, texts[6:]); err != nil {
		t.Fatal(err)
	}
	recLen := int64(cacheRecordLen(3))

	stats, _, err := PruneCache(dir, -1)
	if err != nil || len(stats) != 1 || stats[0].Records != 10 || stats[0].Kept != nil || stats[0].Dim != 3 ||
		stats[0].Bytes != cacheHeaderLen+10*recLen {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	pruned, _, err := PruneCache(dir, cacheHeaderLen+4*recLen+recLen/2)
	if err != nil || len(pruned) != 1 || pruned[0].Records != 10 || pruned[0].Kept.Records != 4 || pruned[0].Kept.Bytes != cacheHeaderLen+4*recLen {
		t.Fatalf("pruned %+v, %v", pruned, err)
	}
	if st, err := os.Stat(filepath.Join(dir, pruned[0].File)); err != nil || st.Size() != pruned[0].Kept.Bytes {
		t.Fatalf("file after the prune: %v, %v", st, err)
	}

	// A new run: the last four texts embedded are hits, the rest misses.
	fresh := &countingEmbedder{sum: "prune1"}
	_, st, err := NewCache(dir).Embed(ctx, fresh, texts)
	if err != nil || st.Hits != 4 || st.Misses != 6 {
		t.Fatalf("after the prune: %+v, %v; want the newest 4 kept", st, err)
	}
	// The Cache from before the prune holds offsets into the old file.
	got, _, err := early.Embed(ctx, enc, texts[:6])
	if err != nil || !slices.EqualFunc(got, want, slices.Equal[[]float32]) {
		t.Fatalf("an earlier Cache after the prune: %v, %v; want %v", got, err, want)
	}

	// Pruning to nothing leaves a valid, empty cache.
	if all, _, err := PruneCache(dir, 0); err != nil || all[0].Kept.Records != 0 {
		t.Fatalf("prune to 0: %+v, %v", all, err)
	}
	if _, st, err := NewCache(dir).Embed(ctx, fresh, texts[:2]); err != nil || st.Misses != 2 {
		t.Fatalf("after pruning everything: %+v, %v", st, err)
	}
}

// Files that are not current retune caches are left alone.
func TestPruneCacheSkipsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "embeddings-notours.bin")
	if err := os.WriteFile(foreign, []byte("hello, not a cache"), 0o644); err != nil {
		t.Fatal(err)
	}
	if reps, skipped, err := PruneCache(dir, 0); err != nil || len(reps) != 0 || len(skipped) != 1 || skipped[0] != "embeddings-notours.bin" {
		t.Fatalf("reports %+v, skipped %q, %v", reps, skipped, err)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "hello, not a cache" {
		t.Fatalf("foreign file changed: %q", b)
	}
}

// A file of an earlier build's format is reported as such by stats, and
// deleted by a prune, the server's bound (whatever its size) and by
// DropCacheFiles even when its encoder is installed: this build would
// only start it over.
func TestOldFormatCacheFiles(t *testing.T) {
	dir := t.TempDir()
	write := func() string {
		path := filepath.Join(dir, CacheFileName("enc"))
		if err := os.WriteFile(path, append([]byte("RTEMB004"), make([]byte, 100)...), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := write()
	reps, skipped, err := PruneCache(dir, -1)
	if err != nil || len(skipped) != 0 || len(reps) != 1 || !reps[0].OldFormat || reps[0].Bytes != 108 || reps[0].Kept != nil {
		t.Fatalf("stats %+v, skipped %v, %v", reps, skipped, err)
	}
	if reps, _, err := PruneCache(dir, 1<<30); err != nil || len(reps) != 1 || reps[0].Kept == nil || reps[0].Kept.Bytes != 0 {
		t.Fatalf("prune %+v, %v", reps, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file after a prune: %v", err)
	}
	write()
	// The server's bound deletes it too, though it is far under the bound.
	if pruned, _, err := PruneCacheOver(t.Context(), dir, 1<<20, 1<<19); err != nil || len(pruned) != 1 || !pruned[0].OldFormat {
		t.Fatalf("PruneCacheOver %+v, %v", pruned, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file after PruneCacheOver: %v", err)
	}
	write()
	dropped, _, err := DropCacheFiles(dir, func(string) bool { return true })
	if err != nil || len(dropped) != 1 || !dropped[0].OldFormat {
		t.Fatalf("dropped %+v, %v", dropped, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old file after a drop: %v", err)
	}
}

// DropCacheFiles deletes the files keep does not claim, leaves other
// formats alone, and a Cache that had indexed a dropped file embeds its
// texts again into a new one.
func TestDropCacheFiles(t *testing.T) {
	dir := t.TempDir()
	texts := []string{"alpha", "beta", "gamma"}
	kept, gone := &countingEmbedder{sum: "kept-encoder"}, &countingEmbedder{sum: "gone-encoder"}
	early := NewCache(dir)
	for _, enc := range []*countingEmbedder{kept, gone} {
		if _, _, err := early.Embed(t.Context(), enc, texts); err != nil {
			t.Fatal(err)
		}
	}
	foreign := filepath.Join(dir, "embeddings-not-ours.bin")
	if err := os.WriteFile(foreign, []byte("something else"), 0o644); err != nil {
		t.Fatal(err)
	}
	dropped, skipped, err := DropCacheFiles(dir, func(name string) bool { return name == CacheFileName("kept-encoder") })
	if err != nil || len(dropped) != 1 || dropped[0].File != CacheFileName("gone-encoder") || dropped[0].Records != 3 || dropped[0].Dim != 3 ||
		!slices.Equal(skipped, []string{"embeddings-not-ours.bin"}) {
		t.Fatalf("dropped %+v, skipped %v, %v", dropped, skipped, err)
	}
	for name, want := range map[string]bool{CacheFileName("kept-encoder"): true, CacheFileName("gone-encoder"): false, "embeddings-not-ours.bin": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", name, err == nil, want)
		}
	}

	before := gone.texts.Load()
	got, st, err := early.Embed(t.Context(), gone, texts)
	if err != nil || st.Misses != 3 || gone.texts.Load()-before != 3 {
		t.Fatalf("after the drop: %+v, %v, %d texts embedded; want all 3 again", st, err, gone.texts.Load()-before)
	}
	want, _ := gone.Embed(t.Context(), texts)
	if !slices.EqualFunc(got, want, slices.Equal[[]float32]) {
		t.Fatalf("vectors after the drop %v, want %v", got, want)
	}
	if _, st, err := NewCache(dir).Embed(t.Context(), gone, texts); err != nil || st.Hits != 3 {
		t.Fatalf("the re-embedded texts are not in a new file: %+v, %v", st, err)
	}
}

// A bounded prune leaves files within the limit as they are and cuts those
// over it to the target, not merely to the limit.
func TestPruneCacheOver(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		sum string
		n   int
	}{{"over1", 10}, {"under1", 3}} {
		var texts []string
		for i := range c.n {
			texts = append(texts, fmt.Sprintf("%s text %d", c.sum, i))
		}
		if _, _, err := NewCache(dir).Embed(t.Context(), &countingEmbedder{sum: c.sum}, texts); err != nil {
			t.Fatal(err)
		}
	}
	recLen := int64(cacheRecordLen(3))
	limit, target := cacheHeaderLen+5*recLen, cacheHeaderLen+2*recLen
	pruned, _, err := PruneCacheOver(t.Context(), dir, limit, target)
	if err != nil || len(pruned) != 1 || pruned[0].Records != 10 || pruned[0].Kept.Records != 2 {
		t.Fatalf("pruned %+v, %v; want only the 10-record file, cut to 2", pruned, err)
	}
	stats, _, err := PruneCache(dir, -1)
	if err != nil || len(stats) != 2 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	for _, s := range stats {
		if want := map[bool]int{true: 2, false: 3}[s.File == pruned[0].File]; s.Records != want {
			t.Errorf("%s holds %d records, want %d", s.File, s.Records, want)
		}
	}
	if again, _, err := PruneCacheOver(t.Context(), dir, limit, target); err != nil || len(again) != 0 {
		t.Fatalf("a second prune within the limit: %+v, %v", again, err)
	}
	// Cancelled, it prunes nothing and says why.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if none, _, err := PruneCacheOver(ctx, dir, 0, 0); !errors.Is(err, context.Canceled) || len(none) != 0 {
		t.Fatalf("a cancelled prune: %+v, %v; want nothing pruned and context.Canceled", none, err)
	}
}
