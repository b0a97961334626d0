package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// maxStageLen bounds stage names, which are code-defined identifiers
// ("embed", "mine-negatives", "train", ...), not user text.
const maxStageLen = 64

// MarkStageDone records that the job finished stage, with data describing
// what the stage produced (e.g. the file it wrote and its checksum), so a
// job resumed after a crash skips the stages already done. Marking a stage
// again replaces its data. The job must exist (ErrNotFound otherwise).
func (s *Store) MarkStageDone(ctx context.Context, jobID, stage string, data json.RawMessage) error {
	if err := checkID("job", PrefixJob, jobID); err != nil {
		return err
	}
	if stage == "" || len(stage) > maxStageLen {
		return fmt.Errorf("%w: stage name %q", ErrInvalidArgument, stage)
	}
	if err := checkJSON("stage data", data); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO job_stages (job_id, stage, data, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (job_id, stage) DO UPDATE SET data = excluded.data, created_at = excluded.created_at`,
		jobID, stage, nullJSON(data), now().UnixNano())
	if err != nil {
		return fmt.Errorf("mark stage %s of job %s done: %w", stage, jobID, constraintErr(err))
	}
	return nil
}

// StagesDone returns the job's completed stages and the data each was
// marked with (nil when marked without data). ErrNotFound if the job does
// not exist.
func (s *Store) StagesDone(ctx context.Context, jobID string) (map[string]json.RawMessage, error) {
	if err := checkID("job", PrefixJob, jobID); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT stage, data FROM job_stages WHERE job_id = ?`, jobID)
	if err != nil {
		return nil, fmt.Errorf("stages of job %s: %w", jobID, err)
	}
	type stageRow struct {
		stage string
		data  json.RawMessage
	}
	list, err := collect(rows, func(r rowScanner) (stageRow, error) {
		var (
			sr   stageRow
			data sql.NullString
		)
		err := r.Scan(&sr.stage, &data)
		sr.data = rawJSON(data)
		return sr, err
	})
	if err != nil {
		return nil, fmt.Errorf("stages of job %s: %w", jobID, err)
	}
	if len(list) == 0 {
		if err := mustExist(ctx, s.r, "jobs", jobID); err != nil {
			return nil, fmt.Errorf("stages of job %s: %w", jobID, err)
		}
	}
	done := make(map[string]json.RawMessage, len(list))
	for _, sr := range list {
		done[sr.stage] = sr.data
	}
	return done, nil
}
