package negatives

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxRetryAfter caps a server's Retry-After so that one odd header cannot
// stall a whole job silently.
const maxRetryAfter = 5 * time.Minute

// complete sends msgs, retrying transient failures, and returns the reply
// text. Each attempt holds one concurrency slot and has its own timeout.
func (c *LLM) complete(ctx context.Context, msgs []openai.ChatCompletionMessage) (string, error) {
	req := c.request(msgs)
	var waited time.Time // the end of the pause this call has already sat out
	for attempt := 0; ; attempt++ {
		content, retryAfter, err := c.attempt(ctx, req, waited)
		if err == nil {
			return content, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("chat completion: %w", ctx.Err())
		}
		if retryAfter > 0 {
			waited = c.pauseAll(min(retryAfter, maxRetryAfter)) // even when this call gives up: the others must wait
		}
		if !isRetryable(err) {
			if code := openaiStatus(err); code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound {
				return "", &RefusedError{Status: code, err: err}
			}
			return "", fmt.Errorf("chat completion: %w", err)
		}
		if attempt >= c.cfg.MaxRetries {
			return "", fmt.Errorf("chat completion: gave up after %d attempts: %w", attempt+1, err)
		}
		c.usage.retries.Add(1)
		wait := retryBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff, attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, maxRetryAfter) // the pause set above
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(attempt+1, wait, err)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return "", fmt.Errorf("chat completion: %w", err)
		}
	}
}

// attempt makes one HTTP request. It returns the server's Retry-After, if
// any, alongside an error.
func (c *LLM) attempt(ctx context.Context, req openai.ChatCompletionRequest, waited time.Time) (string, time.Duration, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	defer func() { <-c.sem }()
	// After taking the slot: a request that waited for one while a 429
	// arrived must sit out the pause too. The slot is held meanwhile,
	// which is right: nothing may be sent until the pause ends.
	if d := c.pauseLeft(waited); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			return "", 0, err
		}
	}

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var meta responseMeta
	actx = context.WithValue(actx, responseMetaKey{}, &meta)

	c.usage.requests.Add(1)
	resp, err := c.client.CreateChatCompletion(actx, req)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = &timeoutError{after: c.cfg.Timeout, err: err}
		}
		if meta.retryAfter > 0 {
			// Paused before the slot is let go, so the request that takes
			// it next sees the pause.
			c.pauseAll(min(meta.retryAfter, maxRetryAfter))
		}
		return "", meta.retryAfter, redact(err, c.cfg.APIKey)
	}
	c.usage.addTokens(resp.Usage)
	if len(resp.Choices) == 0 {
		// Treated as an unusable reply, which the repair round handles.
		return "", 0, nil
	}
	return resp.Choices[0].Message.Content, 0, nil
}

// pauseAll holds back every request of c for d (a server's Retry-After)
// and returns when the pause ends.
func (c *LLM) pauseAll(d time.Duration) time.Time {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	until := time.Now().Add(d)
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
	return time.Until(c.pauseUntil)
}

// RefusedError is an answer no retry or other pair can change: the
// endpoint refused the key (401, 403) or does not know the path or model
// (404). Run stops at the first one instead of failing pair after pair.
type RefusedError struct {
	Status int
	err    error
}

func (e *RefusedError) Error() string {
	hint := "check the API key"
	if e.Status == http.StatusNotFound {
		hint = "check the model name, and the base URL: an OpenAI-compatible server's usually ends in /v1"
	}
	return fmt.Sprintf("chat completion: the LLM endpoint answered %d (%s): %v", e.Status, hint, e.err)
}

func (e *RefusedError) Unwrap() error { return e.err }

// redactedError hides the API key in an error's text: some servers echo
// the Authorization header they refused ("Invalid token: Bearer sk-..."),
// and errors end up in logs, job records and event streams.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	if e.secret != "" {
		msg = strings.ReplaceAll(msg, e.secret, "<redacted>")
	}
	// net/http's errors name the request URL with its password masked but
	// its user name shown, and a token is often passed as the user name.
	return urlUserinfo.ReplaceAllString(msg, "${1}<redacted>@")
}
func (e *redactedError) Unwrap() error { return e.err }

// urlUserinfo matches the credentials part of a URL in a message.
var urlUserinfo = regexp.MustCompile(`(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s"']+@`)

// redact hides the API key, and the credentials of any URL, in err's text.
func redact(err error, secret string) error {
	if err == nil {
		return err
	}
	if secret != "" && len(secret) < minRedactLen {
		// A placeholder key ("x", "none") would garble every message:
		// hide it only where a server echoes the header.
		secret = "Bearer " + secret
	}
	msg := err.Error()
	if (secret == "" || !strings.Contains(msg, secret)) && !urlUserinfo.MatchString(msg) {
		return err
	}
	return &redactedError{err: err, secret: secret}
}

// minRedactLen is the shortest key redacted wherever it appears.
const minRedactLen = 8

// timeoutError marks an attempt that ran past LLMConfig.Timeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("no reply within %v: %v", e.after, e.err) }
func (e *timeoutError) Unwrap() error { return e.err }

// isRetryable reports whether err is worth another attempt: rate limits,
// server errors, attempt timeouts and transport failures (a local server
// restarting, a dropped connection). Other 4xx mean the request itself is
// wrong and would fail again.
func isRetryable(err error) bool {
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if code := openaiStatus(err); code != 0 {
		return code == http.StatusTooManyRequests || code >= 500
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// openaiStatus digs the status code out of go-openai's two error types.
func openaiStatus(err error) int {
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

// responseMeta carries what the retry loop needs from an HTTP response that
// go-openai turns into an error. It travels in the request's context, so
// concurrent requests on the shared client do not mix.
type responseMeta struct{ retryAfter time.Duration }

type responseMetaKey struct{}

type headerDoer struct{ inner *http.Client }

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(req)
	if err == nil {
		if meta, ok := req.Context().Value(responseMetaKey{}).(*responseMeta); ok {
			meta.retryAfter = parseRetryAfter(resp.Header, time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads retry-after-ms (sent by OpenAI) or Retry-After in
// seconds or as an HTTP date; zero when absent or unreadable.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
