package api_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"retune/api"
	"retune/model"
	"retune/store"
)

// A collection that could never fit in the server's memory is refused when
// it is created, naming the field to change; one that does not fit in what
// is left fails before indexing; a ready one that does not fit is not
// loaded, at start or by a search (503, and it stays ready), until memory
// is freed; --skip-memory-check lets all of them through.
func TestCollectionMemoryChecks(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	posted := fmt.Sprintf(`{"model":"glove-100d","documents":%s}`, documentsJSON(testDocs))

	api.SetMemory(js.srv, 1<<20, 1<<20)
	wantParamError(t, js.json("POST", "/v1/collections", fmt.Sprintf(`{"model":"glove-100d","dataset":%q}`, ds.ID)),
		http.StatusBadRequest, "dataset", "the server may use 1.0 MiB in all")
	wantParamError(t, js.json("POST", "/v1/collections", posted), http.StatusBadRequest, "documents", "the server may use 1.0 MiB in all")

	api.SetMemory(js.srv, 1<<40, 512<<10)
	col := mustJSON[collectionJSON](t, js.json("POST", "/v1/collections", posted), http.StatusAccepted)
	got := js.waitStatus(col.ID, "failed")
	if got.Error == nil || !strings.Contains(*got.Error, "not enough memory to index") || !strings.Contains(*got.Error, "about 512 KiB was free") {
		t.Fatalf("collection indexed in 1 MiB: %v", deref(got.Error))
	}
	// Its posted documents are gone with the run: a failed collection is
	// never indexed again.
	dir, err := js.srv.Store().Dir(store.KindCollections, col.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, dir) // removed right after the failure is recorded

	api.SetMemory(js.srv, 1<<40, 1<<40)
	col = mustJSON[collectionJSON](t, js.json("POST", "/v1/collections", posted), http.StatusAccepted)
	js.waitStatus(col.ID, "ready")
	search := fmt.Sprintf("/v1/collections/%s/search", col.ID)
	const query = `{"query":"hot oven","mode":"bm25"}`

	// Restarted short of memory: the preload leaves the collection out, and
	// its searches answer 503 until memory is freed.
	js.stop()
	js.open(false)
	api.SetMemory(js.srv, 1<<40, 1<<20)
	if err := js.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := js.json("POST", search, query)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "not enough memory to load collection "+col.ID) {
		t.Fatalf("search needing a load in 1 MiB: %d %s", r.Status, r.Body)
	}
	if ra := r.Header.Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After %q on a load refused for memory, want 10", ra)
	}
	if got := mustJSON[collectionJSON](t, js.json("GET", "/v1/collections/"+col.ID, ""), http.StatusOK); got.Status != "ready" {
		t.Fatalf("a collection refused a load for memory is %s, want still ready", got.Status)
	}
	api.SetMemory(js.srv, 1<<40, 1<<40)
	if r := js.json("POST", search, query); r.Status != http.StatusOK {
		t.Fatalf("search once memory is free: %d %s", r.Status, r.Body)
	}

	cfg := js.cfg
	cfg.SkipMemoryCheck = true
	js.stop()
	js.cfg = cfg
	js.open(true)
	api.SetMemory(js.srv, 1<<20, 1<<20)
	if r := js.json("POST", search, query); r.Status != http.StatusOK {
		t.Fatalf("search with the check skipped: %d %s", r.Status, r.Body)
	}
	col = mustJSON[collectionJSON](t, js.json("POST", "/v1/collections", posted), http.StatusAccepted)
	js.waitStatus(col.ID, "ready")
}

// A head that widens the vectors is what a refusal names when the
// collection would fit without it; the documents when it would not.
func TestCollectionMemoryNamesAWideningHead(t *testing.T) {
	cfg := jobsConfig(t)
	cfg.MaxUploadBytes = 16 << 20
	js := startJobsServer(t, cfg, true)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 2048, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	head := uploadHead(t, js, h, sum)
	create := fmt.Sprintf(`{"model":"glove-100d","head":%q,"documents":%s}`, head.ID, documentsJSON(testDocs))

	plain := api.PostedIndexingMemory(testDocs, 100, 100)
	if wide := api.PostedIndexingMemory(testDocs, 100, 2048); wide <= plain {
		t.Fatalf("estimates: wide %d, plain %d", wide, plain)
	}
	api.SetMemory(js.srv, plain, 1<<40)
	wantParamError(t, js.json("POST", "/v1/collections", create), http.StatusBadRequest, "head", "2048 dimensions")
	api.SetMemory(js.srv, plain-1, 1<<40)
	wantParamError(t, js.json("POST", "/v1/collections", create), http.StatusBadRequest, "documents", "2048 dimensions")
}

// waitGone waits up to 10 s for path to stop existing.
func waitGone(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists", path)
		}
	}
}
