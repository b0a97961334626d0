package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"retune/dataset"
	"retune/eval"
	"retune/model"
	"retune/models"
	"retune/negatives"
	"retune/store"
	"retune/train"
)

// requestError is a client error found while checking a request body.
type requestError struct {
	status int
	code   string
	msg    string
	param  string // the offending field, when one is
}

func (e *requestError) Error() string { return e.msg }

func jobRequestInvalid(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, code: codeInvalidRequest, msg: fmt.Sprintf(format, args...)}
}

// jobParamInvalid is a 400 about one field, which the error's param names.
func jobParamInvalid(param, format string, args ...any) *requestError {
	e := jobRequestInvalid(format, args...)
	e.param = param
	return e
}

// jobNotFound is a 404 for the object a request field names.
func jobNotFound(param, format string, args ...any) *requestError {
	return &requestError{status: http.StatusNotFound, code: codeNotFound, msg: fmt.Sprintf(format, args...), param: param}
}

// checkJobRequest applies defaults and checks everything a job can be
// refused for up front, so a job that is created can only fail at run time
// for run-time reasons. It returns the spec to store and the secrets to keep
// aside.
func (s *Server) checkJobRequest(ctx context.Context, req jobRequest) (jobSpec, jobSecrets, error) {
	if req.Dataset == "" {
		return jobSpec{}, jobSecrets{}, jobParamInvalid("dataset", `field "dataset" is required: the id of an uploaded dataset (POST /v1/datasets)`)
	}
	if !store.ValidID(store.PrefixDataset, req.Dataset) {
		return jobSpec{}, jobSecrets{}, jobParamInvalid("dataset", "malformed dataset id %q", req.Dataset)
	}
	ds, err := s.store.GetDataset(ctx, req.Dataset)
	if errors.Is(err, store.ErrNotFound) {
		return jobSpec{}, jobSecrets{}, jobNotFound("dataset", "dataset %s not found", req.Dataset)
	}
	if err != nil {
		return jobSpec{}, jobSecrets{}, err
	}
	encCfg, err := s.checkBaseModel(ctx, req.Model)
	if err != nil {
		return jobSpec{}, jobSecrets{}, err
	}

	hp, mining, generation := req.Hyperparameters.settings()
	spec := jobSpec{Negatives: train.DefaultPipelineConfig().Negatives, Hyperparameters: hp}
	if req.Negatives != nil {
		modes := []string{train.NegNone, train.NegMined, train.NegGenerated, train.NegBoth}
		if !slices.Contains(modes, *req.Negatives) {
			return jobSpec{}, jobSecrets{}, jobParamInvalid("negatives", "negatives must be one of %s; got %q", strings.Join(modes, ", "), *req.Negatives)
		}
		spec.Negatives = *req.Negatives
	}
	if spec.Negatives == train.NegNone && len(mining) > 0 {
		// It mines nothing: the settings would be silently ignored.
		return jobSpec{}, jobSecrets{}, jobParamInvalid("hyperparameters."+mining[0],
			"hyperparameters %s %s only to jobs that mine negatives, not negatives %q", strings.Join(mining, ", "), applyVerb(mining), train.NegNone)
	}
	if !generates(spec.Negatives) && len(generation) > 0 {
		return jobSpec{}, jobSecrets{}, jobParamInvalid("hyperparameters."+generation[0],
			"hyperparameters %s %s only to negatives %q or %q, not %q", strings.Join(generation, ", "), applyVerb(generation), train.NegGenerated, train.NegBoth, spec.Negatives)
	}
	if req.Generator != nil {
		if *req.Generator == "" {
			return jobSpec{}, jobSecrets{}, jobParamInvalid("generator", `generator must be %s, %s or %s; got ""`, negatives.KindOffline, negatives.KindCausal, negatives.KindNaive)
		}
		spec.Generator = *req.Generator
	}
	h := &spec.Hyperparameters
	if req.Hyperparameters.TestSplit != nil {
		h.TestSplit = *req.Hyperparameters.TestSplit
	} else if _, ok := ds.Splits[h.TestSplit]; !ok {
		h.TestSplit = "" // the default "test" split is optional
	}
	if msg, field := h.validate(spec.Negatives); msg != "" {
		param := "hyperparameters"
		if field != "" {
			param += "." + field
		}
		return jobSpec{}, jobSecrets{}, jobParamInvalid(param, "invalid hyperparameters: %s", msg)
	}
	if encCfg.Dim > 0 && h.Rank > encCfg.Dim {
		return jobSpec{}, jobSecrets{}, jobParamInvalid("hyperparameters.rank", "invalid hyperparameters: rank %d exceeds the width %d of encoder %q (0 trains the full matrix)", h.Rank, encCfg.Dim, req.Model)
	}
	for _, split := range []struct{ field, name string }{{"train_split", h.TrainSplit}, {"test_split", h.TestSplit}} {
		if _, ok := ds.Splits[split.name]; !ok && split.name != "" {
			return jobSpec{}, jobSecrets{}, jobParamInvalid("hyperparameters."+split.field, "hyperparameters.%s: dataset %s has no split %q (it has %s)",
				split.field, ds.ID, split.name, strings.Join(splitNames(ds), ", "))
		}
	}
	if h.TestSplit != "" {
		if err := s.checkHeldOut(ds.ID, h.TrainSplit, h.TestSplit); err != nil {
			return jobSpec{}, jobSecrets{}, err
		}
	}
	if err := s.checkJobMemory(ds, encCfg.Dim, spec); err != nil {
		return jobSpec{}, jobSecrets{}, err
	}
	secrets, err := s.checkGenerator(&spec, req.LLM)
	return spec, secrets, err
}

// checkJobMemory refuses a job whose memory estimate exceeds all the memory
// the server may use: no wait in the queue would let it run. (Whether it
// fits in what is left is checked when it starts.) The param is the
// setting to change: batch_size when the in-batch scores dominate.
func (s *Server) checkJobMemory(ds store.Dataset, dim int, spec jobSpec) error {
	if s.cfg.SkipMemoryCheck || dim <= 0 {
		return nil
	}
	split := ds.Splits[spec.Hyperparameters.TrainSplit]
	shape := train.MemoryShape{Docs: ds.Docs, Queries: ds.Queries, TrainQueries: split.Queries, TrainPairs: split.Pairs, NegativesPerQuery: -1}
	if ds.Format == store.FormatPairs {
		// A pairs file's own negatives replace mining where it has them,
		// and how many it has is not recorded: counting none keeps this a
		// lower bound, and the start of the job checks with the real ones.
		shape.NegativesPerQuery = 0
	}
	need := train.EstimateMemory(shape, dim, spec.pipelineConfig())
	total, ok := s.memTotal()
	if !ok || need.Total() <= total {
		return nil
	}
	param := "dataset"
	if need.Largest() == train.MemoryBatch {
		param = "hyperparameters.batch_size"
	}
	return jobParamInvalid(param, "%v", &train.MemoryError{Need: need, Room: total, OfTotal: true})
}

// checkHeldOut refuses a test split that shares queries with the train
// split (dataset.CheckHeldOut) before the job is created. Unreadable qrels
// are left to the run, which reports them as damage on disk.
func (s *Server) checkHeldOut(id, trainSplit, testSplit string) error {
	dir, err := s.store.Dir(store.KindDatasets, id)
	if err != nil {
		return err
	}
	read := func(split string) eval.Qrels {
		q, _ := dataset.ReadSplit(dir, split)
		return q
	}
	if err := dataset.CheckHeldOut(trainSplit, read(trainSplit), testSplit, read(testSplit)); err != nil {
		return jobParamInvalid("hyperparameters.test_split", "hyperparameters.test_split: %v", err)
	}
	return nil
}

// checkBaseModel accepts the name of an encoder in the registry that
// opens and returns its encoder.json.
func (s *Server) checkBaseModel(ctx context.Context, name string) (models.EncoderConfig, error) {
	var none models.EncoderConfig
	if name == "" {
		return none, jobParamInvalid("model", `field "model" is required: an encoder name from GET /v1/models`)
	}
	if base, headID, ok := parseHeadModel(name); ok {
		return none, jobParamInvalid("model", "model %q is a fine-tuned model (head %s); fine-tune its encoder %q instead", name, headID, base)
	}
	names, err := s.cfg.Models.List()
	if err != nil {
		return none, err
	}
	if !slices.Contains(names, name) {
		return none, jobNotFound("model", "model %q not found; GET /v1/models lists the available ones", name)
	}
	cfg, _, err := models.ReadEncoderConfig(filepath.Join(s.cfg.Models.Root(), name))
	if err != nil {
		return none, err
	}
	if cfg.QueryOnly() {
		return none, jobParamInvalid("model", "model %q embeds queries only (a fused export of a head trained with apply=query): fine-tune its base encoder instead", name)
	}
	// Opened now: the job would open it anyway, and an encoder stays open
	// once opened. One whose files are missing or damaged is the
	// operator's to fix, a 503 here, not a job that fails once it runs.
	enc, err := s.cfg.Models.Get(ctx, name)
	switch {
	case errors.Is(err, model.ErrUnknownModel): // removed since the listing
		return none, jobNotFound("model", "model %q not found; GET /v1/models lists the available ones", name)
	case err != nil:
		return none, withParam(s.encoderBroken(err), "model")
	}
	s.cfg.Models.Release(enc)
	return cfg, nil
}

// checkGenerator settles the generator of a job that generates negatives
// and refuses generator settings on one that does not, where they would be
// silently ignored.
func (s *Server) checkGenerator(spec *jobSpec, llm *llmSettings) (jobSecrets, error) {
	if !generates(spec.Negatives) {
		if spec.Generator != "" || llm != nil {
			param := "generator"
			if spec.Generator == "" {
				param = "llm"
			}
			return jobSecrets{}, jobParamInvalid(param, `"generator" and "llm" apply only to negatives %q or %q, not %q`,
				train.NegGenerated, train.NegBoth, spec.Negatives)
		}
		return jobSecrets{}, nil
	}
	if spec.Generator == "" {
		// As retune train: the structured LLM pipeline when an LLM is
		// configured (the job's own, or the server's), else offline.
		spec.Generator = negatives.KindOffline
		probe := *spec
		if llm != nil {
			probe.LLM = &llmSettings{BaseURL: llm.BaseURL, Model: llm.Model}
		}
		if eff := s.llmConfig(probe, ""); llm != nil || (eff.BaseURL != "" && eff.EffectiveModel() != "") {
			spec.Generator = negatives.KindCausal
		}
	}
	switch spec.Generator {
	case negatives.KindOffline:
		if llm != nil {
			return jobSecrets{}, jobParamInvalid("llm", `"llm" applies only to the causal and naive generators`)
		}
		return jobSecrets{}, nil
	case negatives.KindCausal, negatives.KindNaive:
	default:
		return jobSecrets{}, jobParamInvalid("generator", "generator must be %s, %s or %s; got %q", negatives.KindOffline, negatives.KindCausal, negatives.KindNaive, spec.Generator)
	}
	var secrets jobSecrets
	if llm != nil {
		for _, f := range []struct {
			param, v string
			limit    int
		}{{"llm.base_url", llm.BaseURL, maxLLMURLLen}, {"llm.model", llm.Model, maxLLMModelLen}, {"llm.api_key", llm.APIKey, maxLLMKeyLen}} {
			// Each goes into every request, log line and error of the job:
			// a 2 MB base URL made a 4 MB log line per retry.
			if len(f.v) > f.limit {
				return jobSecrets{}, jobParamInvalid(f.param, "%s is %d bytes; at most %d", f.param, len(f.v), f.limit)
			}
		}
		if llm.BaseURL != "" {
			if err := negatives.CheckBaseURL(llm.BaseURL); err != nil {
				return jobSecrets{}, jobParamInvalid("llm.base_url", "llm.base_url: %v", err)
			}
		}
		secrets.APIKey = llm.APIKey
		spec.LLM = &llmSettings{BaseURL: negatives.RedactURL(llm.BaseURL), Model: llm.Model}
		if spec.LLM.BaseURL != llm.BaseURL {
			// Credentials in the URL are kept with the key, not in the
			// spec that the database and the API show.
			secrets.BaseURL = llm.BaseURL
		}
	}
	eff := s.llmConfig(*spec, "")
	if eff.BaseURL == "" || eff.EffectiveModel() == "" {
		return jobSecrets{}, jobParamInvalid("llm", "the %s generator needs an LLM: give llm.base_url and llm.model "+
			"(or start the server with RETUNE_LLM_MODEL and OPENAI_BASE_URL set, or OPENAI_API_KEY for OpenAI's own endpoint)", spec.Generator)
	}
	if err := eff.Check(); err != nil { // an Azure deployment URL naming another model
		return jobSecrets{}, jobParamInvalid("llm", "%v", err)
	}
	// The model is pinned when the job is created: a job resumed after a
	// restart with another RETUNE_LLM_MODEL keeps asking the model it
	// started with (its finished pairs are cached under that model), and
	// the job shows which one it is.
	if spec.LLM == nil {
		spec.LLM = &llmSettings{}
	}
	spec.LLM.Model = eff.EffectiveModel()
	return secrets, nil
}

func splitNames(ds store.Dataset) []string {
	names := make([]string, 0, len(ds.Splits))
	for name := range ds.Splits {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Lengths of a job's LLM settings: URLs, model names and keys in use are
// far shorter.
const (
	maxLLMURLLen   = 2048
	maxLLMModelLen = 256
	maxLLMKeyLen   = 4096
)

// applyVerb agrees "apply" with a list of settings.
func applyVerb(names []string) string {
	if len(names) == 1 {
		return "applies"
	}
	return "apply"
}
