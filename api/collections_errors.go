package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"retune/model"
)

// collectionError is a failure of the collection or search routes that
// carries the HTTP status and error code it is reported with, so the
// functions doing the work stay free of Gin and the handlers stay thin.
type collectionError struct {
	status int
	code   string
	msg    string
	param  string // the offending field, when one is
	// retryAfter, when not zero, is sent as Retry-After (seconds): the
	// refusal is transient and clients that retry on their own should
	// wait at least that long.
	retryAfter int
}

func (e *collectionError) Error() string { return e.msg }

func colErrorf(status int, code, format string, args ...any) error {
	return &collectionError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func colBadRequest(format string, args ...any) error {
	return colErrorf(http.StatusBadRequest, codeInvalidRequest, format, args...)
}

// colBadParam is a 400 about one field, which the error's param names.
func colBadParam(param, format string, args ...any) error {
	return &collectionError{status: http.StatusBadRequest, code: codeInvalidRequest, msg: fmt.Sprintf(format, args...), param: param}
}

func colNotFound(format string, args ...any) error {
	return colErrorf(http.StatusNotFound, codeNotFound, format, args...)
}

// colNotFoundParam is a 404 for an object a request field names.
func colNotFoundParam(param, format string, args ...any) error {
	return &collectionError{status: http.StatusNotFound, code: codeNotFound, msg: fmt.Sprintf(format, args...), param: param}
}

// withParam names param as the offending field of a collectionError that
// names none; other errors pass unchanged.
func withParam(err error, param string) error {
	var ce *collectionError
	if errors.As(err, &ce) && ce.param == "" {
		named := *ce
		named.param = param
		return &named
	}
	return err
}

func colConflict(format string, args ...any) error {
	return colErrorf(http.StatusConflict, codeConflict, format, args...)
}

// writeCollectionError reports err: a collectionError as itself, a request
// the client abandoned not at all, anything else as a logged 500.
func (s *Server) writeCollectionError(c *gin.Context, err error) {
	var ce *collectionError
	switch {
	case errors.As(err, &ce):
		if ce.retryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(ce.retryAfter))
		}
		abortParam(c, ce.status, ce.code, ce.param, ce.msg)
	case errors.Is(err, errServerClosing):
		abort(c, http.StatusServiceUnavailable, codeUnavailable, err.Error())
	case c.Request.Context().Err() != nil && errors.Is(err, context.Canceled):
		c.Abort() // the client went away; nobody reads a response
	default:
		s.internalError(c, err)
	}
}

// encoderBroken is the 503 for an installed encoder that does not open (a
// file missing or damaged), naming it and what it needs, without the
// server's paths; other errors pass unchanged.
func (s *Server) encoderBroken(err error) error {
	if !errors.Is(err, model.ErrEncoderBroken) {
		return err
	}
	return &collectionError{status: http.StatusServiceUnavailable, code: codeUnavailable,
		msg: s.hidePaths(err.Error()) + " (the server's operator should check its files, and install it again the way it was if they are damaged: make setup for glove-100d, make fixtures for a *-fixture, retune models add --force for an imported one)"}
}
