package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"retune/train"
)

// hyperparameters are a job's training settings under the names the CLI
// flags and train.Config use; defaults are train.DefaultPipelineConfig's.
type hyperparameters struct {
	Epochs             int     `json:"epochs"`
	LR                 float64 `json:"lr"`
	BatchSize          int     `json:"batch_size"`
	Temperature        float64 `json:"temperature"`
	EntropyWeight      float64 `json:"entropy_weight"`
	EntropyTemperature float64 `json:"entropy_temperature"`
	WeightDecay        float64 `json:"weight_decay"`
	InBatch            bool    `json:"in_batch"`
	Seed               int64   `json:"seed"`
	DevFraction        float64 `json:"dev_fraction"`
	Patience           int     `json:"patience"`
	Apply              string  `json:"apply"`
	Bias               bool    `json:"bias"`
	Rank               int     `json:"rank"`
	MinedPerQuery      int     `json:"mined_per_query"`
	Margin             float64 `json:"margin"`
	MineExact          bool    `json:"mine_exact"`
	PerQuery           int     `json:"per_query"`
	GenMaxCos          float64 `json:"gen_max_cos"`
	GenMinWords        int     `json:"gen_min_words"`
	TrainSplit         string  `json:"train_split"`
	TestSplit          string  `json:"test_split"` // empty: no held-out evaluation
}

func defaultHyperparameters() hyperparameters {
	d := train.DefaultPipelineConfig()
	t := d.Train
	return hyperparameters{
		Epochs: t.Epochs, LR: t.LR, BatchSize: t.BatchSize, Temperature: t.Temperature,
		EntropyWeight: t.EntropyWeight, EntropyTemperature: t.EntropyTemperature, WeightDecay: t.WeightDecay,
		InBatch: t.InBatch, Seed: t.Seed, DevFraction: t.DevFraction, Patience: t.Patience,
		Apply: t.Apply, Bias: t.Bias, Rank: t.Rank,
		MinedPerQuery: d.Mine.PerQuery, Margin: d.Mine.Margin, PerQuery: d.Generation.PerQuery,
		GenMaxCos: d.Generation.Filter.MaxCosToPositive, GenMinWords: d.Generation.Filter.MinWords,
		TrainSplit: d.TrainSplit, TestSplit: d.TestSplit,
	}
}

// pipelineConfig is the train.PipelineConfig a job runs with; settings the
// API does not expose keep their defaults.
func (h hyperparameters) pipelineConfig(negatives string) train.PipelineConfig {
	cfg := train.DefaultPipelineConfig()
	cfg.Negatives = negatives
	cfg.Train = train.Config{
		Epochs: h.Epochs, LR: h.LR, WeightDecay: h.WeightDecay, BatchSize: h.BatchSize,
		Temperature: h.Temperature, InBatch: h.InBatch,
		EntropyWeight: h.EntropyWeight, EntropyTemperature: h.EntropyTemperature,
		Seed: h.Seed, DevFraction: h.DevFraction, Patience: h.Patience,
		Apply: h.Apply, Bias: h.Bias, Rank: h.Rank,
	}
	cfg.Mine.PerQuery, cfg.Mine.Margin, cfg.Mine.Exact = h.MinedPerQuery, h.Margin, h.MineExact
	cfg.Generation.PerQuery = h.PerQuery
	cfg.Generation.Filter.MaxCosToPositive, cfg.Generation.Filter.MinWords = h.GenMaxCos, h.GenMinWords
	cfg.TrainSplit, cfg.TestSplit = h.TrainSplit, h.TestSplit
	return cfg
}

// validate returns every problem with the settings, joined, or "", and
// the field they are about when they are all about one (else "").
func (h hyperparameters) validate(negatives string) (msg, field string) {
	err := h.pipelineConfig(negatives).Validate()
	if err == nil {
		return "", ""
	}
	// PipelineConfig.Validate lists its problems a line each, each starting
	// with the setting's name where it is about one.
	msgs := strings.Split(err.Error(), "\n")
	for i, m := range msgs {
		name, _, _ := strings.Cut(m, " ")
		if !hyperparameterNames[name] || (i > 0 && name != field) {
			field = ""
			break
		}
		field = name
	}
	return strings.Join(msgs, "; "), field
}

// hyperparameterNames are the hyperparameters' JSON names.
var hyperparameterNames = func() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[hyperparameters]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" {
			names[name] = true
		}
	}
	return names
}()

// hyperparametersRequest decodes over the defaults, so omitted fields keep
// them. test_split alone is a pointer: the default "test" is dropped for a
// dataset without that split, while a split named explicitly must exist.
type hyperparametersRequest struct {
	hyperparameters
	TestSplit *string `json:"test_split"`
}

// settings returns the hyperparameters, and the names of the mining and of
// the generation settings sent with other values than their defaults (a
// job that mines, or generates, nothing refuses those). A default sent
// where it does not apply changes nothing and passes: a client may resubmit
// a job's hyperparameters as the job shows them, every setting included.
func (r hyperparametersRequest) settings() (h hyperparameters, mining, generation []string) {
	h = r.hyperparameters
	// h was decoded over the defaults, so a value unlike its default was sent.
	d := defaultHyperparameters()
	for _, c := range []struct {
		list    *[]string
		name    string
		changed bool
	}{
		{&mining, "mined_per_query", h.MinedPerQuery != d.MinedPerQuery},
		{&mining, "margin", h.Margin != d.Margin},
		{&mining, "mine_exact", h.MineExact != d.MineExact},
		{&generation, "per_query", h.PerQuery != d.PerQuery},
		{&generation, "gen_max_cos", h.GenMaxCos != d.GenMaxCos},
		{&generation, "gen_min_words", h.GenMinWords != d.GenMinWords},
		// The entropy term acts on generated negatives alone.
		{&generation, "entropy_weight", h.EntropyWeight != d.EntropyWeight},
		{&generation, "entropy_temperature", h.EntropyTemperature != d.EntropyTemperature},
	} {
		if c.changed {
			*c.list = append(*c.list, c.name)
		}
	}
	return h, mining, generation
}

// llmSettings choose the chat endpoint of the causal and naive generators.
// The API key is kept out of the job's stored settings (see jobKeyFile).
type llmSettings struct {
	BaseURL string `json:"base_url,omitempty"`
	Model   string `json:"model,omitempty"`
	APIKey  string `json:"api_key,omitempty"`
}

// jobRequest is the POST /v1/fine_tuning/jobs body.
type jobRequest struct {
	Dataset         string                 `json:"dataset"`
	Model           string                 `json:"model"`
	Negatives       *string                `json:"negatives"` // nil: the default; "" is an error
	Generator       *string                `json:"generator"`
	LLM             *llmSettings           `json:"llm"`
	Hyperparameters hyperparametersRequest `json:"hyperparameters"`
}

func newJobRequest() jobRequest {
	return jobRequest{Hyperparameters: hyperparametersRequest{hyperparameters: defaultHyperparameters()}}
}

// jobSpec is what a job runs with, stored as the job's config: the request
// with defaults applied, minus the API key.
type jobSpec struct {
	Negatives       string          `json:"negatives"`
	Generator       string          `json:"generator"`
	LLM             *llmSettings    `json:"llm,omitempty"`
	Hyperparameters hyperparameters `json:"hyperparameters"`
}

func (j jobSpec) pipelineConfig() train.PipelineConfig {
	return j.Hyperparameters.pipelineConfig(j.Negatives)
}

// generates reports whether the negatives mode runs a generator.
func generates(negatives string) bool {
	return negatives == train.NegGenerated || negatives == train.NegBoth
}

// decodeJobSpec reads a stored job's settings over today's defaults, so a
// job stored before a setting existed (gen_max_cos, say) resumes, and shows,
// with that setting's default rather than a zero.
func decodeJobSpec(raw json.RawMessage) (jobSpec, error) {
	spec := jobSpec{Hyperparameters: defaultHyperparameters()}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return jobSpec{}, fmt.Errorf("job settings: %w", err)
	}
	return spec, nil
}
