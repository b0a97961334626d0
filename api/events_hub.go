package api

import (
	"context"
	"encoding/json"
	"sync"

	"retune/store"
)

// Event types a job's log holds. A "status" event whose data.status is
// terminal is the last event of a job; event streams end after it.
const (
	evStatus   = "status"   // lifecycle: queued, started, succeeded, failed, cancelled
	evStage    = "stage"    // a pipeline stage started or completed
	evStep     = "step"     // a training step (at most one a second)
	evProgress = "progress" // texts embedded, queries mined, pairs generated so far (at most one every 10 s)
	evEpoch    = "epoch"    // a training epoch ended: loss parts and dev metrics
	evResumed  = "resumed"  // a restarted job skipped the stages it had completed
	evMessage  = "message"  // a note from the pipeline
)

// statusData is the data of a "status" event.
type statusData struct {
	Status         string `json:"status"`
	Error          string `json:"error,omitempty"`
	Head           string `json:"head,omitempty"`
	FineTunedModel string `json:"fine_tuned_model,omitempty"`
	// LLMUsage is what an LLM generator spent (requests, tokens) in a run
	// that failed or was cancelled, whose result is not stored.
	LLMUsage any `json:"llm_usage,omitempty"`
}

// eventHub wakes event streams when a job's log or status changes, so they
// need not poll the store in a tight loop.
type eventHub struct {
	mu      sync.Mutex
	waiters map[string]*hubEntry
}

// hubEntry is the channel the next change of one job closes, with the
// number of waiters holding it, so an entry nobody waits on is dropped.
type hubEntry struct {
	ch   chan struct{}
	refs int
}

func newEventHub() *eventHub { return &eventHub{waiters: map[string]*hubEntry{}} }

// changed returns a channel closed at the job's next change, and a release
// func to call when done waiting. Take it before reading the store, so a
// change between the read and the wait is not missed.
func (h *eventHub) changed(jobID string) (<-chan struct{}, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.waiters[jobID]
	if !ok {
		e = &hubEntry{ch: make(chan struct{})}
		h.waiters[jobID] = e
	}
	e.refs++
	return e.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if e.refs--; e.refs == 0 && h.waiters[jobID] == e {
			delete(h.waiters, jobID)
		}
	}
}

func (h *eventHub) notify(jobID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.waiters[jobID]; ok {
		close(e.ch)
		delete(h.waiters, jobID)
	}
}

// appendEvent writes one event to the job's log and wakes its streams.
// Failures are logged, not returned: a lost progress note must not fail the
// job it describes (the status write that follows reports a broken store).
func (s *Server) appendEvent(ctx context.Context, jobID, level, typ, msg string, data any) (stored bool) {
	raw := s.eventData(jobID, typ, data)
	if _, err := s.store.AppendEvent(ctx, store.Event{JobID: jobID, Level: level, Type: typ, Message: msg, Data: raw}); err != nil {
		attrs := []any{"job", jobID, "type", typ, "err", err}
		if level != store.LevelInfo {
			// A warning lost with its event (a full disk refuses both a
			// checkpoint and the event saying so) still reaches the log.
			attrs = append(attrs, "event_level", level, "message", msg)
		}
		s.log.Error("append event", attrs...)
		return false
	}
	s.hub.notify(jobID)
	return true
}

// eventData encodes an event's data; nil when there is none or it cannot
// be encoded (e.g. a NaN loss: the message is kept, the data dropped).
func (s *Server) eventData(jobID, typ string, data any) json.RawMessage {
	if data == nil {
		return nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		s.log.Warn("event data not encodable", "job", jobID, "type", typ, "err", err)
		return nil
	}
	return b
}
