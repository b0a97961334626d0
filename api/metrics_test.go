package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	ls := startServer(t, collectionConfig(t))
	col := ls.readyCollection(testDocs, "")
	ls.search(col.ID, `{"queries":["spacecraft astronaut","kitten pet"]}`)
	ls.search(col.ID, `{"query":"hot oven","mode":"bm25"}`)
	ls.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":["a","b","c"]}`)
	ls.do("GET", "/v1/collections/col-aaaaaaaaaaaaaaaaaaaaaaaa", "", nil)
	ls.do("GET", "/v1/nothing", "", nil)
	ls.do("POST", "/v1/heads/head-aaaaaaaaaaaaaaaaaaaaaaaa", "", nil)

	// The indexing gauge drops just after the collection shows ready
	// (its worker returns then): wait for it rather than race it.
	var r response
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r = ls.do("GET", "/metrics", "", nil)
		if strings.Contains(string(r.Body), "retune_collections_indexing 0") || time.Now().After(deadline) {
			break
		}
	}
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	body := string(r.Body)
	for _, want := range []string{
		`retune_http_requests_total{method="POST",route="/v1/collections",status="202"} 1`,
		`retune_http_requests_total{method="POST",route="/v1/collections/:id/search",status="200"} 2`,
		`retune_http_requests_total{method="GET",route="/v1/collections/:id",status="404"} 1`,
		`retune_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`retune_http_requests_total{method="POST",route="/v1/heads/:head_id",status="405"} 1`,
		`retune_http_request_duration_seconds_bucket{method="POST",route="/v1/collections/:id/search",status="200",le="+Inf"} 2`,
		`retune_embedded_texts_total{source="index"} 8`,
		`retune_embedded_texts_total{source="query"} 2`,
		`retune_embedded_texts_total{source="embeddings"} 3`,
		`retune_embedding_cache_texts_total{result="miss"} 8`,
		`retune_embedding_cache_texts_total{result="hit"} 0`,
		`retune_search_duration_seconds_count{mode="dense"} 2`,
		`retune_search_duration_seconds_count{mode="bm25"} 1`,
		`retune_collections_loaded 1`,
		`retune_collections_indexing 0`,
		`retune_jobs{status="queued"} 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}
