package negatives

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// llmTestReply and llmTestSchema exercise the client without the CausalNeg
// prompts.
type llmTestReply struct {
	Answer string `json:"answer"`
	Score  int    `json:"score"`
}

var llmTestSchema = Schema{
	Name:     "llm_test.v1",
	Required: []string{"answer", "score"},
	Check: func(out any) error {
		if r := out.(*llmTestReply); r.Score < 0 || r.Score > 10 {
			return fmt.Errorf("score %d is outside 0..10", r.Score)
		}
		return nil
	},
}

const llmTestGood = `{"answer": "paris", "score": 7}`

func TestLLMRequestShape(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t, okReply(llmTestGood)))
	c := newTestLLM(t, f, nil)
	var got llmTestReply
	if err := c.JSON(context.Background(), "be terse", "capital of France?", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	if got != (llmTestReply{Answer: "paris", Score: 7}) {
		t.Errorf("decoded %+v", got)
	}
	req := f.request(0)
	if req.Body.Model != "test-model" {
		t.Errorf("model %q", req.Body.Model)
	}
	if temp, _ := req.Raw["temperature"].(float64); temp != 0.25 {
		t.Errorf("temperature %v, want 0.25", req.Raw["temperature"])
	}
	if rf, _ := req.Raw["response_format"].(map[string]any); rf["type"] != "json_object" {
		t.Errorf("response_format %v, want json_object", req.Raw["response_format"])
	}
	if h := req.Header.Get("Authorization"); h != "Bearer test-key" {
		t.Errorf("Authorization %q", h)
	}
	if h := req.Header.Get("OpenAI-Organization"); h != "org-test" {
		t.Errorf("OpenAI-Organization %q", h)
	}
	msgs := req.Body.Messages
	if len(msgs) != 2 || msgs[0].Role != "system" || msgs[0].Content != "be terse\n\nReply with a JSON object." ||
		msgs[1].Role != "user" || msgs[1].Content != "capital of France?" {
		t.Errorf("messages %+v", msgs)
	}
	want := LLMUsage{Calls: 1, Requests: 1, PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}
	if u := c.Usage(); u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
}

// A temperature of 0 reaches the server (go-openai would drop a zero and
// leave the server's default, often 1); reasoning models get none.
func TestLLMTemperatureSent(t *testing.T) {
	tests := []struct {
		model string
		temp  float32
		want  any // nil: absent
	}{
		{"test-model", 0, 0.0}, // found by a probe: it went out as 1e-45, which llama.cpp does not take as greedy
		{"test-model", 0.7, 0.7},
		{"o3-mini", 0.7, nil},
	}
	for _, tt := range tests {
		f := newFakeChat(t, fakeSequence(t, okReply(llmTestGood)))
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Model, cfg.Temperature = tt.model, tt.temp })
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
			t.Fatal(err)
		}
		if v := f.request(0).Raw["temperature"]; v != tt.want {
			t.Errorf("%s at %g: temperature sent %v, want %v", tt.model, tt.temp, v, tt.want)
		}
		// The provenance says what was sent: none to a model that takes none.
		if st := c.settings("causal"); (st.Temperature == nil) != (tt.want == nil) {
			t.Errorf("%s: settings' temperature %v, want one only when sent", tt.model, st.Temperature)
		}
	}
}

func TestLLMMaxTokensField(t *testing.T) {
	tests := []struct {
		model     string
		wantField string // the field that must carry the budget
		noField   string // the field that must be absent
	}{
		{"test-model", "max_tokens", "max_completion_tokens"},
		{"o3-mini", "max_completion_tokens", "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, okReply(llmTestGood)))
			c := newTestLLM(t, f, func(cfg *LLMConfig) {
				cfg.Model, cfg.MaxTokens, cfg.Temperature = tt.model, 256, 0
			})
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			raw := f.request(0).Raw
			if v, _ := raw[tt.wantField].(float64); v != 256 {
				t.Errorf("%s = %v, want 256", tt.wantField, raw[tt.wantField])
			}
			if _, ok := raw[tt.noField]; ok {
				t.Errorf("%s sent as well", tt.noField)
			}
		})
	}
}

func TestLLMThinkBlockAndFences(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t,
		okReply("<think>The user wants JSON. {\"answer\": \"wrong\"}</think>\n```json\n"+llmTestGood+"\n```"),
	))
	c := newTestLLM(t, f, nil)
	var got llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	if got.Answer != "paris" || c.Usage().Repairs != 0 {
		t.Errorf("got %+v, usage %+v", got, c.Usage())
	}
}

func TestLLMRepair(t *testing.T) {
	tests := []struct {
		name    string
		bad     string
		wantErr string // must appear in the repair message
	}{
		{"truncated", `{"answer": "paris", "sco`, "not valid JSON"},
		{"missing field", `{"answer": "paris"}`, `score`},
		{"null field", `{"answer": null, "score": 3}`, `answer`},
		{"wrong type", `{"answer": "paris", "score": "seven"}`, `"score" must be an integer`},
		{"check fails", `{"answer": "paris", "score": 42}`, "outside 0..10"},
		{"array", `[1, 2]`, "single JSON object"},
		{"empty", ``, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, okReply(tt.bad), okReply(llmTestGood)))
			c := newTestLLM(t, f, nil)
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			if got != (llmTestReply{Answer: "paris", Score: 7}) {
				t.Errorf("decoded %+v", got)
			}
			if u := c.Usage(); u.Requests != 2 || u.Repairs != 1 || u.Failures != 0 || u.TotalTokens != 240 {
				t.Errorf("usage %+v", u)
			}
			msgs := f.request(1).Body.Messages
			if len(msgs) != 4 {
				t.Fatalf("repair request has %d messages, want 4", len(msgs))
			}
			echo := tt.bad
			if echo == "" {
				echo = "(empty reply)"
			}
			if msgs[2].Role != openai.ChatMessageRoleAssistant || msgs[2].Content != echo {
				t.Errorf("repair does not replay the bad reply: %+v", msgs[2])
			}
			if msgs[3].Role != openai.ChatMessageRoleUser || !strings.Contains(msgs[3].Content, tt.wantErr) {
				t.Errorf("repair message %q lacks %q", msgs[3].Content, tt.wantErr)
			}
		})
	}
}

func TestLLMRepairFailsOnce(t *testing.T) {
	dir := t.TempDir()
	f := newFakeChat(t, fakeSequence(t, okReply(`not json`), okReply(`{"answer": "x", "score": 99}`)))
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.CacheDir = dir })
	var got llmTestReply
	err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
	if !errors.Is(err, ErrInvalidReply) {
		t.Fatalf("err = %v, want ErrInvalidReply", err)
	}
	if u := c.Usage(); u.Requests != 2 || u.Repairs != 1 || u.Failures != 1 {
		t.Errorf("usage %+v", u)
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("invalid reply was cached: %v", files)
	}
}

func TestLLMRetries(t *testing.T) {
	good := okReply(llmTestGood)
	tests := []struct {
		name      string
		replies   []fakeReply
		wantWaits []time.Duration // exact waits; nil: check count and bound only
		maxWait   time.Duration
	}{
		{
			name:      "429 with Retry-After seconds",
			replies:   []fakeReply{{Status: 429, Header: map[string]string{"Retry-After": "7"}}, good},
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "429 with retry-after-ms",
			replies:   []fakeReply{{Status: 429, Header: map[string]string{"retry-after-ms": "1500"}}, good},
			wantWaits: []time.Duration{1500 * time.Millisecond},
		},
		{
			name:    "429 without header backs off",
			replies: []fakeReply{{Status: 429}, {Status: 429}, good},
			maxWait: 2 * time.Millisecond, // MinBackoff·2 on the second retry
		},
		{
			name:    "500 then success",
			replies: []fakeReply{{Status: 500}, good},
			maxWait: time.Millisecond,
		},
		{
			name:    "503 with a plain-text body",
			replies: []fakeReply{{Status: 503, Body: "upstream unavailable"}, good},
			maxWait: time.Millisecond,
		},
		{
			name:    "slow reply past the timeout",
			replies: []fakeReply{{Delay: 3 * time.Second, Content: llmTestGood}, good},
			maxWait: time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, tt.replies...))
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Timeout = 150 * time.Millisecond })
			var log sleepLog
			c.sleep = log.sleep
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			retries := len(tt.replies) - 1
			if u := c.Usage(); u.Requests != int64(len(tt.replies)) || u.Retries != int64(retries) || u.Failures != 0 {
				t.Errorf("usage %+v", u)
			}
			waits := log.all()
			if len(waits) != retries {
				t.Fatalf("waits %v, want %d", waits, retries)
			}
			for i, w := range waits {
				if tt.wantWaits != nil && w != tt.wantWaits[i] {
					t.Errorf("wait %d = %v, want %v", i, w, tt.wantWaits[i])
				}
				if tt.wantWaits == nil && (w < 0 || w > tt.maxWait) {
					t.Errorf("wait %d = %v, want within [0, %v]", i, w, tt.maxWait)
				}
			}
		})
	}
}

func TestLLMGivesUp(t *testing.T) {
	tests := []struct {
		name         string
		reply        fakeReply
		wantRequests int64
		wantStatus   int
		wantErr      string
	}{
		{"500 every time", fakeReply{Status: 500}, 3, 500, "gave up after 3 attempts"},
		{"400 is not retried", fakeReply{Status: 400}, 1, 400, "status code: 400"},
		{"401 is not retried", fakeReply{Status: 401, Body: "unauthorized"}, 1, 401, "unauthorized"},
		{"slow every time", fakeReply{Delay: 3 * time.Second, Content: llmTestGood}, 3, 0, "no reply within 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return tt.reply })
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries, cfg.Timeout = 2, 50*time.Millisecond })
			var got llmTestReply
			err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
			if err == nil {
				t.Fatal("no error")
			}
			if s := openaiStatus(err); s != tt.wantStatus {
				t.Errorf("status %d in %v, want %d", s, err, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "llm llm_test.v1") {
				t.Errorf("error %q lacks %q", err, tt.wantErr)
			}
			if u := c.Usage(); u.Requests != tt.wantRequests || u.Failures != 1 || u.Calls != 1 {
				t.Errorf("usage %+v", u)
			}
		})
	}
}

func TestLLMContextCancelStopsRetrying(t *testing.T) {
	f := newFakeChat(t, func(int, fakeRequest) fakeReply { return fakeReply{Status: 500} })
	c := newTestLLM(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	var got llmTestReply
	err := c.JSON(ctx, "s", "u", llmTestSchema, &got)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := f.count(); n != 1 {
		t.Errorf("%d requests after cancel, want 1", n)
	}
}

func TestLLMConcurrencyLimit(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			f := newFakeChat(t, func(int, fakeRequest) fakeReply {
				return fakeReply{Content: llmTestGood, Delay: 20 * time.Millisecond}
			})
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Concurrency = limit })
			var wg sync.WaitGroup
			for i := range 4 * limit {
				wg.Go(func() {
					var got llmTestReply
					if err := c.JSON(context.Background(), "s", fmt.Sprint("u", i), llmTestSchema, &got); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if p := f.peak.Load(); p > int64(limit) {
				t.Errorf("peak in flight %d, limit %d", p, limit)
			} else if p < int64(limit) {
				t.Errorf("peak in flight %d: the limit %d was never reached, calls look serialised", p, limit)
			}
		})
	}
}

func TestNewLLMConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     LLMConfig
		wantErr string
	}{
		{"no model", LLMConfig{BaseURL: "http://localhost:8000/v1"}, "no model"},
		{"no key for openai.com", LLMConfig{Model: "gpt-4o-mini"}, "no API key"},
		{"local server without key", LLMConfig{Model: "qwen", BaseURL: "http://localhost:11434/v1"}, ""},
		{"azure", LLMConfig{Model: "gpt-4o", APIKey: "k", BaseURL: "https://x.openai.azure.com"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewLLM(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.Config()
			if got.Concurrency != 4 || got.Timeout != time.Minute || got.MaxRetries != 4 ||
				got.MinBackoff != 500*time.Millisecond || got.MaxBackoff != 30*time.Second {
				t.Errorf("defaults not applied: %+v", got)
			}
		})
	}
}

func TestLLMConfigFromEnv(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
	t.Setenv("OPENAI_API_KEY", "sk-env")
	t.Setenv("OPENAI_ORG_ID", "org-env")
	t.Setenv("OPENAI_API_VERSION", "")
	t.Setenv("OPENAI_API_TYPE", "azure")
	t.Setenv("RETUNE_LLM_MODEL", "llama3")
	got := LLMConfigFromEnv()
	want := LLMConfig{BaseURL: "http://localhost:8000/v1", APIKey: "sk-env", Org: "org-env", Model: "llama3", APIType: "azure", Temperature: DefaultLLMTemperature}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLLMConfigStringHidesKey(t *testing.T) {
	s := fmt.Sprint(LLMConfig{Model: "m", APIKey: "sk-secret"})
	if strings.Contains(s, "sk-secret") || !strings.Contains(s, "Model:m") {
		t.Errorf("String() = %s", s)
	}
}

func TestLLMRejectsNonPointer(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t))
	c := newTestLLM(t, f, nil)
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, llmTestReply{}); err == nil {
		t.Error("non-pointer accepted")
	}
	if f.count() != 0 {
		t.Error("request sent for a bad call")
	}
}

func TestLLMMentionsJSONOnlyWhenMissing(t *testing.T) {
	tests := []struct{ system, user, wantSystem string }{
		{"be terse", "q", "be terse\n\nReply with a JSON object."},
		{"Answer in json.", "q", "Answer in json."},
		{"be terse", "return JSON", "be terse"},
	}
	for _, tt := range tests {
		f := newFakeChat(t, fakeSequence(t, okReply(llmTestGood)))
		c := newTestLLM(t, f, nil)
		var out llmTestReply
		if err := c.JSON(context.Background(), tt.system, tt.user, llmTestSchema, &out); err != nil {
			t.Fatal(err)
		}
		if got := f.request(0).system(); got != tt.wantSystem {
			t.Errorf("system %q, want %q", got, tt.wantSystem)
		}
	}
}

func TestRedactAndCheckBaseURL(t *testing.T) {
	tests := []struct {
		raw, shown string
		ok         bool
	}{
		{"", "", true},
		{"http://localhost:8000/v1", "http://localhost:8000/v1", true},
		{"https://user:secret@llm.example/v1", "https://llm.example/v1", true},
		{"http://u:p%zz@127.0.0.1:1/v1", "http://127.0.0.1:1/v1", false}, // unparsable: bad escape
		{"http://u:pa#ss@host/v1", "http://host/v1", false},              // '#' starts a fragment
		{"ftp://host", "ftp://host", false},
		{"localhost:8000", "localhost:8000", false},
		// The client appends /chat/completions as text: a query or a
		// fragment would swallow it.
		{"http://h/openai/deployments/d?api-version=2024-02-01", "http://h/openai/deployments/d?api-version=2024-02-01", false},
		{"http://h/v1?api-key=sk-querysecret", "http://h/v1?api-key=sk-querysecret", false},
		{"http://h/v1#top", "http://h/v1#top", false},
		{"http://h/v1?", "http://h/v1?", false},
		{"http://h/v1#", "http://h/v1#", false}, // an empty fragment swallows the path too
		{"http://u:pw@127.0.0.1:99999/v1", "http://127.0.0.1:99999/v1", false},
		{"http://127.0.0.1:0/v1", "http://127.0.0.1:0/v1", false},
		{"http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1", true},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.raw); got != tt.shown {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.raw, got, tt.shown)
		}
		err := CheckBaseURL(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("CheckBaseURL(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "p%zz") || strings.Contains(err.Error(), "pa#ss") || strings.Contains(err.Error(), "querysecret")) {
			t.Errorf("CheckBaseURL(%q) repeats the credentials: %v", tt.raw, err)
		}
	}
}

// Found by a probe: Ollama and llama.cpp may leave usage out, or its total.
// A missing total is the sum of the parts; a reply with no usage is
// counted as such rather than as zero tokens.
func TestLLMUsageAsReported(t *testing.T) {
	tests := []struct {
		name  string
		usage string // the reply's "usage" member, or "" for none
		want  LLMUsage
	}{
		{"whole", `,"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120}`,
			LLMUsage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}},
		{"no total", `,"usage":{"prompt_tokens":0,"completion_tokens":321}`,
			LLMUsage{CompletionTokens: 321, TotalTokens: 321}},
		{"none", ``, LLMUsage{RepliesWithoutUsage: 1}},
		{"null", `,"usage":null`, LLMUsage{RepliesWithoutUsage: 1}},
		{"zeros", `,"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`, LLMUsage{RepliesWithoutUsage: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content, _ := json.Marshal(llmTestGood)
			body := choiceBody(`"content":`+string(content), `"finish_reason":"stop"`, tt.usage)
			f := newFakeChat(t, fakeSequence(t, fakeReply{Status: http.StatusOK, Body: body}))
			c := newTestLLM(t, f, nil)
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Calls, want.Requests = 1, 1
			if u := c.Usage(); u != want {
				t.Errorf("usage %+v, want %+v", u, want)
			}
		})
	}
}
