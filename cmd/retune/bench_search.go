package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"retune/dataset"
)

// Bounds of `retune bench search`: a benchmark is a measurement, so it must
// not be usable as an open-ended load generator by accident.
const (
	benchMaxRequests    = 1_000_000
	benchMaxConcurrency = 1024
)

// searchBench is what `retune bench search` measures against a running
// server: it starts nothing itself, it only sends requests.
type searchBench struct {
	base        *url.URL
	collection  string
	apiKey      string
	mode        string
	k           int
	perRequest  int // queries per request
	concurrency int
	requests    int
	warmup      int
	queries     []string
	maxDuration time.Duration
}

type searchBenchResult struct {
	URL          string         `json:"url"`
	Collection   string         `json:"collection"`
	Mode         string         `json:"mode"`
	K            int            `json:"k"`
	PerRequest   int            `json:"queries_per_request"`
	Concurrency  int            `json:"concurrency"`
	Queries      int            `json:"distinct_queries"`
	QuerySource  string         `json:"query_source"`
	Requests     int            `json:"requests"` // sent, after warm-up
	OK           int            `json:"ok"`
	Errors       int            `json:"errors"`
	FirstError   string         `json:"first_error,omitempty"`
	StoppedEarly bool           `json:"stopped_early"` // --max-duration or a signal ended the run
	DurationS    float64        `json:"duration_s"`
	RequestsPS   float64        `json:"requests_per_s"`
	LatencyMS    benchLatencies `json:"latency_ms"` // successful requests only
}

type benchLatencies struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// benchSearch measures search latency and throughput of a collection on a
// running server with concurrent POST /v1/collections/{id}/search calls.
func benchSearch(ctx context.Context, args []string) error {
	fs := newFlags("bench search", "--collection ID [--url URL] [--concurrency C] [--requests N]",
		"Sends concurrent searches to a collection of a running server and prints latency percentiles and throughput.")
	rawURL := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	collection := fs.String("collection", "", "collection id to search (required)")
	concurrency := fs.Int("concurrency", 50, "requests in flight at once")
	requests := fs.Int("requests", 2000, fmt.Sprintf("requests to send after warm-up (at most %d)", benchMaxRequests))
	warmup := fs.Int("warmup", 1, "requests sent one by one first and not measured (the first search loads the collection)")
	k := fs.Int("k", 10, "hits per query")
	perRequest := fs.Int("per-request", 1, "queries per request (sent as \"queries\" when more than 1; at most 64)")
	mode := fs.String("mode", "dense", "dense, bm25 or hybrid")
	queriesFile := fs.String("queries", "", "file with one query per line")
	beirDir := fs.String("beir", "", "BEIR folder whose queries.jsonl to use (default: shared SciFact when present)")
	maxDuration := fs.Duration("max-duration", 5*time.Minute, "stop sending after this long")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --url")
	apiKey := hiddenFlag(fs, "api-key", os.Getenv("RETUNE_API_KEY"), "bearer `key` when the server requires one (default $RETUNE_API_KEY)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := benchURL(*rawURL, *allowRemote)
	if err != nil {
		return usageError{err}
	}
	switch {
	case *collection == "":
		return usageError{errors.New("--collection is required")}
	case *concurrency < 1 || *concurrency > benchMaxConcurrency:
		return usageError{fmt.Errorf("--concurrency %d must be in [1, %d]", *concurrency, benchMaxConcurrency)}
	case *requests < 1 || *requests > benchMaxRequests:
		return usageError{fmt.Errorf("--requests %d must be in [1, %d]", *requests, benchMaxRequests)}
	case *perRequest < 1 || *perRequest > 64:
		return usageError{fmt.Errorf("--per-request %d must be in [1, 64]", *perRequest)}
	case *warmup < 0 || *warmup > 1000:
		return usageError{fmt.Errorf("--warmup %d must be in [0, 1000]", *warmup)}
	case *maxDuration <= 0:
		return usageError{errors.New("--max-duration must be positive")}
	case *k < 1 || *k > 1000:
		return usageError{fmt.Errorf("--k %d must be in [1, 1000]", *k)}
	case *mode != "dense" && *mode != "bm25" && *mode != "hybrid":
		return usageError{fmt.Errorf("--mode %q must be dense, bm25 or hybrid", *mode)}
	case *queriesFile != "" && *beirDir != "":
		return usageError{errors.New("give --queries or --beir, not both")}
	}
	queries, source, err := benchQueries(*queriesFile, *beirDir)
	if err != nil {
		return err
	}
	b := searchBench{base: base, collection: *collection, apiKey: apiKey.Get(), mode: *mode, k: *k, perRequest: *perRequest,
		concurrency: *concurrency, requests: *requests, warmup: *warmup, queries: queries, maxDuration: *maxDuration}
	res, err := b.run(ctx, &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency, MaxConnsPerHost: *concurrency},
	})
	if err != nil {
		return err
	}
	res.QuerySource = source
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// benchURL parses the server URL and refuses hosts other than loopback
// unless allowed: hammering someone else's server should take a decision.
// Host names other than "localhost" are refused rather than resolved,
// since a name can resolve to anything.
func benchURL(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, usageError{fmt.Errorf("--url %q: want http(s)://host[:port]", raw)}
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return u, nil
	}
	return nil, fmt.Errorf("--url host %q is not loopback; pass --allow-remote to benchmark another machine", host)
}

// benchQueries reads queries from a text file (one per line), a BEIR
// folder's queries.jsonl, or the shared SciFact queries.
func benchQueries(file, beir string) ([]string, string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		var qs []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if q := strings.TrimSpace(sc.Text()); q != "" {
				qs = append(qs, q)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, "", fmt.Errorf("read %s: %w", file, err)
		}
		if len(qs) == 0 {
			return nil, "", fmt.Errorf("%s holds no queries", file)
		}
		return qs, file, nil
	}
	if beir == "" {
		dir, ok := dataset.FindSharedDataset("scifact")
		if !ok {
			return nil, "", errors.New("no queries: give --queries FILE or --beir DIR")
		}
		beir = dir
	}
	f, err := os.Open(filepath.Join(beir, "queries.jsonl"))
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	qs, err := dataset.ReadQueries(f)
	if err != nil {
		return nil, "", err
	}
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Text
	}
	return texts, filepath.Join(beir, "queries.jsonl"), nil
}

// run sends the warm-up requests one at a time, then b.requests requests
// from b.concurrency workers, cycling through the queries.
func (b searchBench) run(ctx context.Context, client *http.Client) (searchBenchResult, error) {
	endpoint := b.base.JoinPath("v1", "collections", b.collection, "search").String()
	res := searchBenchResult{URL: b.base.String(), Collection: b.collection, Mode: b.mode, K: b.k,
		PerRequest: max(b.perRequest, 1), Concurrency: b.concurrency, Queries: len(b.queries)}
	for i := range b.warmup {
		if err := b.search(ctx, client, endpoint, b.request(i)); err != nil {
			return res, fmt.Errorf("warm-up request: %w", err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, b.maxDuration)
	defer cancel()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]float64, 0, b.requests)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range b.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= b.requests {
					return
				}
				t := time.Now()
				err := b.search(ctx, client, endpoint, b.request(b.warmup+i))
				ms := float64(time.Since(t).Microseconds()) / 1000
				if err != nil && ctx.Err() != nil {
					return // cut off by the deadline or a signal: not the server's error
				}
				mu.Lock()
				res.Requests++
				if err != nil {
					res.Errors++
					if res.FirstError == "" {
						res.FirstError = err.Error()
					}
				} else {
					res.OK++
					latencies = append(latencies, ms)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.StoppedEarly = res.Requests < b.requests
	res.DurationS = elapsed.Seconds()
	res.RequestsPS = float64(res.Requests) / elapsed.Seconds()
	res.LatencyMS = summarise(latencies)
	return res, nil
}

// request returns the queries of request i, cycling through b.queries.
func (b searchBench) request(i int) []string {
	n := max(b.perRequest, 1)
	qs := make([]string, n)
	for j := range qs {
		qs[j] = b.queries[(i*n+j)%len(b.queries)]
	}
	return qs
}

// search sends one request and drains the response, so the connection is
// reused and the measured time includes reading the whole body.
func (b searchBench) search(ctx context.Context, client *http.Client, endpoint string, queries []string) error {
	payload := map[string]any{"k": b.k, "mode": b.mode}
	if len(queries) == 1 {
		payload["query"] = queries[0]
	} else {
		payload["queries"] = queries
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, out)
	}
	return nil
}

// summarise gives nearest-rank percentiles of the latencies (ms).
func summarise(ms []float64) benchLatencies {
	if len(ms) == 0 {
		return benchLatencies{}
	}
	slices.Sort(ms)
	sum := 0.0
	for _, x := range ms {
		sum += x
	}
	return benchLatencies{P50: percentile(ms, 50), P95: percentile(ms, 95), P99: percentile(ms, 99),
		Max: ms[len(ms)-1], Mean: sum / float64(len(ms))}
}

// percentile is the nearest-rank p-th percentile of sorted values: the
// smallest value with at least p% of the values at or below it.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
