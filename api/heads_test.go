package api_test

import (
	"context"
	"net/http"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/store"
)

// TestHeadModelErrors: a head whose recorded encoder checksum is not the
// installed encoder's is refused with 409, unknown or malformed fine-tuned
// names are 404, and a head a collection uses cannot be deleted.
func TestHeadModelErrors(t *testing.T) {
	cfg := jobsConfig(t)
	st, err := store.Open(context.Background(), cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	js := startJobsServer(t, cfg, false)

	// A head trained, as far as its files say, on another glove-100d.
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100})
	if err != nil {
		t.Fatal(err)
	}
	stale := "0000000000000000000000000000000000000000000000000000000000000000"
	id := store.NewID(store.PrefixHead)
	dir, err := st.Dir(store.KindHeads, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Save(dir, model.HeadMeta{Encoder: "glove-100d", EncoderChecksum: stale}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateHead(context.Background(), store.Head{ID: id, Encoder: "glove-100d", EncoderChecksum: stale,
		DIn: 100, DOut: 100, Apply: "shared"}); err != nil {
		t.Fatal(err)
	}

	embed := func(model string) response {
		return js.json("POST", "/v1/embeddings", `{"model":"`+model+`","input":"cat"}`)
	}
	wantAPIError(t, embed("glove-100d:ft-"+id), http.StatusConflict, "trained on a different encoder")
	wantAPIError(t, embed("glove-100d:ft-head-bbbbbbbbbbbbbbbbbbbbbbbb"), http.StatusNotFound, "no head head-bbbbbbbbbbbbbbbbbbbbbbbb")
	wantAPIError(t, embed("glove-100d:ft-nothead"), http.StatusNotFound, `"nothead" is not a head id`)
	wantAPIError(t, embed("nope:ft-"+id), http.StatusNotFound, `model "nope:ft-`+id+`" not found`)
	if r := js.do("GET", "/v1/heads/"+id, "", nil); r.Status != http.StatusOK {
		t.Fatalf("head: %d %s", r.Status, r.Body)
	}

	if _, err := st.CreateCollection(context.Background(), store.Collection{Name: "c", Encoder: "glove-100d",
		HeadID: id, Status: store.CollectionReady}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, js.do("DELETE", "/v1/heads/"+id, "", nil), http.StatusConflict, "used by collection")
}

// A head asked for under another encoder's name is 404 whether or not an
// earlier request loaded it for its own encoder: the loaded head is cached
// with the encoder it was checked against.
func TestHeadUnderAnotherEncoder(t *testing.T) {
	testenv.TinyBERT(t)
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := testHead(t, ls, model.ApplyShared, 100, sum)
	embed := func(model string) response {
		return ls.json("POST", "/v1/embeddings", `{"model":"`+model+`","input":"cat"}`)
	}
	for _, round := range []string{"before", "after"} {
		wantAPIError(t, embed("bert-tiny-fixture:ft-"+id), http.StatusNotFound, `was trained on encoder "glove-100d"`)
		if r := embed("glove-100d:ft-" + id); r.Status != http.StatusOK {
			t.Fatalf("%s loading it for glove-100d: %d %s", round, r.Status, r.Body)
		}
	}
}
