package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"retune/eval"
	"retune/store"
	"retune/train"
)

// Throttles: a run has thousands of steps, and clients want to see it move,
// not a database write per step.
const (
	stepEventEvery     = time.Second
	progressEventEvery = 10 * time.Second
	progressWriteEvery = 250 * time.Millisecond
	progressJump       = 0.05 // a progress step this large is written despite progressWriteEvery
)

// pipelineStages lists the stages in run order.
var pipelineStages = []string{train.StageEmbedding, train.StageMining, train.StageGenerating, train.StageTraining, train.StageEvaluating}

// reusable reports whether a resumed run reuses a completed stage's output
// rather than redoing it: embeddings come from the cache, mined and
// generated negatives from the work directory, a finished training from its
// last checkpoint. Evaluation is recomputed (it is cheap).
func reusable(stage string) bool { return stage != train.StageEvaluating }

// recorder turns the pipeline's StageEvents into the job's stage and
// progress, its events, per-epoch checkpoints and stage markers.
type recorder struct {
	s     *Server
	ctx   context.Context
	jobID string

	mu         sync.Mutex // generation reports progress from its own goroutines
	skip       map[string]bool
	stage      string
	stageStart time.Time
	lastStep   time.Time
	lastCount  time.Time // the last "progress" event
	lastWrite  time.Time
	lastFrac   float64 // the progress last written
}

// newRecorder reads which stages earlier attempts completed and, for a
// resumed job, says so in a "resumed" event. workDir is the job's pipeline
// work folder.
func (s *Server) newRecorder(ctx context.Context, job store.Job, workDir string) (*recorder, error) {
	done, err := s.store.StagesDone(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	r := &recorder{s: s, ctx: ctx, jobID: job.ID, skip: map[string]bool{}}
	var skipped []string
	for _, st := range pipelineStages {
		if _, ok := done[st]; ok && reusable(st) {
			r.skip[st] = true
			skipped = append(skipped, st)
		}
	}
	if job.Attempts > 1 || len(skipped) > 0 {
		if err := r.announceResume(job.Attempts, skipped, workDir); err != nil {
			return nil, err
		}
	}
	return r, nil
}

type resumedData struct {
	Attempt         int      `json:"attempt"`
	SkippedStages   []string `json:"skipped_stages"`
	CompletedEpochs int      `json:"completed_epochs"`
}

func (r *recorder) announceResume(attempt int, skipped []string, workDir string) error {
	d := resumedData{Attempt: attempt, SkippedStages: skipped}
	if d.SkippedStages == nil {
		d.SkippedStages = []string{}
	}
	// The trainer's checkpoint file, not the per-epoch metrics rows, says
	// where training continues: it is written at most once a second, so
	// after a crash the rows can run a few epochs ahead of it.
	var err error
	if d.CompletedEpochs, err = train.CheckpointedEpoch(workDir); err != nil && !errors.Is(err, train.ErrDamagedCheckpoint) {
		return err // a damaged one is discarded, with a warning, when training starts
	}
	msg := fmt.Sprintf("resumed (attempt %d)", attempt)
	if len(skipped) > 0 {
		msg += ": skipping completed stages " + strings.Join(skipped, ", ")
	}
	if d.CompletedEpochs > 0 && !r.skip[train.StageTraining] {
		msg += fmt.Sprintf("; training continues after epoch %d", d.CompletedEpochs)
	}
	r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evResumed, msg, d)
	return nil
}

// observe is the pipeline's Progress callback.
func (r *recorder) observe(ev train.StageEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Stage != r.stage {
		r.closeStage()
		r.openStage(ev)
	}
	switch {
	case ev.Train != nil && ev.Train.Kind == "epoch":
		r.epoch(*ev.Train)
	case ev.Train != nil && ev.Train.Kind == "step":
		r.step(*ev.Train)
	case ev.Note == "" && ev.Total > 0 && ev.Done > 0 && ev.Done < ev.Total:
		r.count(ev)
	case ev.Note != "":
		level := store.LevelInfo
		if ev.Warn {
			level = store.LevelWarn
		}
		r.s.appendEvent(r.ctx, r.jobID, level, evMessage, ev.Stage+": "+ev.Note, stageData{Stage: ev.Stage})
	}
	r.progress(ev)
}

// finish closes the last stage of a successful run.
func (r *recorder) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeStage()
	r.stage = ""
}

// stageData is the data of a "stage" event.
type stageData struct {
	Stage   string  `json:"stage"`
	State   string  `json:"state,omitempty"` // started | completed
	Total   int     `json:"total,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
}

func (r *recorder) openStage(ev train.StageEvent) {
	r.stage, r.stageStart, r.lastCount = ev.Stage, time.Now(), time.Time{}
	r.lastWrite, r.lastFrac = time.Time{}, 0 // show the new stage at once
	if !r.skip[ev.Stage] {
		r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evStage, ev.Stage+" started",
			stageData{Stage: ev.Stage, State: "started", Total: ev.Total})
	}
}

// closeStage marks the current stage done, so a restart skips it.
func (r *recorder) closeStage() {
	if r.stage == "" || r.skip[r.stage] {
		return
	}
	d := stageData{Stage: r.stage, State: "completed", Seconds: time.Since(r.stageStart).Seconds()}
	raw, _ := json.Marshal(d) // plain strings and numbers: cannot fail
	if err := r.s.store.MarkStageDone(r.ctx, r.jobID, r.stage, raw); err != nil {
		r.s.log.Error("mark stage done", "job", r.jobID, "stage", r.stage, "err", err)
	}
	r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evStage, fmt.Sprintf("%s completed in %.1fs", r.stage, d.Seconds), d)
}

// checkpointMetrics is what a checkpoint records about its epoch.
type checkpointMetrics struct {
	train.LossParts
	Dev      eval.Metrics `json:"dev"`
	Best     bool         `json:"best"`
	ElapsedS float64      `json:"elapsed_s"`
}

func (r *recorder) epoch(ev train.Event) {
	m := checkpointMetrics{LossParts: ev.LossParts, Dev: ev.Dev, Best: ev.Best, ElapsedS: ev.ElapsedS}
	if m.Dev == nil {
		m.Dev = eval.Metrics{}
	}
	if raw, err := json.Marshal(m); err != nil {
		r.s.log.Warn("checkpoint metrics not encodable", "job", r.jobID, "epoch", ev.Epoch, "err", err)
	} else if _, err := r.s.store.PutCheckpoint(r.ctx, store.Checkpoint{JobID: r.jobID, Epoch: ev.Epoch, Metrics: raw}); err != nil {
		r.s.log.Error("put checkpoint", "job", r.jobID, "epoch", ev.Epoch, "err", err)
	}
	msg := fmt.Sprintf("epoch %d/%d: loss %.4f", ev.Epoch, ev.Epochs, ev.Loss)
	if v, ok := ev.Dev[eval.NDCG(10)]; ok {
		msg += fmt.Sprintf(", dev ndcg@10 %.4f", v)
	}
	if ev.Best {
		msg += " (best)"
	}
	r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evEpoch, msg, ev)
}

func (r *recorder) step(ev train.Event) {
	if time.Since(r.lastStep) < stepEventEvery {
		return
	}
	r.lastStep = time.Now()
	r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evStep,
		fmt.Sprintf("epoch %d/%d step %d/%d: loss %.4f", ev.Epoch, ev.Epochs, ev.Step, ev.Steps, ev.Loss), ev)
}

// progressData is the data of a "progress" event.
type progressData struct {
	Stage string `json:"stage"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// count reports how far a stage other than training is: its first report
// at once (for a resumed or mostly cached stage, the share already done),
// then at most every progressEventEvery. Embedding a large corpus with a
// transformer takes minutes, and an event stream silent meanwhile looks
// stuck.
func (r *recorder) count(ev train.StageEvent) {
	if !r.lastCount.IsZero() && time.Since(r.lastCount) < progressEventEvery {
		return
	}
	r.lastCount = time.Now()
	r.s.appendEvent(r.ctx, r.jobID, store.LevelInfo, evProgress,
		fmt.Sprintf("%s: %d of %d (%.0f%%)", ev.Stage, ev.Done, ev.Total, 100*float64(ev.Done)/float64(ev.Total)),
		progressData{Stage: ev.Stage, Done: ev.Done, Total: ev.Total})
}

// progress records the stage and how far through it the run is.
func (r *recorder) progress(ev train.StageEvent) {
	var frac float64
	switch t := ev.Train; {
	case t != nil && t.Kind == "step" && t.Steps > 0 && t.Epochs > 0:
		frac = (float64(t.Epoch-1) + float64(t.Step)/float64(t.Steps)) / float64(t.Epochs)
	case t != nil && t.Epochs > 0:
		frac = float64(t.Epoch) / float64(t.Epochs)
	case ev.Total > 0:
		frac = float64(ev.Done) / float64(ev.Total)
	case !r.lastWrite.IsZero():
		return // a note: nothing new to show
	}
	frac = min(max(frac, 0), 1)
	// A jump is written at once: the first report of a resumed or mostly
	// cached embedding stage already counts what the cache held, and
	// throttling it away left the job at 0% until the next chunk.
	force := r.lastWrite.IsZero() || frac == 1 || frac-r.lastFrac >= progressJump || (ev.Train != nil && ev.Train.Kind == "epoch")
	if !force && time.Since(r.lastWrite) < progressWriteEvery {
		return
	}
	r.lastWrite, r.lastFrac = time.Now(), frac
	if err := r.s.store.UpdateJobProgress(r.ctx, r.jobID, ev.Stage, frac); err != nil {
		r.s.log.Error("update job progress", "job", r.jobID, "err", err)
	}
}
