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
	e.HEAD("/x", func(c *gin.Context) { c.String(200, "hello") }) // net/http drops the body
	e.GET("/empty", func(c *gin.Context) { c.Status(204) })
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/x", "bytes=5 client=192.0.2.1 "},
		{"HEAD", "/x", "bytes=0 client=192.0.2.1 "},
		{"GET", "/empty", "bytes=0 client=192.0.2.1 "},
	} {
		log.Reset()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		if !strings.Contains(log.String(), tc.want) {
			t.Errorf("%s %s: logged %s, want %q in it", tc.method, tc.path, log.String(), tc.want)
		}
	}
}

// A request left unanswered when its context ends is a 499 (its client
// left), unless the server's shutdown was cutting requests off: a 503. One
// whose answer had begun keeps its status; the line says it was cut off.
func TestAccessLogCutOffIs503(t *testing.T) {
	for _, tc := range []struct {
		cutting, begun bool
		want           string
	}{
		{false, false, "status=499 "},
		{true, false, "status=503 "},
		{true, true, "status=200 "},
	} {
		var log bytes.Buffer
		s := &Server{}
		s.cuttingOff.Store(tc.cutting)
		e := gin.New()
		e.Use(accessLog(slog.New(slog.NewTextHandler(&log, nil))), s.markCutOff)
		e.GET("/slow", func(c *gin.Context) {
			if tc.begun {
				c.Status(200)
				c.Writer.WriteHeaderNow()
			}
			<-c.Request.Context().Done()
		})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil).WithContext(ctx))
		line := log.String()
		if !strings.Contains(line, tc.want) || tc.cutting != strings.Contains(line, `error="cut off by the server's shutdown"`) {
			t.Errorf("cutting off %v, answer begun %v: logged %s, want %q and the reason only when cutting off", tc.cutting, tc.begun, line, tc.want)
		}
	}
}
