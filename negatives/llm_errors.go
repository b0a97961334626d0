package negatives

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"retune/internal/textcut"

	openai "github.com/sashabaranov/go-openai"
)

// maxErrorText caps the server-provided text (a body, an error message) in
// an error: errors go to logs, job records, events and the database, and a
// proxy's 2 MB HTML error page must not go with them.
const maxErrorText = 300

// describeFailure turns what go-openai returned for one attempt into the
// error to show: server text redacted and cut short, and a 2xx reply that
// did not decode explained. go-openai's error types are kept (as copies),
// so their status codes still drive the retry decision.
func describeFailure(err error, meta *responseMeta, secret secrets) error {
	switch e := err.(type) {
	case *openai.APIError:
		c := *e
		c.Message = cutText(secret.hide(c.Message))
		return &c
	case *openai.RequestError: // a body that is not an OpenAI error object
		c := *e
		if msg := bodyMessage(e.Body); msg != "" {
			// The message is the body's point: quoting the body too would
			// show the same text twice.
			c.Err = errors.New(cutText(secret.hide(msg)))
			c.Body = []byte(bodyIsMessage)
		} else {
			// go-openai's own text here is why the body did not decode
			// ("invalid character '<'"), which reads as the server's.
			c.Err = errors.New("none found in the body")
			c.Body = []byte(excerpt(e.Body, meta.size, secret))
		}
		return &c
	}
	if meta.received && meta.status < http.StatusMultipleChoices {
		return notCompletion(err, meta, secret) // the only failure left after a 2xx is decoding it
	}
	return err
}

// bodyIsMessage stands for the body of a RequestError whose message
// describeFailure took out of it (a JSON error in a shape go-openai does
// not read).
const bodyIsMessage = "(its message)"

// replyError is a 2xx reply that is not a chat completion.
type replyError struct {
	msg   string
	retry bool // the reply may be a dropped connection
	err   error
}

func (e *replyError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *replyError) Unwrap() error { return e.err }

// notCompletion explains a 2xx reply go-openai could not decode (err) in
// terms of what came: nothing, a stream, a page, a cut-off object.
func notCompletion(err error, meta *responseMeta, secret secrets) error {
	ct := meta.contentType
	if ct == "" {
		ct = "no content type"
	}
	mediaType, _, _ := mime.ParseMediaType(meta.contentType)
	body := bytes.TrimSpace(meta.body)
	what := fmt.Sprintf("status %d, %s", meta.status, ct)
	switch {
	case len(body) == 0:
		// Headers then nothing: a server that closed the connection
		// early looks just the same, so it is retried.
		return &replyError{retry: true, msg: "the endpoint's reply was not a chat completion: an empty body (" + what + ")"}
	case mediaType == "text/event-stream" || bytes.HasPrefix(body, []byte("data:")) || bytes.HasPrefix(body, []byte("event:")):
		return &replyError{msg: fmt.Sprintf("the endpoint's reply was not a chat completion but an event stream, though none was asked for (%s): %s",
			what, excerpt(meta.body, meta.size, secret))}
	case body[0] == '{' && errors.Is(err, io.ErrUnexpectedEOF):
		// A body that ends mid-object without a transport error: a
		// connection closed early on a reply of unstated length.
		return &replyError{retry: true, msg: fmt.Sprintf("the endpoint's reply ended mid-JSON after %d bytes (%s)", len(meta.body), what)}
	}
	hint := ""
	if mediaType == "text/html" {
		hint = " (a web page: check the base URL; an OpenAI-compatible server's usually ends in /v1)"
	}
	return &replyError{err: err, msg: fmt.Sprintf("the endpoint's reply was not a chat completion%s (%s): %s",
		hint, what, excerpt(meta.body, meta.size, secret))}
}

// errorIn200 is the error object some servers send with status 200 in
// place of a completion; nil when body holds none. It is retried unless its
// code says the request itself is wrong (a 4xx retryableStatus refuses): the server
// took the request, so the failure is more likely its own.
func errorIn200(body []byte, secret secrets) error {
	var v struct{ Error json.RawMessage }
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 || string(v.Error) == "null" {
		return nil
	}
	msg := bodyMessage(body)
	if msg == "" {
		msg = string(v.Error)
	}
	code := 0
	if ae := new(openai.APIError); json.Unmarshal(v.Error, ae) == nil {
		code, _ = ae.Code.(int)
	}
	return &replyError{
		retry: code < 400 || retryableStatus(code),
		msg:   "the endpoint answered with an error instead of a chat completion: " + cutText(secret.hide(msg)),
	}
}

// bodyMessage is the message of a JSON error body in the shapes servers
// use: OpenAI's {"error": {"message": ...}}, {"error": "..."}, FastAPI's
// {"detail": "..."}, {"message": "..."}; empty when there is none.
func bodyMessage(body []byte) string {
	var v struct{ Error, Detail, Message json.RawMessage }
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if m := errorMessage(v.Error); m != "" {
		return m
	}
	for _, raw := range []json.RawMessage{v.Detail, v.Message} {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// errorMessage is the message of an "error" member: an OpenAI error
// object's, or the member itself when it is a string; empty otherwise.
func errorMessage(raw json.RawMessage) string {
	var ae openai.APIError
	if len(raw) > 0 && json.Unmarshal(raw, &ae) == nil && ae.Message != "" {
		return ae.Message
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// cutText shortens a server's message to maxErrorText bytes, noting the cut,
// with any invalid UTF-8 (a proxy's Latin-1 page) as U+FFFD.
func cutText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxErrorText {
		return s
	}
	return clip(s, fmt.Sprintf("%d bytes", len(s)))
}

// excerpt is a body as shown in an error: the key hidden first (a cut
// could leave a piece of it), on one line, invalid UTF-8 as U+FFFD, cut to maxErrorText with the
// body's full size noted (total; negative: unknown, past len(body)).
func excerpt(body []byte, total int64, secret secrets) string {
	head := body[:min(len(body), 2*maxErrorText)]
	s := strings.Join(strings.Fields(strings.ToValidUTF8(secret.hide(string(head)), "\uFFFD")), " ")
	if len(head) == len(body) && total == int64(len(body)) && len(s) <= maxErrorText {
		return s
	}
	size := fmt.Sprintf("%d bytes", total)
	if total < 0 {
		size = fmt.Sprintf("more than %d bytes", len(body))
	}
	return clip(s, size)
}

// clip cuts s at maxErrorText bytes, on a UTF-8 boundary, and notes the
// full size.
func clip(s, size string) string {
	return textcut.Prefix(s, maxErrorText) + "… (" + size + ")"
}
