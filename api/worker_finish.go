package api

import (
	"context"
	"encoding/json"
	"fmt"

	"retune/eval"
	"retune/model"
	"retune/store"
)

// finishJob moves a job from `from` to the terminal status d.Status and
// then writes the final event, so a client that saw the event (and the end
// of its stream) reads the job finished.
func (s *Server) finishJob(ctx context.Context, id, from string, d statusData) {
	if err := s.store.SetJobStatus(ctx, id, []string{from}, d.Status, d.Error); err != nil {
		s.log.Error("finish job", "job", id, "status", d.Status, "err", err)
		return
	}
	level, msg := store.LevelInfo, "job "+d.Status
	switch d.Status {
	case store.JobFailed:
		level, msg = store.LevelError, "job failed: "+d.Error
	case store.JobSucceeded:
		msg = "job succeeded: fine-tuned model " + d.FineTunedModel
	}
	s.appendEvent(ctx, id, level, evStatus, msg, d)
}

// completeJob saves the trained head, registers it and marks the job
// succeeded. The weights are written before the head's row exists, so a
// listed head always has its files (Start removes weights a crash left
// without a row).
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
	meta := model.HeadMeta{Encoder: job.Encoder, EncoderChecksum: sum, Training: asMap(out.config),
		Metrics: asMap(map[string]any{"base": out.result.Base, "tuned": out.result.Tuned, "training": out.result.Training,
			"mining": out.result.Mining, "generation": out.result.Generation, "job": job.ID})}
	if err := out.head.Save(dir, meta); err != nil {
		return err
	}
	hc := out.head.Config()
	_, err = s.store.CreateHead(ctx, store.Head{ID: headID, JobID: job.ID, Encoder: job.Encoder, EncoderChecksum: sum,
		DIn: hc.DIn, DOut: hc.DOut, Apply: hc.Apply, Metrics: metrics})
	if err != nil {
		s.discardHead(ctx, headID, false)
		return err
	}
	if err := s.store.SetJobResult(ctx, job.ID, result, headID); err != nil {
		s.discardHead(ctx, headID, true)
		return err
	}
	s.finishJob(ctx, job.ID, store.JobRunning, statusData{Status: store.JobSucceeded, Head: headID,
		FineTunedModel: fineTunedName(job.Encoder, headID)})
	return nil
}

// discardHead removes a head whose job could not record it, so no head
// exists without the job that produced it knowing.
func (s *Server) discardHead(ctx context.Context, id string, hasRow bool) {
	if hasRow {
		if err := s.store.DeleteHead(ctx, id); err != nil {
			s.log.Error("discard head row", "head", id, "err", err)
			return // keep the files of a head that is still listed
		}
	}
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

// asMap turns a struct into the free-form map head.json stores.
func asMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}
