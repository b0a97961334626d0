package api

import (
	"encoding/json"
	"time"

	"retune/negatives"
	"retune/store"
)

// jobObject is a fine-tuning job as the API shows it, shaped after
// OpenAI's fine_tuning.job.
type jobObject struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	Status          string          `json:"status"`
	Stage           *string         `json:"stage"`
	StageProgress   float64         `json:"stage_progress"`
	Model           string          `json:"model"`
	Dataset         string          `json:"dataset"`
	Negatives       string          `json:"negatives"`
	Generator       *string         `json:"generator"`
	LLM             *llmSettings    `json:"llm"`
	Hyperparameters hyperparameters `json:"hyperparameters"`
	CreatedAt       int64           `json:"created_at"`
	StartedAt       *int64          `json:"started_at"`
	FinishedAt      *int64          `json:"finished_at"`
	Error           *jobError       `json:"error"`
	FineTunedModel  *string         `json:"fine_tuned_model"`
	Head            *string         `json:"head"`
	Result          json.RawMessage `json:"result"`
	Attempts        int             `json:"attempts"`
	CancelRequested bool            `json:"cancel_requested"`
	// StorageWait says why the job's start or end waits to be recorded
	// (a full disk), while it does.
	StorageWait *string `json:"storage_wait,omitempty"`
}

type jobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) jobView(j store.Job) jobObject {
	spec, err := decodeJobSpec(j.Config)
	if err != nil {
		s.log.Error("job settings unreadable", "job", j.ID, "err", err)
	}
	v := jobObject{ID: j.ID, Object: "fine_tuning.job", Status: j.Status, StageProgress: j.StageProgress,
		Model: j.Encoder, Dataset: j.DatasetID, Negatives: spec.Negatives, LLM: redactedLLM(spec.LLM),
		Hyperparameters: spec.Hyperparameters, CreatedAt: j.CreatedAt.Unix(),
		StartedAt: unixOrNil(j.StartedAt), FinishedAt: unixOrNil(j.FinishedAt),
		Result: j.Result, Attempts: j.Attempts, CancelRequested: j.CancelRequested, StorageWait: s.storageWait(j.ID)}
	if j.Stage != "" {
		v.Stage = &j.Stage
	}
	if spec.Generator != "" {
		v.Generator = &spec.Generator
	}
	if j.Status == store.JobFailed {
		v.Error = &jobError{Code: "job_failed", Message: j.Error}
	}
	if j.HeadID != "" {
		name := fineTunedName(j.Encoder, j.HeadID)
		v.Head, v.FineTunedModel = &j.HeadID, &name
	}
	return v
}

func unixOrNil(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	u := t.Unix()
	return &u
}

// checkpointObject is one epoch's metrics, shaped after OpenAI's
// fine_tuning.job.checkpoint.
type checkpointObject struct {
	Object    string          `json:"object"`
	JobID     string          `json:"fine_tuning_job_id"`
	Epoch     int             `json:"epoch"`
	Metrics   json.RawMessage `json:"metrics"`
	CreatedAt int64           `json:"created_at"`
}

func checkpointView(cp store.Checkpoint) checkpointObject {
	m := cp.Metrics
	if m == nil {
		m = json.RawMessage(`{}`)
	}
	return checkpointObject{Object: "fine_tuning.job.checkpoint", JobID: cp.JobID, Epoch: cp.Epoch,
		Metrics: m, CreatedAt: cp.CreatedAt.Unix()}
}

// redactedLLM is the job's LLM settings as shown, never with credentials
// written into the base URL (https://user:secret@host/v1). New jobs store
// the URL without them (they are kept beside the API key, jobURLFile);
// redacting again here keeps a spec that holds them anyway from showing them.
func redactedLLM(l *llmSettings) *llmSettings {
	if l == nil {
		return nil
	}
	shown := *l
	shown.BaseURL = negatives.RedactURL(l.BaseURL)
	return &shown
}
