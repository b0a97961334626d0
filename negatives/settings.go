package negatives

// GeneratorSettings is what determines a generator's output besides its
// input pairs: a resumed run (`retune train --work`) whose generator differs
// from the one that wrote the saved negatives must not reuse them.
type GeneratorSettings struct {
	Generator string          `json:"generator"`
	Seed      *uint64         `json:"seed,omitempty"`
	Rewrite   *bool           `json:"rewrite_candidates,omitempty"`
	Types     []ViolationType `json:"types,omitempty"`
	// LLM generators: the endpoint, model, sampling and prompt versions.
	BaseURL     string   `json:"base_url,omitempty"`
	Model       string   `json:"model,omitempty"`
	Temperature *float32 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Prompts     []string `json:"prompts,omitempty"`
}

// SettingsOf returns gen's settings: its name only, for a generator that
// does not describe itself.
func SettingsOf(gen Generator) GeneratorSettings {
	if s, ok := gen.(interface{ Settings() GeneratorSettings }); ok {
		return s.Settings()
	}
	return GeneratorSettings{Generator: gen.Name()}
}

// Settings describes the offline generator.
func (g *OfflineGenerator) Settings() GeneratorSettings {
	return GeneratorSettings{Generator: g.Name(), Seed: &g.seed, Rewrite: &g.rewrite, Types: g.types}
}

// Settings describes the causal generator.
func (g *CausalGenerator) Settings() GeneratorSettings {
	return g.llm.settings(g.Name(), causalAnalysisPrompt.name, causalGeneratePrompt.name)
}

// Settings describes the naive generator.
func (g *NaiveGenerator) Settings() GeneratorSettings {
	return g.llm.settings(g.Name(), naivePrompt.name)
}

func (c *LLM) settings(name string, prompts ...string) GeneratorSettings {
	var t *float32 // nil: the model takes none, and none is sent
	if c.takesTemperature() {
		t = &c.cfg.Temperature
	}
	base := RedactURL(c.cfg.BaseURL)
	if base == OpenAIBaseURL {
		base = "" // recorded as retune train records OpenAI's own endpoint
	}
	return GeneratorSettings{Generator: name, BaseURL: base, Model: c.cfg.Model, Temperature: t,
		MaxTokens: c.cfg.MaxTokens, Prompts: prompts}
}
