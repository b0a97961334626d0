// Package api is retune's HTTP surface (Gin): thin handlers over the model,
// training and store packages, described exactly by openapi.yaml.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"retune/internal/memroom"
	"retune/model"
	"retune/negatives"
	"retune/store"
	"retune/train"
)

// Config holds what the server serves, where it keeps its state and its limits.
type Config struct {
	Models       *model.Registry
	Logger       *slog.Logger
	MaxInputs    int   // texts per embeddings request (default 2048, as OpenAI)
	MaxBodyBytes int64 // JSON request body limit (default 16 MiB)
	// BodyTimeout bounds the reading of a JSON request body (default one
	// minute: 16 MiB at 280 KB/s), so that clients trickling bodies cannot
	// hold connections and handlers for the server's hour-long upload
	// timeout. Uploads have that one.
	BodyTimeout time.Duration

	// Store persists datasets, jobs, events and heads. When nil, New opens
	// one on DataDir and Close closes it; a Store passed in stays the
	// caller's to close.
	Store   *store.Store
	DataDir string

	Workers        int   // fine-tuning jobs run at once, and collections indexed at once (default 1)
	MaxUploadBytes int64 // dataset upload limit (default 1 GiB)
	// CacheDir holds the embedding cache shared by every job and collection
	// (default <data dir>/cache/embeddings), so a text is embedded once per
	// encoder across jobs and restarts.
	CacheDir string
	// CacheKeepBytes bounds each encoder's embedding cache file (0: no
	// bound): one over it is cut to its newest records (see
	// pruneCacheLoop).
	CacheKeepBytes int64
	// LLM is the default chat endpoint for jobs using the causal or naive
	// generator; a job's own "llm" settings override it field by field.
	// Its CacheDir defaults to <data dir>/cache/llm.
	LLM negatives.LLMConfig
	// LLMAllowPrivate lets a job's own llm.base_url reach this machine and
	// loopback, private, link-local and reserved addresses, which are
	// refused by default (negatives.LLMConfig.PublicOnly): a client must not
	// make the server call services on its own network and read their
	// answers back in the job's errors. The server's own endpoint (LLM)
	// always may.
	LLMAllowPrivate bool
	// APIKeys, when non-empty, are the bearer tokens every route but
	// GET /healthz requires (see requireAPIKey).
	APIKeys []string
	// MaxDocuments caps the documents posted to create a collection
	// (default 50000).
	MaxDocuments int
	// LazyCollections leaves ready collections on disk until their first
	// search; by default Start loads them all in the background.
	LazyCollections bool
	// SkipMemoryCheck runs jobs, and indexes and loads collections, whose
	// memory estimate exceeds the memory the server may use (by default
	// refused when submitted or created) or has left (by default failed
	// when they start; a load is refused with a 503).
	SkipMemoryCheck bool
}

// Server is the HTTP API plus the worker pool that runs fine-tuning jobs.
type Server struct {
	// storageWaits holds, by job or collection id, why the end or start
	// of its run waits to be recorded (retryWrite): shown with the object,
	// which the store cannot update meanwhile.
	storageWaits sync.Map
	cfg          Config
	engine       *gin.Engine
	start        time.Time
	log          *slog.Logger
	store        *store.Store
	ownStore     bool
	cache        *train.Cache
	heads        *headCache
	pool         *workerPool
	hub          *eventHub
	cols         *collectionState
	metrics      *serverMetrics
	// memTotal and memRoom are the memory the server may use and has left
	// (memroom's; tests shrink them).
	memTotal, memRoom func() (uint64, bool)
	// ledger admits jobs and collections (indexing, loading) against
	// memRoom one check at a time, less what those admitted hold.
	ledger *memroom.Ledger
	// cachePrune asks pruneCacheLoop for a look (buffered: one pending
	// request is enough).
	cachePrune chan struct{}
	// fusedBuilds holds a slot per fused export being built: each holds
	// the encoder's graph and weights in memory (hundreds of MB), so
	// downloads past the limit wait for a slot instead of adding theirs.
	fusedBuilds chan struct{}
	// ingestSlots does the same for validating uploaded datasets.
	ingestSlots chan struct{}
	// unpacking bounds what the bundles of uploads under way unpack to
	// disk, all together (see unpackPool).
	unpacking unpackPool

	// cuttingOff is set by CutOff, once the shutdown stops waiting for
	// requests in flight.
	cuttingOff atomic.Bool
	// hurry is closed by Hurry: jobs' LLM requests in flight get no more
	// grace (llmStopGrace).
	hurry     chan struct{}
	hurryOnce sync.Once
	// streams is closed by StopStreams to end open event streams.
	streams   chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// How many fused exports are built, and uploaded datasets validated, at
// once: each holds hundreds of MB, an upload several times its size.
const (
	maxFusedBuilds = 2
	maxIngests     = 2
)

// Defaults of the limits in Config.
const (
	defaultMaxInputs      = 2048
	defaultMaxBodyBytes   = 16 << 20
	defaultMaxUploadBytes = 1 << 30
	defaultWorkers        = 1
)

// New builds the server and its routes. Jobs run only after Start.
func New(cfg Config) (*Server, error) {
	if cfg.Models == nil {
		return nil, errors.New("api: Config.Models is required")
	}
	if cfg.MaxInputs <= 0 {
		cfg.MaxInputs = defaultMaxInputs
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = time.Minute
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = defaultMaxUploadBytes
	}
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, own := cfg.Store, false
	if st == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("api: Config.Store or Config.DataDir is required")
		}
		var err error
		if st, err = store.Open(context.Background(), cfg.DataDir); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		own = true
	}
	if err := defaultCacheDirs(&cfg, st); err != nil {
		if own {
			st.Close()
		}
		return nil, err
	}

	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, engine: gin.New(), start: time.Now(), log: cfg.Logger,
		store: st, ownStore: own, cache: train.NewCache(cfg.CacheDir), heads: newHeadCache(),
		pool: newWorkerPool(cfg.Workers), hub: newEventHub(), cols: newCollectionState(cfg.Workers),
		fusedBuilds: make(chan struct{}, maxFusedBuilds), ingestSlots: make(chan struct{}, maxIngests),
		streams: make(chan struct{}), hurry: make(chan struct{}), memTotal: memroom.Total, memRoom: memroom.Room}
	s.unpacking.limit = bundleExpansion * cfg.MaxUploadBytes
	s.ledger = memroom.NewLedger(func() (uint64, bool) { return s.memRoom() })
	s.cachePrune = make(chan struct{}, 1)
	s.metrics = newServerMetrics(metricsGauges{store: st, loadedCollections: s.cols.loadedCount, indexing: s.cols.indexingCount,
		cacheTotals: s.cache.Totals})
	// Metrics outermost, so a recovered panic is counted with its 500; the
	// key check before any body is read.
	s.engine.Use(requestID, s.metrics.middleware(), recoverJSON(cfg.Logger), accessLog(cfg.Logger), s.markCutOff,
		settleBody(cfg.BodyTimeout), requireAPIKey(cfg.APIKeys), checkQuery, identityBodies, limitBody(s.bodyLimit))
	// A path with a trailing slash is a JSON 404 like any unknown route,
	// not gin's HTML 301 (after which many clients resend a POST as GET).
	s.engine.RedirectTrailingSlash = false
	s.engine.NoRoute(func(c *gin.Context) { notFound(c, "no route "+c.Request.Method+" "+c.Request.URL.Path) })
	s.engine.HandleMethodNotAllowed = true
	s.engine.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, codeInvalidRequest, "method "+c.Request.Method+" not allowed on "+c.Request.URL.Path)
	})
	s.routes()
	routes := s.engine.Routes()
	s.metrics.routeOf = func(path string) string { return routePattern(routes, path) }
	return s, nil
}

// The embedding and LLM reply caches' folders inside the data directory's
// cache folder, unless configured elsewhere. The CLI's defaults point at
// the same folders of the default data directory, so the two share them.
const (
	EmbeddingCacheName = "embeddings"
	LLMCacheName       = "llm"
)

// defaultCacheDirs puts the embedding and LLM reply caches in the data
// directory unless configured elsewhere.
func defaultCacheDirs(cfg *Config, st *store.Store) error {
	if cfg.CacheDir == "" {
		dir, err := st.Dir(store.KindCache, EmbeddingCacheName)
		if err != nil {
			return fmt.Errorf("api: embedding cache dir: %w", err)
		}
		cfg.CacheDir = dir
	}
	if cfg.LLM.CacheDir == "" {
		dir, err := st.Dir(store.KindCache, LLMCacheName)
		if err != nil {
			return fmt.Errorf("api: LLM cache dir: %w", err)
		}
		cfg.LLM.CacheDir = dir
	}
	return nil
}

func (s *Server) routes() {
	s.engine.GET("/healthz", s.healthz)
	s.engine.GET("/metrics", s.metrics.handler())
	v1 := s.engine.Group("/v1")
	v1.POST("/embeddings", s.createEmbeddings)
	v1.GET("/models", s.listModels)
	for _, register := range []func(*gin.RouterGroup){s.datasetRoutes, s.jobRoutes, s.headRoutes, s.collectionRoutes} {
		register(v1)
	}
	// HEAD answers wherever GET does, as HTTP requires (monitors probe
	// with it): the GET handler runs and net/http drops the body. An event
	// stream is answered as its JSON page, so HEAD never holds a stream open.
	for _, r := range s.engine.Routes() {
		if r.Method == http.MethodGet {
			get := r.HandlerFunc
			s.engine.HEAD(r.Path, func(c *gin.Context) {
				c.Request.Header.Del("Accept")
				get(c)
			})
		}
	}
}

// bodyLimit is the request body limit of the route c matched: uploads get
// MaxUploadBytes (datasets, heads), everything else MaxBodyBytes.
func (s *Server) bodyLimit(c *gin.Context) (limit int64, timeout time.Duration) {
	if c.Request.Method == http.MethodPost && (c.FullPath() == datasetsPath || c.FullPath() == headsPath) {
		return s.cfg.MaxUploadBytes, 0 // the server's own read timeout
	}
	return s.cfg.MaxBodyBytes, s.cfg.BodyTimeout
}

// Start resumes the jobs a crash or Close interrupted (validating, queued
// and running jobs go back to the queue; a running one continues from its
// last completed stage and epoch), starts the worker pool and resumes
// interrupted collection indexing. Call it before
// serving requests: it also removes dataset and head directories left
// without a database row by a crash mid-upload or mid-delete. Cancelling ctx
// stops the workers like Close does.
func (s *Server) Start(ctx context.Context) error {
	if err := s.sweepOrphans(ctx); err != nil {
		return fmt.Errorf("api: start: %w", err)
	}
	poolCtx, err := s.pool.begin(ctx)
	if err != nil {
		return fmt.Errorf("api: start: %w", err)
	}
	if err := s.requeueUnfinished(ctx); err != nil {
		s.pool.shutdown()
		return fmt.Errorf("api: start: %w", err)
	}
	if err := s.resumeCollections(ctx); err != nil {
		s.pool.shutdown()
		return fmt.Errorf("api: start: %w", err)
	}
	if !s.cfg.LazyCollections {
		s.preloadCollections()
	}
	// What a prune killed mid-write left (the data folder's sweep keeps
	// the cache's temporary files a day: a CLI run may be writing them).
	if freed, err := train.SweepCacheTemps(s.cfg.CacheDir); err != nil {
		s.log.Warn("embedding cache: temporary files of interrupted prunes not removed", "err", err.Error())
	} else if freed > 0 {
		s.log.Info("embedding cache: removed temporary files of interrupted prunes", "bytes", freed)
	}
	if s.cfg.CacheKeepBytes > 0 {
		s.pool.spawn(func() { s.pruneCacheLoop(poolCtx) })
	}
	for range s.cfg.Workers {
		s.pool.spawn(func() { s.work(poolCtx) })
	}
	// The memory the checks of jobs and collections measure against: an
	// operator reading a refusal can tell which limit the server saw.
	total, known := s.memTotal()
	s.log.Info("workers started", "workers", s.cfg.Workers, "memory_limit_bytes", total, "memory_limit_known", known,
		"memory_checks", !s.cfg.SkipMemoryCheck)
	return nil
}

// StopStreams ends open event streams, so an http.Server's Shutdown does
// not wait for them (register it with RegisterOnShutdown). Close calls it.
func (s *Server) StopStreams() {
	s.stopOnce.Do(func() { close(s.streams) })
}

// CutOff records that the HTTP server is about to close the connections
// of requests still running (a shutdown that stopped waiting for them), so
// that they are logged and counted as 503s, not as clients that left.
func (s *Server) CutOff() { s.cuttingOff.Store(true) }

// Hurry ends at once the grace a shutdown gives the LLM requests that
// jobs have in flight (llmStopGrace), as an operator's second stop signal
// asks: Close then interrupts the jobs without waiting for their replies.
func (s *Server) Hurry() { s.hurryOnce.Do(func() { close(s.hurry) }) }

// Drain starts a shutdown: no job or collection indexing run starts from
// now on (each stays queued in the store, for the next start), while those
// running go on until Close interrupts them. A server drains while its
// HTTP server finishes the requests in flight: a job started then would
// only be interrupted, and count one attempt more. A drained server stays
// so: what remains is to Close it.
func (s *Server) Drain() {
	s.pool.drain()
	s.cols.drain()
}

// Close stops the workers and collection indexing and waits for them.
// Running jobs have their context cancelled but keep their running status,
// so the next Start resumes them: a restart loses at most the epoch in
// progress. It ends event streams and closes the store if New opened it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.StopStreams()
		s.pool.shutdown()
		s.cols.close()
		if s.ownStore {
			s.closeErr = s.store.Close()
		}
	})
	return s.closeErr
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists method+path of every route but the HEAD twins of GET
// routes (the OpenAPI test walks them).
func (s *Server) Routes() []gin.RouteInfo {
	var out []gin.RouteInfo
	for _, r := range s.engine.Routes() {
		if r.Method != http.MethodHead {
			out = append(out, r)
		}
	}
	return out
}

// Store is the server's persistence.
func (s *Server) Store() *store.Store { return s.store }
