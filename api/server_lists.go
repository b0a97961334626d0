package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// listBody is the OpenAI list envelope every collection endpoint returns.
type listBody[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

// newList wraps one page; an empty page is [] rather than null.
func newList[T any](data []T, hasMore bool) listBody[T] {
	if data == nil {
		data = []T{}
	}
	return listBody[T]{Object: "list", Data: data, HasMore: hasMore}
}

// created answers a create with status (201, or 202 for work that goes
// on) and the new object, whose path /v1/<objects>/<id> is in Location.
func created(c *gin.Context, status int, path string, object any) {
	c.Header("Location", path)
	c.JSON(status, object)
}

// parseLimit reads ?limit= (1..max, default def). It writes the 400 itself
// and returns false on a bad value.
func parseLimit(c *gin.Context, def, max int) (int, bool) {
	raw, ok := c.GetQuery("limit")
	if !ok {
		return def, true
	}
	n, ok := parseCount(raw)
	if !ok || n < 1 || n > int64(max) {
		badRequestParam(c, "limit", fmt.Sprintf("limit must be an integer from 1 to %d, got %q", max, raw))
		return 0, false
	}
	return int(n), true
}

// parseCount reads a query value that must be a plain decimal integer >= 0
// (no sign, no spaces, no exponent), as limits and cursors are.
func parseCount(raw string) (int64, bool) {
	n, err := strconv.ParseInt(raw, 10, 64)
	return n, err == nil && isDigits(raw)
}

// parsePage reads ?limit=&after= for a newest-first listing of objects whose
// ids start with prefix ("after" is the last id of the previous page).
func parsePage(c *gin.Context, prefix, what string) (store.Page, bool) {
	limit, ok := parseLimit(c, store.DefaultPageLimit, store.MaxPageLimit)
	if !ok {
		return store.Page{}, false
	}
	after, given := c.GetQuery("after")
	if given && !store.ValidID(prefix, after) {
		badRequestParam(c, "after", fmt.Sprintf("after: malformed %s id %q: expected %q followed by 24 characters a-z, 2-7", what, after, prefix))
		return store.Page{}, false
	}
	return store.Page{Limit: limit, After: after}, true
}

// pathID returns the :param path parameter if it is a well-formed id with
// prefix, and otherwise answers 400 and returns false, so a malformed id is
// told apart from an unknown one (404).
func pathID(c *gin.Context, param, prefix, what string) (string, bool) {
	id := c.Param(param)
	if !store.ValidID(prefix, id) {
		badRequest(c, fmt.Sprintf("malformed %s id %q: expected %q followed by 24 characters a-z, 2-7", what, id, prefix))
		return "", false
	}
	return id, true
}

// abortList answers a listing's store error. An "after" cursor naming no
// object is the request's fault, so it is a 400, not a 404. Ids are random,
// so a deleted object's place in the order is gone with it.
func (s *Server) abortList(c *gin.Context, err error, what, after string) {
	if errors.Is(err, store.ErrNotFound) {
		badRequestParam(c, "after", fmt.Sprintf("after: %s %s not found (deleted since that page? list again from the first page)", what, after))
		return
	}
	s.abortStore(c, err, "")
}

// isDigits reports whether s is a non-empty run of ASCII digits: strconv
// also takes a leading sign, which no count or cursor here is written with.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
