package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"retune/store"
)

// TestCollectionSurvivesRestart: after a restart a ready collection is
// searched from its saved index, without embedding a document again.
func TestCollectionSurvivesRestart(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	col := ls.readyCollection(testDocs, "")
	before := ls.search(col.ID, `{"query":"spacecraft astronaut","k":3}`)
	ls.stop()

	enc := glove(t, cfg)
	forwards := enc.Forwards()
	ls = startServer(t, cfg)
	if got := ls.waitStatus(col.ID, "ready"); got.Docs != len(testDocs) {
		t.Fatalf("after restart: %+v", got)
	}
	// BM25 needs no encoder: zero forward passes proves nothing was re-indexed.
	if res := ls.search(col.ID, `{"query":"hot oven","mode":"bm25"}`); res.Data[0].Hits[0].ID != "bread" {
		t.Fatalf("bm25 after restart: %+v", res.Data[0].Hits)
	}
	if n := enc.Forwards() - forwards; n != 0 {
		t.Fatalf("restart and a bm25 search ran %d forward passes; the collection was re-embedded", n)
	}
	// Dense search embeds the one query, and ranks exactly as before.
	after := ls.search(col.ID, `{"query":"spacecraft astronaut","k":3}`)
	if n := enc.Forwards() - forwards; n != 1 {
		t.Fatalf("a one-query dense search ran %d forward passes, want 1", n)
	}
	for i, h := range after.Data[0].Hits {
		if b := before.Data[0].Hits[i]; h.ID != b.ID || h.Score != b.Score {
			t.Fatalf("hit %d after restart %+v, before %+v", i, h, b)
		}
	}
}

// TestStartRemovesCollectionLeftovers: a crash can leave a collection
// folder without its row (posted documents saved, row not yet created) and
// a ready collection's posted documents (indexed, not yet removed); the
// next start removes both.
func TestStartRemovesCollectionLeftovers(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	col := ls.readyCollection(testDocs, "")
	ls.stop()
	orphan := filepath.Join(cfg.DataDir, store.KindCollections, store.NewID(store.PrefixCollection))
	posted := filepath.Join(cfg.DataDir, store.KindCollections, col.ID, "corpus.jsonl")
	for _, p := range []string{filepath.Join(orphan, "corpus.jsonl"), posted} {
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte(`{"_id":"d","text":"t"}`+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	ls = startServer(t, cfg)
	defer ls.stop()
	for _, p := range []string{orphan, posted} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the start: %v", p, err)
		}
	}
	if got := ls.waitStatus(col.ID, "ready"); got.Docs != len(testDocs) {
		t.Fatalf("the ready collection after the start: %+v", got)
	}
}

// TestCollectionIndexingResumes: a collection left "indexing" by a crash
// (its posted documents saved, no index yet) is indexed at the next start.
func TestCollectionIndexingResumes(t *testing.T) {
	cfg := collectionConfig(t)
	st, err := store.Open(context.Background(), cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	col, err := st.CreateCollection(context.Background(), store.Collection{Name: "crashed", Encoder: "glove-100d", Docs: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := st.Dir(store.KindCollections, col.ID)
	if err != nil {
		t.Fatal(err)
	}
	corpus := `{"_id":"rockets","text":"Rockets burn fuel to launch satellites into orbit around the planet."}
{"_id":"bread","title":"Baking","text":"Bakers knead dough and bake bread in a hot oven."}
`
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte(corpus), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	ls := startServer(t, cfg)
	ready := ls.waitStatus(col.ID, "ready")
	if ready.Docs != 2 || ready.Name != "crashed" {
		t.Fatalf("resumed collection %+v", ready)
	}
	res := ls.search(col.ID, `{"query":"baking","mode":"bm25"}`)
	if hits := res.Data[0].Hits; len(hits) != 1 || hits[0].ID != "bread" || hits[0].Text != "Baking Bakers knead dough and bake bread in a hot oven." {
		t.Fatalf("title is part of the indexed text: %+v", hits)
	}
	// The posted documents are dropped once the index holds them.
	if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("corpus.jsonl left after indexing: %v", err)
	}
}

// TestSearchNotReady: a collection still indexing answers 409 with its
// progress.
func TestSearchNotReady(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	// A row the server did not start indexing (as if another process owned
	// it) stays "indexing" for the whole test.
	col, err := ls.srv.Store().CreateCollection(context.Background(), store.Collection{Encoder: "glove-100d", Progress: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"a"}`), 409, "still indexing (25% done)")
}

// TestCollectionsPreloadAtStart: a restarted server loads its ready
// collections in the background, before any search asks for them, unless
// LazyCollections is set.
func TestCollectionsPreloadAtStart(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	ls.readyCollection(testDocs, "")
	ls.stop()

	lazy := cfg
	lazy.LazyCollections = true
	ls = startServer(t, lazy)
	time.Sleep(200 * time.Millisecond)
	if n := loadedCollections(ls); n != 0 {
		t.Fatalf("lazy server loaded %d collections before any search", n)
	}
	ls.stop()

	ls = startServer(t, cfg)
	for deadline := time.Now().Add(10 * time.Second); loadedCollections(ls) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no collection loaded 10 s after start (gauge %d)", loadedCollections(ls))
		}
	}
}

// loadedCollections reads the retune_collections_loaded gauge.
func loadedCollections(ls *liveServer) int {
	ls.t.Helper()
	r := ls.do("GET", "/metrics", "", nil)
	for line := range strings.Lines(string(r.Body)) {
		if v, ok := strings.CutPrefix(line, "retune_collections_loaded "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				ls.t.Fatalf("gauge %q: %v", line, err)
			}
			return n
		}
	}
	ls.t.Fatalf("no retune_collections_loaded in /metrics")
	return 0
}

// TestDamagedCollectionFails: a ready collection whose files were damaged
// while the server was down is marked failed with the reason, by the
// background load or by the first search alike, and searches answer 409
// naming it instead of a bare 500 after re-reading the files every time.
func TestDamagedCollectionFails(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		t.Run("lazy="+strconv.FormatBool(lazy), func(t *testing.T) {
			cfg := collectionConfig(t)
			ls := startServer(t, cfg)
			col := ls.readyCollection(testDocs, "")
			ls.stop()
			vectors := filepath.Join(cfg.DataDir, store.KindCollections, col.ID, "vectors.bin")
			if err := os.Truncate(vectors, 100); err != nil {
				t.Fatal(err)
			}
			cfg.LazyCollections = lazy
			ls = startServer(t, cfg)
			defer ls.stop()
			const reason = "vectors.bin has 100 bytes"
			for _, mode := range []string{"bm25", "dense"} {
				r := ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"hot oven","mode":"`+mode+`"}`)
				if r.Status != 409 || !strings.Contains(string(r.Body), "failed") || !strings.Contains(string(r.Body), reason) {
					t.Fatalf("%s search of a damaged collection: %d %s", mode, r.Status, r.Body)
				}
			}
			got := ls.waitStatus(col.ID, "failed")
			if got.Error == nil || !strings.Contains(*got.Error, reason) || strings.Contains(*got.Error, cfg.DataDir) {
				t.Fatalf("failed collection's error %v: want the reason, without server paths", deref(got.Error))
			}
			if r := ls.json("DELETE", "/v1/collections/"+col.ID, ""); r.Status != 200 {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
		})
	}
}
