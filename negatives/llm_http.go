package negatives

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
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

// headerDoer is the client's HTTP doer: it sends a temperature of 0 as 0
// (zeroTemperature) and adds its headers; it reads each body here, under its
// cap, so that a huge reply never reaches go-openai, a connection lost
// mid-body is told apart from a bad reply, and the body is kept for error
// messages.
type headerDoer struct {
	inner    *http.Client
	header   http.Header // added to every request
	zeroTemp bool        // the client asks for temperature 0: bodies are rewritten
}

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	if d.zeroTemp {
		var err error
		if req, err = zeroTemperature(req); err != nil {
			return nil, err
		}
	}
	for k, v := range d.header { // canonical keys: these replace the request's
		req.Header[k] = v
	}
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

// zeroTemperatureMark stands in for a temperature of 0 in a request built
// by go-openai, which leaves a zero field out (and the server's default,
// often 0.8 or 1, would apply); zeroTemperature turns it back into 0.
// Sending the mark itself is no substitute: llama.cpp decodes greedily only
// at a temperature ≤ 0 and divides the logits by any other, which at 1e-45
// overflows them to infinities and its probabilities to NaN.
const zeroTemperatureMark = math.SmallestNonzeroFloat32

// zeroTemperature returns req with a "temperature" of zeroTemperatureMark
// set to 0 in its JSON body; any other request as it is.
func zeroTemperature(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.GetBody == nil {
		return req, nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return req, nil
	}
	var t float32
	if raw, ok := fields["temperature"]; !ok || json.Unmarshal(raw, &t) != nil || t != zeroTemperatureMark {
		return req, nil
	}
	fields["temperature"] = json.RawMessage("0")
	if body, err = json.Marshal(fields); err != nil {
		return nil, fmt.Errorf("rewrite request body: %w", err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return out, nil
}
