// Package api is retune's HTTP surface (Gin): thin handlers over the model,
// training and store packages, described exactly by openapi.yaml.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"retune/model"
)

// Config holds what the server serves and its limits.
type Config struct {
	Models       *model.Registry
	Logger       *slog.Logger
	MaxInputs    int   // texts per embeddings request (default 2048, as OpenAI)
	MaxBodyBytes int64 // request body limit (default 16 MiB)
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	engine *gin.Engine
	start  time.Time
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.MaxInputs <= 0 {
		cfg.MaxInputs = 2048
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, engine: gin.New(), start: time.Now()}
	s.engine.Use(recoverJSON(cfg.Logger), accessLog(cfg.Logger), limitBody(cfg.MaxBodyBytes))
	s.engine.NoRoute(func(c *gin.Context) { notFound(c, "no route "+c.Request.Method+" "+c.Request.URL.Path) })
	s.engine.HandleMethodNotAllowed = true
	s.engine.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, codeInvalidRequest, "method "+c.Request.Method+" not allowed on "+c.Request.URL.Path)
	})
	s.routes()
	return s
}

func (s *Server) routes() {
	s.engine.GET("/healthz", s.healthz)
	v1 := s.engine.Group("/v1")
	v1.POST("/embeddings", s.createEmbeddings)
	v1.GET("/models", s.listModels)
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists method+path of every route (the OpenAPI test walks them).
func (s *Server) Routes() []gin.RouteInfo { return s.engine.Routes() }
