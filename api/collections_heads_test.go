package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/internal/testenv"
	"retune/model"
	"retune/store"
)

// testHead stores a head on glove-100d as a finished job would: the weights
// under the head's folder, the row in the store. W is the identity with
// the diagonal entries from zeroFrom on set to zero, so it changes scores
// (unlike an orthogonal map) and heads with different zeroFrom differ.
func testHead(t *testing.T, ls *liveServer, apply string, zeroFrom int, checksum string) (string, *model.Head) {
	t.Helper()
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100, Apply: apply})
	if err != nil {
		t.Fatal(err)
	}
	p := h.Params() // full form: W row-major, d_out × d_in
	for i := zeroFrom; i < 100; i++ {
		p[i*100+i] = 0
	}
	id, _ := storeHead(t, ls, h, checksum)
	return id, h
}

// storeHead saves h on glove-100d into the store as a finished job would
// and returns its id and folder.
func storeHead(t *testing.T, ls *liveServer, h *model.Head, checksum string) (id, dir string) {
	t.Helper()
	cfg := h.Config()
	row, err := ls.srv.Store().CreateHead(context.Background(), store.Head{Encoder: "glove-100d", EncoderChecksum: checksum, DIn: cfg.DIn, DOut: cfg.DOut, Apply: cfg.Apply})
	if err != nil {
		t.Fatal(err)
	}
	dir, err = ls.srv.Store().Dir(store.KindHeads, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Save(dir, model.HeadMeta{Encoder: "glove-100d", EncoderChecksum: checksum}); err != nil {
		t.Fatal(err)
	}
	return row.ID, dir
}

// cosine is what the server's dense score must equal: query and document
// embedded with glove, each through its head (nil: none).
func cosine(t *testing.T, enc *model.Encoder, query, doc string, qHead, dHead *model.Head) float64 {
	t.Helper()
	vecs, err := enc.Embed(context.Background(), []string{query, doc})
	if err != nil {
		t.Fatal(err)
	}
	q, d := vecs[0], vecs[1]
	if qHead != nil {
		q = qHead.Project(q)
	}
	if dHead != nil {
		d = dHead.Project(d)
	}
	var dot, qq, dd float64
	for i := range q {
		dot += float64(q[i]) * float64(d[i])
		qq += float64(q[i]) * float64(q[i])
		dd += float64(d[i]) * float64(d[i])
	}
	return dot / math.Sqrt(qq*dd)
}

func TestCollectionHeads(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	enc := glove(t, cfg)
	sum, err := enc.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	shared, sharedW := testHead(t, ls, model.ApplyShared, 60, sum)
	shared2, _ := testHead(t, ls, model.ApplyShared, 40, sum)
	query, queryW := testHead(t, ls, model.ApplyQuery, 50, sum)
	query2, query2W := testHead(t, ls, model.ApplyQuery, 70, sum)
	const q = `{"query":"spacecraft astronaut","k":1`
	rocket := testDocs[1][1]

	base := ls.readyCollection(testDocs, "")
	withShared := ls.readyCollection(testDocs, `,"head":"`+shared+`"`)
	withQuery := ls.readyCollection(testDocs, `,"head":"`+query+`"`)
	if deref(withShared.Head) != shared {
		t.Fatalf("collection head %v, want %s", deref(withShared.Head), shared)
	}

	check := func(name string, res searchJSON, model string, want float64) {
		t.Helper()
		h := res.Data[0].Hits[0]
		if res.Model != model || h.ID != "rockets" || math.Abs(h.Score-want) > 1e-5 {
			t.Fatalf("%s: model %s, top %s score %.6f; want model %s, rockets, score %.6f", name, res.Model, h.ID, h.Score, model, want)
		}
	}
	// A shared head projects documents at indexing and queries at search.
	check("shared head", ls.search(withShared.ID, q+`}`), "glove-100d:ft-"+shared, cosine(t, enc, "spacecraft astronaut", rocket, sharedW, sharedW))
	check("shared head named again", ls.search(withShared.ID, q+`,"head":"`+shared+`"}`), "glove-100d:ft-"+shared, cosine(t, enc, "spacecraft astronaut", rocket, sharedW, sharedW))
	// A query-only head leaves documents as base embeddings...
	check("query head", ls.search(withQuery.ID, q+`}`), "glove-100d:ft-"+query, cosine(t, enc, "spacecraft astronaut", rocket, queryW, nil))
	// ...so another query-only head can replace it, or apply to a base collection.
	check("query head override", ls.search(withQuery.ID, q+`,"head":"`+query2+`"}`), "glove-100d:ft-"+query2, cosine(t, enc, "spacecraft astronaut", rocket, query2W, nil))
	check("query head on base", ls.search(base.ID, q+`,"head":"`+query+`"}`), "glove-100d:ft-"+query, cosine(t, enc, "spacecraft astronaut", rocket, queryW, nil))
	check("base", ls.search(base.ID, q+`}`), "glove-100d", cosine(t, enc, "spacecraft astronaut", rocket, nil, nil))

	// Heads that would compare vectors from different spaces are refused.
	path := func(id string) string { return "/v1/collections/" + id + "/search" }
	wantAPIError(t, ls.json("POST", path(withShared.ID), q+`,"head":"`+shared2+`"}`), 409, "embedded through shared head "+shared)
	wantAPIError(t, ls.json("POST", path(withShared.ID), q+`,"head":"`+query+`"}`), 409, "embedded through shared head "+shared)
	wantAPIError(t, ls.json("POST", path(base.ID), q+`,"head":"`+shared+`"}`), 409, "applies to documents too")
	wantAPIError(t, ls.json("POST", path(withQuery.ID), q+`,"head":"`+shared+`"}`), 409, "applies to documents too")

	// A head trained on another encoder (other checksum) is refused when
	// creating and when searching.
	alien, _ := testHead(t, ls, model.ApplyQuery, 50, strings.Repeat("0", 64))
	wantAPIError(t, ls.json("POST", "/v1/collections", `{"model":"glove-100d","head":"`+alien+`","documents":[{"id":"a","text":"cats"}]}`), 409, "was trained on encoder")
	wantAPIError(t, ls.json("POST", path(base.ID), q+`,"head":"`+alien+`"}`), 409, "was trained on encoder")

	// A head in use by a collection cannot be deleted.
	wantAPIError(t, ls.do("DELETE", "/v1/heads/"+shared, "", nil), 409, withShared.ID)
}

// TestCollectionFromDataset indexes a dataset's corpus (title + text).
func TestCollectionFromDataset(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	ct, body := multipartBody(t,
		formPart{"corpus", "corpus.jsonl", `{"_id":"d1","title":"Space","text":"Rockets launch satellites into orbit."}
{"_id":"d2","title":"Kitchen","text":"Bakers bake bread in a hot oven."}
{"_id":"d3","text":"Heavy rain flooded the river valley."}
`},
		formPart{"queries", "queries.jsonl", `{"_id":"q1","text":"astronaut"}` + "\n"},
		formPart{"qrels", "test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n"})
	ds := decodeBody[datasetJSON](t, ls.do("POST", "/v1/datasets", ct, body))
	col := ls.createCollection(`{"model":"glove-100d","dataset":"` + ds.ID + `"}`)
	if deref(col.Dataset) != ds.ID || col.Docs != 3 {
		t.Fatalf("created %+v", col)
	}
	ls.waitStatus(col.ID, "ready")
	res := ls.search(col.ID, `{"query":"kitchen","mode":"bm25"}`)
	if hits := res.Data[0].Hits; len(hits) != 1 || hits[0].ID != "d2" || hits[0].Text != "Kitchen Bakers bake bread in a hot oven." {
		t.Fatalf("bm25 over title + text: %+v", hits)
	}
	if res := ls.search(col.ID, `{"query":"spacecraft astronaut","k":1}`); res.Data[0].Hits[0].ID != "d1" {
		t.Fatalf("dense: %+v", res.Data[0].Hits)
	}
}

// A query-only head that changes the width, stored before uploads were
// checked for it, still loads (its query embeddings are served as before),
// but no collection takes it: its queries could be compared with no
// document. Each refusal is a 409 naming the fix, not a 500.
func TestStoredNarrowingQueryHead(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 50})
	if err != nil {
		t.Fatal(err)
	}
	id, dir := storeHead(t, ls, h, sum) // stored shared, then edited to query-only
	raw, err := os.ReadFile(filepath.Join(dir, "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), `"apply": "shared"`, `"apply": "query"`, 1)
	if edited == string(raw) || os.WriteFile(filepath.Join(dir, "head.json"), []byte(edited), 0o644) != nil {
		t.Fatal("could not make the stored head query-only")
	}

	r := ls.json("POST", "/v1/embeddings", `{"model":"glove-100d:ft-`+id+`","input":["a dog runs"]}`)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"embedding"`) {
		t.Fatalf("query embeddings through the stored head: %d %s", r.Status, r.Body)
	}
	const refusal = "projects queries only but changes their width (100 → 50 dimensions), so it can search no collection"
	wantParamError(t, ls.json("POST", "/v1/collections", `{"model":"glove-100d","head":"`+id+`","documents":[{"id":"a","text":"a dog"}]}`),
		http.StatusConflict, "head", refusal)
	base := ls.readyCollection(testDocs, "")
	wantParamError(t, ls.json("POST", "/v1/collections/"+base.ID+"/search", `{"query":"dog","head":"`+id+`"}`),
		http.StatusConflict, "head", refusal)
}

// A head an earlier build stored under looser checks, which this build
// refuses (here a projection row of norm 1e19, refused since uploads check
// row norms), is a 409 at every use that says so and what to do:
// embeddings, a ready collection's search, a new collection, each export
// format. Each was a 500 "internal error" after an upgrade.
func TestStoredHeadThisBuildRefuses(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	sum, err := glove(t, cfg).Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.NewHead(model.HeadConfig{DIn: 100, DOut: 100})
	if err != nil {
		t.Fatal(err)
	}
	id, dir := storeHead(t, ls, h, sum)
	col := ls.readyCollection(testDocs, `,"head":"`+id+`"`)
	ls.stop()
	// What an earlier build stored: one weight of 1e19, checksummed.
	weights := filepath.Join(dir, "weights.bin")
	raw, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(raw, math.Float64bits(1e19))
	if err := os.WriteFile(weights, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(raw)
	testenv.EditJSON(t, filepath.Join(dir, "head.json"), func(d map[string]any) { d["weights_sha256"] = hex.EncodeToString(digest[:]) })

	ls = startServer(t, cfg)
	const refusal = "is stored, but this build of retune refuses it: weights.bin: row 0 of the projection has norm 1e+19"
	wantParamError(t, ls.json("POST", "/v1/embeddings", `{"model":"glove-100d:ft-`+id+`","input":["a dog runs"]}`),
		http.StatusConflict, "model", refusal)
	wantParamError(t, ls.json("POST", "/v1/embeddings", `{"model":"glove-100d:ft-`+id+`","input":["a dog runs"]}`),
		http.StatusConflict, "model", "; delete it (DELETE /v1/heads/"+id+") and upload a corrected one")
	wantParamError(t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"dog"}`), http.StatusConflict, "*", refusal)
	wantParamError(t, ls.json("POST", "/v1/collections", `{"model":"glove-100d","head":"`+id+`","documents":[{"id":"a","text":"a dog"}]}`),
		http.StatusConflict, "head", refusal)
	for _, format := range []string{"onnx", "fused-onnx", "safetensors"} {
		path := "/v1/heads/" + id + "/export?format=" + format
		wantParamError(t, ls.do("GET", path, "", nil), http.StatusConflict, "*", refusal)
		if r := ls.do("HEAD", path, "", nil); r.Status != http.StatusConflict {
			t.Errorf("HEAD %s: %d, want 409", path, r.Status)
		}
	}
	// Its record is untouched.
	if r := ls.do("GET", "/v1/heads/"+id, "", nil); r.Status != http.StatusOK {
		t.Fatalf("GET the head: %d %s", r.Status, r.Body)
	}
}
