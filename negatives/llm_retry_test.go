package negatives

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestLLMParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"absent", nil, 0},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"milliseconds win", map[string]string{"Retry-After": "3", "Retry-After-Ms": "250"}, 250 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"zero", map[string]string{"Retry-After": "0"}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		// Past about 292 years a time.Duration overflows to a negative,
		// which read as no Retry-After at all.
		{"huge seconds", map[string]string{"Retry-After": "1e30"}, maxRetryAfter},
		{"infinite milliseconds", map[string]string{"Retry-After-Ms": "inf"}, maxRetryAfter},
		{"infinite seconds", map[string]string{"Retry-After": "+Inf"}, maxRetryAfter},
		{"one past the cap", map[string]string{"Retry-After": "301"}, maxRetryAfter},
		{"date centuries ahead", map[string]string{"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, maxRetryAfter},
		{"NaN", map[string]string{"Retry-After": "NaN"}, 0},
		{"negative infinity", map[string]string{"Retry-After-Ms": "-inf"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := parseRetryAfter(h, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLLMRetryAfterIsCapped(t *testing.T) {
	for _, header := range []map[string]string{
		{"Retry-After": "86400"},
		{"Retry-After": "1e30"},
		{"Retry-After-Ms": "inf"},
	} {
		t.Run(fmt.Sprint(header), func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, fakeReply{Status: 429, Header: header}, okReply(llmTestGood)))
			c := newTestLLM(t, f, nil)
			var log sleepLog
			c.sleep = log.sleep
			var out llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
				t.Fatal(err)
			}
			// The first wait is the pause itself; a request held back by
			// it would show a second.
			if w := log.all(); len(w) == 0 || w[0] != maxRetryAfter {
				t.Errorf("waits %v, want %v first", w, maxRetryAfter)
			}
		})
	}
}

// OnRetry hears of each retry, with its wait, before the wait.
func TestLLMOnRetry(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t, fakeReply{Status: 500}, fakeReply{Status: 429, Header: map[string]string{"Retry-After": "2"}}, okReply(llmTestGood)))
	var heard []string
	c := newTestLLM(t, f, func(cfg *LLMConfig) {
		cfg.OnRetry = func(attempt int, wait time.Duration, err error) {
			heard = append(heard, fmt.Sprintf("%d %v", attempt, wait >= 2*time.Second))
		}
	})
	var log sleepLog
	c.sleep = log.sleep
	var out llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &out); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(heard) != "[1 false 2 true]" {
		t.Errorf("OnRetry heard %v, want attempts 1 then 2 (the second after Retry-After: 2)", heard)
	}
}

func TestLLMRetryBackoffBounds(t *testing.T) {
	lo, hi := 10*time.Millisecond, 300*time.Millisecond
	for attempt, ceiling := range []time.Duration{10, 20, 40, 80, 160, 300, 300} {
		ceiling *= time.Millisecond
		var top time.Duration
		for range 2000 {
			d := retryBackoff(lo, hi, attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: wait %v outside [0, %v]", attempt, d, ceiling)
			}
			top = max(top, d)
		}
		// Full jitter spreads over the whole range, not just its bottom.
		if top < ceiling/2 {
			t.Errorf("attempt %d: largest of 2000 waits %v, want near %v", attempt, top, ceiling)
		}
	}
	if d := retryBackoff(time.Second, time.Minute, 200); d > time.Minute {
		t.Errorf("huge attempt overflowed: %v", d)
	}
}

func TestLLMIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"429", &openai.APIError{HTTPStatusCode: 429}, true},
		{"500", &openai.APIError{HTTPStatusCode: 500}, true},
		{"502 plain body", &openai.RequestError{HTTPStatusCode: 502}, true},
		{"400", &openai.APIError{HTTPStatusCode: 400}, false},
		// Found by a probe: a proxy's request timeout was not retried.
		{"408 HTML page", &openai.RequestError{HTTPStatusCode: 408}, true},
		{"409", &openai.APIError{HTTPStatusCode: 409}, true},
		{"422", &openai.APIError{HTTPStatusCode: 422}, false},
		{"404 wrapped", fmt.Errorf("x: %w", &openai.RequestError{HTTPStatusCode: 404}), false},
		{"timeout", &timeoutError{after: time.Second, err: context.DeadlineExceeded}, true},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"bad JSON body", errors.New("invalid character 'x'"), false},
		// A connection dropped after the headers.
		{"body cut", &bodyReadError{status: 200, err: io.ErrUnexpectedEOF}, true},
		{"error body cut", &bodyReadError{status: 401, err: io.ErrUnexpectedEOF}, true},
		{"go-openai's body read", fmt.Errorf("error, reading response body: %w", io.ErrUnexpectedEOF), true},
		{"reply too large", fmt.Errorf("%w (5000000 bytes)", ErrReplyTooLarge), false},
		{"not a completion", &replyError{msg: "an HTML page"}, false},
		{"empty 200", &replyError{msg: "an empty body", retry: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRetryable(tt.err); got != tt.want {
				t.Errorf("isRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// rateLimitedOnce is a chat server whose first answer, after delay, is a 429
// asking for a 1 s pause; sent returns when each request arrived.
func rateLimitedOnce(t *testing.T, delay time.Duration) (f *fakeChat, sent func() []time.Time) {
	var mu sync.Mutex
	var at []time.Time
	f = newFakeChat(t, func(call int, _ fakeRequest) fakeReply {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if call == 0 {
			return fakeReply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Delay: delay}
		}
		return okReply(llmTestGood)
	})
	return f, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(at)
	}
}

// A 429's Retry-After holds back every request of the client, not only the
// one that got it: a call started during the pause waits for its end.
func TestLLMRetryAfterPausesAllRequests(t *testing.T) {
	f, sent := rateLimitedOnce(t, 0)
	c := newTestLLM(t, f, nil)
	var wg sync.WaitGroup
	call := func(user string) {
		defer wg.Done()
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", user, llmTestSchema, &got); err != nil {
			t.Error(err)
		}
	}
	wg.Add(2)
	go call("first")
	// The second call starts once the client has read the 429 (a request
	// sent before it arrived could not have been held back).
	for deadline := time.Now().Add(5 * time.Second); c.pauseLeft(time.Time{}) <= 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client never paused for the 429's Retry-After")
		}
	}
	go call("second")
	wg.Wait()
	requireHeldBack(t, sent(), 3, 900*time.Millisecond) // the 429, its retry, the second call
}

// requireHeldBack checks that n requests arrived, every one after the
// first (the 429's) at least gap later.
func requireHeldBack(t *testing.T, at []time.Time, n int, gap time.Duration) {
	t.Helper()
	if len(at) != n {
		t.Fatalf("%d requests, want %d", len(at), n)
	}
	for i, ts := range at[1:] {
		if d := ts.Sub(at[0]); d < gap {
			t.Errorf("request %d went %v after the one that got a 1 s Retry-After", i+2, d)
		}
	}
}

// A long key is hidden wherever it appears; a short one wherever it stands
// as a whole token, which is how servers echo it, but not inside a longer
// word, where it is not the key and would garble the message. A URL's
// credentials are hidden whatever the key.
func TestRedact(t *testing.T) {
	for _, tt := range []struct{ msg, key, want string }{
		{"upstream saw sk-SECRET42 twice: sk-SECRET42", "sk-SECRET42", "upstream saw <redacted> twice: <redacted>"},
		{"context deadline exceeded", "x", "context deadline exceeded"},
		{"Invalid token: Bearer x", "x", "Invalid token: Bearer <redacted>"},
		{"Incorrect API key provided: pw12345. See https://x/keys", "pw12345", "Incorrect API key provided: <redacted>. See https://x/keys"},
		{"key 'abc' refused; abcd and xabc are other words", "abc", "key '<redacted>' refused; abcd and xabc are other words"},
		{"model nonexistent: none of the keys (none) work", "none", "model nonexistent: <redacted> of the keys (<redacted>) work"},
		{"got pw1-pw1_pw1", "pw1", "got pw1-pw1_pw1"},
		{"a:pw1:pw1", "pw1", "a:<redacted>:<redacted>"},
		{"aaa and aa", "aa", "aaa and <redacted>"},
		{"no key here", "", "no key here"},
		// net/http shows a URL's user name and masks its password.
		{`Post "http://sk-usertoken123@127.0.0.1:1/v1/chat/completions": dial tcp: connection refused`, "",
			`Post "http://<redacted>@127.0.0.1:1/v1/chat/completions": dial tcp: connection refused`},
		{`Post "https://bob:***@llm.example/v1/chat/completions": EOF`, "k", `Post "https://<redacted>@llm.example/v1/chat/completions": EOF`},
		{"mail me at bob@example.com", "", "mail me at bob@example.com"},
	} {
		if got := redact(errors.New(tt.msg), secrets{tt.key}).Error(); got != tt.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tt.msg, tt.key, got, tt.want)
		}
	}
}

// The base URL's user name and password are secrets as the key is: an
// endpoint echoing them in its own message must not show them.
func TestSecretsOfBaseURL(t *testing.T) {
	s := secretsOf(LLMConfig{APIKey: "sk-KEY12345", BaseURL: "https://sk-USERTOKEN-777@llm.example/v1"})
	msg := "boom for sk-USERTOKEN-777 with sk-KEY12345"
	if got, want := s.hide(msg), "boom for <redacted> with <redacted>"; got != want {
		t.Errorf("hide(%q) = %q, want %q", msg, got, want)
	}
	// Beside a password, or short, a user name is a word messages use.
	s = secretsOf(LLMConfig{BaseURL: "https://user:pw-PASS-888@api.example/v1"})
	msg = `role must be "user": pw-PASS-888 refused at api.example`
	if got, want := s.hide(msg), `role must be "user": <redacted> refused at api.example`; got != want {
		t.Errorf("hide(%q) = %q, want %q", msg, got, want)
	}
	if s := secretsOf(LLMConfig{BaseURL: "http://127.0.0.1:1/v1"}); s.hide("plain 127.0.0.1") != "plain 127.0.0.1" {
		t.Errorf("a URL without credentials hides %v", s)
	}
}

// Calls waiting for a request slot when a 429 arrives sit out its pause
// too, and a 429 that ends its own call (no retries left) still pauses the
// others.
func TestLLMRetryAfterHoldsCallsWaitingForASlot(t *testing.T) {
	f, sent := rateLimitedOnce(t, 100*time.Millisecond)
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.Concurrency, cfg.MaxRetries = 1, -1 })
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			var got llmTestReply
			c.JSON(context.Background(), "s", fmt.Sprint("u", i), llmTestSchema, &got) // the first gets the 429 and gives up
		})
		if i == 0 {
			for f.count() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	wg.Wait()
	requireHeldBack(t, sent(), 4, time.Second)
}

// Found by a probe: a server without JSON mode (older vLLM, TGI, LM Studio)
// answers 400 to response_format; the client asks again without it, and
// leaves it out of later requests.
func TestLLMJSONModeRefused(t *testing.T) {
	f := newFakeChat(t, func(_ int, req fakeRequest) fakeReply {
		if _, ok := req.Raw["response_format"]; ok {
			return fakeReply{Status: http.StatusBadRequest, Body: `{"object":"error","message":"Unsupported response_format type: json_object","type":"BadRequestError","code":400}`}
		}
		return okReply("```json\n" + llmTestGood + "\n```")
	})
	var heard []string
	c := newTestLLM(t, f, func(cfg *LLMConfig) {
		cfg.MaxRetries = -1
		cfg.OnRetry = func(_ int, _ time.Duration, err error) { heard = append(heard, err.Error()) }
	})
	for range 2 {
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u"+fmt.Sprint(len(heard), f.count()), llmTestSchema, &got); err != nil {
			t.Fatal(err)
		}
		if got.Answer != "paris" {
			t.Errorf("answer %q", got.Answer)
		}
	}
	if n := f.count(); n != 3 {
		t.Errorf("%d requests, want 3: one refused, then two without JSON mode", n)
	}
	if len(heard) != 1 || !strings.Contains(heard[0], "refused JSON mode") {
		t.Errorf("retries heard: %q", heard)
	}
	// The change spends no retry: with none allowed, the call succeeded.
	if u := c.Usage(); u.Retries != 0 || u.Failures != 0 {
		t.Errorf("usage %+v", u)
	}
}

// Found by a probe: llama.cpp answers 503 "Loading model" until its weights
// are in memory, longer than the retries' backoff lasts. Such answers wait
// 2 s each without spending a retry, up to maxRetryAfter in all.
func TestLLMWaitsForAModelLoading(t *testing.T) {
	loading := fakeReply{Status: http.StatusServiceUnavailable, Body: `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`}
	t.Run("loads", func(t *testing.T) {
		f := newFakeChat(t, fakeSequence(t, loading, loading, loading, okReply(llmTestGood)))
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries = -1 })
		var sl sleepLog
		c.sleep = sl.sleep
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
			t.Fatal(err)
		}
		if w := sl.all(); !slices.Equal(w, []time.Duration{loadingWait, loadingWait, loadingWait}) {
			t.Errorf("waits %v", w)
		}
		if u := c.Usage(); u.LoadingWaits != 3 || u.Retries != 0 {
			t.Errorf("usage %+v: want 3 loading waits, no retry", u)
		}
	})
	// Found by a review: the window was each call's, so calls in turn
	// waited 5 minutes each; and a Retry-After counted as 2 s of it.
	t.Run("never loads", func(t *testing.T) {
		f := newFakeChat(t, func(call int, _ fakeRequest) fakeReply {
			r := loading
			if call%2 == 1 {
				r.Header = map[string]string{"Retry-After": "10"}
			}
			return r
		})
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries = 1 })
		clock := time.Now()
		var slept time.Duration
		c.now = func() time.Time { return clock }
		c.sleep = func(ctx context.Context, d time.Duration) error {
			clock, slept = clock.Add(d), slept+d
			return ctx.Err()
		}
		for call := range 3 {
			var got llmTestReply
			err := c.JSON(context.Background(), "s", fmt.Sprint("u", call), llmTestSchema, &got)
			if err == nil || !strings.Contains(err.Error(), "Loading model") {
				t.Fatalf("call %d: err %v", call, err)
			}
		}
		// 5 minutes of waits in all (2 s, 10 s, 2 s, … : 50 loading
		// answers), then each call's own retry.
		if slept < maxRetryAfter || slept > maxRetryAfter+30*time.Second {
			t.Errorf("slept %v in all, want about %v", slept, maxRetryAfter)
		}
		if u := c.Usage(); u.LoadingWaits != 50 || u.Retries != 3 {
			t.Errorf("usage %+v: want 50 loading waits and 3 retries", u)
		}
	})
	// Found by a review: a proxy's page that shows "Loading…" is no model
	// loading.
	t.Run("a page saying loading", func(t *testing.T) {
		f := newFakeChat(t, fakeSequence(t, fakeReply{Status: http.StatusServiceUnavailable, ContentType: "text/html", Body: "<html>Loading… please wait</html>"}))
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries = -1 })
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err == nil || c.Usage().LoadingWaits != 0 {
			t.Fatalf("err %v, usage %+v: want a plain 503's failure", err, c.Usage())
		}
	})
	t.Run("a message in another JSON shape", func(t *testing.T) {
		f := newFakeChat(t, fakeSequence(t, fakeReply{Status: http.StatusServiceUnavailable, Body: `{"detail":"Model is loading"}`}, okReply(llmTestGood)))
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries = -1 })
		c.sleep = (&sleepLog{}).sleep
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil || c.Usage().LoadingWaits != 1 {
			t.Fatalf("err %v, usage %+v: want one loading wait", err, c.Usage())
		}
	})
	t.Run("another 503", func(t *testing.T) {
		f := newFakeChat(t, fakeSequence(t, fakeReply{Status: http.StatusServiceUnavailable}))
		c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries = -1 })
		var got llmTestReply
		if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err == nil {
			t.Fatal("a plain 503 with no retries allowed succeeded")
		}
	})
}
