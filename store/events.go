package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Event levels.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Event is one entry of a job's log, streamed to clients as the job's
// events endpoint. Seq numbers a job's events 1, 2, 3, ... without gaps, so
// a client can resume a stream with afterSeq.
type Event struct {
	JobID     string          `json:"job_id"`
	Seq       int64           `json:"seq"`
	CreatedAt time.Time       `json:"created_at"`
	Level     string          `json:"level"`
	Type      string          `json:"type"` // the API's: "status", "stage", "step", "epoch", "resumed", "message"
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Bounds for ListEvents, larger than Page's because events are small and
// a client catching up on a long job should not need hundreds of requests.
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

const eventCols = `job_id, seq, created_at, level, type, message, data`

// AppendEvent appends e to its job's log and returns it with Seq and (if
// zero) CreatedAt filled in. An empty Level means info, an empty Type
// means "message". The job must exist (ErrNotFound otherwise).
func (s *Store) AppendEvent(ctx context.Context, e Event) (Event, error) {
	e, err := normalizeEvent(e)
	if err != nil {
		return Event{}, err
	}
	return appendEventTx(ctx, s.w, e)
}

// normalizeEvent validates e and fills its defaults.
func normalizeEvent(e Event) (Event, error) {
	if err := checkID("job", PrefixJob, e.JobID); err != nil {
		return Event{}, err
	}
	if e.Level == "" {
		e.Level = LevelInfo
	}
	if e.Level != LevelInfo && e.Level != LevelWarn && e.Level != LevelError {
		return Event{}, fmt.Errorf("%w: event level %q", ErrInvalidArgument, e.Level)
	}
	if e.Type == "" {
		e.Type = "message"
	}
	if err := checkJSON("event data", e.Data); err != nil {
		return Event{}, err
	}
	e.Data = emptyToNil(e.Data)
	var err error
	if e.CreatedAt, err = stamp(e.CreatedAt); err != nil {
		return Event{}, err
	}
	return e, nil
}

// appendEventTx inserts a normalised event through q (the writer, or a
// write transaction on it).
func appendEventTx(ctx context.Context, q querier, e Event) (Event, error) {
	// Next seq and insert in one statement: it is atomic in SQLite, and
	// the single writer connection serialises appenders besides, so two
	// appenders can never pick the same seq. The (job_id, seq) primary key
	// makes MAX(seq) an index lookup.
	err := q.QueryRowContext(ctx, `INSERT INTO job_events (`+eventCols+`)
		SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM job_events WHERE job_id = ?
		RETURNING seq`,
		e.JobID, e.CreatedAt.UnixNano(), e.Level, e.Type, e.Message, nullJSON(e.Data), e.JobID).Scan(&e.Seq)
	if err != nil {
		return Event{}, fmt.Errorf("append event to job %s: %w", e.JobID, constraintErr(err))
	}
	return e, nil
}

// ListEvents returns up to limit events of the job with Seq > afterSeq, in
// Seq order; hasMore reports whether more follow. limit <= 0 means
// DefaultEventLimit; it is capped at MaxEventLimit.
func (s *Store) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, bool, error) {
	if err := checkID("job", PrefixJob, jobID); err != nil {
		return nil, false, err
	}
	if afterSeq < 0 {
		return nil, false, fmt.Errorf("%w: negative event cursor %d", ErrInvalidArgument, afterSeq)
	}
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	limit = min(limit, MaxEventLimit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventCols+` FROM job_events
		WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`, jobID, afterSeq, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list events of job %s: %w", jobID, err)
	}
	events, err := collect(rows, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("list events of job %s: %w", jobID, err)
	}
	if len(events) == 0 {
		// No events is a normal answer for a job that exists, and must be
		// told apart from a job that does not.
		if err := mustExist(ctx, s.r, "jobs", jobID); err != nil {
			return nil, false, fmt.Errorf("list events of job %s: %w", jobID, err)
		}
	}
	if len(events) > limit {
		return events[:limit], true, nil
	}
	return events, false, nil
}

func scanEvent(r rowScanner) (Event, error) {
	var (
		e    Event
		at   int64
		data sql.NullString
	)
	if err := r.Scan(&e.JobID, &e.Seq, &at, &e.Level, &e.Type, &e.Message, &data); err != nil {
		return Event{}, err
	}
	e.CreatedAt = fromNanos(at)
	e.Data = rawJSON(data)
	return e, nil
}
