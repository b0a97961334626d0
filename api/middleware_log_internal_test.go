package api

import (
	"bytes"
	"context"
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

// Each line names the peer (without its port) and the body's size.
func TestAccessLogNamesPeerAndSize(t *testing.T) {
	var log bytes.Buffer
	e := gin.New()
	e.Use(accessLog(slog.New(slog.NewTextHandler(&log, nil))))
	e.GET("/x", func(c *gin.Context) { c.String(200, "hello") })
	e.GET("/empty", func(c *gin.Context) { c.Status(204) })
	for path, want := range map[string]string{"/x": "bytes=5 client=192.0.2.1 ", "/empty": "bytes=0 client=192.0.2.1 "} {
		log.Reset()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		if !strings.Contains(log.String(), want) {
			t.Errorf("%s: logged %s, want %q in it", path, log.String(), want)
		}
	}
}

// A request left unanswered when its context ends is a 499 (its client
// left), unless the server's shutdown was cutting requests off: a 503.
func TestAccessLogCutOffIs503(t *testing.T) {
	for _, cutting := range []bool{false, true} {
		var log bytes.Buffer
		s := &Server{}
		s.cuttingOff.Store(cutting)
		e := gin.New()
		e.Use(accessLog(slog.New(slog.NewTextHandler(&log, nil))), s.markCutOff)
		e.GET("/slow", func(c *gin.Context) { <-c.Request.Context().Done() })
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil).WithContext(ctx))
		want := "status=499"
		if cutting {
			want = `status=503 `
		}
		if cutting && !strings.Contains(log.String(), `error="cut off by the server's shutdown"`) {
			t.Errorf("cut off without its reason: %s", log.String())
		}
		if !strings.Contains(log.String(), want) {
			t.Errorf("cutting off %v: logged %s, want %q in it", cutting, log.String(), want)
		}
	}
}
