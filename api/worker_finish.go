package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"retune/eval"
	"retune/store"
	"retune/train"
)

// finishJob moves a job from `from` to the terminal status d.Status with
// its final event, in one transaction, so a client that saw the event (and
// the end of its stream) reads the job finished, and a crash cannot leave a
// finished job without it.
func (s *Server) finishJob(ctx context.Context, id, from string, d statusData) {
	if _, err := s.transitionJob(ctx, id, store.JobTransition{From: []string{from}, To: d.Status, Error: d.Error}, d, ""); err != nil {
		s.log.Error("finish job", "job", id, "status", d.Status, "err", err)
	}
}

// Pauses between attempts of a worker's final write (see endJob).
var (
	endRetryFirst = time.Second
	endRetryMax   = 30 * time.Second
)

// endJob is finishJob for a worker ending the running job id: a write that
// fails for the machine's reasons (a full disk, a locked or read-only
// database) is retried, with pauses doubling up to endRetryMax, until it
// lands or poolCtx ends (the next start then resumes the job). Given up
// after one attempt, the job would read "running" with no worker behind it
// until a restart, and a cancel request would wait for an end that never
// comes. The store's own refusals (the job is no longer running, or is
// gone, or the update is invalid) would refuse again: they end the tries.
func (s *Server) endJob(poolCtx context.Context, id string, d statusData) {
	bg := context.WithoutCancel(poolCtx)
	t := store.JobTransition{From: []string{store.JobRunning}, To: d.Status, Error: d.Error}
	err := s.retryWrite(poolCtx, id, "recording the job's end as "+d.Status, "finish job", []any{"job", id, "status", d.Status}, func() error {
		_, err := s.transitionJob(bg, id, t, d, "")
		return err
	})
	if storeRefused(err) {
		s.log.Error("finish job", "job", id, "status", d.Status, "err", err)
	}
}

// retryWrite runs the store write write until it lands, the store refuses
// it for the request's reasons (storeRefused), or ctx ends, pausing as
// endJob describes and logging each failed try as "<what>; will retry"
// with attrs. It returns the last try's error. Writes a worker must not
// give up on use it: a job's end, its claim, a collection's final status.
// Meanwhile the object id shows why (storageWait), doing being what waits
// ("recording the job's end as failed").
func (s *Server) retryWrite(ctx context.Context, id, doing, what string, attrs []any, write func() error) error {
	var err error
	defer s.storageWaits.Delete(id)
	retryUntil(ctx, endRetryFirst, endRetryMax, func() bool {
		if err = write(); err == nil || storeRefused(err) {
			return true
		}
		s.log.Error(what+"; will retry", append(attrs, "err", err)...)
		problem := store.StorageProblem(err)
		if problem == "" {
			problem = "the database refused the write (the server log says why)"
		}
		s.waitOnStorage(id, doing, problem)
		return false
	})
	return err
}

// waitOnStorage records why id's run waits (see storageWait) until the
// caller deletes it from s.storageWaits.
func (s *Server) waitOnStorage(id, doing, problem string) {
	s.storageWaits.Store(id, fmt.Sprintf("%s waits: %s; the server retries until it can", doing, problem))
}

// storageWait is why id's run waits on a write to the server's storage
// (nil when it does not).
func (s *Server) storageWait(id string) *string {
	if v, ok := s.storageWaits.Load(id); ok {
		msg := v.(string)
		return &msg
	}
	return nil
}

// storeRefused reports whether the store refused a write for the request's
// reasons (the object is gone, or in another state, or the update is
// invalid), which a retry would meet again.
func storeRefused(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidArgument)
}

// retryUntil calls try until it reports done or ctx ends, pausing first,
// then twice as long each time, up to most, in between.
func retryUntil(ctx context.Context, first, most time.Duration, try func() (done bool)) {
	pause := first
	for !try() {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(2*pause, most)
	}
}

// transitionJob applies t with the status event describing d (its message
// msg, or one derived from d when empty), wakes the job's event streams and
// returns the job as updated.
func (s *Server) transitionJob(ctx context.Context, id string, t store.JobTransition, d statusData, msg string) (store.Job, error) {
	level := store.LevelInfo
	switch {
	case msg != "":
	case d.Status == store.JobFailed:
		level, msg = store.LevelError, "job failed: "+d.Error
	case d.Status == store.JobSucceeded:
		msg = "job succeeded: fine-tuned model " + d.FineTunedModel
	default:
		msg = "job " + d.Status
	}
	t.Event = &store.Event{Level: level, Type: evStatus, Message: msg, Data: s.eventData(id, evStatus, d)}
	job, err := s.store.TransitionJob(ctx, id, t)
	if err != nil {
		return store.Job{}, err
	}
	if store.JobFinished(job.Status) {
		s.dropJobFiles(id) // before the wake-up: a client told of the end finds the folder gone
	}
	s.hub.notify(id)
	return job, nil
}

// dropJobFiles removes a finished job's folder: its LLM credentials, which
// must not outlive the job, and its work files (checkpoint, mined and
// generated negatives), which only a resumed run reads. What the job
// produced is in its head and its record. A failure is logged; the next
// start removes what is left (sweepOrphans).
func (s *Server) dropJobFiles(id string) {
	if err := s.store.RemoveDir(store.KindJobs, id); err != nil {
		s.log.Error("remove a finished job's files", "job", id, "err", err)
	}
}

// completeJob saves the trained head, then registers it, records the
// result and marks the job succeeded in one transaction. The weights are
// written before the head's row exists, so a listed head always has its
// files (Start removes weights a crash left without a row), and a crash
// before the commit leaves no head row for a job that will run again.
func (s *Server) completeJob(ctx context.Context, job store.Job, out runOutput) error {
	result, err := json.Marshal(out.result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	sum, err := out.enc.Checksum()
	if err != nil {
		return err
	}
	summary := headMetrics{Base: out.result.Base, Tuned: out.result.Tuned, TestSplit: out.config.TestSplit,
		DevBest: out.result.Training.DevBest, BestEpoch: out.result.Training.BestEpoch}
	metrics, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	headID := store.NewID(store.PrefixHead)
	dir, err := s.store.Dir(store.KindHeads, headID)
	if err != nil {
		return err
	}
	// As a `retune train` head, with its negatives: GET /v1/heads/{id}/negatives.
	err = train.SaveHead(dir, out.head, job.Encoder, sum, out.config, &out.result, map[string]any{"job": job.ID})
	if err == nil {
		hc := out.head.Config()
		head := store.Head{ID: headID, JobID: job.ID, Encoder: job.Encoder, EncoderChecksum: sum,
			DIn: hc.DIn, DOut: hc.DOut, Apply: hc.Apply, Metrics: metrics}
		d := statusData{Status: store.JobSucceeded, Head: headID, FineTunedModel: fineTunedName(job.Encoder, headID)}
		_, err = s.transitionJob(ctx, job.ID, store.JobTransition{From: []string{store.JobRunning}, To: store.JobSucceeded,
			Head: &head, Result: result, UnlessCancelRequested: true}, d, "")
	}
	if err != nil {
		// A failed attempt leaves nothing: the worker retries a full disk
		// with a new head id, and stray copies would fill it further.
		s.discardHeadFiles(headID)
	}
	return err
}

// discardHeadFiles removes the files of a head that got no row.
func (s *Server) discardHeadFiles(id string) {
	if err := s.store.RemoveDir(store.KindHeads, id); err != nil {
		s.log.Error("discard head files", "head", id, "err", err)
	}
}

// headMetrics is the summary a head's record carries: test metrics of the
// base encoder and of the head, and the best dev epoch.
type headMetrics struct {
	TestSplit string       `json:"test_split"`
	Base      eval.Metrics `json:"base"`
	Tuned     eval.Metrics `json:"tuned"`
	DevBest   eval.Metrics `json:"dev_best"`
	BestEpoch int          `json:"best_epoch"`
}
