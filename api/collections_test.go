package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"retune/api"
	"retune/store"
)

func TestCollectionLifecycle(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	created := ls.createCollection(`{"model":"glove-100d","name":"animals","documents":` + documentsJSON(testDocs[:3]) + `}`)
	if created.Name != "animals" || created.Model != "glove-100d" || created.Head != nil || created.Dataset != nil ||
		created.Docs != 3 || created.CreatedAt == 0 {
		t.Fatalf("created %+v", created)
	}
	col := ls.waitStatus(created.ID, "ready")
	if col.Progress != 1 || col.Docs != 3 || col.Error != nil {
		t.Fatalf("ready %+v", col)
	}

	// Three more, then page through newest first.
	ids := []string{col.ID} // oldest first
	for range 3 {
		ids = append(ids, ls.createCollection(`{"model":"glove-100d","documents":[{"id":"a","text":"hello world"}]}`).ID)
	}
	var listed []string
	after := ""
	for page := 0; ; page++ {
		q := "/v1/collections?limit=3"
		if after != "" {
			q += "&after=" + after
		}
		r := ls.do("GET", q, "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		l := decodeBody[struct {
			Object  string           `json:"object"`
			Data    []collectionJSON `json:"data"`
			HasMore bool             `json:"has_more"`
		}](t, r)
		for _, c := range l.Data {
			listed = append(listed, c.ID)
		}
		if !l.HasMore {
			break
		}
		after = l.Data[len(l.Data)-1].ID
		if page > 3 {
			t.Fatal("pagination does not end")
		}
	}
	if want := []string{ids[3], ids[2], ids[1], ids[0]}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("listed %v, want %v", listed, want)
	}

	r := ls.do("DELETE", "/v1/collections/"+col.ID, "", nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"deleted":true`) {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	wantAPIError(t, ls.do("GET", "/v1/collections/"+col.ID, "", nil), 404, "not found")
	wantAPIError(t, ls.do("DELETE", "/v1/collections/"+col.ID, "", nil), 404, "not found")
	wantAPIError(t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"cats"}`), 404, "not found")

	// Deleting right after creating stops the indexing run first, so it
	// cannot write the index back after the files are removed.
	fresh := ls.createCollection(`{"model":"glove-100d","documents":` + documentsJSON(testDocs) + `}`)
	if r := ls.do("DELETE", "/v1/collections/"+fresh.ID, "", nil); r.Status != http.StatusOK {
		t.Fatalf("delete while indexing: %d %s", r.Status, r.Body)
	}
	dir, err := ls.srv.Store().Dir(store.KindCollections, fresh.ID)
	if err != nil {
		t.Fatal(err)
	}
	ls.stop() // waits for background work
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("files of a deleted collection remain: %v", err)
	}
}

// A collection created while every indexing slot is taken says at once
// that it waits for one, and is indexed once one is free.
func TestCollectionCreatedQueued(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	posted := `{"model":"glove-100d","documents":[{"id":"a","text":"hello world"}]}`
	if c := ls.createCollection(posted); c.Queued {
		t.Fatalf("created with a slot free: %+v", c)
	}
	release := api.HoldIndexingSlots(ls.srv)
	c := ls.createCollection(posted)
	if !c.Queued || c.Status != "indexing" {
		release()
		t.Fatalf("created with every slot taken: %+v, want queued", c)
	}
	release()
	if got := ls.waitStatus(c.ID, "ready"); got.Queued {
		t.Fatalf("ready and queued: %+v", got)
	}
}

func TestCollectionCreateErrors(t *testing.T) {
	ls := startServer(t, collectionConfig(t)) // at most 20 posted documents
	docs := func(items ...string) string {
		return `{"model":"glove-100d","documents":[` + strings.Join(items, ",") + `]}`
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"d%d","text":"text"}`, i)
	}
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"invalid json", `{"model":`, 400, "invalid JSON"},
		{"unknown field", `{"model":"glove-100d","docs":[]}`, 400, "unknown field"},
		{"no model", `{"documents":[{"id":"a","text":"b"}]}`, 400, `"model" is required`},
		{"unknown model", `{"model":"nope","documents":[{"id":"a","text":"b"}]}`, 404, `model "nope" not found`},
		{"fine-tuned model name", `{"model":"glove-100d:ft-head-aaaaaaaaaaaaaaaaaaaaaaaa","documents":[{"id":"a","text":"b"}]}`, 400,
			`give its encoder and head separately, {"model": "glove-100d", "head": "head-aaaaaaaaaaaaaaaaaaaaaaaa"}`},
		{"neither source", `{"model":"glove-100d"}`, 400, `give "dataset"`},
		{"both sources", `{"model":"glove-100d","dataset":"ds-aaaaaaaaaaaaaaaaaaaaaaaa","documents":[{"id":"a","text":"b"}]}`, 400, "not both"},
		{"empty documents", docs(), 400, "documents is empty"},
		{"empty id", docs(`{"id":"","text":"b"}`), 400, "documents[0].id is empty"},
		{"long id", docs(`{"id":"` + strings.Repeat("x", 257) + `","text":"b"}`), 400, "longer than 256"},
		{"blank id", docs(`{"id":"  ","text":"b"}`), 400, "documents[0].id is empty"},
		{"tab in id", docs(`{"id":"a\tb","text":"b"}`), 400, "documents[0].id contains a tab or line break"},
		{"control in name", `{"model":"glove-100d","name":"a\u0007b","documents":[{"id":"a","text":"b"}]}`, 400, "name contains control characters"},
		{"duplicate id", docs(`{"id":"a","text":"b"}`, `{"id":"c","text":"d"}`, `{"id":"a","text":"e"}`), 400, `documents[2].id "a" repeats documents[0].id`},
		{"empty text", docs(`{"id":"a","text":" "}`), 400, "documents[0].text is empty"},
		{"missing text", docs(`{"id":"a","title":"t"}`), 400, "documents[0].text is missing"},
		{"empty text, not missing", docs(`{"id":"a","text":""}`), 400, "documents[0].text is empty"},
		{"missing id", docs(`{"id":"a","text":"b"}`, `{"text":"c"}`), 400, "documents[1].id is missing"},
		{"bad utf8", docs(`{"id":"a","text":"ok ` + "\xff" + `"}`), 400, "request body is not valid UTF-8 (byte"},
		{"document field", docs(`{"id":"a","text":"b","body":"c"}`), 400, "unknown field"},
		{"too many", docs(many...), 413, "limit is 20"},
		{"malformed head", `{"model":"glove-100d","head":"h1","documents":[{"id":"a","text":"b"}]}`, 400, "not a head id"},
		{"unknown head", `{"model":"glove-100d","head":"head-aaaaaaaaaaaaaaaaaaaaaaaa","documents":[{"id":"a","text":"b"}]}`, 404, "head head-aaaaaaaaaaaaaaaaaaaaaaaa not found"},
		{"malformed dataset", `{"model":"glove-100d","dataset":"../ds"}`, 400, "not a dataset id"},
		{"empty head", `{"model":"glove-100d","head":"","documents":[{"id":"a","text":"b"}]}`, 400, `head "" is not a head id`},
		{"empty dataset", `{"model":"glove-100d","dataset":""}`, 400, `dataset "" is not a dataset id`},
		{"empty dataset beside documents", `{"model":"glove-100d","dataset":"","documents":[{"id":"a","text":"b"}]}`, 400, "not both"},
		{"unknown dataset", `{"model":"glove-100d","dataset":"ds-aaaaaaaaaaaaaaaaaaaaaaaa"}`, 404, "dataset ds-aaaaaaaaaaaaaaaaaaaaaaaa not found"},
		{"long name", `{"model":"glove-100d","name":"` + strings.Repeat("n", 257) + `","documents":[{"id":"a","text":"b"}]}`, 400, "name must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, ls.json("POST", "/v1/collections", tc.body), tc.status, tc.msg)
		})
	}
	// A refused field is named in param, an array's item by its index.
	for body, param := range map[string]string{
		docs(`{"id":"a","text":" "}`):                          "documents[0].text",
		docs(`{"id":"a","title":"t"}`):                         "documents[0].text",
		docs(`{"id":"a","text":"x"}`, `{"id":"a","text":"y"}`): "documents[1].id",
		docs(`{"id":"a","text":"x"}`, `{"text":"y"}`):          "documents[1].id",
		docs(`{"id":"a\tb","text":"x"}`):                       "documents[0].id",
		docs():                                                 "documents",
		`{"model":"glove-100d","name":"a\u0007b","documents":[{"id":"a","text":"b"}]}`: "name",
		`{"model":"glove-100d","head":"h1","documents":[{"id":"a","text":"b"}]}`:       "head",
		// and the field naming a missing object
		`{"model":"nope","documents":[{"id":"a","text":"b"}]}`:                                              "model",
		`{"model":"glove-100d","head":"head-aaaaaaaaaaaaaaaaaaaaaaaa","documents":[{"id":"a","text":"b"}]}`: "head",
		`{"model":"glove-100d","dataset":"ds-aaaaaaaaaaaaaaaaaaaaaaaa"}`:                                    "dataset",
	} {
		if r := ls.json("POST", "/v1/collections", body); !strings.Contains(string(r.Body), `"param":"`+param+`"`) {
			t.Errorf("%s: %d %s, want param %q", body, r.Status, r.Body, param)
		}
	}
	// None of the refused requests left a collection behind.
	if r := ls.do("GET", "/v1/collections", "", nil); !strings.Contains(string(r.Body), `"data":[]`) {
		t.Fatalf("refused requests created collections: %s", r.Body)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=%2B5", "limit=-0", "after=col-1"} {
		wantAPIError(t, ls.do("GET", "/v1/collections?"+q, "", nil), 400, "")
	}
	wantAPIError(t, ls.do("GET", "/v1/collections?limit=1&limit=50", "", nil), 400, `query parameter "limit" is given 2 times`)
	wantParamError(t, ls.do("GET", "/v1/collections?after=col-aaaaaaaaaaaaaaaaaaaaaaaa", "", nil), 400, "after",
		"after: collection col-aaaaaaaaaaaaaaaaaaaaaaaa not found (deleted since that page? list again from the first page)")
	for _, bad := range []string{"..", "col-%2E%2E", "head-aaaaaaaaaaaaaaaaaaaaaaaa"} {
		wantAPIError(t, ls.do("GET", "/v1/collections/"+bad, "", nil), 400, "malformed collection id")
		wantAPIError(t, ls.do("DELETE", "/v1/collections/"+bad, "", nil), 400, "malformed collection id")
	}
}

// TestCollectionUnembeddableDocuments: a document no encoder word matches
// has a zero embedding, which cosine cannot rank. It is left out of dense
// search and named on the collection rather than failing the rest, and
// BM25 still finds it; a collection of nothing but such documents fails
// with a message saying so, and search says so instead of serving an
// empty index.
func TestCollectionUnembeddableDocuments(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	docs := append(testDocs[:2:2], [2]string{"junk", "qqqzzzxx"})
	col := ls.createCollection(`{"model":"glove-100d","documents":` + documentsJSON(docs) + `}`)
	ready := ls.waitStatus(col.ID, "ready")
	if ready.Docs != 3 || ready.Unembeddable == nil || ready.Unembeddable.Docs != 1 || !slices.Equal(ready.Unembeddable.DocIDs, []string{"junk"}) {
		t.Fatalf("collection %+v, unembeddable %+v", ready, ready.Unembeddable)
	}
	res := mustJSON[searchJSON](t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"cats","k":10}`), http.StatusOK)
	if len(res.Data) != 1 || len(res.Data[0].Hits) != 2 {
		t.Fatalf("dense search over the two embeddable documents: %+v", res.Data)
	}
	res = mustJSON[searchJSON](t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"qqqzzzxx","k":10,"mode":"bm25"}`), http.StatusOK)
	if len(res.Data[0].Hits) != 1 || res.Data[0].Hits[0].ID != "junk" {
		t.Fatalf("BM25 search for the unembeddable document: %+v", res.Data)
	}

	col = ls.createCollection(`{"model":"glove-100d","documents":` + documentsJSON([][2]string{{"junk", "qqqzzzxx"}, {"year", "2019"}}) + `}`)
	failed := ls.waitStatus(col.ID, "failed")
	if failed.Error == nil || !strings.Contains(*failed.Error, "no document has a vector") {
		t.Fatalf("failed collection %+v, error %s", failed, deref(failed.Error))
	}
	wantAPIError(t, ls.json("POST", "/v1/collections/"+col.ID+"/search", `{"query":"cats"}`), 409, "failed: no document has a vector")
	// A failed collection can be deleted like any other.
	if r := ls.do("DELETE", "/v1/collections/"+col.ID, "", nil); r.Status != http.StatusOK {
		t.Fatalf("delete failed collection: %d %s", r.Status, r.Body)
	}
}

// TestCollectionReindexIsCached: indexing a corpus the encoder has embedded
// before runs no forward pass, thanks to the shared embedding cache.
func TestCollectionReindexIsCached(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	enc := glove(t, cfg)
	ls.readyCollection(testDocs, "")
	before := enc.Forwards()
	again := ls.readyCollection(testDocs, "")
	if n := enc.Forwards() - before; n != 0 {
		t.Fatalf("re-indexing the same corpus ran %d forward passes", n)
	}
	if res := ls.search(again.ID, `{"query":"spacecraft astronaut","k":1}`); res.Data[0].Hits[0].ID != "rockets" {
		t.Fatalf("search of the re-indexed collection: %+v", res.Data[0].Hits)
	}
}

// TestNamesTrimmedAlike: a collection's name and a dataset's are stored
// the same way, trimmed of surrounding whitespace, so one of only spaces is
// no name (as an empty one is); refusals name the field.
func TestNamesTrimmedAlike(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	fx := newBEIRFixture()
	for sent, want := range map[string]string{"  x  ": "x", "   ": "", "": "", "a  b": "a  b", "\tx\n": "x"} {
		body, _ := json.Marshal(map[string]any{"model": "glove-100d", "name": sent, "documents": []map[string]string{{"id": "a", "text": "b"}}})
		if col := ls.createCollection(string(body)); col.Name != want {
			t.Errorf("collection named %q: stored %q, want %q", sent, col.Name, want)
		}
		ct, upload := multipartBody(t, fx.parts(sent)...)
		if ds := mustJSON[datasetJSON](t, ls.do("POST", "/v1/datasets", ct, upload), http.StatusCreated); ds.Name != want {
			t.Errorf("dataset named %q: stored %q, want %q", sent, ds.Name, want)
		}
	}
	wantParamError(t, ls.json("POST", "/v1/collections", `{"model":"glove-100d","name":" a\u0007b ","documents":[{"id":"a","text":"b"}]}`),
		400, "name", "name contains control characters")
	ct, upload := multipartBody(t, fx.parts(" a\u0007b ")...)
	wantParamError(t, ls.do("POST", "/v1/datasets", ct, upload), 400, "name", "name contains control characters")
}
