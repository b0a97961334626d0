package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBenchURLLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:1", "https://[::1]:8443", "http://127.5.0.1"} {
		if _, err := benchURL(ok, false); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://example.com", "http://10.0.0.1:8080", "http://localhost.example.com", "http://0.0.0.0:8080"} {
		if _, err := benchURL(bad, false); err == nil || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("%s accepted without --allow-remote (err %v)", bad, err)
		}
		if _, err := benchURL(bad, true); err != nil {
			t.Errorf("%s refused with --allow-remote: %v", bad, err)
		}
	}
	for _, bad := range []string{"ftp://127.0.0.1", "127.0.0.1:8080", "http://"} {
		if _, err := benchURL(bad, true); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	got := summarise(ms)
	if got.P50 != 5 || got.P95 != 10 || got.P99 != 10 || got.Max != 10 || got.Mean != 5.5 {
		t.Fatalf("summarise = %+v", got)
	}
	if p := percentile([]float64{1, 2, 3, 4}, 25); p != 1 {
		t.Fatalf("p25 of 1..4 = %g, want 1 (nearest rank)", p)
	}
	if (summarise(nil) != benchLatencies{}) {
		t.Fatal("empty input")
	}
}

// TestSearchBenchRun drives a fake server: every request is counted once,
// failures are errors with the first one reported, and no more than
// --concurrency requests are ever in flight.
func TestSearchBenchRun(t *testing.T) {
	var inFlight, peak, served atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		var body struct {
			Query string `json:"query"`
			K     int    `json:"k"`
		}
		if r.URL.Path != "/v1/collections/col-x/search" || r.Header.Get("Authorization") != "Bearer secret" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || body.K != 5 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		time.Sleep(time.Millisecond)
		if served.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"object":"list"}`))
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	b := searchBench{base: base, collection: "col-x", apiKey: "secret", mode: "dense", k: 5, concurrency: 8,
		requests: 200, warmup: 0, queries: []string{"a", "b", "c"}, maxDuration: time.Minute}
	res, err := b.run(context.Background(), ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.OK != 180 || res.Errors != 20 || res.StoppedEarly {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.FirstError, "status 500") {
		t.Fatalf("first error %q", res.FirstError)
	}
	if p := peak.Load(); p > 8 || p < 2 {
		t.Fatalf("peak in-flight %d with concurrency 8", p)
	}
	if res.LatencyMS.P50 < 1 || res.LatencyMS.P99 < res.LatencyMS.P50 || res.RequestsPS <= 0 {
		t.Fatalf("latencies %+v, rps %g", res.LatencyMS, res.RequestsPS)
	}

	// A deadline stops the run early instead of hanging.
	b.requests, b.maxDuration = 1_000_000, 50*time.Millisecond
	res, err = b.run(context.Background(), ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || res.Requests >= 1_000_000 || res.Requests != res.OK+res.Errors {
		t.Fatalf("deadline run %+v", res)
	}
}

// TestSearchBenchPerRequest: with --per-request n each request carries n
// consecutive queries as "queries", cycling through the list; with 1 it
// sends "query".
func TestSearchBenchPerRequest(t *testing.T) {
	var mu sync.Mutex
	var seen [][]string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query   *string  `json:"query"`
			Queries []string `json:"queries"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		qs := body.Queries
		if body.Query != nil {
			qs = []string{*body.Query}
		}
		mu.Lock()
		seen = append(seen, qs)
		mu.Unlock()
		w.Write([]byte(`{"object":"list"}`))
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	for _, tc := range []struct {
		per  int
		want [][]string
	}{
		{1, [][]string{{"a"}, {"b"}, {"c"}, {"a"}}},
		{2, [][]string{{"a", "b"}, {"c", "a"}, {"b", "c"}, {"a", "b"}}},
	} {
		seen = nil
		b := searchBench{base: base, collection: "col-x", mode: "dense", k: 5, perRequest: tc.per, concurrency: 1,
			requests: 4, queries: []string{"a", "b", "c"}, maxDuration: time.Minute}
		res, err := b.run(context.Background(), ts.Client())
		if err != nil || res.OK != 4 || res.PerRequest != tc.per {
			t.Fatalf("per-request %d: %+v, %v", tc.per, res, err)
		}
		if !reflect.DeepEqual(seen, tc.want) {
			t.Errorf("per-request %d: sent %v, want %v", tc.per, seen, tc.want)
		}
	}
}
