package api_test

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"retune/api"
	"retune/internal/testenv"
	"retune/model"
)

// sharedModels is one registry for the whole test binary: opening
// glove-100d takes seconds, so each test opening its own would dominate the
// suite's run time. Tests count forward passes as differences, never
// absolutes, and do not run in parallel.
var (
	sharedModelsOnce sync.Once
	sharedModels     *model.Registry
)

// testConfig is a server configuration with glove-100d and a data
// directory of the test's own.
func testConfig(t *testing.T) api.Config {
	testenv.InitORT(t)
	testenv.Glove(t)
	sharedModelsOnce.Do(func() { sharedModels = model.NewRegistry(testenv.ModelsRoot(t)) })
	return api.Config{Models: sharedModels, MaxInputs: 8, MaxBodyBytes: 64 << 10, DataDir: t.TempDir()}
}

type embResp struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func TestHealthz(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	if r := c.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	// Probes may add a cache-buster; nothing reads it.
	if r := c.do("GET", "/healthz?_=1732600000", "", nil); r.Status != 200 {
		t.Fatalf("healthz with a cache-buster: %d %s", r.Status, r.Body)
	}
}

func TestEmbeddingsOpenAIShape(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	r := c.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":["the dog runs","a cat sleeps"]}`)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var e embResp
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Object != "list" || e.Model != "glove-100d" || len(e.Data) != 2 || e.Data[1].Index != 1 || e.Usage.PromptTokens != 6 {
		t.Fatalf("unexpected response %+v", e)
	}
	var v []float64
	json.Unmarshal(e.Data[0].Embedding, &v)
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	if len(v) != 100 || math.Abs(norm-1) > 1e-4 {
		t.Fatalf("embedding dims %d norm² %g", len(v), norm)
	}

	// A single string and base64 encoding, as OpenAI's Python client sends by default.
	r = c.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":"the dog runs","encoding_format":"base64"}`)
	if r.Status != 200 {
		t.Fatalf("base64: %d %s", r.Status, r.Body)
	}
	var b embResp
	json.Unmarshal(r.Body, &b)
	var s string
	json.Unmarshal(b.Data[0].Embedding, &s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 400 {
		t.Fatalf("base64 payload: %d bytes, err %v", len(raw), err)
	}
	if got := math.Float32frombits(binary.LittleEndian.Uint32(raw)); math.Abs(float64(got)-v[0]) > 1e-6 {
		t.Fatalf("base64 first value %g, float %g", got, v[0])
	}
}

// A U+FFFD the client really sent is text like any other (scraped pages are
// full of them); only bytes that are not UTF-8 are refused.
func TestEmbeddingsAcceptReplacementCharacter(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	if r := c.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":"cells divide \ufffd fast"}`); r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
}

// Inputs the encoder knows no token of still get their (zero) vector, so
// a batch is not lost to one of them, and are named in "unembeddable".
func TestEmbeddingsNameUnembeddableInputs(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	// "\u0301" (a lone combining accent) is no token at all once accents
	// are folded: it was a 500.
	r := c.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":["the dog runs","2019","qqqzzzxx vvvkkkyy","\u0301"]}`)
	var e struct {
		Data         []struct{ Embedding []float64 }
		Unembeddable []int
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &e) != nil || len(e.Data) != 4 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if fmt.Sprint(e.Unembeddable) != "[1 2 3]" {
		t.Fatalf("unembeddable %v, want [1 2 3]", e.Unembeddable)
	}
	for _, x := range e.Data[1].Embedding {
		if x != 0 {
			t.Fatalf("input 1's embedding is not zero: %v", e.Data[1].Embedding)
		}
	}
	r = c.json("POST", "/v1/embeddings", `{"model":"glove-100d","input":"the dog runs"}`)
	if r.Status != 200 || strings.Contains(string(r.Body), "unembeddable") {
		t.Fatalf("a response with every input embedded names unembeddable ones: %d %s", r.Status, r.Body)
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	many := make([]string, 9)
	for i := range many {
		many[i] = fmt.Sprintf("%q", "text")
	}
	cases := []struct {
		name, ctype, body string
		status            int
		msg               string
	}{
		{"bad json", "application/json", `{"model":`, 400, "invalid JSON"},
		{"empty body", "application/json", ``, 400, "empty"},
		{"unknown field", "application/json", `{"model":"glove-100d","input":"x","foo":1}`, 400, `unknown field \"foo\"","type":"invalid_request_error","param":"foo"`},
		{"field in another case", "application/json", `{"model":"glove-100d","input":"dog","INPUT":"2019"}`, 400, `unknown field \"INPUT\" (field names are case-sensitive: \"input\")","type":"invalid_request_error","param":"INPUT"`},
		{"empty key", "application/json", `{"model":"glove-100d","input":"x","":1}`, 400, `unknown field \"\" (an empty key)","type":"invalid_request_error","param":"\"\""`},
		{"repeated field", "application/json", `{"model":"glove-100d","input":"dog","input":"cat"}`, 400, `field \"input\" appears twice`},
		{"missing model", "application/json", `{"input":"x"}`, 400, `"param":"model"`},
		{"missing input", "application/json", `{"model":"glove-100d"}`, 400, "input"},
		{"empty string", "application/json", `{"model":"glove-100d","input":""}`, 400, "input[0] is empty"},
		{"blank item", "application/json", `{"model":"glove-100d","input":["ok","  "]}`, 400, `input[1] is empty","type":"invalid_request_error","param":"input[1]"`},
		{"invalid UTF-8", "application/json", `{"model":"glove-100d","input":["ok","bad ` + "\xc3\x28" + `"]}`, 400, "request body is not valid UTF-8 (byte 41)"},
		{"empty array", "application/json", `{"model":"glove-100d","input":[]}`, 400, "empty array"},
		{"token arrays", "application/json", `{"model":"glove-100d","input":[[1,2]]}`, 400, "input[0] is an array, not a string (token arrays are not supported)"},
		{"null item", "application/json", `{"model":"glove-100d","input":["ok", null]}`, 400, `input[1] is null, not a string","type":"invalid_request_error","param":"input[1]"`},
		{"number item", "application/json", `{"model":"glove-100d","input":["ok","fine",3]}`, 400, `input[2] is a number, not a string","type":"invalid_request_error","param":"input[2]"`},
		{"number input", "application/json", `{"model":"glove-100d","input":5}`, 400, "string"},
		{"wrong type", "application/json", `{"model":7,"input":"x"}`, 400, `"param":"model"`},
		{"bad format", "application/json", `{"model":"glove-100d","input":"x","encoding_format":"int8"}`, 400, "encoding_format"},
		{"empty format", "application/json", `{"model":"glove-100d","input":"x","encoding_format":""}`, 400, `"param":"encoding_format"`},
		{"bad dimensions", "application/json", `{"model":"glove-100d","input":"x","dimensions":64}`, 400, `"param":"dimensions"`},
		{"trailing data", "application/json", `{"model":"glove-100d","input":"x"} {}`, 400, "after the JSON"},
		{"unknown model", "application/json", `{"model":"nope","input":"x"}`, 404, `not found; GET /v1/models lists the available ones","type":"invalid_request_error","param":"model"`},
		{"traversal model", "application/json", `{"model":"../models/glove-100d","input":"x"}`, 404, "not found"},
		{"too many inputs", "application/json", `{"model":"glove-100d","input":[` + strings.Join(many, ",") + `]}`, 413, "limit is 8"},
		{"huge body", "application/json", `{"model":"glove-100d","input":"` + strings.Repeat("a ", 40000) + `"}`, 413, "request body too large: this route takes at most"},
		{"content type", "text/plain", `{"model":"glove-100d","input":"x"}`, 415, "application/json"},
		{"charset", "application/json; charset=latin-1", `{"model":"glove-100d","input":"x"}`, 415, `charset \"latin-1\": send the JSON as UTF-8`},
		{"charset utf-8", "application/json; charset=UTF-8", `{"model":"glove-100d","input":"x"}`, 200, `"embedding"`},
		{"charset us-ascii", "application/json; charset=us-ascii", `{"model":"glove-100d","input":"x"}`, 200, `"embedding"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do("POST", "/v1/embeddings", tc.ctype, []byte(tc.body))
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.msg) {
				t.Fatalf("got %d %s; want %d containing %q", r.Status, r.Body, tc.status, tc.msg)
			}
		})
	}
	// An error quoting what the client sent quotes a bounded part of it: a
	// security probe's 15 MB model name came back 15 MB long.
	if r := c.do("POST", "/v1/embeddings", "application/json", []byte(`{"model":"`+strings.Repeat("m", 30000)+`","input":"x"}`)); r.Status != 404 ||
		len(r.Body) > 5000 || !strings.Contains(string(r.Body), "bytes in all)") {
		t.Fatalf("a 30,000-byte model name: %d, %d bytes: %.200s", r.Status, len(r.Body), r.Body)
	}
	// A compressed body is refused, not read as its raw bytes (nor a plain
	// one labelled compressed taken as sent).
	c.hdr.Set("Content-Encoding", "gzip")
	if r := c.do("POST", "/v1/embeddings", "application/json", []byte(`{"model":"glove-100d","input":"x"}`)); r.Status != 415 ||
		!strings.Contains(string(r.Body), `Content-Encoding \"gzip\" is not supported`) {
		t.Fatalf("gzip body: %d %s", r.Status, r.Body)
	}
	c.hdr.Del("Content-Encoding")
	c.hdr["Content-Encoding"] = []string{"identity", "gzip"}
	if r := c.do("POST", "/v1/embeddings", "application/json", []byte(`{"model":"glove-100d","input":"x"}`)); r.Status != 415 {
		t.Fatalf("gzip in a second Content-Encoding line: %d %s", r.Status, r.Body)
	}
	c.hdr.Del("Content-Encoding")
	if r := c.do("POST", "/v1/embeddings", "application/json; charset=latin1; charset=utf-8", []byte(`{"model":"glove-100d","input":"x"}`)); r.Status != 415 ||
		!strings.Contains(string(r.Body), "has a malformed or repeated parameter") {
		t.Fatalf("a Content-Type naming two charsets: %d %s", r.Status, r.Body)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newServer(t).Handler()
	c := newClient(t, h)
	if r := c.do("GET", "/v1/nothing", "", nil); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "no route") {
		t.Fatalf("unknown route: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/v1/nothing?a=1&a=2", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown route with a repeated parameter: %d %s, want its 404", r.Status, r.Body)
	}
	// HEAD works wherever GET does, without a body.
	for _, path := range []string{"/healthz", "/v1/models", "/v1/datasets"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("HEAD", path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("HEAD %s: %d %s", path, w.Code, w.Body)
		}
	}
	// Raw request: the spec client would match the path to /v1/models.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/models/", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no route GET /v1/models/") {
		t.Fatalf("trailing slash: %d %s, want the JSON 404 (not a redirect)", w.Code, w.Body)
	}
	if r := c.do("DELETE", "/v1/embeddings", "", nil); r.Status != http.StatusMethodNotAllowed ||
		r.Header.Get("Allow") != "POST" || !strings.Contains(string(r.Body), `"code":"invalid_request"`) {
		t.Fatalf("wrong method: %d Allow %q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	// The body checks are a route's: an unknown route or method is a 404
	// or 405 whatever its body (a mistyped upload URL was told another
	// route's size limit in a 413).
	for _, tc := range []struct {
		method, path string
		gzip         bool
		length       int64
		want         int
	}{
		{"POST", "/v1/nope", true, 0, http.StatusNotFound},
		{"PUT", "/v1/models", true, 0, http.StatusMethodNotAllowed},
		{"POST", "/v1/datasets/", false, 17_000_000, http.StatusNotFound},
		{"PUT", "/v1/embeddings", false, 17_000_000, http.StatusMethodNotAllowed},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
		if tc.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if tc.length > 0 {
			req.ContentLength = tc.length
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s %s (gzip %v, %d bytes): %d %s, want %d", tc.method, tc.path, tc.gzip, tc.length, w.Code, w.Body, tc.want)
		}
	}
}

// A body that stalls does not hold an answer given before it was read,
// on an unknown route or method (404, 405) or without an API key (401):
// net/http reads up to 256 KiB of a body left unread before it answers,
// under the JSON bodies' read timeout, not the server's own (an hour in
// retune serve; none here).
func TestUnreadStalledBody(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		keys         []string
		want         int
	}{
		{"POST", "/v1/nope", nil, http.StatusNotFound},
		{"PUT", "/v1/embeddings", nil, http.StatusMethodNotAllowed},
		{"POST", "/v1/embeddings", []string{"sk-test"}, http.StatusUnauthorized},
		{"POST", "/v1/datasets", []string{"sk-test"}, http.StatusUnauthorized},
	} {
		cfg := testConfig(t)
		cfg.BodyTimeout, cfg.APIKeys = 200*time.Millisecond, tc.keys
		conn := dialServer(t, cfg)
		// 1,000 bytes announced, 5 sent.
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":", tc.method, tc.path)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("%s %s with a stalled body: no answer: %v", tc.method, tc.path, err)
		}
		if resp.StatusCode != tc.want {
			t.Fatalf("%s %s with a stalled body: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

// dialServer serves a server of cfg over TCP and dials it, for requests
// written byte by byte.
func dialServer(t *testing.T, cfg api.Config) net.Conn {
	t.Helper()
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestListModels(t *testing.T) {
	c := newClient(t, newServer(t).Handler())
	r := c.do("GET", "/v1/models", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"glove-100d"`) {
		t.Fatalf("models: %d %s", r.Status, r.Body)
	}
}

// A JSON body trickled in slower than BodyTimeout allows is cut off: a
// security probe held a connection for minutes at a byte a second (the
// server's own read timeout is an hour, for uploads).
func TestSlowJSONBodyIsCutOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.BodyTimeout = 300 * time.Millisecond
	conn := dialServer(t, cfg)
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(conn) // the answer, then the close
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the connection stayed open %v with the body unfinished", took)
	}
	if !strings.HasPrefix(string(answer), "HTTP/1.1 408") {
		t.Errorf("answered %.200q, want a 408", answer)
	}
}
