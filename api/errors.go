package api

import (
	"fmt"
	"net/http"

	"retune/internal/textcut"

	"github.com/gin-gonic/gin"
)

// errorBody is the OpenAI-style error envelope, so OpenAI clients surface
// the message as they do for the real API.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// Error codes (also listed in openapi.yaml).
const (
	codeInvalidRequest = "invalid_request"
	codeNotFound       = "not_found"
	codeTooLarge       = "too_large"
	codeUnauthorized   = "unauthorized"
	codeConflict       = "conflict"
	codeInternal       = "internal_error"
	codeUnavailable    = "unavailable"
	codeStorage        = "insufficient_storage"
)

func abort(c *gin.Context, status int, code, msg string) { abortParam(c, status, code, "", msg) }

// abortParam answers an error whose "param" names the offending field, as
// OpenAI's errors do (null when param is empty).
func abortParam(c *gin.Context, status int, code, param, msg string) {
	msg, param = cutEcho(msg, maxErrorMessage), cutEcho(param, maxErrorParam)
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	body := errorBody{Error: apiError{Message: msg, Type: typ, Code: code}}
	if param != "" {
		body.Error.Param = &param
	}
	c.Set(ctxErrorMsg, msg)
	c.AbortWithStatusJSON(status, body)
}

// Caps on an error's message and param. Messages quote what the client
// sent (a model name, a field's value, a key), and a 15 MB model name must
// not come back 15 MB long, nor fill the access log.
const (
	maxErrorMessage = 4 << 10
	maxErrorParam   = 256
)

// cutEcho cuts s to at most limit bytes (on a rune boundary), marking the
// cut.
func cutEcho(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return textcut.Prefix(s, limit) + fmt.Sprintf("… (%d bytes in all)", len(s))
}

func badRequest(c *gin.Context, msg string) { abort(c, http.StatusBadRequest, codeInvalidRequest, msg) }

func badRequestParam(c *gin.Context, param, msg string) {
	abortParam(c, http.StatusBadRequest, codeInvalidRequest, param, msg)
}
func notFound(c *gin.Context, msg string) { abort(c, http.StatusNotFound, codeNotFound, msg) }

// emptyName is how error.param names an empty JSON key or query parameter
// name: as JSON spells it, since the bare name would leave param empty (as
// if no field were named).
const emptyName = `""`

// keyParam is the param naming the JSON key at path (dotted, as the key
// checks build it), its last key written emptyName when it is empty:
// "" → `""`, "hyperparameters." → `hyperparameters.""` (a key "x." is
// itself: the path alone cannot tell the two apart).
func keyParam(path string, emptyKey bool) string {
	if emptyKey {
		return path + emptyName
	}
	return path
}

// nameParam is the param naming a query parameter, or a JSON key by itself.
func nameParam(name string) string {
	if name == "" {
		return emptyName
	}
	return name
}
