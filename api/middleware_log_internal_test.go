package api

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// A long path is cut in the access log: a security probe's 64 KB path made
// a 64 KB log line per request.
func TestAccessLogCutsLongPaths(t *testing.T) {
	var log bytes.Buffer
	e := gin.New()
	e.Use(accessLog(slog.New(slog.NewTextHandler(&log, nil))))
	e.NoRoute(func(c *gin.Context) { notFound(c, "no route") })
	path := "/v1/" + strings.Repeat("x", 5000)
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	line := log.String()
	if len(line) > 2000 || !strings.Contains(line, "(5004 bytes)") {
		t.Errorf("logged %d bytes: %.300s", len(line), line)
	}
}
