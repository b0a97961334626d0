package negatives

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// fakeChat is an OpenAI-compatible POST /v1/chat/completions server whose
// answers are scripted by reply. It records every request and the largest
// number of requests it ever had in flight at once.
type fakeChat struct {
	t     *testing.T
	srv   *httptest.Server
	reply func(call int, req fakeRequest) fakeReply

	mu       sync.Mutex
	requests []fakeRequest
	inFlight atomic.Int64
	peak     atomic.Int64
}

type fakeRequest struct {
	Body   openai.ChatCompletionRequest
	Raw    map[string]any // the body as JSON, to check exact field names
	Header http.Header
}

func (r fakeRequest) system() string { return r.Body.Messages[0].Content }
func (r fakeRequest) user() string   { return r.Body.Messages[1].Content }

// fakeReply scripts one answer: an assistant message, or an error status.
type fakeReply struct {
	Status      int // 0 means 200 with a completion of Content; 2xx: Body as is
	Header      map[string]string
	Content     string
	Finish      string        // finish_reason; default "stop"
	Body        string        // raw body; for 4xx/5xx the default is an OpenAI error object
	ContentType string        // default application/json
	Delay       time.Duration // cut short when the client gives up
	// Drop closes the connection after CutAt bytes of the body, which the
	// headers announce whole (Content-Length) or, with NoLength, leave
	// unstated (the end of the connection ends it).
	Drop     bool
	CutAt    int
	NoLength bool
}

func newFakeChat(t *testing.T, reply func(call int, req fakeRequest) fakeReply) *fakeChat {
	t.Helper()
	f := &fakeChat{t: t, reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeChat) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read body: %v", err)
		return
	}
	req := fakeRequest{Header: r.Header.Clone()}
	if err := json.Unmarshal(b, &req.Body); err != nil {
		f.t.Errorf("decode request: %v", err)
	}
	if err := json.Unmarshal(b, &req.Raw); err != nil {
		f.t.Errorf("decode request: %v", err)
	}
	f.mu.Lock()
	call := len(f.requests)
	f.requests = append(f.requests, req)
	f.mu.Unlock()

	rep := f.reply(call, req)
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	status, body := http.StatusOK, []byte(rep.Body)
	switch {
	case rep.Status >= 400:
		status = rep.Status
		if rep.Body == "" {
			body = fmt.Appendf(nil, `{"error":{"message":"scripted failure %d","type":"server_error","param":null,"code":null}}`, rep.Status)
		}
	case rep.Status != 0:
		status = rep.Status
	default:
		body = completionBody(call, req, rep)
	}
	ct := cmp.Or(rep.ContentType, "application/json")
	if rep.Drop {
		f.cut(w, status, ct, rep, body)
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(body)
}

// completionBody is a chat completion of rep.Content.
func completionBody(call int, req fakeRequest, rep fakeReply) []byte {
	resp := map[string]any{
		"id":      fmt.Sprintf("chatcmpl-%d", call),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Body.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": rep.Content},
			"finish_reason": cmp.Or(rep.Finish, "stop"),
		}},
		"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
	}
	b, _ := json.Marshal(resp)
	return b
}

// cut writes the status line, the headers and the first rep.CutAt bytes of
// body on the bare connection, then closes it.
func (f *fakeChat) cut(w http.ResponseWriter, status int, ct string, rep fakeReply, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		f.t.Errorf("hijack: %v", err)
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status, http.StatusText(status), ct)
	for k, v := range rep.Header {
		fmt.Fprintf(buf, "%s: %s\r\n", k, v)
	}
	if rep.NoLength {
		buf.WriteString("Connection: close\r\n\r\n")
	} else {
		fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", len(body))
	}
	buf.Write(body[:min(rep.CutAt, len(body))])
	buf.Flush()
}

func (f *fakeChat) url() string { return f.srv.URL + "/v1" }

func (f *fakeChat) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeChat) request(i int) fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.requests) {
		f.t.Fatalf("request %d of %d", i, len(f.requests))
	}
	return f.requests[i]
}

// fakeSequence answers the i-th request with replies[i]; extra requests fail
// the test.
func fakeSequence(t *testing.T, replies ...fakeReply) func(int, fakeRequest) fakeReply {
	return func(call int, _ fakeRequest) fakeReply {
		if call >= len(replies) {
			t.Errorf("request %d not scripted (%d replies)", call+1, len(replies))
			return fakeReply{Status: http.StatusBadRequest}
		}
		return replies[call]
	}
}

func okReply(content string) fakeReply { return fakeReply{Content: content} }

// newTestLLM points a client at f with fast retries; edit adjusts the
// config before the client is built.
func newTestLLM(t *testing.T, f *fakeChat, edit func(*LLMConfig)) *LLM {
	t.Helper()
	cfg := LLMConfig{
		BaseURL:     f.url(),
		Model:       "test-model",
		APIKey:      "test-key",
		Org:         "org-test",
		Temperature: 0.25,
		Concurrency: 4,
		Timeout:     2 * time.Second,
		MaxRetries:  3,
		MinBackoff:  time.Millisecond,
		MaxBackoff:  4 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewLLM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sleepLog stands in for the retry sleep: it records waits and returns at
// once, so tests can check Retry-After without spending it.
type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// fakeKind tells which prompt a request carries, from its system message.
func fakeKind(req fakeRequest) string {
	sys := req.system()
	switch {
	case strings.Contains(sys, `"information_need"`):
		return "analysis"
	case strings.Contains(sys, "break_explanation"):
		return "generate"
	default:
		return "naive"
	}
}
