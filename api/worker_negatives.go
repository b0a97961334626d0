package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"retune/dataset"
	"retune/negatives"
	"retune/store"
	"retune/train"
)

// retryEventEvery spaces the job events that report LLM retries: each is
// in the server log, but a job's event list is for people.
const retryEventEvery = 30 * time.Second

// jobKeyFile holds a job's own LLM API key in its work directory (mode
// 0600, as WriteFileAtomic creates files), not in the database row that the
// API returns and backups copy; jobURLFile holds, the same way, its
// llm.base_url when that carries credentials (user:password@), the spec
// keeping the URL without them.
const (
	jobKeyFile = "llm-api-key"
	jobURLFile = "llm-base-url"
)

// llmStopGrace is how long a shutdown lets a job's LLM requests already
// sent reply before it interrupts the job: a reply cut off is paid for and
// asked for again after the restart, one let finish is cached. retune
// serve's wait for HTTP requests comes first (up to 10 s), so a stop takes
// at most about 20 s.
const llmStopGrace = negatives.DefaultStopGrace

// jobSecrets are a job's LLM credentials, kept out of its stored spec.
type jobSecrets struct {
	APIKey  string
	BaseURL string // set only when the URL has user information
}

// generatorFor builds the generator of a job that generates negatives (nil
// otherwise), as `retune train` does: offline from the corpus's own term
// statistics, or causal / naive through the job's LLM.
func (s *Server) generatorFor(jobID string, spec jobSpec, data *dataset.BEIR) (negatives.Generator, error) {
	if !generates(spec.Negatives) {
		return nil, nil
	}
	var llm negatives.LLMConfig
	if spec.Generator == negatives.KindCausal || spec.Generator == negatives.KindNaive {
		key, err := s.loadJobSecret(jobID, jobKeyFile)
		if err != nil {
			return nil, err
		}
		baseURL, err := s.loadJobSecret(jobID, jobURLFile)
		if err != nil {
			return nil, err
		}
		llm = s.llmConfig(spec, key)
		llm.StopGrace, llm.StopCause, llm.StopNow = llmStopGrace, errShutdown, s.hurry
		if baseURL != "" {
			llm.BaseURL = baseURL // the spec's, with its credentials
		}
		var lastEvent atomic.Int64
		llm.OnRetry = func(attempt int, wait time.Duration, err error) {
			s.log.Warn("LLM request failed; retrying", "job", jobID, "attempt", attempt, "wait_s", wait.Seconds(), "err", err.Error())
			// The job's followers see it too (a 429's Retry-After can pause
			// generation for minutes), at most once per retryEventEvery.
			now := time.Now().UnixNano()
			if last := lastEvent.Load(); now-last >= int64(retryEventEvery) && lastEvent.CompareAndSwap(last, now) {
				msg := fmt.Sprintf("LLM request failed (attempt %d); retrying in %s: %v", attempt, wait.Round(100*time.Millisecond), err)
				if attempt == 0 { // sent again without spending a retry
					msg = fmt.Sprintf("LLM endpoint: %v; asking again in %s", err, wait.Round(100*time.Millisecond))
				}
				s.appendEvent(context.Background(), jobID, store.LevelWarn, evMessage, msg, nil)
			}
		}
	}
	texts := make([]string, len(data.Corpus))
	for i, d := range data.Corpus {
		texts[i] = d.Content()
	}
	return negatives.NewGenerator(spec.Generator, texts, uint64(spec.Hyperparameters.Seed), llm)
}

// llmConfig is the server's LLM configuration overridden by the job's. The
// server's API key and organisation are never sent to an endpoint the job
// chose: a job naming its own base URL uses its own key (or none). The
// server's own URL with or without a trailing slash is the same endpoint.
func (s *Server) llmConfig(spec jobSpec, key string) negatives.LLMConfig {
	c := s.cfg.LLM
	if spec.LLM != nil {
		if spec.LLM.BaseURL != "" && strings.TrimRight(spec.LLM.BaseURL, "/") != strings.TrimRight(c.BaseURL, "/") {
			// Another endpoint: neither the server's key nor its
			// organisation goes there, nor (unless the operator allows
			// it) may it be on the server's own network.
			c.BaseURL, c.APIKey, c.Org = spec.LLM.BaseURL, "", ""
			c.APIType = "" // the server's OPENAI_API_TYPE is about its own endpoint
			c.PublicOnly = !s.cfg.LLMAllowPrivate
		}
		if spec.LLM.Model != "" {
			c.Model = spec.LLM.Model
		} else if d := (negatives.LLMConfig{BaseURL: spec.LLM.BaseURL}).EffectiveModel(); d != "" {
			c.Model = d // the deployment the job's Azure URL names, over the server's model
		}
	}
	if key != "" {
		// The job's own key: the server's organisation need not be the
		// key's (OpenAI refuses a key outside the organisation named).
		c.APIKey, c.Org = key, ""
	}
	return c
}

// saveJobSecrets writes the job's credentials, each in its own 0600 file.
func (s *Server) saveJobSecrets(jobID string, sec jobSecrets) error {
	dir, err := s.store.Dir(store.KindJobs, jobID)
	if err != nil {
		return err
	}
	for name, v := range map[string]string{jobKeyFile: sec.APIKey, jobURLFile: sec.BaseURL} {
		if v == "" {
			continue
		}
		if _, _, err := store.WriteFileAtomic(filepath.Join(dir, name), strings.NewReader(v)); err != nil {
			return err
		}
	}
	return nil
}

// loadJobSecret reads one of the job's credential files ("" when absent).
func (s *Server) loadJobSecret(jobID, name string) (string, error) {
	dir, err := s.store.Dir(store.KindJobs, jobID)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the job's LLM credentials: %w", err)
	}
	return string(b), nil
}

// providedNegatives reads a training-pairs dataset's own hard negatives
// (negatives.json, written at upload) for train.Pipeline.Provided: they take
// the place of mined ones, and with generated negatives they are the
// candidates the generator rewrites. Nil when the dataset has none or the
// job uses no negatives.
func providedNegatives(dataDir, mode string) (map[string][]string, error) {
	if mode == train.NegNone {
		return nil, nil
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, fileNegatives))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read provided negatives: %w", err)
	}
	var negs map[string][]string
	if err := json.Unmarshal(raw, &negs); err != nil {
		return nil, fmt.Errorf("provided negatives: %w", err)
	}
	return negs, nil
}
