package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// A request whose client left before any response was written ends as
// 499 in the log and metrics, not as gin's default 200.
func TestFinalStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		write bool
		want  int
	}{
		{"client gone, nothing written", ctx, false, clientClosed},
		{"client gone after the response", ctx, true, http.StatusCreated},
		{"client here, nothing written", context.Background(), false, http.StatusOK},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/v1/datasets", nil).WithContext(tc.ctx)
		if tc.write {
			c.Status(http.StatusCreated)
			c.Writer.WriteHeaderNow()
		}
		if got := finalStatus(c); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// X-Request-Id comes back as sent when it is a plain token, else fresh.
func TestRequestID(t *testing.T) {
	r := gin.New()
	r.Use(requestID)
	r.GET("/x", func(c *gin.Context) { c.String(http.StatusOK, c.GetString(ctxRequestID)) })
	for _, tc := range []struct{ sent, want string }{
		{"abc-123.x:y_z", "abc-123.x:y_z"},
		{"", ""},
		{"has spaces", ""},
		{string(make([]byte, 65)), ""},
	} {
		req := httptest.NewRequest("GET", "/x", nil)
		if tc.sent != "" {
			req.Header.Set("X-Request-Id", tc.sent)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		got := w.Header().Get("X-Request-Id")
		if got != w.Body.String() || (tc.want != "" && got != tc.want) || (tc.want == "" && (len(got) != 24 || got == tc.sent)) {
			t.Errorf("sent %q: header %q, logged %q, want %q (or a fresh 24-hex id)", tc.sent, got, w.Body.String(), tc.want)
		}
	}
}
