package api

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"retune/dataset"
	"retune/model"
	"retune/negatives"
	"retune/store"
	"retune/train"
)

// work serves the queue until ctx ends.
func (s *Server) work(ctx context.Context) {
	for {
		id, ok := s.pool.next(ctx)
		if !ok {
			return
		}
		s.runJob(ctx, id)
	}
}

// runOutput is what a successful pipeline run hands to completeJob.
type runOutput struct {
	head   *model.Head
	result train.Result
	config train.PipelineConfig
	enc    *model.Encoder
	// llmUsage is the LLM generator's spending, kept for a run that fails
	// or is cancelled (a successful one reports it in its result).
	llmUsage any
}

// runJob claims a queued job, runs it and records how it ended. A job the
// pool's shutdown interrupts goes back to queued, for Start to resume.
func (s *Server) runJob(poolCtx context.Context, id string) {
	jobCtx, cancel := context.WithCancelCause(poolCtx)
	defer cancel(nil)
	if !s.pool.track(id, cancel) {
		return
	}
	defer s.pool.untrack(id)
	// Bookkeeping outlives the job's context, so an interrupted job still
	// records how far it got.
	bg := context.WithoutCancel(poolCtx)
	queued, err := s.store.GetJob(bg, id)
	if errors.Is(err, store.ErrNotFound) {
		return // cancelled and deleted while it waited in the queue
	}
	if err != nil {
		s.log.Error("read job", "job", id, "err", err)
		return
	}
	// Entering running counts an attempt; only this worker can make the
	// queued → running move (compare-and-set), so the number is exact.
	// A claim the machine refuses (a full disk, a locked database) is
	// retried, as a job's end is: the job has left the in-memory queue, and
	// given up it would stay queued until a restart.
	var job store.Job
	err = s.retryWrite(poolCtx, id, "starting the job", "claim job", []any{"job", id}, func() (err error) {
		job, err = s.transitionJob(bg, id, store.JobTransition{From: []string{store.JobQueued}, To: store.JobRunning},
			statusData{Status: store.JobRunning}, fmt.Sprintf("job started (attempt %d)", queued.Attempts+1))
		return err
	})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) {
			s.log.Error("claim job", "job", id, "err", err)
		}
		return // cancelled while queued, or queued twice and already run
	}
	s.log.Info("job started", "job", id, "attempt", job.Attempts)

	start := time.Now()
	out, err := s.executeJob(jobCtx, bg, job)
	defer s.cfg.Models.Release(out.enc) // freed now if replaced while the job ran
	// A cancel requested while the job ran is honoured even when the run
	// got to its end regardless (the evaluating stage does not stop
	// midway): completeJob refuses to succeed once one is recorded.
	switch {
	case err == nil:
		err = s.saveJobOutput(jobCtx, job, out)
		switch {
		case errors.Is(err, store.ErrCancelRequested), err != nil && errors.Is(context.Cause(jobCtx), errUserCancel):
			// Cancelled during the run's end, or while the save waited for
			// the operator to free storage.
			s.endJob(poolCtx, id, statusData{Status: store.JobCancelled, LLMUsage: out.llmUsage})
		case err != nil && poolCtx.Err() != nil:
			// A shutdown while the save was retrying a storage error: the
			// next start trains again from the last checkpoint.
			s.requeueInterrupted(bg, id, out, start)
			return
		case err != nil:
			s.log.Error("save job output", "job", id, "err", err)
			s.endJob(poolCtx, id, statusData{Status: store.JobFailed, Error: "saving the trained head failed; see the server log", LLMUsage: out.llmUsage})
		}
	case errors.Is(context.Cause(jobCtx), errUserCancel):
		s.endJob(poolCtx, id, statusData{Status: store.JobCancelled, LLMUsage: out.llmUsage})
	case poolCtx.Err() != nil:
		s.requeueInterrupted(bg, id, out, start)
		return
	default:
		msg := s.hidePaths(err.Error())
		if p := store.StorageProblem(err); p != "" { // the error itself names server paths
			msg = p + "; run the job again once the server's operator has fixed it"
		}
		s.endJob(poolCtx, id, statusData{Status: store.JobFailed, Error: msg, LLMUsage: out.llmUsage})
	}
	status := "unknown"
	switch j, gerr := s.store.GetJob(bg, id); {
	case gerr == nil:
		status = j.Status
	case errors.Is(gerr, store.ErrNotFound):
		status = "deleted" // by its client, once its end was recorded
	}
	s.log.Info("job ended", "job", id, "status", status, "s", time.Since(start).Seconds(), "err", err)
	s.cacheGrew()
}

// requeueInterrupted puts a job a shutdown interrupted back in the queue:
// the next start resumes it without counting this stop among the crashes
// that give up on a job (maxJobCrashes), so routine restarts during a long
// job do not use them up. A cancel requested meanwhile is honoured instead.
func (s *Server) requeueInterrupted(bg context.Context, id string, out runOutput, start time.Time) {
	_, err := s.transitionJob(bg, id, store.JobTransition{From: []string{store.JobRunning}, To: store.JobQueued, UnlessCancelRequested: true},
		statusData{Status: store.JobQueued}, "interrupted by a server shutdown; queued to resume at the next start")
	switch {
	case errors.Is(err, store.ErrCancelRequested):
		s.finishJob(bg, id, store.JobRunning, statusData{Status: store.JobCancelled, LLMUsage: out.llmUsage})
	case err != nil:
		s.log.Warn("requeue interrupted job (the next start does it)", "job", id, "err", err)
	}
	s.log.Info("job interrupted; it resumes on the next start", "job", id, "s", time.Since(start).Seconds())
}

// saveJobOutput is completeJob, retried while the machine refuses the
// write (a full disk, a read-only database: store.StorageProblem) until it
// lands or jobCtx ends: on a shutdown the job is requeued for the next
// start to resume from its last checkpoint (the trained head is not thrown
// away for a disk an operator can free), on a user's cancel it ends
// cancelled. The job's log says, once, why it is waiting (tried again at
// each attempt until that event is stored).
func (s *Server) saveJobOutput(jobCtx context.Context, job store.Job, out runOutput) error {
	var err error
	told := false
	defer s.storageWaits.Delete(job.ID)
	retryUntil(jobCtx, endRetryFirst, endRetryMax, func() bool {
		err = s.completeJob(context.WithoutCancel(jobCtx), job, out)
		p := store.StorageProblem(err)
		if p == "" {
			return true
		}
		s.log.Error("save job output; will retry", "job", job.ID, "problem", p, "err", err)
		s.waitOnStorage(job.ID, "saving the trained head", p)
		if !told {
			// Told once it is stored: on a full disk the event may not
			// fit either, and the next try says it again.
			told = s.appendEvent(context.WithoutCancel(jobCtx), job.ID, store.LevelWarn, evMessage,
				fmt.Sprintf("saving the trained head failed (%s); retrying until the server's operator fixes it (cancel the job to give up)", p), nil)
		}
		return false
	})
	return err
}

// executeJob loads the job's inputs and runs the pipeline. ctx cancels the
// run; bg is for bookkeeping.
func (s *Server) executeJob(ctx, bg context.Context, job store.Job) (out runOutput, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job panicked", "job", job.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	spec, err := decodeJobSpec(job.Config)
	if err != nil {
		return out, err
	}
	if msg, _ := spec.Hyperparameters.validate(spec.Negatives); msg != "" {
		// Checked when the job was created: an earlier build, whose bounds
		// were looser, accepted these settings.
		return out, fmt.Errorf("this job's settings were accepted by an earlier build of retune, and this build refuses them: %s; create the job again with settings in range", msg)
	}
	out.config = spec.pipelineConfig()
	data, dataDir, err := s.loadJobDataset(ctx, job.DatasetID, out.config) // hashing it may take seconds: cancellable
	if err != nil {
		return out, err
	}
	if out.enc, err = s.cfg.Models.Get(ctx, job.Encoder); err != nil {
		return out, fmt.Errorf("open encoder %q: %w", job.Encoder, err)
	}
	gen, err := s.generatorFor(job.ID, spec, data)
	if err != nil {
		return out, err
	}
	workDir, err := s.store.Dir(store.KindJobs, job.ID)
	if err != nil {
		return out, err
	}
	rec, err := s.newRecorder(bg, job, workDir)
	if err != nil {
		return out, err
	}
	provided, err := providedNegatives(dataDir, out.config.Negatives)
	if err != nil {
		return out, err
	}
	p := &train.Pipeline{Encoder: out.enc, Cache: s.cache, Generator: gen, Provided: provided,
		WorkDir: workDir, Progress: rec.observe, Ledger: s.ledger, SkipMemoryCheck: s.cfg.SkipMemoryCheck,
		RestartOnOtherRun: true}
	out.head, out.result, err = p.Run(ctx, data, out.config)
	if u, ok := gen.(negatives.UsageReporter); ok { // the LLM generators
		rep := u.UsageReport()
		if lu, ok := rep.(negatives.LLMGeneratorUsage); ok {
			if spent, ok := train.SpentLLM(workDir); ok {
				lu.LLM = spent // earlier attempts' spending too
				rep = lu
			}
		}
		out.llmUsage = rep
	}
	if err != nil {
		return out, err
	}
	rec.finish()
	return out, nil
}

// loadJobDataset reads the job's dataset from disk: the training split and,
// when set, the test split.
func (s *Server) loadJobDataset(ctx context.Context, id string, cfg train.PipelineConfig) (*dataset.BEIR, string, error) {
	ds, err := s.store.GetDataset(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", fmt.Errorf("dataset %s no longer exists", id)
		}
		return nil, "", err
	}
	dir, err := s.store.Dir(store.KindDatasets, id)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkDataset(ctx, dir, ds); err != nil {
		return nil, "", err
	}
	splits := []string{cfg.TrainSplit}
	if cfg.TestSplit != "" { // differs from TrainSplit (PipelineConfig.Validate)
		splits = append(splits, cfg.TestSplit)
	}
	data, err := dataset.LoadBEIR(dir, splits...)
	if err != nil {
		// The files were validated at upload: this is damage on disk. The
		// full error (with server paths) goes to the log only.
		s.log.Error("load dataset", "dataset", id, "err", err)
		var lines dataset.Errors
		if errors.As(err, &lines) {
			return nil, "", fmt.Errorf("dataset %s no longer parses: %s", id, describeLineErrors(lines))
		}
		return nil, "", fmt.Errorf("dataset %s files are missing or unreadable", id)
	}
	return data, dir, nil
}

// hidePaths replaces the server's folders in a message a client reads (a
// job's error) with their roles: where the server keeps its files is the
// operator's business, and the log has the full text.
func (s *Server) hidePaths(msg string) string {
	type folder struct{ dir, role string }
	var folders []folder
	for _, f := range []folder{{s.cfg.CacheDir, "<cache>"}, {s.cfg.LLM.CacheDir, "<llm cache>"}, {s.store.DataDir(), "<data>"}, {s.cfg.Models.Root(), "<models>"}} {
		if f.dir == "" {
			continue
		}
		if abs, err := filepath.Abs(f.dir); err == nil && abs != f.dir {
			folders = append(folders, folder{abs, f.role})
		}
		if filepath.Clean(f.dir) != "." {
			folders = append(folders, f)
		}
	}
	// Longest first: the caches are inside the data folder.
	slices.SortStableFunc(folders, func(a, b folder) int { return len(b.dir) - len(a.dir) })
	for _, f := range folders {
		msg = strings.ReplaceAll(msg, f.dir, f.role)
	}
	return msg
}
