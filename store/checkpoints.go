package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Checkpoint holds the metrics a job measured at the end of one epoch, as
// OpenAI's fine-tuning checkpoints do.
type Checkpoint struct {
	JobID     string          `json:"job_id"`
	Epoch     int             `json:"epoch"`
	Metrics   json.RawMessage `json:"metrics,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// PutCheckpoint inserts c, replacing the job's checkpoint for the same
// epoch, and drops the job's checkpoints of later epochs. A run writes its
// epochs in order, so a later one is an earlier attempt's that this run
// replaces: a job resumed after a crash re-runs the epochs after its last
// saved state (the rows may have run a few epochs ahead of it), and one
// whose damaged training checkpoint was discarded starts again from epoch
// 1, and may stop earlier. A zero CreatedAt becomes now. The job must
// exist (ErrNotFound otherwise). It returns c as stored.
func (s *Store) PutCheckpoint(ctx context.Context, c Checkpoint) (Checkpoint, error) {
	if err := checkID("job", PrefixJob, c.JobID); err != nil {
		return Checkpoint{}, err
	}
	if c.Epoch < 0 {
		return Checkpoint{}, fmt.Errorf("%w: negative epoch %d", ErrInvalidArgument, c.Epoch)
	}
	if err := checkJSON("checkpoint metrics", c.Metrics); err != nil {
		return Checkpoint{}, err
	}
	c.Metrics = emptyToNil(c.Metrics)
	var err error
	if c.CreatedAt, err = stamp(c.CreatedAt); err != nil {
		return Checkpoint{}, err
	}
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (job_id, epoch, metrics, created_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (job_id, epoch) DO UPDATE SET metrics = excluded.metrics, created_at = excluded.created_at`,
			c.JobID, c.Epoch, nullJSON(c.Metrics), c.CreatedAt.UnixNano()); err != nil {
			return constraintErr(err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE job_id = ? AND epoch > ?`, c.JobID, c.Epoch)
		return err
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("put checkpoint %s/%d: %w", c.JobID, c.Epoch, err)
	}
	return c, nil
}

// ListCheckpoints returns up to limit of the job's checkpoints after epoch
// afterEpoch (-1: from the first, epoch 0 included), by epoch, and whether
// more follow (ErrNotFound if the job does not exist). limit <= 0 means DefaultEventLimit; it is capped at
// MaxEventLimit, as for events.
func (s *Store) ListCheckpoints(ctx context.Context, jobID string, afterEpoch, limit int) ([]Checkpoint, bool, error) {
	if err := checkID("job", PrefixJob, jobID); err != nil {
		return nil, false, err
	}
	if afterEpoch < -1 {
		return nil, false, fmt.Errorf("%w: negative checkpoint cursor %d", ErrInvalidArgument, afterEpoch)
	}
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	limit = min(limit, MaxEventLimit)
	rows, err := s.r.QueryContext(ctx, `SELECT job_id, epoch, metrics, created_at FROM checkpoints
		WHERE job_id = ? AND epoch > ? ORDER BY epoch LIMIT ?`, jobID, afterEpoch, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list checkpoints of job %s: %w", jobID, err)
	}
	cps, err := collect(rows, scanCheckpoint)
	if err != nil {
		return nil, false, fmt.Errorf("list checkpoints of job %s: %w", jobID, err)
	}
	if len(cps) == 0 {
		if err := mustExist(ctx, s.r, "jobs", jobID); err != nil {
			return nil, false, fmt.Errorf("list checkpoints of job %s: %w", jobID, err)
		}
	}
	if len(cps) > limit {
		return cps[:limit], true, nil
	}
	return cps, false, nil
}

func scanCheckpoint(r rowScanner) (Checkpoint, error) {
	var (
		c       Checkpoint
		metrics sql.NullString
		at      int64
	)
	if err := r.Scan(&c.JobID, &c.Epoch, &metrics, &at); err != nil {
		return Checkpoint{}, err
	}
	c.Metrics = rawJSON(metrics)
	c.CreatedAt = fromNanos(at)
	return c, nil
}
