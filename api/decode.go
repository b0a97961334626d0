package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads a strict JSON body into dst: unknown fields, trailing data
// and bodies over the limit are errors the caller reports as 400 / 413.
// It writes the error response itself and returns false on failure.
func decodeJSON(c *gin.Context, dst any) bool {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest, fmt.Sprintf("content type %q: send application/json", ct))
		return false
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		switch {
		case isTooLarge(err):
			abort(c, http.StatusRequestEntityTooLarge, codeTooLarge, "request body too large")
		case errors.Is(err, io.EOF):
			badRequest(c, "request body is empty: send a JSON object")
		default:
			badRequest(c, "invalid JSON body: "+describeJSONError(err))
		}
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if isTooLarge(err) {
			abort(c, http.StatusRequestEntityTooLarge, codeTooLarge, "request body too large")
		} else {
			badRequest(c, "invalid JSON body: unexpected data after the JSON object")
		}
		return false
	}
	return true
}

// describeJSONError phrases encoding/json errors for API users.
func describeJSONError(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return fmt.Sprintf("field %q must be %s, not %s", ute.Field, ute.Type.String(), ute.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return err.Error()
}
