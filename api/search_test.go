package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSearchModes(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	col := ls.readyCollection(testDocs, "")
	if col.Docs != len(testDocs) || col.Progress != 1 || col.Error != nil {
		t.Fatalf("ready collection %+v", col)
	}

	// Dense: no word in common with the right document, found by meaning.
	res := ls.search(col.ID, `{"query":"spacecraft astronaut","k":3}`)
	if res.Object != "list" || res.Model != "glove-100d" || res.Mode != "dense" || len(res.Data) != 1 {
		t.Fatalf("dense response %+v", res)
	}
	hits := res.Data[0].Hits
	if len(hits) != 3 || hits[0].ID != "rockets" || hits[0].DenseRank != 1 || hits[0].BM25Score != nil ||
		hits[0].DenseScore == nil || *hits[0].DenseScore != hits[0].Score || hits[0].Text != testDocs[1][1] {
		t.Fatalf("dense hits %+v", hits)
	}
	if !(hits[0].Score > hits[1].Score && hits[1].Score >= hits[2].Score) {
		t.Fatalf("dense hits not best first: %+v", hits)
	}

	// BM25 matches words only: the same query finds nothing, "oven" finds bread.
	if res := ls.search(col.ID, `{"query":"spacecraft astronaut","mode":"bm25"}`); len(res.Data[0].Hits) != 0 {
		t.Fatalf("bm25 without shared terms returned %+v", res.Data[0].Hits)
	}
	res = ls.search(col.ID, `{"query":"hot oven","mode":"bm25"}`)
	hits = res.Data[0].Hits
	if res.Mode != "bm25" || len(hits) != 1 || hits[0].ID != "bread" || hits[0].BM25Rank != 1 || hits[0].DenseScore != nil {
		t.Fatalf("bm25 hits %+v", hits)
	}

	// Hybrid RRF: first in both lists, so 2/(60+1); other candidates come
	// from the dense list only.
	res = ls.search(col.ID, `{"query":"lava volcano eruption","mode":"hybrid","k":4}`)
	hits = res.Data[0].Hits
	if len(hits) != 4 || hits[0].ID != "volcano" || hits[0].DenseRank != 1 || hits[0].BM25Rank != 1 ||
		math.Abs(hits[0].Score-2.0/61) > 1e-12 || math.Abs(hits[1].Score-1.0/62) > 1e-12 {
		t.Fatalf("hybrid rrf hits %+v", hits)
	}
	// rrf_k changes the constant.
	res = ls.search(col.ID, `{"query":"lava volcano eruption","mode":"hybrid","rrf_k":10}`)
	if h := res.Data[0].Hits[0]; h.ID != "volcano" || math.Abs(h.Score-2.0/11) > 1e-12 {
		t.Fatalf("hybrid rrf_k=10 top hit %+v", h)
	}
	// Score fusion: top of both normalised lists scores alpha·1 + (1−alpha)·1.
	res = ls.search(col.ID, `{"query":"lava volcano eruption","mode":"hybrid","fusion":"score","alpha":0.7}`)
	hits = res.Data[0].Hits
	if hits[0].ID != "volcano" || math.Abs(hits[0].Score-1) > 1e-9 || hits[0].BM25Score == nil || hits[0].DenseScore == nil {
		t.Fatalf("hybrid score hits %+v", hits)
	}
	// The runner-up is only in the dense list: alpha · its min-max dense score.
	d := *hits[1].DenseScore
	lo := *hits[len(hits)-1].DenseScore // k=10 > 8 docs: every document is a dense candidate
	want := 0.7 * (d - lo) / (*hits[0].DenseScore - lo)
	if hits[1].BM25Score != nil || math.Abs(hits[1].Score-want) > 1e-9 {
		t.Fatalf("score fusion runner-up %+v, want score %g", hits[1], want)
	}
}

func TestSearchBatchAndK(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	col := ls.readyCollection(testDocs, "")

	res := ls.search(col.ID, `{"queries":["kitten pet","wall street trading","storm weather"],"k":1}`)
	if len(res.Data) != 3 {
		t.Fatalf("batch returned %d results", len(res.Data))
	}
	for i, want := range []string{"cats", "stocks", "rain"} {
		if d := res.Data[i]; len(d.Hits) != 1 || d.Hits[0].ID != want || d.Query != []string{"kitten pet", "wall street trading", "storm weather"}[i] {
			t.Fatalf("batch result %d: %+v, want top %s", i, d, want)
		}
	}
	// k above the corpus size returns every document once.
	res = ls.search(col.ID, `{"query":"music","k":1000}`)
	ids := topIDs(res.Data[0].Hits)
	slices.Sort(ids)
	if len(ids) != len(testDocs) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("k=1000 over %d docs returned %v", len(testDocs), ids)
	}
	// include_text false gives the same hits without their text.
	bare := ls.search(col.ID, `{"query":"music","k":1000,"include_text":false}`)
	for i, h := range bare.Data[0].Hits {
		if full := res.Data[0].Hits[i]; h.ID != full.ID || h.Score != full.Score || h.Text != "" || full.Text == "" {
			t.Fatalf("hit %d without text %+v, with text %+v", i, h, full)
		}
	}
	// The default k is 10 (all 8 here); a batch of 64 queries is allowed.
	if res := ls.search(col.ID, `{"queries":`+fmtQueries(64)+`}`); len(res.Data) != 64 || len(res.Data[63].Hits) != len(testDocs) {
		t.Fatalf("64 queries: %d results", len(res.Data))
	}
}

func TestSearchErrors(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	col := ls.readyCollection(testDocs, "")
	path := "/v1/collections/" + col.ID + "/search"
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"neither", `{"k":3}`, 400, `"query" (a string) or "queries"`},
		{"both", `{"query":"a","queries":["b"]}`, 400, "not both"},
		{"empty query", `{"query":"  "}`, 400, "query is empty"},
		{"empty batch item", `{"queries":["ok",""]}`, 400, "queries[1] is empty"},
		{"null batch item", `{"queries":["ok",null]}`, 400, `"queries[1]" is null`},
		{"number batch item", `{"queries":["ok",5]}`, 400, `field "queries[1]" must be a string, not number`},
		{"empty batch", `{"queries":[]}`, 400, "queries is empty"},
		{"too many queries", `{"queries":` + fmtQueries(65) + `}`, 413, "limit is 64"},
		{"k zero", `{"query":"a","k":0}`, 400, "k=0 must be in [1, 1000]"},
		{"k too big", `{"query":"a","k":1001}`, 400, "k=1001"},
		{"k not int", `{"query":"a","k":"ten"}`, 400, `"k"`},
		{"k below float64's range", `{"query":"a","k":1e-400}`, 400, `field "k" must be an integer, not number 1e-400`},
		{"k close to an integer", `{"query":"a","k":1.0000000000000000001}`, 400, `field "k" must be an integer, not number 1.0000000000000000001`},
		{"k beyond int64", `{"query":"a","k":1e400}`, 400, `field "k": number 1e400 is out of range`},
		{"k beyond int64, in digits", `{"query":"a","k":9223372036854775808}`, 400, `field "k": number 9223372036854775808 is out of range`},
		{"bad mode", `{"query":"a","mode":"sparse"}`, 400, `mode "sparse"`},
		{"bad fusion", `{"query":"a","mode":"hybrid","fusion":"max"}`, 400, `fusion "max"`},
		{"alpha without score fusion", `{"query":"a","mode":"hybrid","alpha":0.5}`, 400, `alpha applies to "fusion": "score"`},
		{"alpha zero", `{"query":"a","mode":"hybrid","fusion":"score","alpha":0}`, 400, "alpha=0 must be in (0, 1]"},
		{"alpha above one", `{"query":"a","mode":"hybrid","fusion":"score","alpha":1.5}`, 400, "alpha=1.5"},
		{"rrf_k zero", `{"query":"a","mode":"hybrid","rrf_k":0}`, 400, "rrf_k=0"},
		{"empty mode", `{"query":"a","mode":""}`, 400, `mode "" must be "dense", "bm25" or "hybrid" (or left out: dense)`},
		{"empty fusion", `{"query":"a","mode":"hybrid","fusion":""}`, 400, `fusion "" must be "rrf" or "score"`},
		{"empty head", `{"query":"a","head":""}`, 400, `head "" is not a head id`},
		{"rrf_k huge", `{"query":"a","mode":"hybrid","rrf_k":9223372036854775807}`, 400, "must be an integer in [1, 1000000]"},
		{"rrf_k with score fusion", `{"query":"a","mode":"hybrid","fusion":"score","rrf_k":5}`, 400, `rrf_k applies to "fusion": "rrf"`},
		{"fusion outside hybrid", `{"query":"a","mode":"dense","fusion":"score"}`, 400, `fusion, alpha and rrf_k apply to "mode": "hybrid" only (mode is "dense")`},
		{"rrf_k with the default mode", `{"query":"a","rrf_k":5}`, 400, `apply to "mode": "hybrid" only`},
		{"malformed head", `{"query":"a","head":"../x"}`, 400, "not a head id"},
		{"head in bm25 mode", `{"query":"a","mode":"bm25","head":"head-aaaaaaaaaaaaaaaaaaaaaaaa"}`, 400, `head applies to dense and hybrid search only (mode is "bm25")`},
		{"unknown head", `{"query":"a","head":"head-aaaaaaaaaaaaaaaaaaaaaaaa"}`, 404, "head head-aaaaaaaaaaaaaaaaaaaaaaaa not found"},
		{"unknown field", `{"query":"a","top_k":3}`, 400, "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, ls.json("POST", path, tc.body), tc.status, tc.msg)
		})
	}
	wantParamError(t, ls.json("POST", path, `{"query":"a","head":"head-aaaaaaaaaaaaaaaaaaaaaaaa"}`), 404, "head", "not found")
	// A query no encoder word matches still works lexically.
	if res := ls.search(col.ID, `{"query":"qqqzzzxx","mode":"bm25"}`); len(res.Data[0].Hits) != 0 {
		t.Fatalf("bm25 of an unknown word: %+v", res.Data[0].Hits)
	}
	wantAPIError(t, ls.json("POST", "/v1/collections/col-aaaaaaaaaaaaaaaaaaaaaaaa/search", `{"query":"a"}`), 404, "not found")
	for _, bad := range []string{"..", "col-AAAAAAAAAAAAAAAAAAAAAAAA", "ds-aaaaaaaaaaaaaaaaaaaaaaaa"} {
		wantAPIError(t, ls.json("POST", "/v1/collections/"+bad+"/search", `{"query":"a"}`), 400, "malformed collection id")
	}
	wantAPIError(t, ls.do("POST", path, "text/plain", []byte(`{"query":"a"}`)), 415, "application/json")
	for body, param := range map[string]string{`{"query":"a","k":0}`: "k", `{"query":"a","mode":"x"}`: "mode", `{"queries":["a",""]}`: "queries[1]",
		`{"queries":[" "]}`: "queries[0]", `{"query":" "}`: "query", `{"queries":[]}`: "queries"} {
		if r := ls.json("POST", path, body); !strings.Contains(string(r.Body), `"param":"`+param+`"`) {
			t.Errorf("%s: %s, want param %q", body, r.Body, param)
		}
	}
	if r := ls.do("POST", path, "Application/JSON; charset=UTF-8", []byte(`{"query":"bread oven"}`)); r.Status != 200 {
		t.Fatalf("media types are case-insensitive: %d %s", r.Status, r.Body)
	}
}

// A query the encoder knows no token of ("2019": glove-100d has no numbers)
// cannot be ranked by meaning: hybrid search ranks it by BM25 alone, dense
// search returns no hits, both say why, and its neighbours in the batch are
// searched as usual.
func TestSearchHybridUnembeddableQuery(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	docs := append(slices.Clone(testDocs), [2]string{"report", "The annual report for 2019 was published late."})
	col := ls.readyCollection(docs, "")
	res := ls.search(col.ID, `{"queries":["2019","bread oven"],"mode":"hybrid","k":3}`)
	if d := res.Data[0]; !d.Unembeddable || len(d.Hits) != 1 || d.Hits[0].ID != "report" || d.Hits[0].DenseScore != nil || d.Hits[0].BM25Rank != 1 {
		t.Fatalf("hybrid search of a number: %+v", d)
	}
	if d := res.Data[1]; d.Unembeddable || len(d.Hits) != 3 || d.Hits[0].ID != "bread" || d.Hits[0].DenseRank == 0 {
		t.Fatalf("its neighbour in the batch: %+v", d)
	}
	// Dense search has nothing to rank it by: no hits, flagged, and the
	// batch's other queries answered.
	res = ls.search(col.ID, `{"queries":["qqqzzzxx","bread oven","2019"],"k":2}`)
	for i, want := range []bool{true, false, true} {
		if d := res.Data[i]; d.Unembeddable != want || (len(d.Hits) == 0) != want {
			t.Fatalf("dense batch, query %d: %+v; want unembeddable %v", i, d, want)
		}
	}
}

// TestSearchConcurrent runs 50 clients × 20 searches, in every mode, on a
// collection none of them has loaded yet (the server was restarted), so
// the lazy load, the encoder and the index are all shared under -race.
func TestSearchConcurrent(t *testing.T) {
	cfg := collectionConfig(t)
	ls := startServer(t, cfg)
	col := ls.readyCollection(testDocs, "")
	ls.stop()
	ls = startServer(t, cfg)

	type probe struct{ body, top string }
	probes := []probe{
		{`{"query":"spacecraft astronaut","k":2}`, "rockets"},
		{`{"query":"hot oven","mode":"bm25"}`, "bread"},
		{`{"query":"lava volcano eruption","mode":"hybrid"}`, "volcano"},
		{`{"query":"lava volcano eruption","mode":"hybrid","fusion":"score","alpha":0.3}`, "volcano"},
		{`{"queries":["kitten pet","symphony music"],"k":1}`, "cats"},
	}
	const clients, perClient = 50, 20
	url := ls.base + "/v1/collections/" + col.ID + "/search"
	errs := make(chan error, clients*perClient)
	var wg sync.WaitGroup
	for g := range clients {
		wg.Go(func() {
			for i := range perClient {
				p := probes[(g+i)%len(probes)]
				if err := searchOnce(url, p.body, p.top); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d concurrent searches failed", n, clients*perClient)
	}
}

// searchOnce is a goroutine-safe search (the spec client fails the test
// from its own goroutine only).
func searchOnce(url, body, top string) error {
	res, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", body, res.StatusCode)
	}
	var out searchJSON
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("%s: %w", body, err)
	}
	if len(out.Data) == 0 || len(out.Data[0].Hits) == 0 || out.Data[0].Hits[0].ID != top {
		return fmt.Errorf("%s: top hit %+v, want %s", body, out.Data, top)
	}
	return nil
}
