package negatives

import (
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
	Status  int // 0 means 200
	Header  map[string]string
	Content string
	Body    string        // raw error body; default is an OpenAI error object
	Delay   time.Duration // cut short when the client gives up
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
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status >= 400 {
		w.WriteHeader(rep.Status)
		body := rep.Body
		if body == "" {
			body = fmt.Sprintf(`{"error":{"message":"scripted failure %d","type":"server_error","param":null,"code":null}}`, rep.Status)
		}
		io.WriteString(w, body)
		return
	}
	resp := map[string]any{
		"id":      fmt.Sprintf("chatcmpl-%d", call),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Body.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": rep.Content},
			"finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
	}
	json.NewEncoder(w).Encode(resp)
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
