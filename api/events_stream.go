package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"retune/store"
)

const (
	// streamPoll re-reads the store when no notification came, e.g. for
	// events written by another process sharing the data directory.
	streamPoll = 2 * time.Second
	// streamGrace is how long a stream waits for the final status event
	// of a job the store already shows finished. The status and that
	// event are written in one transaction, but a round reads the events
	// before the job: a job that ends in between looks finished with its
	// event not yet sent (the next round sends it). A job finished without
	// one (a failed append) ends the stream after the grace.
	streamGrace = 2 * time.Second
	// streamKeepAlive is the longest silence before a comment line, so
	// proxies do not close an idle stream.
	streamKeepAlive = 15 * time.Second
	// streamRetryMS is the reconnection delay a shutting-down server
	// suggests to EventSource clients.
	streamRetryMS = 5000
)

// streamEvents sends the job's events after seq `after` as Server-Sent
// Events (id: seq, event: type, data: the event object as JSON), then live
// ones, and ends after the job's final status event, when the client
// disconnects or when the server stops streams (with a "shutdown" frame).
func (s *Server) streamEvents(c *gin.Context, jobID string, after int64) {
	ctx := c.Request.Context()
	job, err := s.store.GetJob(ctx, jobID)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", jobID))
		return
	}
	if store.JobFinished(job.Status) {
		// An EventSource reconnects by itself after a stream ends, with
		// the last id it saw. A finished job (its final event was stored
		// with its status, so it is visible now) with nothing after that
		// is answered 204, which tells the EventSource to stop.
		evs, _, err := s.store.ListEvents(ctx, jobID, after, 1)
		if err != nil {
			s.abortStore(c, err, fmt.Sprintf("job %s not found", jobID))
			return
		}
		if len(evs) == 0 {
			c.Status(http.StatusNoContent)
			return
		}
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	c.Status(http.StatusOK)
	c.Writer.Flush()

	st := &eventStream{s: s, c: c, jobID: jobID, after: after, lastWrite: time.Now()}
	for st.round() {
	}
}

// eventStream is one client's stream of one job's events.
type eventStream struct {
	s             *Server
	c             *gin.Context
	jobID         string
	after         int64     // seq of the last event sent
	finishedSince time.Time // when the job was first seen finished
	lastWrite     time.Time
}

// round sends the events after st.after and waits for the next change; it
// returns false when the stream should end.
func (st *eventStream) round() bool {
	ctx := st.c.Request.Context()
	changed, release := st.s.hub.changed(st.jobID)
	defer release()
	evs, more, err := st.s.store.ListEvents(ctx, st.jobID, st.after, store.MaxEventLimit)
	if err != nil {
		// A job deleted under its stream just ends it: that is no server fault.
		if ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
			st.s.log.Error("stream events", "job", st.jobID, "err", err)
		}
		return false
	}
	final := false
	for _, e := range evs {
		if err := writeSSE(st.c.Writer, e); err != nil {
			return false
		}
		st.after, final = e.Seq, isFinalEvent(e)
	}
	if len(evs) > 0 {
		st.c.Writer.Flush()
		st.lastWrite = time.Now()
	}
	if final {
		return false
	}
	if more {
		return true
	}
	job, err := st.s.store.GetJob(ctx, st.jobID)
	if err != nil {
		return false
	}
	wait := streamPoll
	if store.JobFinished(job.Status) {
		if st.finishedSince.IsZero() {
			st.finishedSince = time.Now()
		}
		if time.Since(st.finishedSince) >= streamGrace {
			return false
		}
		wait = streamGrace / 4
	}
	select {
	case <-changed:
	case <-time.After(wait):
		if time.Since(st.lastWrite) >= streamKeepAlive {
			if _, err := fmt.Fprint(st.c.Writer, ": keep-alive\n\n"); err != nil {
				return false
			}
			st.c.Writer.Flush()
			st.lastWrite = time.Now()
		}
	case <-ctx.Done():
		return false
	case <-st.s.streams:
		st.sayShutdown()
		return false
	}
	return true
}

// sayShutdown ends a stream the server stops with a frame saying so, so a
// client can tell it from the job's end: a "shutdown" event without an id
// (Last-Event-ID stays the last real event) and a retry hint, after which
// an EventSource reconnects and resumes where it was.
func (st *eventStream) sayShutdown() {
	fmt.Fprintf(st.c.Writer, "retry: %d\nevent: shutdown\ndata: %s\n\n", streamRetryMS,
		`{"message":"the server is shutting down; the job goes on after its restart: reconnect with Last-Event-ID to resume the stream"}`)
	st.c.Writer.Flush()
}

// writeSSE writes one event frame. The JSON has no newline, so it fits one
// data: line.
func writeSSE(w gin.ResponseWriter, e store.Event) error {
	b, err := json.Marshal(eventView(e))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, b)
	return err
}

// isFinalEvent reports whether e announces a terminal status.
func isFinalEvent(e store.Event) bool {
	if e.Type != evStatus || len(e.Data) == 0 {
		return false
	}
	var d statusData
	return json.Unmarshal(e.Data, &d) == nil && store.JobFinished(d.Status)
}
