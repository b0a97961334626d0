package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// cancelWait bounds how long POST .../cancel waits for a running job to
// stop, so the answer usually shows the final "cancelled" status.
const cancelWait = 10 * time.Second

func (s *Server) jobRoutes(g *gin.RouterGroup) {
	g.POST("/fine_tuning/jobs", s.createJob)
	g.GET("/fine_tuning/jobs", s.listJobs)
	g.GET("/fine_tuning/jobs/:job_id", s.getJob)
	g.DELETE("/fine_tuning/jobs/:job_id", s.deleteJob)
	g.POST("/fine_tuning/jobs/:job_id/cancel", s.cancelJob)
	g.GET("/fine_tuning/jobs/:job_id/events", s.listJobEvents)
	g.GET("/fine_tuning/jobs/:job_id/checkpoints", s.listJobCheckpoints)
}

func (s *Server) createJob(c *gin.Context) {
	req := newJobRequest()
	if !decodeJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	spec, secrets, err := s.checkJobRequest(ctx, req)
	if err != nil {
		s.abortRequest(c, err)
		return
	}
	job, err := s.submitJob(ctx, req, spec, secrets)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("dataset %s not found", req.Dataset))
		return
	}
	created(c, http.StatusCreated, "/v1/fine_tuning/jobs/"+job.ID, s.jobView(job))
}

// jobCreated runs between a job's creation and its queueing; tests use it
// to cancel a job in that window.
var jobCreated = func(id string) {}

// submitJob records a checked job and queues it.
func (s *Server) submitJob(ctx context.Context, req jobRequest, spec jobSpec, secrets jobSecrets) (store.Job, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return store.Job{}, fmt.Errorf("encode job settings: %w", err)
	}
	job, err := s.store.CreateJob(ctx, store.Job{DatasetID: req.Dataset, Encoder: req.Model,
		Status: store.JobValidating, Config: raw})
	if err != nil {
		return store.Job{}, err
	}
	// From here on the job exists: finish its bookkeeping even if the
	// client goes away.
	bg := context.WithoutCancel(ctx)
	jobCreated(job.ID)
	if err := s.saveJobSecrets(job.ID, secrets); err != nil {
		s.finishJob(bg, job.ID, store.JobValidating, statusData{Status: store.JobFailed, Error: "could not store the LLM credentials"})
		return store.Job{}, err
	}
	// The job as queued, before any worker can move it: the answer shows
	// it as submitted, not however far a worker has taken it since.
	queued, err := s.transitionJob(bg, job.ID, store.JobTransition{From: []string{store.JobValidating}, To: store.JobQueued},
		statusData{Status: store.JobQueued}, "job validated and queued")
	if err != nil {
		// A cancel that came between the job's creation and here ended
		// it, and removed its folder before the credentials were written.
		s.dropJobFiles(job.ID)
		if errors.Is(err, store.ErrConflict) {
			// The job exists, and ended as its canceller asked: show it.
			return s.store.GetJob(bg, job.ID)
		}
		// Not left validating, which the next start fails with a message
		// about a restart: the client is told now, with the cause.
		s.finishJob(bg, job.ID, store.JobValidating, statusData{Status: store.JobFailed, Error: "could not queue the job"})
		return store.Job{}, err
	}
	s.pool.enqueue(queued.ID)
	s.log.Info("job queued", "job", queued.ID, "dataset", req.Dataset, "model", req.Model, "negatives", spec.Negatives)
	return queued, nil
}

func (s *Server) listJobs(c *gin.Context) {
	page, ok := parsePage(c, store.PrefixJob, "job")
	if !ok {
		return
	}
	jobs, more, err := s.store.ListJobs(c.Request.Context(), page)
	if err != nil {
		s.abortList(c, err, "job", page.After)
		return
	}
	views := make([]jobObject, len(jobs))
	for i, j := range jobs {
		views[i] = s.jobView(j)
	}
	c.JSON(http.StatusOK, newList(views, more))
}

func (s *Server) getJob(c *gin.Context) {
	id, ok := pathID(c, "job_id", store.PrefixJob, "job")
	if !ok {
		return
	}
	job, err := s.store.GetJob(c.Request.Context(), id)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
		return
	}
	c.JSON(http.StatusOK, s.jobView(job))
}

// deleteJob removes a finished job's record, events and checkpoints (the
// database would otherwise only grow); the head it trained stays.
func (s *Server) deleteJob(c *gin.Context) {
	id, ok := pathID(c, "job_id", store.PrefixJob, "job")
	if !ok {
		return
	}
	if err := s.store.DeleteJob(c.Request.Context(), id); err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
		return
	}
	s.dropJobFiles(id) // gone when it finished; a crash may have kept them
	c.JSON(http.StatusOK, deletedObject{ID: id, Object: "fine_tuning.job", Deleted: true})
}

// cancelJob cancels a queued job at once and a running one by cancelling
// its context; the worker then marks it cancelled. A finished job is a 409.
func (s *Server) cancelJob(c *gin.Context) {
	id, ok := pathID(c, "job_id", store.PrefixJob, "job")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	cancelled := &store.Event{Type: evStatus, Message: "job cancelled before it started",
		Data: s.eventData(id, evStatus, statusData{Status: store.JobCancelled})}
	requested := &store.Event{Level: store.LevelInfo, Type: evMessage, Message: "cancellation requested"}
	job, err := s.store.RequestCancel(ctx, id, cancelled, requested)
	if errors.Is(err, store.ErrConflict) {
		cur, gerr := s.store.GetJob(ctx, id)
		if gerr == nil {
			abort(c, http.StatusConflict, codeConflict, fmt.Sprintf("job %s already %s; only an unfinished job (validating, queued or running) can be cancelled", id, cur.Status))
			return
		}
		if errors.Is(gerr, store.ErrNotFound) {
			err = gerr // finished and deleted meanwhile
		}
	}
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
		return
	}
	switch job.Status {
	case store.JobCancelled: // its final event was stored with the status
		s.log.Info("job cancelled before it started", "job", id)
		s.dropJobFiles(id)
		s.hub.notify(id)
	case store.JobRunning:
		s.log.Info("job cancellation requested", "job", id)
		s.hub.notify(id)
		s.pool.cancel(id)
		if job, err = s.awaitJobEnd(ctx, id, cancelWait); err != nil {
			s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
			return
		}
	}
	c.JSON(http.StatusOK, s.jobView(job))
}

// awaitJobEnd returns the job once it has finished, or as it is after wait.
func (s *Server) awaitJobEnd(ctx context.Context, id string, wait time.Duration) (store.Job, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed, release := s.hub.changed(id)
		job, err := s.store.GetJob(ctx, id)
		if err != nil || store.JobFinished(job.Status) {
			release()
			return job, err
		}
		select {
		case <-changed:
			release()
		case <-timer.C:
			release()
			return job, nil
		case <-ctx.Done():
			release()
			return job, ctx.Err()
		}
	}
}

func (s *Server) listJobCheckpoints(c *gin.Context) {
	id, ok := pathID(c, "job_id", store.PrefixJob, "job")
	if !ok {
		return
	}
	// By default a page holds every epoch a job is likely to have run.
	limit, ok := parseLimit(c, store.MaxEventLimit, store.MaxEventLimit)
	if !ok {
		return
	}
	after := -1 // from the first epoch
	if raw, given := c.GetQuery("after"); given {
		n, ok := parseCount(raw)
		if !ok {
			badRequestParam(c, "after", fmt.Sprintf("after must be an epoch (an integer >= 0), got %q", raw))
			return
		}
		after = int(min(n, math.MaxInt32)) // past every epoch: an empty page, as events answer
	}
	cps, more, err := s.store.ListCheckpoints(c.Request.Context(), id, after, limit)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
		return
	}
	views := make([]checkpointObject, len(cps))
	for i, cp := range cps {
		views[i] = checkpointView(cp)
	}
	c.JSON(http.StatusOK, newList(views, more))
}

// abortRequest answers a request check's error: its own status for a
// requestError or a collectionError (one the checks share with the
// collection routes, e.g. an encoder that does not open), else as a store
// error.
func (s *Server) abortRequest(c *gin.Context, err error) {
	var re *requestError
	switch {
	case errors.As(err, &re):
		abortParam(c, re.status, re.code, re.param, re.msg)
	case errors.As(err, new(*collectionError)):
		s.writeCollectionError(c, err)
	default:
		s.abortStore(c, err, err.Error())
	}
}
