package api

import (
	"context"
	"errors"
	"fmt"
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

// internalMessage is a 500's message: the request id finds its cause in
// the server log.
func internalMessage(requestID string) string {
	return fmt.Sprintf("internal error; see the server log (request_id %s)", requestID)
}

// internalError logs err and answers a 500 without internals (paths, SQL),
// or a 507 naming the cause when the machine refused a write (a full disk,
// a read-only database): that is for the operator to fix, and the client
// to retry after.
func (s *Server) internalError(c *gin.Context, err error) {
	id := c.GetString(ctxRequestID)
	if p := store.StorageProblem(err); p != "" {
		s.log.Error("storage refused a write", "problem", p, "request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		abort(c, http.StatusInsufficientStorage, codeStorage, p+"; the request did not take effect: retry once the server's operator has fixed it")
		return
	}
	s.log.Error("internal error", "request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	abort(c, http.StatusInternalServerError, codeInternal, internalMessage(id))
}
