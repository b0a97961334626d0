package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"retune/dataset"
	"retune/negatives"
	"retune/store"
	"retune/train"
)

// jobKeyFile holds a job's own LLM API key in its work directory (mode
// 0600, as WriteFileAtomic creates files), not in the database row that the
// API returns and backups copy.
const jobKeyFile = "llm-api-key"

// pipelineMinedFile is where train.Pipeline keeps the mining stage's output
// in its WorkDir, as {"M": {query id: [doc id...]}, "R": MineReport}, and
// reuses it instead of mining when present.
const pipelineMinedFile = "mined.json"

// generatorFor builds the generator of a job that generates negatives (nil
// otherwise), as `retune train` does: offline from the corpus's own term
// statistics, or causal / naive through the job's LLM.
func (s *Server) generatorFor(jobID string, spec jobSpec, data *dataset.BEIR) (negatives.Generator, error) {
	if !generates(spec.Negatives) {
		return nil, nil
	}
	var llm negatives.LLMConfig
	if spec.Generator == negatives.KindCausal || spec.Generator == negatives.KindNaive {
		key, err := s.loadJobKey(jobID)
		if err != nil {
			return nil, err
		}
		llm = s.llmConfig(spec, key)
	}
	texts := make([]string, len(data.Corpus))
	for i, d := range data.Corpus {
		texts[i] = d.Content()
	}
	return negatives.NewGenerator(spec.Generator, texts, uint64(spec.Hyperparameters.Seed), llm)
}

// llmConfig is the server's LLM configuration overridden by the job's. The
// server's API key is never sent to an endpoint the job chose: a job naming
// its own base URL uses its own key (or none).
func (s *Server) llmConfig(spec jobSpec, key string) negatives.LLMConfig {
	c := s.cfg.LLM
	if spec.LLM != nil {
		if spec.LLM.BaseURL != "" && spec.LLM.BaseURL != c.BaseURL {
			c.BaseURL, c.APIKey = spec.LLM.BaseURL, ""
		}
		if spec.LLM.Model != "" {
			c.Model = spec.LLM.Model
		}
	}
	if key != "" {
		c.APIKey = key
	}
	return c
}

func (s *Server) saveJobKey(jobID, key string) error {
	dir, err := s.store.Dir(store.KindJobs, jobID)
	if err != nil {
		return err
	}
	_, _, err = store.WriteFileAtomic(filepath.Join(dir, jobKeyFile), strings.NewReader(key))
	return err
}

func (s *Server) loadJobKey(jobID string) (string, error) {
	dir, err := s.store.Dir(store.KindJobs, jobID)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, jobKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the job's LLM API key: %w", err)
	}
	return string(b), nil
}

// reusedMinedNote is the pipeline's note on finding a mining result in its
// work directory, which for provided negatives is not "a previous attempt".
const reusedMinedNote = "reused " + pipelineMinedFile + " from a previous attempt"

// useProvidedNegatives hands a training-pairs dataset's own hard negatives
// (negatives.json, written at upload) to the pipeline. train.Pipeline has no
// input for explicit negatives, but it reuses a mining result found in its
// work directory, so the provided negatives are written there as that
// result: they take the place of mined ones (objective source "mined"), and
// with generated negatives they are the candidates the generator rewrites.
// With negatives "none" they are not used. A mining result already in the
// work directory (a resumed job) is kept.
func (s *Server) useProvidedNegatives(ctx context.Context, rec *recorder, dataDir, workDir, mode string) error {
	if mode == train.NegNone {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, fileNegatives))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read provided negatives: %w", err)
	}
	rec.dropNote = reusedMinedNote
	mined := filepath.Join(workDir, pipelineMinedFile)
	if _, err := os.Stat(mined); err == nil {
		return nil
	}
	var negs map[string][]string
	if err := json.Unmarshal(raw, &negs); err != nil {
		return fmt.Errorf("provided negatives: %w", err)
	}
	rep := negatives.MineReport{Queries: len(negs)}
	for _, ids := range negs {
		rep.Negatives += len(ids)
	}
	b, err := json.Marshal(struct {
		M map[string][]string
		R negatives.MineReport
	}{negs, rep})
	if err != nil {
		return err
	}
	if _, _, err := store.WriteFileAtomic(mined, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("provided negatives: %w", err)
	}
	s.appendEvent(ctx, rec.jobID, store.LevelInfo, evMessage, fmt.Sprintf(
		"mining: using the dataset's %d provided hard negatives (%d queries) instead of mining", rep.Negatives, rep.Queries), nil)
	return nil
}
