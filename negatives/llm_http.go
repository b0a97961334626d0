package negatives

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxReplyBytes caps the body of a successful reply. A JSON reply to these
// prompts is a few kilobytes, and even a reasoning model's thinking at a
// generous max_tokens stays far below this; without a cap one misbehaving
// endpoint (seen: 150 MB of content per reply) is read whole into memory,
// decoded, and echoed back in the repair request.
const maxReplyBytes = 4 << 20

// maxErrorBodyBytes caps what is read of an error reply (4xx, 5xx): only
// its status and message are used, and the message is cut to maxErrorText.
// Large enough that a JSON error padded with a stack trace still decodes.
const maxErrorBodyBytes = 1 << 20

// ErrReplyTooLarge marks a reply body past maxReplyBytes. It is not
// retried: the same request would most likely get the same reply.
var ErrReplyTooLarge = fmt.Errorf("reply larger than %d MiB", maxReplyBytes>>20)

// responseMeta carries what the retry loop needs from an HTTP response that
// go-openai drops: headers, the status of a reply it failed to read, the
// body it failed to decode. It travels in the request's context, so
// concurrent requests on the shared client do not mix.
type responseMeta struct {
	retryAfter  time.Duration
	received    bool // the whole body (up to its cap) was read
	status      int
	contentType string
	body        []byte // as read, at most maxReplyBytes or maxErrorBodyBytes
	size        int64  // the body's full size, -1 when cut short at an unknown size
}

type responseMetaKey struct{}

// headerDoer is the client's HTTP doer: it reads each body here, under its
// cap, so that a huge reply never reaches go-openai, a connection lost
// mid-body is told apart from a bad reply, and the body is kept for error
// messages.
type headerDoer struct{ inner *http.Client }

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	meta, ok := req.Context().Value(responseMetaKey{}).(*responseMeta)
	if !ok {
		meta = new(responseMeta)
	}
	meta.retryAfter = parseRetryAfter(resp.Header, time.Now())
	meta.status = resp.StatusCode
	meta.contentType = resp.Header.Get("Content-Type")

	failed := resp.StatusCode >= http.StatusBadRequest
	limit := int64(maxReplyBytes)
	if failed {
		limit = maxErrorBodyBytes
	}
	if !failed && resp.ContentLength > limit {
		return nil, fmt.Errorf("%w (%d bytes, status %d)", ErrReplyTooLarge, resp.ContentLength, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &bodyReadError{status: resp.StatusCode, read: len(body), err: err}
	}
	meta.size = max(resp.ContentLength, int64(len(body)))
	if int64(len(body)) > limit {
		if !failed {
			return nil, fmt.Errorf("%w (status %d; stopped reading)", ErrReplyTooLarge, resp.StatusCode)
		}
		// An error's body only supplies its message: the start is enough.
		body = body[:limit]
		if resp.ContentLength < 0 {
			meta.size = -1
		}
	}
	meta.body, meta.received = body, true
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// bodyReadError is a connection lost while a reply's body was read, after
// its status line: a dropped connection, retried like one. It keeps the
// status, which go-openai's own "error, reading response body" loses.
type bodyReadError struct {
	status int
	read   int
	err    error
}

func (e *bodyReadError) Error() string {
	return fmt.Sprintf("connection lost after %d bytes of a %d reply: %v", e.read, e.status, e.err)
}

func (e *bodyReadError) Unwrap() error { return e.err }
