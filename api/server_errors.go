package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// abortStore answers an error from the store: unknown objects 404 (with
// notFoundMsg), conflicts 409 and invalid ids or arguments 400, each with
// the store's message, which names the objects involved; anything else is a
// logged 500 whose details stay in the log.
func (s *Server) abortStore(c *gin.Context, err error, notFoundMsg string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound(c, notFoundMsg)
	case errors.Is(err, store.ErrConflict):
		abort(c, http.StatusConflict, codeConflict, err.Error())
	case errors.Is(err, store.ErrInvalidID), errors.Is(err, store.ErrInvalidArgument):
		badRequest(c, err.Error())
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		c.Abort() // the client went away; nobody reads an answer
	default:
		s.internalError(c, err)
	}
}

// internalError logs err and answers a 500 without internals (paths, SQL).
func (s *Server) internalError(c *gin.Context, err error) {
	s.log.Error("internal error", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	abort(c, http.StatusInternalServerError, codeInternal, "internal error; see the server log")
}
