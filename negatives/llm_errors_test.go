package negatives

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// An error body is cut to a few hundred bytes, on a UTF-8 boundary, with
// its full size noted; the status code and a JSON error's message stay, and
// the key is hidden before the cut, so no piece of it is left either.
func TestLLMErrorBodyIsCut(t *testing.T) {
	const key = "sk-SECRET42"
	html := "<html><body>" + strings.Repeat("<p>Service Unavailable</p>\n", 80000) + "</body></html>"
	overloaded := `{"error":"model overloaded","pad":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name     string
		reply    fakeReply
		status   int
		want     []string // in the error text
		wantSize string   // the noted size, "" when nothing was cut
	}{
		{"2 MB HTML page", fakeReply{Status: 503, ContentType: "text/html", Body: html, Drop: true, CutAt: len(html)},
			503, []string{"status code: 503", "<html><body><p>Service Unavailable</p>"}, fmt.Sprintf("… (%d bytes)", len(html))},
		{"2 MB HTML page, length unstated", fakeReply{Status: 503, ContentType: "text/html", Body: html, Drop: true, CutAt: len(html), NoLength: true},
			503, []string{"status code: 503", "<html><body>"}, fmt.Sprintf("… (more than %d bytes)", maxErrorBodyBytes)},
		{"long OpenAI error message", fakeReply{Status: 500, Body: `{"error":{"message":"boom ` + strings.Repeat("é", 30000) + `","type":"server_error"}}`},
			500, []string{"status code: 500", "message: boom é"}, "… (60005 bytes)"},
		// The message is quoted once, not again as the body.
		{"error as a string", fakeReply{Status: 502, Body: overloaded},
			502, []string{"status code: 502", "message: model overloaded, body: (its message)"}, ""},
		{"error padded past 64 KiB", fakeReply{Status: 500, Body: `{"error":{"message":"model overloaded"},"pad":"` + strings.Repeat("x", 70000) + `"}`},
			500, []string{"status code: 500", "message: model overloaded"}, ""},
		{"HTML error page", fakeReply{Status: 502, ContentType: "text/html", Body: "<html>bad gateway</html>"},
			502, []string{"message: none found in the body, body: <html>bad gateway</html>"}, ""},
		// Found by a probe: a proxy's Latin-1 page reached the CLI's stderr raw.
		{"Latin-1 HTML page", fakeReply{Status: 502, ContentType: "text/html", Body: "<html>Passerelle erron\xe9e \xff\xfe</html>"},
			502, []string{"body: <html>Passerelle erron\uFFFDe \uFFFD</html>"}, ""},
		{"Latin-1 message", fakeReply{Status: 502, Body: `{"error":{"message":"erron` + "\xe9" + `e"}}`},
			502, []string{"message: erron\uFFFDe"}, ""},
		{"FastAPI detail", fakeReply{Status: 400, Body: `{"detail":"model qwen9 is not served"}`},
			400, []string{"status code: 400", "message: model qwen9 is not served"}, ""},
		{"key across the cut", fakeReply{Status: 503, ContentType: "text/plain", Body: strings.Repeat("x", maxErrorText-4) + key + strings.Repeat("y", 1000)},
			503, []string{"status code: 503", "x<red…"}, "… (1307 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return tt.reply })
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.APIKey, cfg.MaxRetries = key, -1 })
			var got llmTestReply
			err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if len(msg) > 1000 || !utf8.ValidString(msg) {
				t.Errorf("error text of %d bytes (valid UTF-8: %v): %.2000s", len(msg), utf8.ValidString(msg), msg)
			}
			if s := openaiStatus(err); s != tt.status {
				t.Errorf("status %d, want %d", s, tt.status)
			}
			for _, w := range append(tt.want, tt.wantSize) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if tt.wantSize == "" && strings.Contains(msg, "…") {
				t.Errorf("error %q notes a cut that did not happen", msg)
			}
			if strings.Contains(msg, "sk-S") {
				t.Errorf("a piece of the key shows in %q", msg)
			}
		})
	}
}

// A key too short to be hidden everywhere is still hidden where a server
// echoes it.
func TestLLMShortKeyIsRedacted(t *testing.T) {
	for _, key := range []string{"pw12345", "abcd", "x"} {
		t.Run(key, func(t *testing.T) {
			f := newFakeChat(t, func(int, fakeRequest) fakeReply {
				return fakeReply{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + key + `. You can find your API key at https://example/keys.","type":"invalid_request_error"}}`}
			})
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.APIKey = key })
			var got llmTestReply
			err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, "provided: <redacted>.") || strings.Contains(msg, "provided: "+key) {
				t.Errorf("the key shows in %q", msg)
			}
		})
	}
}

// A reply that is not a chat completion says what it was instead of
// "EOF" or "invalid character '<'", and a server's error in a 200 body is
// shown, not repaired into "reply is empty".
func TestLLMNotAChatCompletion(t *testing.T) {
	page := "<!DOCTYPE html>\n<html><head><title>Open WebUI</title></head>" + strings.Repeat("<div>app</div>", 2000) + "</html>"
	tests := []struct {
		name         string
		reply        fakeReply
		wantRequests int64 // with one retry allowed
		want         []string
	}{
		{"event stream", fakeReply{Status: 200, ContentType: "text/event-stream",
			Body: "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\"}\n\ndata: [DONE]\n\n"},
			1, []string{"not a chat completion but an event stream", "text/event-stream", `data: {"id":"c1"`}},
		{"web page", fakeReply{Status: 200, ContentType: "text/html; charset=utf-8", Body: page},
			1, []string{"not a chat completion", "a web page: check the base URL", "/v1", "text/html", "<!DOCTYPE html> <html><head><title>Open WebUI", fmt.Sprintf("(%d bytes)", len(page))}},
		{"empty body", fakeReply{Status: 200},
			2, []string{"not a chat completion: an empty body (status 200, application/json)"}},
		{"error object in a 200", fakeReply{Status: 200, Body: `{"error":{"message":"model overloaded","type":"server_error"}}`},
			2, []string{"answered with an error instead of a chat completion: model overloaded"}},
		{"client error in a 200", fakeReply{Status: 200, Body: `{"error":{"message":"unknown model","code":404}}`},
			1, []string{"answered with an error instead of a chat completion: unknown model"}},
		{"cut at the token limit", fakeReply{Content: `{"answer": "par`, Finish: "length"},
			2, []string{"the reply was cut at the token limit (finish_reason length; max tokens 64)", "still invalid after repair"}},
		// Found by a probe: each of these read as "reply is empty", after a
		// repair round that could not help the first two.
		{"content filter", fakeReply{Content: "", Finish: "content_filter"},
			1, []string{"content filter withheld the reply (finish_reason content_filter)"}},
		{"error in the choice", fakeReply{Status: 200, Body: choiceBody(`"content":""`, `"finish_reason":"error","error":{"message":"upstream provider timed out","code":502}`, smallUsage)},
			2, []string{"ended the reply with an error (finish_reason error): upstream provider timed out", "gave up after 2 attempts"}},
		{"reasoning only", fakeReply{Status: 200, Body: choiceBody(`"content":"","reasoning_content":"{\"answer\": \"paris\"} let me think"`, `"finish_reason":"length"`, smallUsage)},
			2, []string{"the reply held only reasoning (32 bytes of reasoning_content) and no answer", "cut at the token limit", "still invalid after repair"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, func(int, fakeRequest) fakeReply { return tt.reply })
			c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.MaxRetries, cfg.MaxTokens = 1, 64 })
			var got llmTestReply
			err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error text of %d bytes", len(err.Error()))
			}
			if n := c.Usage().Requests; n != tt.wantRequests {
				t.Errorf("%d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// A reply whose content comes as an array of text parts is read as their
// text, not as an empty reply.
func TestLLMContentParts(t *testing.T) {
	body := `{"id":"c1","object":"chat.completion","model":"test-model","choices":[{"index":0,"finish_reason":"stop",` +
		`"message":{"role":"assistant","content":[{"type":"text","text":"{\"answer\": \"paris\","},{"type":"text","text":" \"score\": 7}"}]}}]}`
	f := newFakeChat(t, fakeSequence(t, fakeReply{Status: 200, Body: body}))
	c := newTestLLM(t, f, nil)
	var got llmTestReply
	if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
		t.Fatal(err)
	}
	if got != (llmTestReply{Answer: "paris", Score: 7}) || c.Usage().Repairs != 0 {
		t.Errorf("decoded %+v, usage %+v", got, c.Usage())
	}
}

// choiceBody is a chat completion whose one choice has the message members
// msg and the choice members choice, followed by usage (",\"usage\":…", or
// "" for none), as raw JSON.
func choiceBody(msg, choice, usage string) string {
	return `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
		`"message":{"role":"assistant",` + msg + `},` + choice + `}]` + usage + `}`
}

// smallUsage is a usage member for choiceBody.
const smallUsage = `,"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}`
