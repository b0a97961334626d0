package api

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/gin-gonic/gin"
)

// A write the machine refused answers 507 naming the cause, not a bare 500;
// a 500 names its request id, which the log line of its cause carries.
func TestInternalErrorNamesStorageProblems(t *testing.T) {
	var log bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&log, nil))}
	for _, tt := range []struct {
		err    error
		status int
		msg    string
		logged string // the log line's message
	}{
		{fmt.Errorf("store corpus.jsonl: %w", &fs.PathError{Op: "write", Path: "/srv/data/x", Err: syscall.ENOSPC}), 507, "the server's disk is full", `msg="storage refused a write"`},
		{errors.New("something else"), 500, "internal error; see the server log (request_id req-7)", `msg="internal error"`},
	} {
		log.Reset()
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest("POST", "/v1/datasets", nil)
		c.Set(ctxRequestID, "req-7")
		s.internalError(c, tt.err)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.msg) || strings.Contains(w.Body.String(), "/srv/data") {
			t.Errorf("%v: %d %s, want %d with %q and no server path", tt.err, w.Code, w.Body, tt.status, tt.msg)
		}
		if !strings.Contains(log.String(), tt.logged) {
			t.Errorf("%v: logged %s, want %s (a full disk is not an internal error)", tt.err, log.String(), tt.logged)
		}
	}
	if !strings.Contains(log.String(), "request_id=req-7") || !strings.Contains(log.String(), "err=\"something else\"") {
		t.Errorf("log lines lack the request id beside the cause:\n%s", log.String())
	}
}
