package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Job statuses, following the OpenAI fine-tuning job lifecycle:
// validating -> queued -> running -> succeeded | failed | cancelled.
const (
	JobValidating = "validating"
	JobQueued     = "queued"
	JobRunning    = "running"
	JobSucceeded  = "succeeded"
	JobFailed     = "failed"
	JobCancelled  = "cancelled"
)

var jobStatuses = []string{JobValidating, JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled}

// JobFinished reports whether status is terminal (succeeded, failed or
// cancelled).
func JobFinished(status string) bool {
	return status == JobSucceeded || status == JobFailed || status == JobCancelled
}

// Job is a fine-tuning job. Its working files live in Dir(KindJobs, ID).
type Job struct {
	ID              string          `json:"id"`
	DatasetID       string          `json:"dataset_id"`
	Encoder         string          `json:"encoder"`
	Status          string          `json:"status"`
	Stage           string          `json:"stage"`
	StageProgress   float64         `json:"stage_progress"` // 0..1 within Stage
	Config          json.RawMessage `json:"config,omitempty"`
	Result          json.RawMessage `json:"result,omitempty"`
	Error           string          `json:"error,omitempty"`
	HeadID          string          `json:"head_id,omitempty"`
	Attempts        int             `json:"attempts"` // times the job entered running
	Crashes         int             `json:"crashes"`  // times a start found it running (CountJobCrash)
	CreatedAt       time.Time       `json:"created_at"`
	StartedAt       *time.Time      `json:"started_at,omitempty"` // first time running
	FinishedAt      *time.Time      `json:"finished_at,omitempty"`
	CancelRequested bool            `json:"cancel_requested"`
}

const jobCols = `id, dataset_id, encoder, status, stage, stage_progress, config, result, error,
	head_id, attempts, crashes, cancel_requested, created_at, started_at, finished_at`

// CreateJob inserts j. An empty ID gets a new "ftjob-" id, an empty Status
// becomes validating (the only other allowed initial status is queued), a
// zero CreatedAt becomes now. The fields that record progress (Stage,
// StageProgress, Result, Error, HeadID, Attempts, StartedAt, FinishedAt,
// CancelRequested) belong to the lifecycle methods and are ignored. The
// dataset must exist (ErrNotFound otherwise). It returns j as stored.
func (s *Store) CreateJob(ctx context.Context, j Job) (Job, error) {
	if j.ID == "" {
		j.ID = NewID(PrefixJob)
	}
	if err := checkID("job", PrefixJob, j.ID); err != nil {
		return Job{}, err
	}
	if err := checkID("dataset", PrefixDataset, j.DatasetID); err != nil {
		return Job{}, err
	}
	if j.Encoder == "" {
		return Job{}, fmt.Errorf("%w: job encoder is empty", ErrInvalidArgument)
	}
	if j.Status == "" {
		j.Status = JobValidating
	}
	if j.Status != JobValidating && j.Status != JobQueued {
		return Job{}, fmt.Errorf("%w: initial job status %q", ErrInvalidArgument, j.Status)
	}
	if err := checkJSON("job config", j.Config); err != nil {
		return Job{}, err
	}
	var err error
	if j.CreatedAt, err = stamp(j.CreatedAt); err != nil {
		return Job{}, err
	}
	j = Job{ID: j.ID, DatasetID: j.DatasetID, Encoder: j.Encoder, Status: j.Status,
		Config: emptyToNil(j.Config), CreatedAt: j.CreatedAt}

	err = s.withTx(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "datasets", j.DatasetID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, dataset_id, encoder, status, config, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			j.ID, j.DatasetID, j.Encoder, j.Status, nullJSON(j.Config), j.CreatedAt.UnixNano())
		return constraintErr(err)
	})
	if err != nil {
		return Job{}, fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return j, nil
}

// GetJob returns the job with the given id or ErrNotFound.
func (s *Store) GetJob(ctx context.Context, id string) (Job, error) {
	if err := checkID("job", PrefixJob, id); err != nil {
		return Job{}, err
	}
	j, err := getJob(ctx, s.r, id)
	if err != nil {
		return Job{}, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

func getJob(ctx context.Context, q querier, id string) (Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}

// ListJobs lists jobs newest first; hasMore reports whether another page
// follows.
func (s *Store) ListJobs(ctx context.Context, p Page) ([]Job, bool, error) {
	return listPage(ctx, s, "jobs", jobCols, PrefixJob, p, scanJob)
}

// UnfinishedJobs returns the validating, queued and running jobs, oldest
// first: at start-up these are the jobs a crash or restart interrupted, to
// be resumed in the order they were submitted.
func (s *Store) UnfinishedJobs(ctx context.Context) ([]Job, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE status IN (?, ?, ?)
		ORDER BY created_at, id`, JobValidating, JobQueued, JobRunning)
	if err != nil {
		return nil, fmt.Errorf("unfinished jobs: %w", err)
	}
	jobs, err := collect(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("unfinished jobs: %w", err)
	}
	return jobs, nil
}

// UpdateJobProgress records the stage the job is in and how far through it
// (0..1) it is.
func (s *Store) UpdateJobProgress(ctx context.Context, id, stage string, progress float64) error {
	if err := checkID("job", PrefixJob, id); err != nil {
		return err
	}
	if err := checkFraction("stage progress", progress); err != nil {
		return err
	}
	return s.execOne(ctx, "update progress of job", id,
		`UPDATE jobs SET stage = ?, stage_progress = ? WHERE id = ?`, stage, progress, id)
}

// SetJobStatus moves the job to status to if, and only if, its current
// status is one of from (compare-and-set); otherwise it returns ErrConflict
// and changes nothing, so two workers racing to start or finish a job cannot
// both win. errMsg replaces the job's error message (empty clears it).
// Entering running increments Attempts and sets StartedAt the first time;
// entering a terminal status sets FinishedAt; entering any other status
// clears FinishedAt.
func (s *Store) SetJobStatus(ctx context.Context, id string, from []string, to, errMsg string) error {
	_, err := s.TransitionJob(ctx, id, JobTransition{From: from, To: to, Error: errMsg})
	return err
}

// checkStatusChange validates a status change's arguments.
func checkStatusChange(id string, from []string, to string) error {
	if err := checkID("job", PrefixJob, id); err != nil {
		return err
	}
	if !slices.Contains(jobStatuses, to) {
		return fmt.Errorf("%w: job status %q", ErrInvalidArgument, to)
	}
	if len(from) == 0 {
		return fmt.Errorf("%w: no statuses to move job %s from", ErrInvalidArgument, id)
	}
	for _, f := range from {
		if !slices.Contains(jobStatuses, f) {
			return fmt.Errorf("%w: job status %q", ErrInvalidArgument, f)
		}
	}
	return nil
}

// setJobStatusTx is SetJobStatus inside tx.
func setJobStatusTx(ctx context.Context, tx *sql.Tx, id string, from []string, to, errMsg string) error {
	var cur string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&cur); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	if !slices.Contains(from, cur) {
		return fmt.Errorf("%w: job is %s, not %s", ErrConflict, cur, strings.Join(from, "|"))
	}
	t := now().UnixNano()
	var err error
	switch {
	case to == JobRunning:
		// A new attempt starts with no stage: the last attempt's would
		// show as current progress until the run reports its first.
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, attempts = attempts + 1, stage = '', stage_progress = 0,
			started_at = COALESCE(started_at, ?), finished_at = NULL WHERE id = ?`, to, errMsg, t, id)
	case to == JobSucceeded:
		// Its last stage is done, whatever it last reported (training that
		// stopped early reports the share of its epoch budget).
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, stage_progress = 1, finished_at = ? WHERE id = ?`,
			to, errMsg, t, id)
	case JobFinished(to): // failed or cancelled: where it stopped
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?`,
			to, errMsg, t, id)
	default: // validating or queued (requeued after an interruption): waiting, not in a stage
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, stage = '', stage_progress = 0, finished_at = NULL WHERE id = ?`,
			to, errMsg, id)
	}
	return err
}

// SetJobResult records what a successful run produced: result (JSON, e.g.
// final metrics) and the id of the trained head (empty if none), which
// must exist: create the head first (ErrNotFound otherwise).
func (s *Store) SetJobResult(ctx context.Context, id string, result json.RawMessage, headID string) error {
	if err := checkJobResult(id, result, headID); err != nil {
		return err
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error { return setJobResultTx(ctx, tx, id, result, headID) })
	if err != nil {
		return fmt.Errorf("set result of job %s: %w", id, err)
	}
	return nil
}

func checkJobResult(id string, result json.RawMessage, headID string) error {
	if err := checkID("job", PrefixJob, id); err != nil {
		return err
	}
	if err := checkOptionalID("head", PrefixHead, headID); err != nil {
		return err
	}
	return checkJSON("job result", result)
}

func setJobResultTx(ctx context.Context, tx *sql.Tx, id string, result json.RawMessage, headID string) error {
	if headID != "" {
		if err := mustExist(ctx, tx, "heads", headID); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET result = ?, head_id = ? WHERE id = ?`,
		nullJSON(result), headID, id)
	if err != nil {
		return err
	}
	return affectedOne(res)
}

// RequestCancel cancels a job. A job that has not started (validating,
// queued) becomes cancelled at once; a running job gets CancelRequested,
// which makes its later UnlessCancelRequested transitions fail, and the
// caller stops its worker (the API cancels its context), which then sets
// the status; a finished job cannot be cancelled (ErrConflict). Repeating a
// request for a running job is harmless. It returns the job as updated.
// The events, when set, are appended in the same transaction: cancelled if
// the job ends at once, so a crash cannot leave it cancelled without its
// final event; requested at a running job's first request, so it comes
// before the final event its worker writes.
func (s *Store) RequestCancel(ctx context.Context, id string, cancelled, requested *Event) (Job, error) {
	if err := checkID("job", PrefixJob, id); err != nil {
		return Job{}, err
	}
	evCancelled, err := jobEvent(id, cancelled)
	if err != nil {
		return Job{}, err
	}
	evRequested, err := jobEvent(id, requested)
	if err != nil {
		return Job{}, err
	}
	var j Job
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		cur, err := getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		switch cur.Status {
		case JobValidating, JobQueued:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, cancel_requested = 1, finished_at = ?
				WHERE id = ?`, JobCancelled, now().UnixNano(), id)
			if err == nil && evCancelled != nil {
				_, err = appendEventTx(ctx, tx, *evCancelled)
			}
		case JobRunning:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = 1 WHERE id = ?`, id)
			if err == nil && evRequested != nil && !cur.CancelRequested {
				_, err = appendEventTx(ctx, tx, *evRequested)
			}
		default:
			return fmt.Errorf("%w: job is already %s", ErrConflict, cur.Status)
		}
		if err != nil {
			return err
		}
		j, err = getJob(ctx, tx, id)
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return j, nil
}

// jobEvent is ev normalised as an event of job id; nil stays nil.
func jobEvent(id string, ev *Event) (*Event, error) {
	if ev == nil {
		return nil, nil
	}
	e := *ev
	e.JobID = id
	e, err := normalizeEvent(e)
	return &e, err
}

// CountJobCrash records that a start found job id still running, i.e.
// that the server stopped without a shutdown, and returns how many times
// that has happened to the job. A graceful shutdown requeues its jobs, so
// routine restarts are not counted.
func (s *Store) CountJobCrash(ctx context.Context, id string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE jobs SET crashes = crashes + 1 WHERE id = ? AND status = ? RETURNING crashes`,
		id, JobRunning).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("count crash of job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("count crash of job %s: %w", id, err)
	}
	return n, nil
}

func scanJob(r rowScanner) (Job, error) {
	var (
		j                 Job
		config, result    sql.NullString
		at                int64
		started, finished sql.NullInt64
		cancelRequested   int
	)
	if err := r.Scan(&j.ID, &j.DatasetID, &j.Encoder, &j.Status, &j.Stage, &j.StageProgress,
		&config, &result, &j.Error, &j.HeadID, &j.Attempts, &j.Crashes, &cancelRequested,
		&at, &started, &finished); err != nil {
		return Job{}, err
	}
	j.Config = rawJSON(config)
	j.Result = rawJSON(result)
	j.CancelRequested = cancelRequested != 0
	j.CreatedAt = fromNanos(at)
	j.StartedAt = nullTime(started)
	j.FinishedAt = nullTime(finished)
	return j, nil
}

// DeleteJob deletes a finished job's row with its events, checkpoints and
// stage markers. An unfinished job is refused (ErrConflict): cancel it
// first. The head a job trained is a record of its own and stays.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	if err := checkID("job", PrefixJob, id); err != nil {
		return err
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&status); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if !JobFinished(status) {
			return inUse("job %s is %s: cancel it first (POST /v1/fine_tuning/jobs/%s/cancel)", id, status, id)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return affectedOne(res)
	})
	return wrapUnlessInUse(err, "delete job %s", id)
}
