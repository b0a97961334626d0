package api_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A server with a bounded embedding cache cuts a file over the bound when
// it starts and after a run that made it grow, and what used the pruned
// vectors goes on working.
func TestServerPrunesTheEmbeddingCache(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	col := ls.readyCollection(testDocs, "")
	ls.stop()
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "cache", "embeddings", "embeddings-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	size := func() int64 {
		st, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	// A prune killed mid-write left its copy: the next start removes it,
	// though the data folder's own sweep keeps the cache's for a day.
	tmp := filepath.Join(filepath.Dir(files[0]), "."+filepath.Base(files[0])+".tmp-99")
	if err := os.WriteFile(tmp, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg.CacheKeepBytes = before / 2
	ls = startServer(t, cfg)
	if _, err := os.Stat(tmp); err == nil {
		t.Fatal("an interrupted prune's file outlived a start")
	}
	// waitWithin waits for the file to be cut to the bound's target, well
	// before the minute after which the server looks anyway.
	waitWithin := func(when string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for size() > int64(0.8*float64(cfg.CacheKeepBytes)) {
			if time.Now().After(deadline) {
				t.Fatalf("cache file still %d bytes 10 s %s, bounded to %d", size(), when, cfg.CacheKeepBytes)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitWithin("after a start")
	if size() == 0 {
		t.Fatal("the prune emptied the file; want its newest records kept")
	}
	// The same documents indexed again through the pruned cache (some
	// vectors read back, the rest embedded again) score exactly as before.
	again := ls.readyCollection(testDocs, "")
	waitWithin("after an indexing run re-embedded what was pruned")
	const query = `{"query":"spacecraft astronaut","k":8}`
	want, got := ls.search(col.ID, query).Data[0].Hits, ls.search(again.ID, query).Data[0].Hits
	if len(got) != len(testDocs) || got[0].ID != "rockets" {
		t.Fatalf("search after the prune: %+v", got)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Score != want[i].Score {
			t.Fatalf("hit %d through the pruned cache %+v, before the prune %+v", i, got[i], want[i])
		}
	}
}
