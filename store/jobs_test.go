package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJobCRUD(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	d := mustDataset(t, s)
	in := Job{DatasetID: d.ID, Encoder: "bert-minilm", Config: json.RawMessage(`{"epochs":2,"lr":0.001}`),
		// Lifecycle fields are the store's to set and must be ignored.
		Status: JobQueued, Stage: "x", StageProgress: 0.5, Attempts: 7, HeadID: NewID(PrefixHead), CancelRequested: true}
	j, err := s.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := Job{ID: j.ID, DatasetID: d.ID, Encoder: "bert-minilm", Status: JobQueued, Config: in.Config, CreatedAt: j.CreatedAt}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("CreateJob = %+v\nwant %+v", j, want)
	}
	got, err := s.GetJob(ctx, j.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetJob = %+v, %v\nwant %+v", got, err, want)
	}

	def, err := s.CreateJob(ctx, Job{DatasetID: d.ID, Encoder: "e"})
	if err != nil || def.Status != JobValidating || def.Config != nil {
		t.Errorf("CreateJob with defaults = %+v, %v; want status validating, no config", def, err)
	}
	if _, err := s.CreateJob(ctx, Job{ID: j.ID, DatasetID: d.ID, Encoder: "e"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: err = %v, want ErrConflict", err)
	}

	if err := s.UpdateJobProgress(ctx, j.ID, "embed", 0.75); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Stage != "embed" || got.StageProgress != 0.75 {
		t.Errorf("after UpdateJobProgress: stage %q progress %v", got.Stage, got.StageProgress)
	}
	// A new attempt does not show the last one's stage as its progress,
	// nor does a job requeued to wait for it.
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobQueued}, To: JobRunning}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Stage != "" || got.StageProgress != 0 || got.Attempts != 1 {
		t.Errorf("a started attempt shows stage %q progress %v (attempt %d), want none", got.Stage, got.StageProgress, got.Attempts)
	}
	if err := s.UpdateJobProgress(ctx, j.ID, "train", 0.5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobRunning}, To: JobQueued}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Stage != "" || got.StageProgress != 0 {
		t.Errorf("a requeued job shows stage %q progress %v, want none", got.Stage, got.StageProgress)
	}

	head, err := s.CreateHead(ctx, Head{JobID: j.ID, Encoder: "bert-minilm", DIn: 384, DOut: 384})
	if err != nil {
		t.Fatal(err)
	}
	result := json.RawMessage(`{"ndcg@10":{"before":0.6,"after":0.7}}`)
	if err := s.SetJobResult(ctx, j.ID, result, head.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, j.ID); string(got.Result) != string(result) || got.HeadID != head.ID {
		t.Errorf("after SetJobResult: result %s head %q", got.Result, got.HeadID)
	}
}

func TestCreateJobInvalid(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	d := mustDataset(t, s)
	for _, tc := range []struct {
		name    string
		j       Job
		wantErr error
	}{
		{"no encoder", Job{DatasetID: d.ID}, ErrInvalidArgument},
		{"initial status running", Job{DatasetID: d.ID, Encoder: "e", Status: JobRunning}, ErrInvalidArgument},
		{"initial status unknown", Job{DatasetID: d.ID, Encoder: "e", Status: "paused"}, ErrInvalidArgument},
		{"config not JSON", Job{DatasetID: d.ID, Encoder: "e", Config: json.RawMessage(`{epochs:2}`)}, ErrInvalidArgument},
		{"unknown dataset", Job{DatasetID: NewID(PrefixDataset), Encoder: "e"}, ErrNotFound},
		{"no dataset", Job{Encoder: "e"}, ErrInvalidID},
	} {
		if _, err := s.CreateJob(ctx, tc.j); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestUpdateJobProgressInvalid(t *testing.T) {
	s := openTest(t)
	j := mustJob(t, s, mustDataset(t, s).ID, JobRunning)
	for _, p := range []float64{-0.01, 1.01, math.NaN(), math.Inf(1)} {
		if err := s.UpdateJobProgress(context.Background(), j.ID, "train", p); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("progress %v: err = %v, want ErrInvalidArgument", p, err)
		}
	}
	if err := s.SetJobResult(context.Background(), j.ID, json.RawMessage(`{`), ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetJobResult with bad JSON: err = %v, want ErrInvalidArgument", err)
	}
}

func TestSetJobStatus(t *testing.T) {
	ctx := context.Background()
	all := []string{JobValidating, JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled}
	for _, tc := range []struct {
		name    string
		start   string
		from    []string
		to      string
		errMsg  string
		wantErr error
		check   func(t *testing.T, before, after Job)
	}{
		{name: "validated", start: JobValidating, from: []string{JobValidating}, to: JobQueued,
			check: func(t *testing.T, before, after Job) {
				if after.StartedAt != nil || after.FinishedAt != nil || after.Attempts != 0 {
					t.Errorf("queued job has started %v finished %v attempts %d", after.StartedAt, after.FinishedAt, after.Attempts)
				}
			}},
		{name: "start", start: JobQueued, from: []string{JobQueued}, to: JobRunning,
			check: func(t *testing.T, before, after Job) {
				if after.Attempts != 1 || after.StartedAt == nil || after.FinishedAt != nil {
					t.Errorf("started job: attempts %d started %v finished %v", after.Attempts, after.StartedAt, after.FinishedAt)
				}
			}},
		{name: "resume after restart", start: JobRunning, from: []string{JobQueued, JobRunning}, to: JobRunning,
			check: func(t *testing.T, before, after Job) {
				if after.Attempts != 2 || !reflect.DeepEqual(after.StartedAt, before.StartedAt) {
					t.Errorf("resumed job: attempts %d started %v (was %v); want 2 and the first start",
						after.Attempts, after.StartedAt, before.StartedAt)
				}
			}},
		{name: "requeue", start: JobRunning, from: []string{JobRunning}, to: JobQueued,
			check: func(t *testing.T, before, after Job) {
				if after.Attempts != 1 || after.FinishedAt != nil {
					t.Errorf("requeued job: attempts %d finished %v", after.Attempts, after.FinishedAt)
				}
			}},
		{name: "succeed", start: JobRunning, from: []string{JobRunning}, to: JobSucceeded,
			check: func(t *testing.T, before, after Job) {
				if after.FinishedAt == nil || after.FinishedAt.Before(*after.StartedAt) || after.Error != "" || after.StageProgress != 1 {
					t.Errorf("succeeded job: started %v finished %v error %q progress %v", after.StartedAt, after.FinishedAt, after.Error, after.StageProgress)
				}
			}},
		{name: "fail", start: JobRunning, from: []string{JobRunning}, to: JobFailed, errMsg: "out of memory",
			check: func(t *testing.T, before, after Job) {
				if after.FinishedAt == nil || after.Error != "out of memory" {
					t.Errorf("failed job: finished %v error %q", after.FinishedAt, after.Error)
				}
			}},
		{name: "validation fails", start: JobValidating, from: []string{JobValidating}, to: JobFailed, errMsg: "bad qrels",
			check: func(t *testing.T, before, after Job) {
				if after.FinishedAt == nil || after.StartedAt != nil || after.Error != "bad qrels" {
					t.Errorf("failed validation: started %v finished %v error %q", after.StartedAt, after.FinishedAt, after.Error)
				}
			}},
		{name: "start before validated", start: JobValidating, from: []string{JobQueued}, to: JobRunning, wantErr: ErrConflict},
		{name: "restart succeeded", start: JobSucceeded, from: []string{JobQueued, JobValidating}, to: JobRunning, wantErr: ErrConflict},
		{name: "finish cancelled", start: JobCancelled, from: []string{JobRunning}, to: JobSucceeded, wantErr: ErrConflict},
		{name: "fail failed", start: JobFailed, from: []string{JobRunning}, to: JobFailed, wantErr: ErrConflict},
		{name: "unknown target", start: JobQueued, from: []string{JobQueued}, to: "paused", wantErr: ErrInvalidArgument},
		{name: "unknown source", start: JobQueued, from: []string{"pending"}, to: JobRunning, wantErr: ErrInvalidArgument},
		{name: "no source", start: JobQueued, from: nil, to: JobRunning, wantErr: ErrInvalidArgument},
		{name: "any to cancelled", start: JobRunning, from: all, to: JobCancelled,
			check: func(t *testing.T, before, after Job) {
				if after.FinishedAt == nil {
					t.Error("cancelled job has no finished_at")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			before := mustJob(t, s, mustDataset(t, s).ID, tc.start)
			err := s.SetJobStatus(ctx, before.ID, tc.from, tc.to, tc.errMsg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("SetJobStatus: err = %v, want %v", err, tc.wantErr)
			}
			after, gerr := s.GetJob(ctx, before.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					t.Errorf("refused transition changed the job:\nbefore %+v\nafter  %+v", before, after)
				}
				return
			}
			if after.Status != tc.to {
				t.Errorf("status = %s, want %s", after.Status, tc.to)
			}
			tc.check(t, before, after)
		})
	}
}

// TestSetJobStatusRace: of several workers racing to start the same job,
// exactly one wins; the others see ErrConflict.
func TestSetJobStatusRace(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	j := mustJob(t, s, mustDataset(t, s).ID, JobQueued)
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		wins, conflicts int
	)
	for range 8 {
		wg.Go(func() {
			err := s.SetJobStatus(ctx, j.ID, []string{JobQueued}, JobRunning, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("wins %d conflicts %d, want 1 and 7", wins, conflicts)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", got.Attempts)
	}
}

func TestRequestCancel(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		start      string
		wantStatus string
		wantErr    error
	}{
		{JobValidating, JobCancelled, nil},
		{JobQueued, JobCancelled, nil},
		{JobRunning, JobRunning, nil}, // the worker stops and sets cancelled
		{JobSucceeded, JobSucceeded, ErrConflict},
		{JobFailed, JobFailed, ErrConflict},
		{JobCancelled, JobCancelled, ErrConflict},
	} {
		t.Run(tc.start, func(t *testing.T) {
			s := openTest(t)
			before := mustJob(t, s, mustDataset(t, s).ID, tc.start)
			j, err := s.RequestCancel(ctx, before.ID, &Event{Type: "status", Message: "cancelled at once"}, &Event{Type: "message", Message: "cancellation requested"})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("RequestCancel: err = %v, want %v", err, tc.wantErr)
			}
			got, _ := s.GetJob(ctx, before.ID)
			if err != nil {
				if !reflect.DeepEqual(got, before) {
					t.Errorf("refused cancel changed the job:\nbefore %+v\nafter  %+v", before, got)
				}
				return
			}
			if !reflect.DeepEqual(j, got) {
				t.Errorf("RequestCancel returned %+v, stored %+v", j, got)
			}
			if got.Status != tc.wantStatus || !got.CancelRequested {
				t.Errorf("after cancel: status %s cancel_requested %v; want %s, true", got.Status, got.CancelRequested, tc.wantStatus)
			}
			if (got.Status == JobCancelled) != (got.FinishedAt != nil) {
				t.Errorf("status %s with finished_at %v", got.Status, got.FinishedAt)
			}
			// The final event goes with an immediate cancel, the request's
			// with a running job's first request only.
			want := "cancelled at once"
			if tc.start == JobRunning {
				want = "cancellation requested"
			}
			evs, _, _ := s.ListEvents(ctx, before.ID, 0, 0)
			if len(evs) != 1 || evs[0].Message != want {
				t.Errorf("events after cancel: %+v, want one %q", evs, want)
			}
			if tc.start == JobRunning {
				if _, err := s.RequestCancel(ctx, j.ID, nil, &Event{Type: "message", Message: "cancellation requested"}); err != nil {
					t.Errorf("repeated cancel of a running job: %v", err)
				}
				if evs, _, _ := s.ListEvents(ctx, before.ID, 0, 0); len(evs) != 1 {
					t.Errorf("a repeated request logged again: %+v", evs)
				}
				if err := s.SetJobStatus(ctx, j.ID, []string{JobRunning}, JobCancelled, ""); err != nil {
					t.Errorf("worker acknowledging cancel: %v", err)
				}
			}
		})
	}
}

func TestUnfinishedJobs(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	d := mustDataset(t, s)
	var want []string
	// Each job gets an earlier created_at than the one before it, so
	// oldest first is the reverse of insertion order.
	// Six unfinished jobs, so that ids, which are random, sort in the
	// expected order by chance only once in 720 runs.
	statuses := []string{JobSucceeded, JobRunning, JobFailed, JobQueued, JobCancelled, JobValidating,
		JobRunning, JobQueued, JobValidating}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range statuses {
		j := mustJob(t, s, d.ID, st)
		at := base.Add(-time.Duration(i) * time.Hour)
		if _, err := s.w.ExecContext(ctx, `UPDATE jobs SET created_at = ? WHERE id = ?`, at.UnixNano(), j.ID); err != nil {
			t.Fatal(err)
		}
		if !JobFinished(st) {
			want = append([]string{j.ID}, want...)
		}
	}
	got, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gotIDs := ids(got, func(j Job) string { return j.ID }); !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("UnfinishedJobs = %v, want %v (validating, queued, running; oldest first)", gotIDs, want)
	}
}

// A finished job is deleted with its events, checkpoints and stage
// markers; an unfinished one is refused; its head stays.
func TestDeleteJob(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	d := mustDataset(t, s)
	j, err := s.CreateJob(ctx, Job{DatasetID: d.ID, Encoder: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, j.ID); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "cancel it first") {
		t.Fatalf("deleting a validating job: %v, want a conflict", err)
	}
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobValidating}, To: JobQueued}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobQueued}, To: JobRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvent(ctx, Event{JobID: j.ID, Level: LevelInfo, Type: "message", Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	head, err := s.CreateHead(ctx, Head{JobID: j.ID, Encoder: "e", DIn: 2, DOut: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionJob(ctx, j.ID, JobTransition{From: []string{JobRunning}, To: JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted job still there: %v", err)
	}
	var events int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM job_events WHERE job_id = ?`, j.ID).Scan(&events); err != nil || events != 0 {
		t.Errorf("%d events left (%v), want none", events, err)
	}
	if _, err := s.GetHead(ctx, head.ID); err != nil {
		t.Errorf("the job's head went with it: %v", err)
	}
	if err := s.DeleteJob(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want not found", err)
	}
}
