package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"retune/store"
	"retune/train"
)

// serverMetrics are the Prometheus series GET /metrics exposes. They live in
// a registry of their own rather than the global one, so two servers in one
// process (tests, or an embedding program) never share or clash over series.
type serverMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // route, method, status
	duration *prometheus.HistogramVec // route, method, status
	embedded *prometheus.CounterVec   // source: texts run through an encoder
	search   *prometheus.HistogramVec // mode: one query against one collection
	// routeOf names the route pattern of a path some other method takes,
	// for a 405 (gin leaves FullPath empty then); nil until routes exist.
	routeOf func(path string) string
}

// metricsGauges are read when Prometheus scrapes, so they are never stale
// and cost nothing between scrapes. Any may be nil.
type metricsGauges struct {
	store             *store.Store // jobs by status
	loadedCollections func() int
	indexing          func() int
	cacheTotals       func() train.CacheStats
}

func newServerMetrics(g metricsGauges) *serverMetrics {
	m := &serverMetrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retune_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "retune_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14), // 0.5 ms .. ~75 s
		}, []string{"route", "method", "status"}),
		embedded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retune_embedded_texts_total",
			Help: "Texts run through an encoder, by what they were embedded for (index: collection documents missing from the cache; query: search queries; embeddings: POST /v1/embeddings inputs). Fine-tuning jobs' texts count among retune_embedding_cache_texts_total{result=\"miss\"}, with collections' and the CLI's in the same cache.",
		}, []string{"source"}),
		search: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "retune_search_duration_seconds",
			Help:    "Time until one query's ranking against one collection is ready (embedding excluded; the queries of one request are ranked together, and each counts the batch's time), by mode.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 12), // 50 µs .. ~0.5 s
		}, []string{"mode"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.embedded, m.search,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if g.loadedCollections != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "retune_collections_loaded",
			Help: "Collections held in memory, ready to search.",
		}, func() float64 { return float64(g.loadedCollections()) }))
	}
	if g.indexing != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "retune_collections_indexing",
			Help: "Collections this process is indexing right now.",
		}, func() float64 { return float64(g.indexing()) }))
	}
	if g.cacheTotals != nil {
		for _, r := range []struct {
			result string
			count  func(train.CacheStats) int
		}{{"hit", func(s train.CacheStats) int { return s.Hits }}, {"miss", func(s train.CacheStats) int { return s.Misses }}} {
			m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "retune_embedding_cache_texts_total",
				Help:        "Texts looked up in the persistent embedding cache (jobs' datasets and collections' documents), by result: a miss runs the encoder.",
				ConstLabels: prometheus.Labels{"result": r.result},
			}, func() float64 { return float64(r.count(g.cacheTotals())) }))
		}
	}
	if g.store != nil {
		m.registry.MustRegister(&jobsCollector{store: g.store, desc: prometheus.NewDesc("retune_jobs",
			"Fine-tuning jobs not yet finished, by status.", []string{"status"}, nil)})
	}
	return m
}

// middleware counts and times every request. It must run outside
// recoverJSON so that a recovered panic is counted with its 500.
func (m *serverMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		// The route pattern, not the URL, keeps ids out of the labels; the
		// method is normalised because clients can send any token there.
		route := c.FullPath()
		if route == "" && c.Writer.Status() == http.StatusMethodNotAllowed && m.routeOf != nil {
			route = m.routeOf(c.Request.URL.Path)
		}
		if route == "" {
			route = "unmatched"
		}
		labels := []string{route, metricMethod(c.Request.Method), strconv.Itoa(finalStatus(c))}
		m.requests.WithLabelValues(labels...).Inc()
		m.duration.WithLabelValues(labels...).Observe(time.Since(start).Seconds())
	}
}

// routePattern returns the pattern among routes ("/v1/heads/:head_id")
// that path matches, or "".
func routePattern(routes gin.RoutesInfo, path string) string {
	segs := strings.Split(path, "/")
	for _, r := range routes {
		pat := strings.Split(r.Path, "/")
		if len(pat) != len(segs) {
			continue
		}
		ok := true
		for i, p := range pat {
			if p != segs[i] && !(strings.HasPrefix(p, ":") && segs[i] != "") {
				ok = false
				break
			}
		}
		if ok {
			return r.Path
		}
	}
	return ""
}

func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// countEmbedded records n texts run through an encoder for source
// ("index", "query", "embeddings").
func (s *Server) countEmbedded(source string, n int) {
	s.metrics.embedded.WithLabelValues(source).Add(float64(n))
}

// handler serves the Prometheus text format. ContinueOnError keeps the
// other series visible when one collector (the jobs query) fails.
func (m *serverMetrics) handler() gin.HandlerFunc {
	return gin.WrapH(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// jobsCollector reports unfinished jobs by status from the store at scrape
// time. Only unfinished jobs are counted: that list is short by nature,
// whereas finished jobs accumulate without bound and would make every
// scrape a table scan.
type jobsCollector struct {
	store *store.Store
	desc  *prometheus.Desc
}

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- j.desc }

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	jobs, err := j.store.UnfinishedJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(j.desc, err)
		return
	}
	counts := map[string]int{store.JobValidating: 0, store.JobQueued: 0, store.JobRunning: 0}
	for _, job := range jobs {
		counts[job.Status]++
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(j.desc, prometheus.GaugeValue, float64(n), status)
	}
}
