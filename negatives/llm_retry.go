package negatives

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxRetryAfter caps a server's Retry-After so that one odd header cannot
// stall a whole job silently.
const maxRetryAfter = 5 * time.Minute

// chatReply is the model's answer: its text, and why it stopped (a
// finish_reason of "length" means the token limit cut it).
type chatReply struct {
	content   string
	finish    openai.FinishReason
	reasoning int // bytes of reasoning_content, which some servers send apart from the answer
}

// complete sends msgs, retrying transient failures, and returns the reply.
// Each attempt holds one concurrency slot and has its own timeout.
func (c *LLM) complete(ctx context.Context, msgs []openai.ChatCompletionMessage) (chatReply, error) {
	req := c.request(msgs)
	var waited time.Time // the end of the pause this call has already sat out
	// retries counts the retries spent; a model loading and JSON mode
	// refused send the request again without spending one.
	for retries := 0; ; {
		reply, retryAfter, err := c.attempt(ctx, req, waited)
		if err == nil {
			return reply, nil
		}
		if ctx.Err() != nil {
			return chatReply{}, fmt.Errorf("chat completion: %w", ctx.Err())
		}
		if retryAfter > 0 {
			waited = c.pauseAll(min(retryAfter, maxRetryAfter)) // even when this call gives up: the others must wait
		}
		if r := refusal(err); r != nil {
			r.azure = c.azure
			return chatReply{}, r
		}
		if wait, ok := c.loadingPause(err, retryAfter); ok {
			// Not a failure of this request: the server is starting, and
			// every request waits for it. No retry is spent.
			waited = c.pauseAll(wait)
			c.usage.loadingWaits.Add(1)
			if err := c.retryWait(ctx, 0, wait, fmt.Errorf("the endpoint is loading its model: %w", err)); err != nil {
				return chatReply{}, err
			}
			continue
		}
		if req.ResponseFormat != nil && jsonModeRefused(err) {
			// The prompts ask for JSON and replies are parsed leniently, so
			// JSON mode is a help, not a need: this client asks without it
			// from now on, spending no retry on the change.
			c.jsonModeOff.Store(true)
			req.ResponseFormat = nil
			c.onRetry(0, 0, fmt.Errorf("the endpoint refused JSON mode (response_format), asking without it: %w", err))
			continue
		}
		if !isRetryable(err) {
			return chatReply{}, fmt.Errorf("chat completion: %w", err)
		}
		if retries >= c.cfg.MaxRetries {
			if retries == 0 {
				return chatReply{}, fmt.Errorf("chat completion: gave up after 1 attempt (no retries): %w", err)
			}
			return chatReply{}, fmt.Errorf("chat completion: gave up after %d attempts: %w", retries+1, err)
		}
		c.usage.retries.Add(1)
		wait := retryBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff, retries)
		if retryAfter > 0 {
			wait = min(retryAfter, maxRetryAfter) // the pause set above
		}
		retries++
		if err := c.retryWait(ctx, retries, wait, err); err != nil {
			return chatReply{}, err
		}
	}
}

// retryWait tells OnRetry of a request about to be sent again after wait,
// then sits the wait out.
func (c *LLM) retryWait(ctx context.Context, attempt int, wait time.Duration, why error) error {
	c.onRetry(attempt, wait, why)
	if err := c.sleep(ctx, wait); err != nil {
		return fmt.Errorf("chat completion: %w", err)
	}
	return nil
}

// onRetry calls OnRetry, when set.
func (c *LLM) onRetry(attempt int, wait time.Duration, why error) {
	if c.cfg.OnRetry != nil {
		c.cfg.OnRetry(attempt, wait, why)
	}
}

// attempt makes one HTTP request. It returns the server's Retry-After, if
// any, alongside an error.
func (c *LLM) attempt(ctx context.Context, req openai.ChatCompletionRequest, waited time.Time) (chatReply, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		// The select below picks at random between a free slot and an
		// ended context, and a request in flight may outlive its context
		// (sendContext): nothing is sent once the call's context ended.
		return chatReply{}, 0, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return chatReply{}, 0, ctx.Err()
	}
	defer func() { <-c.sem }()
	// After taking the slot: a request that waited for one while a 429
	// arrived must sit out the pause too. The slot is held meanwhile,
	// which is right: nothing may be sent until the pause ends.
	if d := c.pauseLeft(waited); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			return chatReply{}, 0, err
		}
	}

	sctx, release := c.sendContext(ctx)
	defer release()
	actx, cancel := context.WithTimeout(sctx, c.cfg.Timeout)
	defer cancel()
	var meta responseMeta
	actx = context.WithValue(actx, responseMetaKey{}, &meta)

	c.usage.requests.Add(1)
	resp, err := c.client.CreateChatCompletion(actx, req)
	if pe := (*PrivateEndpointError)(nil); errors.As(err, &pe) {
		c.usage.requests.Add(-1) // refused before it was sent
	}
	if err == nil {
		// Counted before the reply is judged: an unusable one is paid for
		// too.
		c.usage.addTokens(resp.Usage)
		c.replied()
	}
	switch {
	case err == nil && len(resp.Choices) == 0:
		err = errorIn200(meta.body, c.secrets)
		if err == nil {
			// Nothing to repair: asking again is all there is to do.
			err = &replyError{retry: true, msg: "the endpoint's reply held no choices (a chat completion with an empty \"choices\")"}
		}
	case err == nil:
	case ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded):
		err = &timeoutError{after: c.cfg.Timeout, err: err}
	default:
		err = describeFailure(err, &meta, c.secrets)
	}
	if err != nil {
		if meta.retryAfter > 0 {
			// Paused before the slot is let go, so the request that takes
			// it next sees the pause.
			c.pauseAll(min(meta.retryAfter, maxRetryAfter))
		}
		return chatReply{}, meta.retryAfter, redact(err, c.secrets)
	}
	choice := resp.Choices[0]
	reply := chatReply{content: messageText(choice.Message), finish: choice.FinishReason, reasoning: len(choice.Message.ReasoningContent)}
	if strings.TrimSpace(reply.content) == "" {
		if err := withheld(reply.finish, meta.body, c.secrets); err != nil {
			return chatReply{}, 0, err
		}
	}
	return reply, 0, nil
}

// withheld explains an empty reply the server stopped on purpose, which a
// repair round cannot mend: a content filter's (Azure, OpenAI), not
// retried, as the same prompt meets the same filter; or a provider's error
// in the choice (finish_reason "error", as OpenRouter sends), retried like
// a 5xx. Nil for any other empty reply.
func withheld(finish openai.FinishReason, body []byte, secret secrets) error {
	switch finish {
	case openai.FinishReasonContentFilter:
		return &replyError{msg: "the endpoint's content filter withheld the reply (finish_reason content_filter)"}
	case "error":
		msg := "the endpoint ended the reply with an error (finish_reason error)"
		var v struct {
			Choices []struct{ Error json.RawMessage } `json:"choices"`
		}
		if json.Unmarshal(body, &v) == nil && len(v.Choices) > 0 {
			if m := errorMessage(v.Choices[0].Error); m != "" {
				msg += ": " + cutText(secret.hide(m))
			}
		}
		return &replyError{retry: true, msg: msg}
	}
	return nil
}

// messageText is a reply's text, also when a server sends the content as
// an array of parts (as requests may), which go-openai keeps apart.
func messageText(m openai.ChatCompletionMessage) string {
	if m.Content != "" || len(m.MultiContent) == 0 {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.MultiContent {
		if p.Type == openai.ChatMessagePartTypeText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// pauseAll holds back every request of c for d (a server's Retry-After)
// and returns when the pause ends.
func (c *LLM) pauseAll(d time.Duration) time.Time {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	until := c.now().Add(d)
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	return until
}

// pauseLeft is how long a request must still wait for a pause to end; a
// caller that has sat out the pause ending at waited waits only for a
// later one (another request's Retry-After).
func (c *LLM) pauseLeft(waited time.Time) time.Duration {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	if !c.pauseUntil.After(waited) {
		return 0
	}
	return c.pauseUntil.Sub(c.now())
}

// RefusedError is an answer no retry or other pair can change: the
// endpoint refused the key (401, 403), does not know the path or model
// (404), or says the account's quota is used up (a 429 whose code is
// insufficient_quota, unlike a rate limit's); or, with Status 0, the
// endpoint is one this client may not reach (PrivateEndpointError). Run
// stops at the first one instead of failing pair after pair.
type RefusedError struct {
	Status int
	err    error
	azure  bool // an Azure endpoint, whose 404 means another thing to check
}

func (e *RefusedError) Error() string {
	if e.Status == 0 { // refused here, before any request (PrivateEndpointError)
		return "chat completion: " + e.err.Error()
	}
	hint := "check the API key"
	switch e.Status {
	case http.StatusNotFound:
		hint = "check the model name, and the base URL: an OpenAI-compatible server's usually ends in /v1"
		if e.azure {
			hint = "check the deployment name (the model), and the base URL: the resource's, https://NAME.openai.azure.com, or its /openai/v1"
		}
	case http.StatusTooManyRequests:
		hint = "the account's quota or credit is used up: check its plan and billing; waiting does not help"
	}
	return fmt.Sprintf("chat completion: the LLM endpoint answered %d (%s): %v", e.Status, hint, e.err)
}

func (e *RefusedError) Unwrap() error { return e.err }

// refusal is err as a RefusedError when it is one (see there), else nil.
// A quota's 429 is told from a rate limit's, which is retried.
func refusal(err error) *RefusedError {
	if pe := (*PrivateEndpointError)(nil); errors.As(err, &pe) {
		return &RefusedError{err: pe} // no request was sent
	}
	if quotaExhausted(err) {
		return &RefusedError{Status: http.StatusTooManyRequests, err: err}
	}
	if isRetryable(err) { // a 401 whose body was cut off is a dropped connection first
		return nil
	}
	switch code := openaiStatus(err); code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return &RefusedError{Status: code, err: err}
	}
	return nil
}

// redactedError hides the API key in an error's text: some servers echo
// the Authorization header they refused ("Invalid token: Bearer sk-..."),
// and errors end up in logs, job records and event streams.
type redactedError struct {
	err error
	msg string // err's text, redacted
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// urlUserinfo matches the credentials part of a URL in a message.
var urlUserinfo = regexp.MustCompile(`(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s"']+@`)

// redact hides the API key, and the credentials of any URL, in err's text.
func redact(err error, secret secrets) error {
	if err == nil {
		return err
	}
	msg := err.Error()
	if r := secret.hide(msg); r != msg {
		return &redactedError{err: err, msg: r}
	}
	return err
}

// secrets are what error texts must not show: the API key, and the user
// name and password of the base URL (a token is often passed as the user
// name), which an endpoint may echo in its own messages.
type secrets []string

// secretsOf lists cfg's secrets.
func secretsOf(cfg LLMConfig) secrets {
	s := secrets{cfg.APIKey}
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		} else if name := u.User.Username(); len(name) >= minRedactLen {
			// A user name alone is a token; one beside a password, or a
			// short one ("user", "api"), is a name that messages use as a
			// word, which hiding would garble.
			s = append(s, name)
		}
	}
	return s
}

// hide redacts each secret in msg, and the credentials of any URL: net/http
// names the request URL with its password masked but its user name shown.
func (s secrets) hide(msg string) string {
	for _, secret := range s {
		switch {
		case secret == "":
		case len(secret) >= minRedactLen:
			msg = strings.ReplaceAll(msg, secret, "<redacted>")
		default:
			msg = replaceToken(msg, secret, "<redacted>")
		}
	}
	return urlUserinfo.ReplaceAllString(msg, "${1}<redacted>@")
}

// minRedactLen is the shortest key redacted wherever it appears. A shorter
// one is redacted wherever it stands as a whole token, which is how servers
// echo a key ("Incorrect API key provided: pw12345."), but not inside a
// longer word: a placeholder key such as "none" or "x" would otherwise
// garble every message ("<redacted>xistent"), and inside a longer word it
// is not an echo of the key.
const minRedactLen = 8

// replaceToken replaces each occurrence of tok in s that no key character
// (letter, digit, '-', '_') adjoins.
func replaceToken(s, tok, with string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for from := 0; ; {
		i := strings.Index(s[from:], tok)
		if i < 0 {
			break
		}
		i += from
		end := i + len(tok)
		if (i > 0 && isKeyByte(s[i-1])) || (end < len(s) && isKeyByte(s[end])) {
			from = i + 1 // part of a longer word: look on from the next byte
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(with)
		done, from = end, end
	}
	b.WriteString(s[done:])
	return b.String()
}

func isKeyByte(c byte) bool {
	return c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// timeoutError marks an attempt that ran past LLMConfig.Timeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("no reply within %v: %v", e.after, e.err) }
func (e *timeoutError) Unwrap() error { return e.err }

// quotaExhausted reports whether err is OpenAI's "insufficient_quota": a
// 429 that, unlike a rate limit, no wait lifts.
func quotaExhausted(err error) bool {
	var ae *openai.APIError
	if !errors.As(err, &ae) || ae.HTTPStatusCode != http.StatusTooManyRequests {
		return false
	}
	code, _ := ae.Code.(string)
	return code == "insufficient_quota" || ae.Type == "insufficient_quota"
}

// isRetryable reports whether err is worth another attempt: rate limits,
// server errors, request timeouts (retryableStatus), attempt timeouts and transport failures (a local server
// restarting, a dropped connection, also after the headers). Other 4xx mean
// the request itself is wrong and would fail again, and so would a reply
// too large to read.
func isRetryable(err error) bool {
	var te *timeoutError
	var be *bodyReadError
	var re *replyError
	switch {
	case errors.As(err, new(*RedirectError)):
		return false // the same request would be redirected again
	case errors.As(err, &te), errors.As(err, &be):
		return true
	case errors.Is(err, ErrReplyTooLarge):
		return false
	case errors.As(err, &re):
		return re.retry
	}
	if code := openaiStatus(err); code != 0 {
		return retryableStatus(code)
	}
	var ne net.Error
	// headerDoer reads bodies itself (bodyReadError); should one reach
	// go-openai, it wraps a failed read as "error, reading response body:
	// %w", so errors.Is still sees a dropped connection's unexpected EOF.
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// loadingWait spaces the requests to a server that answers it is loading
// its model (or its Retry-After, when longer).
const loadingWait = 2 * time.Second

// modelLoading reports whether err is a server saying it is loading its
// model: llama.cpp's 503 "Loading model" until the weights are in memory,
// which takes longer than the retries' backoff on a large model.
func modelLoading(err error) bool {
	return openaiStatus(err) == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(serverMessage(err)), "loading")
}

// serverMessage is the message a JSON error body gave (describeFailure put
// it in place), not an excerpt of any other body: a proxy's 503 page that
// shows "Loading…" says nothing about a model.
func serverMessage(err error) string {
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	var re *openai.RequestError
	if errors.As(err, &re) && string(re.Body) == bodyIsMessage && re.Err != nil {
		return re.Err.Error()
	}
	return ""
}

// loadingPause is how long to wait after err when it says the model is
// loading, and false when it does not, or when the endpoint has said so
// for maxRetryAfter already with no reply in between: the window is the
// client's, not one call's, so a server that never loads ends a run after
// it like any failing endpoint.
func (c *LLM) loadingPause(err error, retryAfter time.Duration) (time.Duration, bool) {
	if !modelLoading(err) {
		return 0, false
	}
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	now := c.now()
	if c.loadingSince.IsZero() {
		c.loadingSince = now
	}
	if now.Sub(c.loadingSince) >= maxRetryAfter {
		return 0, false
	}
	return max(loadingWait, min(retryAfter, maxRetryAfter)), true
}

// replied ends a loading window: the endpoint answers again.
func (c *LLM) replied() {
	c.pauseMu.Lock()
	c.loadingSince = time.Time{}
	c.pauseMu.Unlock()
}

// jsonModeRefused reports whether err is a server refusing JSON mode: a
// 400 or 422 whose message names response_format (vLLM, TGI and LM Studio
// versions that lack it answer "Unsupported response_format type" or the
// like).
func jsonModeRefused(err error) bool {
	if code := openaiStatus(err); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "response_format") || strings.Contains(msg, "response format")
}

// retryableStatus reports whether an HTTP status is worth another attempt:
// 5xx, a rate limit (429), a proxy's or load balancer's request timeout
// (408), and a conflict (409, which OpenAI answers when a request lost a
// lock race). OpenAI's own SDKs retry the same set.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// openaiStatus digs the status code out of go-openai's two error types,
// or of a reply whose body was cut off.
func openaiStatus(err error) int {
	var be *bodyReadError
	if errors.As(err, &be) && be.status >= http.StatusBadRequest {
		return be.status
	}
	var re *openai.RequestError
	if errors.As(err, &re) && re.HTTPStatusCode != 0 {
		return re.HTTPStatusCode
	}
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatusCode
	}
	return 0
}

// retryBackoff is exponential backoff with full jitter: a uniform wait in
// [0, min(hi, lo·2^attempt)], which spreads out clients that failed together.
func retryBackoff(lo, hi time.Duration, attempt int) time.Duration {
	ceiling := hi
	if attempt < 63 && lo <= hi>>attempt { // shifting hi down cannot overflow
		ceiling = lo << attempt
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func llmSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter reads retry-after-ms (sent by OpenAI) or Retry-After in
// seconds or as an HTTP date, capped at maxRetryAfter; zero when absent or
// unreadable.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return retryAfterOf(ms, time.Millisecond)
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return retryAfterOf(s, time.Second)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// retryAfterOf is n units, capped at maxRetryAfter before the conversion:
// past about 292 years (1e30, "inf") a time.Duration overflows to a
// negative, which would read as no Retry-After at all.
func retryAfterOf(n float64, unit time.Duration) time.Duration {
	switch d := n * float64(unit); {
	case !(d > 0): // NaN too
		return 0
	case d >= float64(maxRetryAfter):
		return maxRetryAfter
	default:
		return time.Duration(d)
	}
}
