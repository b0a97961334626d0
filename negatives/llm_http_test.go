package negatives

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// A reply past maxReplyBytes fails at once, whether its size is announced
// or only found while reading, and is neither retried nor cached.
func TestLLMReplyTooLarge(t *testing.T) {
	huge := `{"answer": "` + strings.Repeat("x", maxReplyBytes) + `", "score": 1}`
	size := len(completionBody(0, fakeRequest{Body: openai.ChatCompletionRequest{Model: "test-model"}}, fakeReply{Content: huge}))
	tests := []struct {
		name  string
		reply fakeReply
		how   string // in the error: refused by its length, or found while reading
	}{
		{"Content-Length announced", fakeReply{Content: huge, Header: map[string]string{"Content-Length": fmt.Sprint(size)}},
			fmt.Sprintf("(%d bytes, status 200)", size)},
		{"chunked", fakeReply{Content: huge}, "stopped reading"},
		{"length unstated", fakeReply{Content: huge, Drop: true, CutAt: len(huge) + 1000, NoLength: true}, "stopped reading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return tt.reply })
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
			var got llmTestReply
			err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
			if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), "reply larger than 4 MiB") || !strings.Contains(err.Error(), tt.how) {
				t.Fatalf("err = %.300v, want ErrReplyTooLarge", err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error text of %d bytes", len(err.Error()))
			}
			if u := c.Usage(); u.Requests != 1 || u.Repairs != 0 {
				t.Errorf("usage %+v, want one request and no repair", u)
			}
			if files := cacheFiles(t, dir); len(files) != 0 {
				t.Errorf("cached %v", files)
			}
		})
	}
}

// A malformed reply is replayed in the repair request only up to
// maxRepairEcho, with its size noted.
func TestLLMRepairEchoIsBounded(t *testing.T) {
	bad := `{"answer": "` + strings.Repeat("ab", 200000) // never closed
	f := newFakeChat(t, fakeSequence(t, okReply(bad), okReply(llmTestGood)))
	c := newTestLLM(t, f, nil)
	var got llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	echo := f.request(1).Body.Messages[2].Content
	if len(echo) > maxRepairEcho+100 || !strings.HasPrefix(echo, bad[:1000]) || !strings.Contains(echo, fmt.Sprintf("(cut: the reply was %d bytes)", len(bad))) {
		t.Errorf("repair echoed %d bytes, ending %q", len(echo), echo[max(0, len(echo)-80):])
	}
}

// The cache keeps the reply's JSON object, not the thinking and fences
// around it, which for a reasoning model can be most of the reply.
func TestLLMCacheKeepsOnlyTheJSON(t *testing.T) {
	dir := t.TempDir()
	thinking := "<think>" + strings.Repeat("Let me think. ", 5000) + "</think>\n```json\n" + llmTestGood + "\n```"
	f := newFakeChat(t, fakeSequence(t, okReply(thinking)))
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
	var got llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	content, ok := c.cache.get(c.cacheKey(llmTestSchema.Name, "s", "u"))
	if !ok || content != llmTestGood {
		t.Errorf("cached %d bytes %.80q, want %q", len(content), content, llmTestGood)
	}
}

// A connection dropped after the response headers is retried like one
// dropped before them, and a cut error body keeps its status.
func TestLLMRetriesDroppedConnection(t *testing.T) {
	good := okReply(llmTestGood)
	tests := []struct {
		name     string
		drop     fakeReply
		wantSeen string // in the error OnRetry hears
	}{
		{"completion cut", fakeReply{Content: llmTestGood, Drop: true, CutAt: 40}, "connection lost after 40 bytes of a 200 reply: unexpected EOF"},
		{"completion cut, length unstated", fakeReply{Content: llmTestGood, Drop: true, CutAt: 40, NoLength: true}, "ended mid-JSON after 40 bytes"},
		{"headers only", fakeReply{Content: llmTestGood, Drop: true}, "connection lost after 0 bytes of a 200 reply: unexpected EOF"},
		{"headers only, length unstated", fakeReply{Content: llmTestGood, Drop: true, NoLength: true}, "an empty body (status 200"},
		{"503 body cut", fakeReply{Status: 503, Body: `{"error":{"message":"overloaded"}}`, Drop: true, CutAt: 10}, "connection lost after 10 bytes of a 503 reply"},
		// Not a dropped connection, but as little to repair: asked again.
		{"no choices", fakeReply{Status: 200, Body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[]}`}, "held no choices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, tt.drop, good))
			var seen []string
			c := newTestLLM(t, f, func(cfg *LLMConfig) {
				cfg.OnRetry = func(_ int, _ time.Duration, err error) { seen = append(seen, err.Error()) }
			})
			var log sleepLog
			c.sleep = log.sleep
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			if got != (llmTestReply{Answer: "paris", Score: 7}) {
				t.Errorf("decoded %+v", got)
			}
			if u := c.Usage(); u.Requests != 2 || u.Retries != 1 || u.Repairs != 0 {
				t.Errorf("usage %+v, want one retry", u)
			}
			if len(seen) != 1 || !strings.Contains(seen[0], tt.wantSeen) {
				t.Errorf("OnRetry heard %q, want %q", seen, tt.wantSeen)
			}
		})
	}
}

// A reply the client cannot use is paid for all the same: its tokens count.
func TestLLMCountsTokensOfAReplyWithoutChoices(t *testing.T) {
	empty := fakeReply{Status: 200, Body: `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[],` +
		`"usage":{"prompt_tokens":50,"completion_tokens":3,"total_tokens":53}}`}
	f := newFakeChat(t, fakeSequence(t, empty, okReply(llmTestGood)))
	c := newTestLLM(t, f, nil)
	var log sleepLog
	c.sleep = log.sleep
	var got llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	if u := c.Usage(); u.PromptTokens != 150 || u.CompletionTokens != 23 || u.TotalTokens != 173 {
		t.Errorf("usage %+v, want the empty reply's 50+3 tokens counted beside the good one's 100+20", u)
	}
}

// Found by a soak: Go's default transport keeps 2 idle connections per
// host, so when the requests in flight all finished (a pause for a 429, a
// loading model, the end of a batch) most connections closed, and the next
// requests dialled new ones. Ten waves of 8 requests reuse the first 8
// connections (the default transport opened about 60).
func TestLLMReusesConnections(t *testing.T) {
	var conns atomic.Int64
	f := &fakeChat{t: t, reply: func(int, fakeRequest) fakeReply { return okReply(llmTestGood) }}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Concurrency = 8 })
	for wave := range 10 {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				var got llmTestReply
				if err := c.JSON(context.Background(), "s", fmt.Sprint("u", wave, i), llmTestSchema, &got); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := conns.Load(); n > 16 {
		t.Errorf("%d connections carried 10 waves of 8 requests", n)
	}
}
