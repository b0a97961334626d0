package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"retune/negatives"
	"retune/store"
	"retune/train"
)

// maxJobCrashes bounds how often a job is resumed after a crash. A job
// that brings the server down (say, runs it out of memory) would otherwise
// be resumed, and bring it down again, on every restart. Only the starts
// that find the job still running count (store.CountJobCrash): a graceful
// shutdown requeues its jobs, so routine restarts during a long job never
// use the allowance up.
const maxJobCrashes = 20

// requeueUnfinished puts the jobs a crash or Close interrupted back in the
// queue, oldest first. Running jobs go back to queued (their work
// directory keeps what they finished); a running job whose cancellation
// was requested ends cancelled instead, and one still being created
// (validating) fails.
func (s *Server) requeueUnfinished(ctx context.Context) error {
	jobs, err := s.store.UnfinishedJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Status == store.JobValidating {
			// The server stopped inside submitJob, which answers only once
			// the job is queued: no client was given this job, and its
			// credentials may not have been written. Running it would
			// spend an LLM budget unasked, possibly without its key.
			s.finishJob(ctx, j.ID, store.JobValidating, statusData{Status: store.JobFailed,
				Error: "the server stopped while creating this job, before it answered the request; create the job again"})
			s.dropJobFiles(j.ID)
			s.log.Warn("job failed: its creation was interrupted", "job", j.ID)
			continue
		}
		why := "interrupted by a server restart; queued to resume"
		if j.Status == store.JobQueued && j.Attempts == 0 {
			why = "queued before the server restarted; queued again"
		}
		switch {
		case j.Status == store.JobRunning && j.CancelRequested:
			s.finishJob(ctx, j.ID, store.JobRunning, statusData{Status: store.JobCancelled, LLMUsage: s.spentBefore(j.ID)})
			continue
		case j.Status == store.JobRunning:
			crashes, err := s.store.CountJobCrash(ctx, j.ID)
			if err != nil {
				return fmt.Errorf("requeue job %s: %w", j.ID, err)
			}
			if crashes >= maxJobCrashes {
				s.log.Warn("job failed: interrupted by too many crashes", "job", j.ID, "crashes", crashes)
				s.finishJob(ctx, j.ID, store.JobRunning, statusData{Status: store.JobFailed, Error: fmt.Sprintf(
					"interrupted %d times by server crashes, so not resumed again: check the server's log and memory; then create the job anew",
					crashes), LLMUsage: s.spentBefore(j.ID)})
				continue
			}
			why = fmt.Sprintf("the server stopped without shutting down (crash %d of the %d a job is resumed after); queued to resume", crashes, maxJobCrashes-1)
		}
		if j.Status == store.JobRunning {
			if _, err := s.transitionJob(ctx, j.ID, store.JobTransition{From: []string{j.Status}, To: store.JobQueued},
				statusData{Status: store.JobQueued}, why); err != nil {
				return fmt.Errorf("requeue job %s: %w", j.ID, err)
			}
		}
		s.pool.enqueue(j.ID)
		s.log.Info("job requeued", "job", j.ID, "was", j.Status, "why", why)
	}
	return nil
}

// spentBefore is the llm_usage of a job ended at a start (by its crash
// limit, or a cancel that a crash interrupted): what its work folder
// records its LLM calls cost over its attempts (train.SpentLLM), under
// "llm" as a finished run reports it, without the item counts only a run
// knows. Nil when nothing is recorded.
func (s *Server) spentBefore(id string) any {
	dir, err := s.store.Dir(store.KindJobs, id)
	if err != nil {
		return nil
	}
	spent, ok := train.SpentLLM(dir)
	if !ok {
		return nil
	}
	return struct {
		LLM negatives.LLMUsage `json:"llm"`
	}{spent}
}

// sweepOrphans removes dataset, head and collection directories that have
// no row: an upload, a head save, a collection's posted documents or a
// delete that a crash interrupted; and the folders of finished jobs, which
// a crash kept or an older build left.
func (s *Server) sweepOrphans(ctx context.Context) error {
	kinds := []struct {
		kind, prefix string
		exists       func(context.Context, string) error
	}{
		{store.KindDatasets, store.PrefixDataset, func(ctx context.Context, id string) error {
			_, err := s.store.GetDataset(ctx, id)
			return err
		}},
		{store.KindHeads, store.PrefixHead, func(ctx context.Context, id string) error {
			_, err := s.store.GetHead(ctx, id)
			return err
		}},
		{store.KindJobs, store.PrefixJob, func(ctx context.Context, id string) error {
			job, err := s.store.GetJob(ctx, id)
			if err == nil && store.JobFinished(job.Status) {
				s.dropJobFiles(id)
			}
			return err
		}},
		{store.KindCollections, store.PrefixCollection, func(ctx context.Context, id string) error {
			col, err := s.store.GetCollection(ctx, id)
			if err == nil && col.Status == store.CollectionReady {
				// A crash between indexing and this removal kept them.
				if dir, derr := s.store.Dir(store.KindCollections, id); derr == nil {
					s.dropPostedDocuments(id, dir)
				}
			}
			// A failed collection's files stay: a crash right after its
			// indexing failed left them (they go with the collection), or
			// they are the damaged files a load found, which its operator
			// may want to look at.
			return err
		}},
	}
	for _, k := range kinds {
		entries, err := os.ReadDir(filepath.Join(s.store.DataDir(), k.kind))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() || !store.ValidID(k.prefix, e.Name()) {
				continue
			}
			err := k.exists(ctx, e.Name())
			if !errors.Is(err, store.ErrNotFound) {
				if err != nil {
					return err
				}
				continue
			}
			if err := s.store.RemoveDir(k.kind, e.Name()); err != nil {
				return err
			}
			s.log.Warn("removed files left without a record", "kind", k.kind, "id", e.Name())
		}
	}
	return nil
}
