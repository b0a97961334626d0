package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"retune/internal/textcut"

	"github.com/gin-gonic/gin"
)

// Context keys the middleware shares.
const (
	ctxRequestID = "retune.request_id"
	ctxErrorMsg  = "retune.error"   // the message of an error response (abortParam)
	ctxCutOff    = "retune.cut_off" // set when the server's shutdown cut the request off
)

// requestIDPattern is what a client's X-Request-Id must look like to be
// kept (and logged as sent); anything else is replaced.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID gives every request an id: the client's X-Request-Id when it
// is a plain token, else a fresh one. It is sent back in X-Request-Id and
// logged, so a client's report can be found in the server's log.
func requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// clientClosed is the status recorded for a request whose client went
// away before any response was written (nginx's 499): counted as a 200,
// an abandoned upload would look like a success on a dashboard.
const clientClosed = 499

// finalStatus is the status a request ended with, for the log and metrics.
func finalStatus(c *gin.Context) int {
	if !c.Writer.Written() && c.Request.Context().Err() != nil {
		if c.GetBool(ctxCutOff) {
			return http.StatusServiceUnavailable
		}
		return clientClosed
	}
	return c.Writer.Status()
}

// markCutOff notes a request that ended once the server began cutting
// requests off (Server.CutOff): its log line says so, and one left
// unanswered is logged and counted as a 503, as for an upload the shutdown
// cut off, not as a 499 (a client that left). One whose answer had begun
// keeps the status it sent.
func (s *Server) markCutOff(c *gin.Context) {
	c.Next()
	if c.Request.Context().Err() != nil && s.cuttingOff.Load() {
		c.Set(ctxCutOff, !c.Writer.Written())
		if c.GetString(ctxErrorMsg) == "" {
			c.Set(ctxErrorMsg, "cut off by the server's shutdown")
		}
	}
}

// accessLog writes one structured line per request, with its id, the
// peer's address, the response body's size and, for an error response,
// its message. The address is the connection's own: X-Forwarded-For is
// the client's to write, so a proxy's logs are the place for what it says.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		attrs := []any{"method", c.Request.Method, "path", loggedPath(c.Request.URL.Path), "status", finalStatus(c),
			"ms", float64(time.Since(start).Microseconds()) / 1000, "bytes", sentBytes(c),
			"client", peerHost(c.Request.RemoteAddr), "request_id", c.GetString(ctxRequestID)}
		if msg := c.GetString(ctxErrorMsg); msg != "" {
			attrs = append(attrs, "error", msg)
		}
		log.Info("request", attrs...)
	}
}

// sentBytes is the size of the response body sent: none for HEAD, whose
// body net/http drops after the handler wrote it as for GET.
func sentBytes(c *gin.Context) int {
	if c.Request.Method == http.MethodHead {
		return 0
	}
	return max(c.Writer.Size(), 0)
}

// peerHost is the host of a connection's remote address (no port: it
// changes with every connection and says nothing about the client).
func peerHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// recoverJSON turns a handler panic into a JSON 500 instead of a dropped connection.
func recoverJSON(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				id := c.GetString(ctxRequestID)
				log.Error("panic", "request_id", id, "method", c.Request.Method, "path", loggedPath(c.Request.URL.Path), "panic", r)
				abort(c, http.StatusInternalServerError, codeInternal, internalMessage(id))
			}
		}()
		c.Next()
	}
}

// queryParams are the query parameters each GET route reads (HEAD reads
// GET's); every other route reads none. openapi.yaml declares the same
// (TestQueryParamsMatchSpec).
var queryParams = map[string][]string{
	"/v1/datasets":                             {"limit", "after"},
	"/v1/fine_tuning/jobs":                     {"limit", "after"},
	"/v1/fine_tuning/jobs/:job_id/events":      {"after", "limit"},
	"/v1/fine_tuning/jobs/:job_id/checkpoints": {"after", "limit"},
	"/v1/heads":                                {"limit", "after"},
	"/v1/heads/:head_id/export":                {"format"},
	"/v1/collections":                          {"limit", "after"},
}

// checkQuery refuses a query parameter the route does not read (a typo
// such as ?limt=5 would otherwise be ignored, as an unknown JSON field is
// not) or one given more than once (?format=onnx&format=bogus: which one a
// handler reads would be a guess).
func checkQuery(c *gin.Context) {
	switch c.FullPath() {
	case "":
		c.Next() // no such route: its 404 comes first
		return
	case "/healthz", "/metrics":
		c.Next() // probes and scrapers may add cache-busters: nothing reads them
		return
	}
	// URL.Query drops what it cannot parse (a ";" separator, a bad %
	// escape), which would let ?limit=1;x through as no limit at all.
	query, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		badRequest(c, fmt.Sprintf("malformed query string: %v (separate parameters with &, escape %% as %%25)", err))
		return
	}
	var takes []string
	if m := c.Request.Method; m == http.MethodGet || m == http.MethodHead {
		takes = queryParams[c.FullPath()]
	}
	for name, vals := range query {
		if !slices.Contains(takes, name) {
			what := "takes no query parameters"
			if len(takes) > 0 {
				what = "takes " + strings.Join(takes, ", ")
			}
			badRequestParam(c, nameParam(name), fmt.Sprintf("unknown query parameter %q: %s %s %s", name, c.Request.Method, specPath(c.FullPath()), what))
			return
		}
		if len(vals) > 1 {
			badRequestParam(c, nameParam(name), fmt.Sprintf("query parameter %q is given %d times; give it once", name, len(vals)))
			return
		}
	}
	c.Next()
}

// specPath is a Gin route pattern as openapi.yaml writes its path, for
// messages: "/v1/heads/:head_id/export" → "/v1/heads/{head_id}/export".
func specPath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			segs[i] = "{" + name + "}"
		}
	}
	return strings.Join(segs, "/")
}

// identityBodies refuses a compressed (or otherwise encoded) request body:
// it would be read as the raw bytes, and a plain body labelled gzip would
// be taken as sent.
func identityBodies(c *gin.Context) {
	if c.Request.Body != http.NoBody && c.FullPath() != "" { // no such route: its 404 or 405 comes first
		// Every header line and every comma-separated coding counts:
		// "identity, gzip" is gzip.
		for _, line := range c.Request.Header.Values("Content-Encoding") {
			for _, enc := range strings.Split(line, ",") {
				if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "identity") {
					abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest,
						fmt.Sprintf("Content-Encoding %q is not supported: send the body uncompressed", enc))
					return
				}
			}
		}
	}
	c.Next()
}

// settleBody bounds, by wait, what net/http spends after the answer on a
// request body the handlers left unread (it reads up to 256 KiB of it, to
// reuse the connection, before it sends the answer): a client that
// announced a body and stalled it held a 401, or any answer given before
// the body was read, and its connection, for the server's read timeout
// (an hour, for uploads).
func settleBody(wait time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if c.Request.ContentLength != 0 {
			// Not supported by every writer (tests' recorders).
			_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(wait))
		}
	}
}

// limitBody caps request bodies at limit(c), so routes can differ (uploads
// are larger than JSON bodies); handlers map the reader's error to 413.
// A non-zero timeout bounds the body's reading too.
func limitBody(limit func(*gin.Context) (int64, time.Duration)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.FullPath() == "" {
			// No such route or method: its 404 or 405 comes first (a
			// mistyped upload URL must not be told some other route's
			// limit), and nothing reads the body (settleBody bounds what
			// net/http reads of it after the answer).
			c.Next()
			return
		}
		n, timeout := limit(c)
		if c.Request.ContentLength > n {
			abortTooLarge(c, n)
			return
		}
		if timeout > 0 && c.Request.ContentLength != 0 {
			// Not supported by every writer (tests' recorders): the
			// server's own read timeout still applies.
			_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(timeout))
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, cutBody{c.Request.Body}, n)
		c.Next()
	}
}

// errBodyCut is a request body that ended before its length: in HTTP/1.1
// only a client closing the connection does that. (A multipart body that
// lacks its last boundary also reads as io.ErrUnexpectedEOF, from the
// parser: that one is the client's 400.)
var errBodyCut = errors.New("the client closed the connection before sending the whole body")

// cutBody turns the transport's io.ErrUnexpectedEOF (the client closed its
// side) and a reset connection (it closed with unread data, or aborted)
// into errBodyCut.
type cutBody struct{ io.ReadCloser }

func (b cutBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) {
		err = errBodyCut
	}
	return n, err
}

// abortTooLarge answers 413 with the route's limit and, for uploads, how
// the server's operator raises it.
func abortTooLarge(c *gin.Context, limit int64) {
	msg := fmt.Sprintf("request body too large: this route takes at most %d bytes (%.1f MiB)", limit, float64(limit)/(1<<20))
	if c.FullPath() == datasetsPath || c.FullPath() == headsPath {
		msg += "; the server's operator can raise it with retune serve --max-upload-mb"
	} else {
		msg += "; the server's operator can raise it with retune serve --max-body-mb"
	}
	abort(c, http.StatusRequestEntityTooLarge, codeTooLarge, msg)
}

// bodyLimitOf is the limit a body-limit error reports (0 for other errors).
func bodyLimitOf(err error) int64 {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe.Limit
	}
	return 0
}

// isTooLarge reports whether err came from the body limit.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// maxLoggedPath caps a path in the log: routes' paths are short, and a
// client's 64 KB path must not make every line of its requests that long.
const maxLoggedPath = 1 << 10

func loggedPath(p string) string {
	if len(p) <= maxLoggedPath {
		return p
	}
	return textcut.Prefix(p, maxLoggedPath) + fmt.Sprintf("… (%d bytes)", len(p))
}
