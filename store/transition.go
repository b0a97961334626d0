package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// JobTransition is a job status change together with what must be stored
// with it, in one transaction: a crash then leaves the job either before
// the change or after it with its event (and head), never a succeeded job
// without its final event or a head listed beside a job that will run again.
type JobTransition struct {
	From  []string // the statuses the job may be in (compare-and-set)
	To    string
	Error string // the job's error message (empty clears it)
	// Event, when set, is appended to the job's log (its JobID is set here).
	Event *Event
	// Head, when set, is created and recorded as the job's head with Result.
	Head   *Head
	Result json.RawMessage
	// UnlessCancelRequested makes the transition fail with
	// ErrCancelRequested, changing nothing, when a cancel was requested:
	// a run that finished after the request must not then succeed.
	UnlessCancelRequested bool
}

// ErrCancelRequested is TransitionJob's refusal under UnlessCancelRequested.
var ErrCancelRequested = fmt.Errorf("%w: cancellation was requested", ErrConflict)

// TransitionJob applies t to job id atomically and returns the job as
// updated. It fails with ErrConflict, changing nothing, when the job is not
// in one of t.From.
func (s *Store) TransitionJob(ctx context.Context, id string, t JobTransition) (Job, error) {
	if err := checkStatusChange(id, t.From, t.To); err != nil {
		return Job{}, err
	}
	var ev Event
	if t.Event != nil {
		ev = *t.Event
		ev.JobID = id
		var err error
		if ev, err = normalizeEvent(ev); err != nil {
			return Job{}, err
		}
	}
	var head Head
	if t.Head != nil {
		var err error
		if head, err = normalizeHead(*t.Head); err != nil {
			return Job{}, err
		}
		if err := checkJobResult(id, t.Result, head.ID); err != nil {
			return Job{}, err
		}
	}
	var job Job
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if t.UnlessCancelRequested {
			var requested bool
			err := tx.QueryRowContext(ctx, `SELECT cancel_requested FROM jobs WHERE id = ?`, id).Scan(&requested)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			if requested {
				return ErrCancelRequested
			}
		}
		if err := setJobStatusTx(ctx, tx, id, t.From, t.To, t.Error); err != nil {
			return err
		}
		if t.Head != nil {
			if err := createHeadTx(ctx, tx, head); err != nil {
				return fmt.Errorf("create head %s: %w", head.ID, err)
			}
			if err := setJobResultTx(ctx, tx, id, t.Result, head.ID); err != nil {
				return err
			}
		}
		if t.Event != nil {
			if _, err := appendEventTx(ctx, tx, ev); err != nil {
				return err
			}
		}
		var err error
		job, err = getJob(ctx, tx, id)
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("set status of job %s to %s: %w", id, t.To, err)
	}
	return job, nil
}
