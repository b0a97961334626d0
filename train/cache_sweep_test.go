package train

import (
	"os"
	"path/filepath"
	"testing"
)

// A prune's temporary file goes once its cache file's lock is free; one
// whose rewrite holds the lock, one whose cache file is gone and any other
// temporary file stay.
func TestSweepCacheTemps(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("embeddings-a.bin", 10)
	write("embeddings-b.bin", 10)
	dead := write(".embeddings-a.bin.tmp-111", 300)
	live := write(".embeddings-b.bin.tmp-222", 400)
	orphan := write(".embeddings-c.bin.tmp-333", 500) // no embeddings-c.bin
	other := write(".key.json.tmp-444", 600)          // an LLM reply's
	_, unlock, err := openLocked(filepath.Join(dir, "embeddings-b.bin"))
	if err != nil {
		t.Fatal(err)
	}
	freed, err := SweepCacheTemps(dir)
	unlock()
	if err != nil || freed != 300 {
		t.Fatalf("freed %d, %v; want 300", freed, err)
	}
	for path, gone := range map[string]bool{dead: true, live: false, orphan: false, other: false} {
		if _, err := os.Stat(path); (err != nil) != gone {
			t.Errorf("%s: removed %v, want %v", filepath.Base(path), err != nil, gone)
		}
	}
	// Its rewrite over, the second goes too.
	if freed, err := SweepCacheTemps(dir); err != nil || freed != 400 {
		t.Fatalf("after unlock: freed %d, %v; want 400", freed, err)
	}
	if freed, err := SweepCacheTemps(filepath.Join(dir, "missing")); err != nil || freed != 0 {
		t.Fatalf("missing folder: %d, %v", freed, err)
	}
}
